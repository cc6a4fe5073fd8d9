/**
 * Gateway API HTTPRoute, pure: the live route plus what is asked → the route to write. Nothing
 * here does I/O, so every case is a fixture in `test/unit/rollouts-traffic.test.ts`.
 *
 * - Weights: every rule with a backendRef to the stable Service gets `maxTrafficWeight - w` on it
 *   and `w` on the canary backendRef (added right after the stable one when missing, as a copy of
 *   it). Other backendRefs and rules are left alone.
 * - Header and mirror routes are rules slipway adds before the user's rules, named
 *   `slipway-<route>` and listed in the `slipway.dev/managed-routes` annotation (rule names are
 *   the only identity rules have). Each is a copy of the first rule routing to stable, with its
 *   matches narrowed: the base rules' matches × the route's matches, so a header route on a
 *   `/api` rule only takes `/api` requests. More header matches also mean higher precedence in
 *   Gateway API's match ordering, so the managed rule wins whatever the listing order.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproute
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../../../api/json.js";
import type { RouteMatch, StringMatch } from "../../../../api/v1alpha1/rollout.js";
import { InvalidRouteError, InvalidSpecError } from "../errors.js";
import { escapeRegex, isRecord, type Json, records, str } from "../json.js";
import {
  checkHeaderMatch,
  checkPercentage,
  checkRouteName,
  checkState,
  checkWeight,
  findManaged,
  insertManaged,
  type RouteList,
  removeAllManaged,
  removeManaged,
  stringMatchOf,
  userEntries,
} from "../managed-routes.js";
import type { HeaderRoute, MirrorRoute, TrafficState } from "../router.js";

export interface HTTPRoute extends KubernetesObject {
  spec?: Json;
}

export interface GatewayRouteConfig {
  stableService: string;
  canaryService: string;
  /** Namespace of the Services (the Rollout's); a backendRef without one means the route's. */
  serviceNamespace: string;
  maxTrafficWeight: number;
  /** `trafficRouting.managedRoutes`, highest precedence first. */
  managedRoutes: readonly string[];
}

/** A match without a path matches every path (the API server writes this default in). */
const defaultPath = (): Json => ({ type: "PathPrefix", value: "/" });
export const RULE_NAME_PREFIX = "slipway-";
const MAX_RULE_NAME = 63;

/**
 * The rule name of a managed route: `slipway-<route>` when that is a valid section name,
 * otherwise a cleaned-up form with a hash of the original, so distinct routes stay distinct.
 */
