/**
 * Istio VirtualService and DestinationRule, pure: the live object plus what is asked → the object
 * to write.
 *
 * - Host level: destinations `host: <stableService>` / `host: <canaryService>` (short name or any
 *   `<svc>.<namespace>[.svc[.<domain>]]` form). Subset level (a `destinationRule` is configured):
 *   one host, `subset: <stableSubsetName>` / `subset: <canarySubsetName>`, and the DestinationRule's
 *   subsets select `rollouts-pod-template-hash: <hash>` of each version.
 * - Weights go on the HTTP routes named in `virtualService.routes` (default: every route with a
 *   stable destination) and on slipway's mirror routes. Istio wants them to add up to 100, so
 *   `w / maxTrafficWeight` is written as a percentage. A missing canary destination is added as a
 *   copy of the stable one.
 * - Header and mirror routes are `http` entries named after the managed route, first in the list
 *   (first match wins in Istio), ordered by `managedRoutes`, listed in the
 *   `slipway.dev/managed-routes` annotation. Each copies the first base route (timeouts, retries,
 *   rewrites...) with its match blocks narrowed by the route's matches, so a header route on an
 *   `/api` route only takes `/api` requests.
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../../../api/json.js";
import type { RouteMatch, StringMatch } from "../../../../api/v1alpha1/rollout.js";
import { InvalidRouteError } from "../errors.js";
import { isRecord, type Json, records, str } from "../json.js";
import {
  checkHeaderMatch,
  checkPercentage,
  checkRouteName,
  checkState,
  checkWeight,
  findManaged,
  insertManaged,
  isManagedEntry,
  type RouteList,
  removeAllManaged,
  removeManaged,
  stringMatchOf,
  userEntries,
} from "../managed-routes.js";
import { type HeaderRoute, type MirrorRoute, POD_TEMPLATE_HASH_LABEL, type TrafficState } from "../router.js";

export interface VirtualService extends KubernetesObject {
  spec?: Json;
}

export interface DestinationRule extends KubernetesObject {
  spec?: Json;
}

export interface IstioRouteConfig {
  stableService: string;
  canaryService: string;
  /** Namespace of the Services (the Rollout's), for fully qualified hosts. */
  namespace: string;
  maxTrafficWeight: number;
  managedRoutes: readonly string[];
  /** Subset-level routing: the subset names of each version. */
  subsets?: { stable: string; canary: string };
  /** HTTP routes whose weights are managed; default every route with a stable destination. */
  routes?: readonly string[];
}

/** VirtualService HTTP routes as a managed route list: managed entries carry the route's name. */
export const HTTP_ROUTES: RouteList = {
  entries: (vs) => {
    const http = (vs as VirtualService).spec?.http;
    return Array.isArray(http) ? http : [];
  },
  setEntries: (vs, http) => {
    const v = vs as VirtualService;
    v.spec = { ...(v.spec ?? {}), http };
  },
  entryName: (route) => route,
};

/** Fields a managed route sets itself rather than copying from the base route. */
const REPLACED = ["name", "match", "route", "mirror", "mirrors", "mirrorPercentage", "mirrorPercent"];

// ---- destinations -----------------------------------------------------------------------------

function hostIs(host: unknown, service: string, namespace: string): boolean {
  if (typeof host !== "string") return false;
  return (
    host === service || host === `${service}.${namespace}` || host.startsWith(`${service}.${namespace}.svc`)
  );
}

function destinationOf(entry: unknown): Json {
  return isRecord(entry) && isRecord(entry.destination) ? entry.destination : {};
}

function isStable(entry: unknown, cfg: IstioRouteConfig): boolean {
  const d = destinationOf(entry);
  return cfg.subsets ? d.subset === cfg.subsets.stable : hostIs(d.host, cfg.stableService, cfg.namespace);
}

function isCanary(entry: unknown, cfg: IstioRouteConfig): boolean {
  const d = destinationOf(entry);
  return cfg.subsets ? d.subset === cfg.subsets.canary : hostIs(d.host, cfg.canaryService, cfg.namespace);
}

