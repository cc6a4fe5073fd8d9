/**
 * NGINX Ingress canaries. The Ingress carrying `sim.slipway.dev/rps` is the stable one; a canary
 * Ingress in the same namespace with the same host and path and `nginx.ingress.kubernetes.io/canary:
 * "true"` takes a share of its requests: by header, then by cookie, then by weight, in the order
 * ingress-nginx's balancer applies them.
 * https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#canary
 */
import type { KubeObject } from "../core/types.js";
import { fullMatchRegex, objects, pathHasPrefix, record, str } from "./match.js";
import type { RouteContext, RouteDecision, SimRequest } from "./route-types.js";
import { deliverToService } from "./service.js";

const NGINX = "nginx.ingress.kubernetes.io/";
export const CANARY = `${NGINX}canary`;
export const CANARY_WEIGHT = `${NGINX}canary-weight`;
export const CANARY_WEIGHT_TOTAL = `${NGINX}canary-weight-total`;
export const CANARY_BY_HEADER = `${NGINX}canary-by-header`;
export const CANARY_BY_HEADER_VALUE = `${NGINX}canary-by-header-value`;
export const CANARY_BY_HEADER_PATTERN = `${NGINX}canary-by-header-pattern`;
export const CANARY_BY_COOKIE = `${NGINX}canary-by-cookie`;

/** The Ingress rule path a request reaches, and the backend Service it names. */
interface IngressPath {
  host: string;
  path: string;
  service: string;
}

export function isCanaryIngress(ingress: KubeObject): boolean {
  return ingress.metadata.annotations?.[CANARY] === "true";
}

export function resolveIngress(ingress: KubeObject, request: SimRequest, ctx: RouteContext): RouteDecision {
  const namespace = ingress.metadata.namespace ?? "default";
  if (isCanaryIngress(ingress)) {
    // ingress-nginx serves a canary only alongside its main Ingress; traffic enters through that one.
    ctx.warn?.(
      ingress,
      "InvalidSimAnnotation",
      "sim.slipway.dev/rps is set on a canary Ingress; annotate the stable Ingress instead",
    );
    return { primary: { namespace, service: "", code: 404 }, mirrors: [] };
  }
  const stable = findPath(ingress, request.path);
  if (!stable) return { primary: { namespace, service: "", code: 404 }, mirrors: [] };

  let service = stable.service;
  const canary = findCanary(ingress, stable, ctx);
  if (canary && routesToCanary(canary.ingress, request, ctx)) service = canary.path.service;
  return { primary: deliverToService(ctx, namespace, service), mirrors: [] };
}

/** First rule with a path that matches; within a rule the longest matching path, as NGINX does. */
function findPath(ingress: KubeObject, requestPath: string): IngressPath | undefined {
  for (const rule of objects(ingress.spec?.rules)) {
    let best: IngressPath | undefined;
    for (const entry of objects(record(rule.http).paths)) {
      const path = str(entry.path) ?? "/";
      const matches = entry.pathType === "Exact" ? requestPath === path : pathHasPrefix(requestPath, path);
      if (!matches || (best && best.path.length >= path.length)) continue;
      best = { host: str(rule.host) ?? "", path, service: backendService(entry.backend) };
    }
    if (best) return best;
  }
  const fallback = backendService(ingress.spec?.defaultBackend);
  return fallback ? { host: "", path: "", service: fallback } : undefined;
}

function backendService(backend: unknown): string {
  return str(record(record(backend).service).name) ?? "";
}

function findCanary(
  stable: KubeObject,
  target: IngressPath,
  ctx: RouteContext,
): { ingress: KubeObject; path: IngressPath } | undefined {
  const namespace = stable.metadata.namespace ?? "default";
  for (const candidate of ctx.lookup.listIngresses(namespace)) {
    if (candidate.metadata.name === stable.metadata.name || !isCanaryIngress(candidate)) continue;
    for (const rule of objects(candidate.spec?.rules)) {
      if ((str(rule.host) ?? "") !== target.host) continue;
      for (const entry of objects(record(rule.http).paths)) {
        if ((str(entry.path) ?? "/") !== target.path) continue;
        return { ingress: candidate, path: { ...target, service: backendService(entry.backend) } };
      }
    }
  }
  return undefined;
}

function routesToCanary(canary: KubeObject, request: SimRequest, ctx: RouteContext): boolean {
  const annotations = canary.metadata.annotations ?? {};
  const headerName = annotations[CANARY_BY_HEADER];
  if (headerName) {
    const header = request.headers[headerName.toLowerCase()];
    if (header !== undefined) {
      const wanted = annotations[CANARY_BY_HEADER_VALUE];
      const pattern = annotations[CANARY_BY_HEADER_PATTERN];
      if (wanted) {
        if (header === wanted) return true;
      } else if (pattern) {
        const regex = fullMatchRegex(pattern);
        if (!regex) ctx.warn?.(canary, "InvalidSimRoute", `${CANARY_BY_HEADER_PATTERN} does not compile`);
        else if (regex.test(header)) return true;
      } else if (header === "always") {
        return true;
      } else if (header === "never") {
        return false;
      }
      // Any other value: the header is ignored and the next rule decides.
    }
  }
  const cookieName = annotations[CANARY_BY_COOKIE];
  if (cookieName) {
    const cookie = readCookie(request.headers.cookie, cookieName);
    if (cookie === "always") return true;
    if (cookie === "never") return false;
  }
  const weight = readInteger(canary, CANARY_WEIGHT, 0, ctx);
  const total = readInteger(canary, CANARY_WEIGHT_TOTAL, 100, ctx);
  if (weight <= 0 || total <= 0) return false;
  return ctx.random.next() * total < weight;
}

function readInteger(ingress: KubeObject, key: string, fallback: number, ctx: RouteContext): number {
  const raw = ingress.metadata.annotations?.[key];
  if (raw === undefined) return fallback;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    ctx.warn?.(
      ingress,
      "InvalidSimRoute",
      `${key}: ${JSON.stringify(raw)} is not a whole number; using ${fallback}`,
    );
    return fallback;
  }
  return value;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