export function ruleName(route: string): string {
  const clean = route
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const plain = `${RULE_NAME_PREFIX}${clean}`;
  if (clean === route && plain.length <= MAX_RULE_NAME) return plain;
  const hash = fnv1a(route);
  return `${plain.slice(0, MAX_RULE_NAME - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

// ---- reading ----------------------------------------------------------------------------------

function routeName(route: HTTPRoute): string {
  return route.metadata?.name ?? "";
}

/** HTTPRoute rules as a managed route list: managed rules are named `ruleName(route)`. */
export const RULES: RouteList = {
  entries: (route) => {
    const rules = (route as HTTPRoute).spec?.rules;
    return Array.isArray(rules) ? rules : [];
  },
  setEntries: (route, rules) => {
    const r = route as HTTPRoute;
    r.spec = { ...(r.spec ?? {}), rules };
  },
  entryName: ruleName,
};

function refersTo(ref: unknown, service: string, route: HTTPRoute, cfg: GatewayRouteConfig): ref is Json {
  if (!isRecord(ref) || ref.name !== service) return false;
  const kind = str(ref.kind) ?? "Service";
  const group = str(ref.group) ?? "";
  const namespace = str(ref.namespace) ?? route.metadata?.namespace ?? cfg.serviceNamespace;
  return kind === "Service" && (group === "" || group === "core") && namespace === cfg.serviceNamespace;
}

function hasStableRef(rule: Json, route: HTTPRoute, cfg: GatewayRouteConfig): boolean {
  return (
    Array.isArray(rule.backendRefs) &&
    rule.backendRefs.some((r) => refersTo(r, cfg.stableService, route, cfg))
  );
}

/** The live rule of managed route `name`, if slipway added one. */
export function managedRule(route: HTTPRoute, name: string): Json | undefined {
  return findManaged(route, name, RULES);
}

/** The user's rules that route to stable: what weights apply to and managed rules are copied from. */
function baseRules(route: HTTPRoute, cfg: GatewayRouteConfig): Json[] {
  const base = userEntries(route, RULES).filter((r) => hasStableRef(r, route, cfg));
  if (base.length === 0) throw noStableRule(route, cfg);
  return base;
}

function noStableRule(route: HTTPRoute, cfg: GatewayRouteConfig): InvalidRouteError {
  return new InvalidRouteError(
    `HTTPRoute "${routeName(route)}" has no rule with backendRefs to "${cfg.stableService}"`,
  );
}

// ---- weights ----------------------------------------------------------------------------------

/** A copy of the stable backendRef pointing at the canary Service. */
function canaryRefFrom(stable: Json, cfg: GatewayRouteConfig): Json {
  const { weight: _, ...rest } = cloneJson(stable);
  return { ...rest, name: cfg.canaryService };
}

export function setWeight(route: HTTPRoute, weight: number, cfg: GatewayRouteConfig): HTTPRoute {
  checkWeight(weight, cfg.maxTrafficWeight);
  const out = cloneJson(route);
  let found = false;
  for (const rule of records(out.spec?.rules)) {
    const refs = rule.backendRefs;
    if (!Array.isArray(refs)) continue;
    const s = refs.findIndex((r) => refersTo(r, cfg.stableService, out, cfg));
    if (s < 0) continue;
    found = true;
    const stable = refs[s] as Json;
    stable.weight = cfg.maxTrafficWeight - weight;
    const c = refs.findIndex((r) => refersTo(r, cfg.canaryService, out, cfg));
    if (c >= 0) (refs[c] as Json).weight = weight;
    else refs.splice(s + 1, 0, { ...canaryRefFrom(stable, cfg), weight });
  }
  if (!found) throw noStableRule(out, cfg);
  return out;
}

// ---- managed rules ----------------------------------------------------------------------------

export function removeRoute(route: HTTPRoute, name: string, cfg: GatewayRouteConfig): HTTPRoute {
  return removeManaged(route, name, RULES, cfg.managedRoutes);
}

export function removeManagedRoutes(route: HTTPRoute, cfg: GatewayRouteConfig): HTTPRoute {
  return removeAllManaged(route, RULES, cfg.managedRoutes);
}

/** The first base rule minus what a managed rule replaces. */
function ruleTemplate(rule: Json): Json {
  const { name: _n, matches: _m, backendRefs: _b, ...rest } = cloneJson(rule);
  return rest;
}

function baseMatches(base: Json[]): Json[] {
  return base.flatMap((rule) => {
    const matches = records(rule.matches);
    return matches.length > 0
      ? matches.map((m) => ({ ...cloneJson(m), path: m.path ?? defaultPath() }))
      : [{ path: defaultPath() }];
  });
}

/** The canary backendRef of the first base rule (without weight), or one made from its stable ref. */
function canaryTarget(route: HTTPRoute, first: Json, cfg: GatewayRouteConfig): Json {
  const refs = Array.isArray(first.backendRefs) ? first.backendRefs : [];
  const canary = refs.find((r) => refersTo(r, cfg.canaryService, route, cfg));
  if (canary) {
    const { weight: _, ...rest } = cloneJson(canary);
    return rest;
  }
  const stable = refs.find((r) => refersTo(r, cfg.stableService, route, cfg));
  return canaryRefFrom(stable ?? {}, cfg);
}

function headerMatch(name: string, value: StringMatch, what: string): Json {
  const m = stringMatchOf(value, what);
  if (m.type === "exact") return { type: "Exact", name, value: m.value };
  if (m.type === "regex") return { type: "RegularExpression", name, value: m.value };
  // Gateway API has no prefix header match; a regular expression says the same.
  return { type: "RegularExpression", name, value: `${escapeRegex(m.value)}.*` };
}

function addHeaderRoute(
  route: HTTPRoute,
  header: HeaderRoute,
  cfg: GatewayRouteConfig,
  previous: Json | undefined,
): HTTPRoute {
  const base = baseRules(route, cfg);
  const first = base[0]!;
  const matches = baseMatches(base).flatMap((m) =>
    header.match.map((h) => ({
      ...m,
      headers: [
        ...records(m.headers),
        headerMatch(h.headerName, h.headerValue, `setHeaderRoute "${header.name}" header ${h.headerName}`),
      ],
    })),
  );
  const rule: Json = {
    ...ruleTemplate(first),
    name: ruleName(header.name),
    matches,
    backendRefs: [canaryTarget(route, first, cfg)],
  };
  return insertManaged(route, header.name, rule, RULES, cfg.managedRoutes, previous);
}

/** A RouteMatch (Argo's mirror match) as an HTTPRouteMatch. */
export function gatewayMatch(match: RouteMatch, route: string): Json {
  const out: Json = {};
  const what = `setMirrorRoute "${route}"`;
  if (match.path) {
    const m = stringMatchOf(match.path, `${what} path`);
    const type = m.type === "exact" ? "Exact" : m.type === "prefix" ? "PathPrefix" : "RegularExpression";
    out.path = { type, value: m.value };
  }
  if (match.method) {
    const m = stringMatchOf(match.method, `${what} method`);
    if (m.type !== "exact") {
      throw new InvalidSpecError(`${what}: Gateway API matches the method exactly; use method.exact`);
    }
    out.method = m.value.toUpperCase();
  }
  const headers = Object.entries(match.headers ?? {}).map(([name, value]) =>
    headerMatch(name, value, `${what} header ${name}`),
  );
  if (headers.length > 0) out.headers = headers;
  return out;
}

/** A base match narrowed by a mirror match: its path and method win, headers add up. */
function narrow(base: Json, by: Json): Json {
  const out: Json = { ...cloneJson(base), path: by.path ?? base.path ?? defaultPath() };
  if (by.method !== undefined) out.method = by.method;
  const headers = [...records(base.headers), ...records(by.headers)];
  if (headers.length > 0) out.headers = headers;
  return out;
}

function addMirrorRoute(
  route: HTTPRoute,
  mirror: MirrorRoute,
  cfg: GatewayRouteConfig,
  previous: Json | undefined,
): HTTPRoute {
  const base = baseRules(route, cfg);
  const first = base[0]!;
  const narrowers = mirror.match.map((m) => gatewayMatch(m, mirror.name));
  const matches = baseMatches(base).flatMap((b) => narrowers.map((m) => narrow(b, m)));
  const { weight: _, filters: _f, ...target } = canaryTarget(route, first, cfg);
  const percent = mirror.percentage ?? 100;
  const template = ruleTemplate(first);
  const rule: Json = {
    ...template,
    name: ruleName(mirror.name),
    matches,
    backendRefs: cloneJson(first.backendRefs),
    filters: [
      ...(Array.isArray(template.filters) ? template.filters : []),
      {
        type: "RequestMirror",
        // `percent` needs Gateway API v1.2; older releases mirror everything.
        requestMirror: { backendRef: target, percent },
      },
    ],
  };
  return insertManaged(route, mirror.name, rule, RULES, cfg.managedRoutes, previous);
}

export function setHeaderRoute(route: HTTPRoute, header: HeaderRoute, cfg: GatewayRouteConfig): HTTPRoute {
  checkRouteName("setHeaderRoute", header.name, cfg.managedRoutes);
  for (const m of header.match) checkHeaderMatch(header.name, m);
  if (header.match.length === 0) return removeRoute(route, header.name, cfg);
  return addHeaderRoute(removeRoute(route, header.name, cfg), header, cfg, managedRule(route, header.name));
}

export function setMirrorRoute(route: HTTPRoute, mirror: MirrorRoute, cfg: GatewayRouteConfig): HTTPRoute {
  checkRouteName("setMirrorRoute", mirror.name, cfg.managedRoutes);
  checkPercentage(mirror.name, mirror.percentage);
  if (mirror.match.length === 0) return removeRoute(route, mirror.name, cfg);
  return addMirrorRoute(removeRoute(route, mirror.name, cfg), mirror, cfg, managedRule(route, mirror.name));
}

/**
 * The route realising `state` exactly: managed rules rebuilt from scratch, weights set. `verify`
 * compares the live route with this; `apply` writes it.
 */
export function render(
  route: HTTPRoute,
  state: TrafficState,
  cfg: GatewayRouteConfig,
  options: { managedRoutes?: boolean } = {},
): HTTPRoute {
  checkState(state, cfg.managedRoutes, cfg.maxTrafficWeight);
  let out = setWeight(removeManagedRoutes(route, cfg), state.canaryWeight, cfg);
  if (options.managedRoutes === false) return out;
  for (const header of state.headerRoutes) {
    out = addHeaderRoute(out, header, cfg, managedRule(route, header.name));
  }
  for (const mirror of state.mirrorRoutes) {
    out = addMirrorRoute(out, mirror, cfg, managedRule(route, mirror.name));
  }
  return out;
}