function hasStable(http: Json, cfg: IstioRouteConfig): boolean {
  return Array.isArray(http.route) && http.route.some((r) => isStable(r, cfg));
}

function target(cfg: IstioRouteConfig): string {
  return cfg.subsets ? `subset "${cfg.subsets.stable}"` : `"${cfg.stableService}"`;
}

/** A copy of the stable route destination pointing at the canary (same host suffix or subset). */
function canaryFrom(stable: Json, cfg: IstioRouteConfig): Json {
  const { weight: _, ...rest } = cloneJson(stable);
  const destination = destinationOf(rest);
  if (cfg.subsets) return { ...rest, destination: { ...destination, subset: cfg.subsets.canary } };
  const host = str(destination.host) ?? cfg.stableService;
  const canaryHost = host.startsWith(`${cfg.stableService}.`)
    ? cfg.canaryService + host.slice(cfg.stableService.length)
    : cfg.canaryService;
  return { ...rest, destination: { ...destination, host: canaryHost } };
}

/** The canary route destination of `http` without weight, or one made from its stable destination. */
function canaryTarget(http: Json, cfg: IstioRouteConfig): Json {
  const route = Array.isArray(http.route) ? http.route : [];
  const canary = route.find((r) => isCanary(r, cfg));
  if (isRecord(canary)) {
    const { weight: _, ...rest } = cloneJson(canary);
    return rest;
  }
  const stable = route.find((r) => isStable(r, cfg));
  return canaryFrom(isRecord(stable) ? stable : {}, cfg);
}

// ---- base routes and weights ------------------------------------------------------------------

function vsName(vs: VirtualService): string {
  return vs.metadata?.name ?? "";
}

/** The user's HTTP routes the split applies to (and managed routes are copied from). */
function baseRoutes(vs: VirtualService, cfg: IstioRouteConfig): Json[] {
  const user = userEntries(vs, HTTP_ROUTES);
  if (cfg.routes && cfg.routes.length > 0) {
    return cfg.routes.map((name) => {
      const http = user.find((h) => h.name === name);
      if (!http)
        throw new InvalidRouteError(`VirtualService "${vsName(vs)}" has no HTTP route named "${name}"`);
      if (!hasStable(http, cfg)) {
        throw new InvalidRouteError(
          `VirtualService "${vsName(vs)}" HTTP route "${name}" has no destination to ${target(cfg)}`,
        );
      }
      return http;
    });
  }
  const base = user.filter((h) => hasStable(h, cfg));
  if (base.length === 0) {
    throw new InvalidRouteError(
      `VirtualService "${vsName(vs)}" has no HTTP route with a destination to ${target(cfg)}`,
    );
  }
  return base;
}

/** Istio's split in percent: weights must add up to 100 whatever maxTrafficWeight is. */
export function istioWeights(weight: number, maxTrafficWeight: number): { stable: number; canary: number } {
  const canary = Math.round((weight * 100) / maxTrafficWeight);
  return { stable: 100 - canary, canary };
}

export function setWeight(vs: VirtualService, weight: number, cfg: IstioRouteConfig): VirtualService {
  checkWeight(weight, cfg.maxTrafficWeight);
  const out = cloneJson(vs);
  const weights = istioWeights(weight, cfg.maxTrafficWeight);
  const mirrors = HTTP_ROUTES.entries(out).filter(
    (h): h is Json => isRecord(h) && isManagedEntry(out, h, HTTP_ROUTES) && hasStable(h, cfg),
  );
  for (const http of [...baseRoutes(out, cfg), ...mirrors]) {
    const route = http.route as unknown[];
    const s = route.findIndex((r) => isStable(r, cfg));
    const stable = route[s] as Json;
    stable.weight = weights.stable;
    const c = route.findIndex((r) => isCanary(r, cfg));
    if (c >= 0) (route[c] as Json).weight = weights.canary;
    else route.splice(s + 1, 0, { ...canaryFrom(stable, cfg), weight: weights.canary });
  }
  return out;
}

