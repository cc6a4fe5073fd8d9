/**
 * NGINX Ingress canary, pure: the stable Ingress (never written) and the live canary Ingress →
 * the canary Ingress to write, as Argo Rollouts' `nginx.go` builds it.
 *
 * - Name `<rollout>-<stableIngress>-canary`; the stable Ingress's rules, keeping only the paths
 *   that go to the stable Service, now to the canary Service; its ingress class.
 * - Annotations under the prefix are slipway's: `canary: "true"`, `canary-weight`,
 *   `canary-weight-total` when maxTrafficWeight is not 100, `additionalIngressAnnotations`
 *   (prefixed), `canaryIngressAnnotations` (as written). Other annotations are left alone.
 * - A header route is `canary-by-header` with `canary-by-header-value` (exact) or
 *   `canary-by-header-pattern` (regex; prefix as a regex). ingress-nginx has one such header per
 *   canary Ingress, so one header route with one match at a time; it wins over a
 *   `canary-by-header` from `additionalIngressAnnotations` while it is set.
 * - Mirroring is not something ingress-nginx canaries can do.
 * https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#canary
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../../../api/json.js";
import type { OwnerReference } from "../../../../api/v1alpha1/common.js";
import { InvalidRouteError, TrafficRouterError, UnsupportedError } from "../errors.js";
import { escapeRegex, isRecord, type Json, records, str } from "../json.js";
import { checkHeaderMatch, checkState, checkWeight, stringMatchOf } from "../managed-routes.js";
import type { HeaderRoute, TrafficState } from "../router.js";

export interface Ingress extends KubernetesObject {
  spec?: Json;
  status?: unknown;
}

export interface NginxConfig {
  rolloutName: string;
  stableService: string;
  canaryService: string;
  /** Default `nginx.ingress.kubernetes.io`. */
  annotationPrefix: string;
  additionalIngressAnnotations: Readonly<Record<string, string>>;
  canaryIngressAnnotations: Readonly<Record<string, string>>;
  maxTrafficWeight: number;
  /** The Rollout, as owner of the canary Ingress (garbage-collected with it). */
  owner?: OwnerReference;
}

export const DEFAULT_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io";
/** On the canary Ingress: the name of the header route its `canary-by-header*` annotations realise. */
export const HEADER_ROUTE_ANNOTATION = "slipway.dev/header-route";
const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
const HEADER_KEYS = ["canary-by-header", "canary-by-header-value", "canary-by-header-pattern"];

/** `<rollout>-<stableIngress>-canary`, shortened to a valid name (253) as Argo does. */
export function canaryIngressName(rollout: string, stableIngress: string): string {
  const suffix = "-canary";
  return `${`${rollout}-${stableIngress}`.slice(0, 253 - suffix.length)}${suffix}`;
}

/** What to change; `undefined` keeps the live canary's value, `null` removes the header route. */
export interface CanaryChange {
  canaryWeight?: number;
  headerRoute?: HeaderRoute | null;
}

function serviceOf(path: Json): string | undefined {
  const backend = isRecord(path.backend) ? path.backend : {};
  return isRecord(backend.service) ? str(backend.service.name) : undefined;
}

/** The stable Ingress's rules with only the paths to the stable Service, now to the canary. */
function canaryRules(stable: Ingress, cfg: NginxConfig): Json[] {
  const rules = records(stable.spec?.rules).flatMap((rule) => {
    const http = isRecord(rule.http) ? rule.http : {};
    const paths = records(http.paths).filter((p) => serviceOf(p) === cfg.stableService);
    if (paths.length === 0) return [];
    return [
      {
        ...cloneJson(rule),
        http: {
          ...cloneJson(http),
          paths: paths.map((p) => {
            const path = cloneJson(p);
            const backend = path.backend as Json;
            backend.service = { ...(backend.service as Json), name: cfg.canaryService };
            return path;
          }),
        },
      },
    ];
  });
  if (rules.length === 0) {
    throw new InvalidRouteError(
      `Ingress "${stable.metadata?.name ?? ""}" has no rule with a backend to "${cfg.stableService}"`,
    );
  }
  return rules;
}

function isOwned(live: Ingress, cfg: NginxConfig): boolean {
  const owner = cfg.owner;
  if (!owner) return true;
  return (live.metadata?.ownerReferences ?? []).some((o) => o.uid === owner.uid);
}

/** The header route a live canary Ingress carries (its name), if any. */
export function liveHeaderRoute(live: Ingress | undefined): string | undefined {
  return live?.metadata?.annotations?.[HEADER_ROUTE_ANNOTATION];
}