/** Whether any HTTP route sends requests (or mirrored copies) to the canary. */
export function sendsToCanary(vs: VirtualService, cfg: IstioRouteConfig): boolean {
  return records(vs.spec?.http).some(
    (http) =>
      (Array.isArray(http.route) && http.route.some((r) => isCanary(r, cfg) && (r as Json).weight !== 0)) ||
      isCanary({ destination: http.mirror }, cfg),
  );
}

// ---- managed routes ---------------------------------------------------------------------------

function template(http: Json): Json {
  const copy = cloneJson(http);
  for (const key of REPLACED) delete copy[key];
  return copy;
}

function baseBlocks(base: Json[]): Json[] {
  return base.flatMap((http) => {
    const blocks = records(http.match);
    return blocks.length > 0 ? blocks.map((b) => cloneJson(b)) : [{}];
  });
}

function istioString(match: StringMatch, what: string): Json {
  const m = stringMatchOf(match, what);
  return { [m.type]: m.value };
}

/** A RouteMatch (Argo's mirror match) as an Istio HTTPMatchRequest. */
export function istioMatch(match: RouteMatch, route: string): Json {
  const what = `setMirrorRoute "${route}"`;
  const out: Json = {};
  if (match.path) out.uri = istioString(match.path, `${what} path`);
  if (match.method) out.method = istioString(match.method, `${what} method`);
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0) {
    out.headers = Object.fromEntries(headers.map(([k, v]) => [k, istioString(v, `${what} header ${k}`)]));
  }
  return out;
}

/** A base block narrowed by another: its uri and method win, headers add up. */
function narrow(base: Json, by: Json): Json {
  const out: Json = { ...cloneJson(base) };
  if (by.uri !== undefined) out.uri = by.uri;
  if (by.method !== undefined) out.method = by.method;
  const headers = {
    ...(isRecord(base.headers) ? base.headers : {}),
    ...(isRecord(by.headers) ? by.headers : {}),
  };
  if (Object.keys(headers).length > 0) out.headers = headers;
  return out;
}

function checkNameFree(vs: VirtualService, name: string): void {
  if (userEntries(vs, HTTP_ROUTES).some((h) => h.name === name)) {
    throw new InvalidRouteError(
      `VirtualService "${vsName(vs)}" already has an HTTP route named "${name}" that slipway did not add; rename one of them`,
    );
  }
}

function addHeaderRoute(
  vs: VirtualService,
  header: HeaderRoute,
  cfg: IstioRouteConfig,
  previous: Json | undefined,
): VirtualService {
  checkNameFree(vs, header.name);
  const base = baseRoutes(vs, cfg);
  const first = base[0]!;
  const match = baseBlocks(base).flatMap((b) =>
    header.match.map((h) =>
      narrow(b, {
        headers: {
          [h.headerName]: istioString(
            h.headerValue,
            `setHeaderRoute "${header.name}" header ${h.headerName}`,
          ),
        },
      }),
    ),
  );
  const entry: Json = {
    name: header.name,
    match,
    route: [{ ...canaryTarget(first, cfg), weight: 100 }],
    ...template(first),
  };
  return insertManaged(vs, header.name, entry, HTTP_ROUTES, cfg.managedRoutes, previous);
}

function addMirrorRoute(
  vs: VirtualService,
  mirror: MirrorRoute,
  cfg: IstioRouteConfig,
  previous: Json | undefined,
): VirtualService {
  checkNameFree(vs, mirror.name);
  const base = baseRoutes(vs, cfg);
  const first = base[0]!;
  const narrowers = mirror.match.map((m) => istioMatch(m, mirror.name));
  const entry: Json = {
    name: mirror.name,
    match: baseBlocks(base).flatMap((b) => narrowers.map((m) => narrow(b, m))),
    route: cloneJson(first.route),
    mirror: destinationOf(canaryTarget(first, cfg)),
    mirrorPercentage: { value: mirror.percentage ?? 100 },
    ...template(first),
  };
  return insertManaged(vs, mirror.name, entry, HTTP_ROUTES, cfg.managedRoutes, previous);
}

export function removeRoute(vs: VirtualService, name: string, cfg: IstioRouteConfig): VirtualService {
  return removeManaged(vs, name, HTTP_ROUTES, cfg.managedRoutes);
}

export function removeManagedRoutes(vs: VirtualService, cfg: IstioRouteConfig): VirtualService {
  return removeAllManaged(vs, HTTP_ROUTES, cfg.managedRoutes);
}

export function setHeaderRoute(
  vs: VirtualService,
  header: HeaderRoute,
  cfg: IstioRouteConfig,
): VirtualService {
  checkRouteName("setHeaderRoute", header.name, cfg.managedRoutes);
  for (const m of header.match) checkHeaderMatch(header.name, m);
  if (header.match.length === 0) return removeRoute(vs, header.name, cfg);
  const previous = findManaged(vs, header.name, HTTP_ROUTES);
  return addHeaderRoute(removeRoute(vs, header.name, cfg), header, cfg, previous);
}

export function setMirrorRoute(
  vs: VirtualService,
  mirror: MirrorRoute,
  cfg: IstioRouteConfig,
): VirtualService {
  checkRouteName("setMirrorRoute", mirror.name, cfg.managedRoutes);
  checkPercentage(mirror.name, mirror.percentage);
  if (mirror.match.length === 0) return removeRoute(vs, mirror.name, cfg);
  const previous = findManaged(vs, mirror.name, HTTP_ROUTES);
  return addMirrorRoute(removeRoute(vs, mirror.name, cfg), mirror, cfg, previous);
}

/** The VirtualService realising `state` exactly; `verify` compares with it, `apply` writes it. */
export function render(vs: VirtualService, state: TrafficState, cfg: IstioRouteConfig): VirtualService {
  checkState(state, cfg.managedRoutes, cfg.maxTrafficWeight);
  let out = setWeight(removeManagedRoutes(vs, cfg), state.canaryWeight, cfg);
  for (const header of state.headerRoutes) {
    out = addHeaderRoute(out, header, cfg, findManaged(vs, header.name, HTTP_ROUTES));
  }
  for (const mirror of state.mirrorRoutes) {
    out = addMirrorRoute(out, mirror, cfg, findManaged(vs, mirror.name, HTTP_ROUTES));
  }
  return out;
}

// ---- DestinationRule --------------------------------------------------------------------------

export interface SubsetHashes {
  stable?: string;
  canary?: string;
}

/** The hash a subset selects now (undefined when it selects none, or there is no such subset). */
export function subsetHash(rule: DestinationRule, subset: string): string | undefined {
  const found = records(rule.spec?.subsets).find((s) => s.name === subset);
  const labels = found && isRecord(found.labels) ? found.labels : {};
  return str(labels[POD_TEMPLATE_HASH_LABEL]);
}

/** Points each subset at its version's pod-template hash; other labels and subsets stay. */
export function withSubsetHashes(
  rule: DestinationRule,
  subsets: { stable: string; canary: string },
  hashes: SubsetHashes,
): DestinationRule {
  const out = cloneJson(rule);
  const entries = records(out.spec?.subsets);
  for (const [subset, hash] of [
    [subsets.stable, hashes.stable],
    [subsets.canary, hashes.canary],
  ] as const) {
    if (!hash) continue;
    const entry = entries.find((s) => s.name === subset);
    if (!entry) {
      throw new InvalidRouteError(`DestinationRule "${rule.metadata?.name ?? ""}" has no subset "${subset}"`);
    }
    entry.labels = { ...(isRecord(entry.labels) ? entry.labels : {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  }
  return out;
}