export function canaryIngress(
  stable: Ingress,
  live: Ingress | undefined,
  change: CanaryChange,
  cfg: NginxConfig,
): Ingress {
  const stableName = stable.metadata?.name ?? "";
  const name = canaryIngressName(cfg.rolloutName, stableName);
  if (live && !isOwned(live, cfg)) {
    throw new TrafficRouterError(
      "NotOwned",
      `Ingress "${name}" exists and is not owned by Rollout "${cfg.rolloutName}"; delete or rename it so slipway can manage the canary Ingress`,
    );
  }
  const key = (k: string) => `${cfg.annotationPrefix}/${k}`;
  const liveAnnotations = live?.metadata?.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(liveAnnotations)) {
    if (!k.startsWith(`${cfg.annotationPrefix}/`) && k !== HEADER_ROUTE_ANNOTATION) annotations[k] = v;
  }
  // ingress-nginx reads the class of a canary from this annotation too (kubernetes/ingress-nginx#3985).
  const ingressClass = stable.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  if (ingressClass) annotations[INGRESS_CLASS_ANNOTATION] = ingressClass;
  for (const [k, v] of Object.entries(cfg.additionalIngressAnnotations)) annotations[key(k)] = v;
  Object.assign(annotations, cfg.canaryIngressAnnotations);
  annotations[key("canary")] = "true";

  const liveWeight = Number.parseInt(liveAnnotations[key("canary-weight")] ?? "0", 10);
  const weight = change.canaryWeight ?? (Number.isSafeInteger(liveWeight) ? liveWeight : 0);
  checkWeight(weight, cfg.maxTrafficWeight);
  annotations[key("canary-weight")] = String(weight);
  if (cfg.maxTrafficWeight !== 100) annotations[key("canary-weight-total")] = String(cfg.maxTrafficWeight);

  if (change.headerRoute === undefined) {
    const current = liveHeaderRoute(live);
    if (current) {
      for (const k of HEADER_KEYS) delete annotations[key(k)];
      for (const k of HEADER_KEYS) {
        const value = liveAnnotations[key(k)];
        if (value !== undefined) annotations[key(k)] = value;
      }
      annotations[HEADER_ROUTE_ANNOTATION] = current;
    }
  } else if (change.headerRoute !== null) {
    for (const k of HEADER_KEYS) delete annotations[key(k)];
    Object.assign(annotations, headerAnnotations(change.headerRoute, key));
  }

  const ownerReferences = [...(live?.metadata?.ownerReferences ?? [])];
  if (cfg.owner && !ownerReferences.some((o) => o.uid === cfg.owner?.uid)) ownerReferences.push(cfg.owner);
  const ingressClassName = str(stable.spec?.ingressClassName);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      ...(live?.metadata ?? {}),
      name,
      namespace: stable.metadata?.namespace ?? "default",
      annotations,
      ...(ownerReferences.length > 0 ? { ownerReferences } : {}),
    },
    spec: { ...(ingressClassName ? { ingressClassName } : {}), rules: canaryRules(stable, cfg) },
    ...(live?.status !== undefined ? { status: live.status } : {}),
  };
}

function headerAnnotations(route: HeaderRoute, key: (k: string) => string): Record<string, string> {
  if (route.match.length !== 1) {
    throw new UnsupportedError(
      `the nginx router matches one header per route (canary-by-header); setHeaderRoute "${route.name}" has ${route.match.length} matches`,
    );
  }
  const match = route.match[0]!;
  checkHeaderMatch(route.name, match);
  const m = stringMatchOf(match.headerValue, `setHeaderRoute "${route.name}" header ${match.headerName}`);
  const out: Record<string, string> = {
    [key("canary-by-header")]: match.headerName,
    [HEADER_ROUTE_ANNOTATION]: route.name,
  };
  if (m.type === "exact") out[key("canary-by-header-value")] = m.value;
  else out[key("canary-by-header-pattern")] = m.type === "regex" ? m.value : `${escapeRegex(m.value)}.*`;
  return out;
}

/** Why `state` cannot be realised by an NGINX canary, if it cannot. */
export function unsupported(state: TrafficState): string | undefined {
  if (state.mirrorRoutes.length > 0) {
    return `the nginx router cannot mirror traffic (setMirrorRoute "${state.mirrorRoutes[0]!.name}"); use the Gateway API or Istio router for shadow traffic`;
  }
  if (state.headerRoutes.length > 1) {
    return `the nginx router holds one header route at a time; ${state.headerRoutes.length} are asked for (${state.headerRoutes.map((r) => `"${r.name}"`).join(", ")})`;
  }
  return undefined;
}

/** The canary Ingress realising `state` exactly. */
export function render(
  stable: Ingress,
  live: Ingress | undefined,
  state: TrafficState,
  managedRoutes: readonly string[],
  cfg: NginxConfig,
): Ingress {
  checkState(state, managedRoutes, cfg.maxTrafficWeight);
  const why = unsupported(state);
  if (why) throw new UnsupportedError(why);
  return canaryIngress(
    stable,
    live,
    { canaryWeight: state.canaryWeight, headerRoute: state.headerRoutes[0] ?? null },
    cfg,
  );
}
