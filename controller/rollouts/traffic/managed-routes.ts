/**
 * The header and mirror routes slipway adds to a routing object: which are ours (listed in the
 * object's `slipway.dev/managed-routes` annotation, so a user's route with the same name is never
 * taken for one), in which order (`trafficRouting.managedRoutes`, highest precedence first, as
 * Argo Rollouts orders them), and checks of the state a router is asked to realise.
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../../api/json.js";
import type { HeaderRoutingMatch, StringMatch } from "../../../api/v1alpha1/rollout.js";
import { InvalidSpecError } from "./errors.js";
import { contains, isRecord, type Json } from "./json.js";
import { MANAGED_ROUTES_ANNOTATION, type TrafficState } from "./router.js";

/** Names listed in the annotation; a malformed annotation (hand edit) lists none. */
export function managedNames(object: KubernetesObject): string[] {
  const raw = object.metadata?.annotations?.[MANAGED_ROUTES_ANNOTATION];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((n): n is string => typeof n === "string") : [];
  } catch {
    return [];
  }
}

/** Writes the list (sorted by `order`) into the annotation, or drops the annotation when empty. */
export function setManagedNames(object: KubernetesObject, names: string[], order: readonly string[]): void {
  const metadata = object.metadata ?? {};
  object.metadata = metadata;
  const annotations = { ...(metadata.annotations ?? {}) };
  if (names.length === 0) delete annotations[MANAGED_ROUTES_ANNOTATION];
  else annotations[MANAGED_ROUTES_ANNOTATION] = JSON.stringify(sortByOrder([...new Set(names)], order));
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  else metadata.annotations = annotations;
}

/**
 * Sorts names by their place in `order`; names it does not list (left from an older spec) go
 * last, in their current order.
 */
export function sortByOrder(names: readonly string[], order: readonly string[]): string[] {
  return sortEntries(names, (n) => n, order);
}

export function sortEntries<T>(
  entries: readonly T[],
  nameOf: (entry: T) => string,
  order: readonly string[],
): T[] {
  const rank = (entry: T) => {
    const i = order.indexOf(nameOf(entry));
    return i < 0 ? order.length : i;
  };
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.i - b.i)
    .map(({ entry }) => entry);
}

/** Argo's rule: a step may only name a route listed in `trafficRouting.managedRoutes`. */
export function checkRouteName(step: string, name: string, order: readonly string[]): void {
  if (!name) throw new InvalidSpecError(`${step}: the route needs a name`);
  if (!order.includes(name)) {
    throw new InvalidSpecError(
      `${step} "${name}": the route must be listed in trafficRouting.managedRoutes` +
        (order.length ? ` (${order.map((n) => `"${n}"`).join(", ")})` : " (none are)"),
    );
  }
}

export function checkWeight(weight: number, maxTrafficWeight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > maxTrafficWeight) {
    throw new InvalidSpecError(
      `canary weight ${weight} must be a whole number between 0 and maxTrafficWeight (${maxTrafficWeight})`,
    );
  }
}

/** The one condition of a StringMatch that is set (Argo: exactly one of exact, prefix, regex). */
export function stringMatchOf(
  match: StringMatch,
  what: string,
): { type: "exact" | "prefix" | "regex"; value: string } {
  const set = (["exact", "prefix", "regex"] as const).filter((k) => match[k] !== undefined);
  if (set.length !== 1) {
    throw new InvalidSpecError(`${what}: set exactly one of exact, prefix or regex (found ${set.length})`);
  }
  const type = set[0]!;
  return { type, value: match[type]! };
}

export function checkHeaderMatch(route: string, match: HeaderRoutingMatch): void {
  if (!match.headerName) throw new InvalidSpecError(`setHeaderRoute "${route}": a match needs headerName`);
  stringMatchOf(match.headerValue, `setHeaderRoute "${route}" header ${match.headerName}`);
}

/** Validates a whole state before it is rendered: names listed and unique, weight in range. */
export function checkState(state: TrafficState, order: readonly string[], maxTrafficWeight: number): void {
  checkWeight(state.canaryWeight, maxTrafficWeight);
  const seen = new Set<string>();
  for (const [step, routes] of [
    ["setHeaderRoute", state.headerRoutes],
    ["setMirrorRoute", state.mirrorRoutes],
  ] as const) {
    for (const route of routes) {
      checkRouteName(step, route.name, order);
      if (seen.has(route.name)) throw new InvalidSpecError(`${step} "${route.name}": the name is used twice`);
      seen.add(route.name);
    }
  }
  for (const route of state.headerRoutes) {
    if (route.match.length === 0)
      throw new InvalidSpecError(`setHeaderRoute "${route.name}": no match given`);
    for (const m of route.match) checkHeaderMatch(route.name, m);
  }
  for (const route of state.mirrorRoutes) {
    if (route.match.length === 0)
      throw new InvalidSpecError(`setMirrorRoute "${route.name}": no match given`);
    checkPercentage(route.name, route.percentage);
  }
}

export function checkPercentage(route: string, percentage: number | undefined): void {
  if (percentage !== undefined && (!Number.isFinite(percentage) || percentage < 0 || percentage > 100)) {
    throw new InvalidSpecError(`setMirrorRoute "${route}": percentage ${percentage} is outside 0..100`);
  }
}

/**
 * Where a kind keeps its routes (HTTPRoute `spec.rules`, VirtualService `spec.http`) and what a
 * managed route's entry is called there.
 */
export interface RouteList {
  entries(object: KubernetesObject): unknown[];
  setEntries(object: KubernetesObject, entries: unknown[]): void;
  entryName(route: string): string;
}

function isEntryOf(entry: unknown, names: readonly string[], list: RouteList): entry is Json {
  return (
    isRecord(entry) && typeof entry.name === "string" && names.some((n) => list.entryName(n) === entry.name)
  );
}

/** The live entry of managed route `name`, if slipway added one. */
export function findManaged(object: KubernetesObject, name: string, list: RouteList): Json | undefined {
  if (!managedNames(object).includes(name)) return undefined;
  return list.entries(object).find((e): e is Json => isRecord(e) && e.name === list.entryName(name));
}

/** The entries that are not slipway's. */
export function userEntries(object: KubernetesObject, list: RouteList): Json[] {
  const names = managedNames(object);
  return list.entries(object).filter((e): e is Json => isRecord(e) && !isEntryOf(e, names, list));
}

/** Whether an entry is one of slipway's. */
export function isManagedEntry(object: KubernetesObject, entry: unknown, list: RouteList): boolean {
  return isEntryOf(entry, managedNames(object), list);
}

export function removeManaged<T extends KubernetesObject>(
  object: T,
  name: string,
  list: RouteList,
  order: readonly string[],
): T {
  const out = cloneJson(object);
  const names = managedNames(object);
  if (!names.includes(name)) return out;
  list.setEntries(
    out,
    list.entries(out).filter((e) => !(isRecord(e) && e.name === list.entryName(name))),
  );
  setManagedNames(
    out,
    names.filter((n) => n !== name),
    order,
  );
  return out;
}

export function removeAllManaged<T extends KubernetesObject>(
  object: T,
  list: RouteList,
  order: readonly string[],
): T {
  let out = cloneJson(object);
  for (const name of managedNames(object)) out = removeManaged(out, name, list, order);
  // An annotation a hand edit made unreadable goes too.
  setManagedNames(out, [], order);
  return out;
}

/**
 * Whether a live managed entry says what `generated` says: the same fields, each containing the
 * generated value (deeper down, the API server may have added defaults such as a backendRef's
 * `weight: 1` or a header match's `type: Exact`).
 */
function keepsMeaning(live: Json, generated: Json): boolean {
  const keys = (o: Json) =>
    Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .join(",");
  return keys(live) === keys(generated) && contains(live, generated);
}

/**
 * Puts `entry` (managed route `name`) in, in place: slipway's entries first in `order`, then the
 * user's entries as they were. Keeps the live entry instead when it already says what `entry`
 * says (see keepsMeaning).
 */
export function insertManaged<T extends KubernetesObject>(
  object: T,
  name: string,
  entry: Json,
  list: RouteList,
  order: readonly string[],
  previous: Json | undefined,
): T {
  const chosen = previous && keepsMeaning(previous, entry) ? previous : entry;
  const names = [...managedNames(object).filter((n) => n !== name), name];
  const all = list.entries(object);
  const ours = all.filter((e): e is Json => isEntryOf(e, names, list) && e.name !== list.entryName(name));
  const theirs = all.filter((e) => !isEntryOf(e, names, list));
  const routeOf = (e: Json) => names.find((n) => list.entryName(n) === e.name) ?? "";
  list.setEntries(object, [...sortEntries([...ours, chosen], routeOf, order), ...theirs]);
  setManagedNames(object, names, order);
  return object;
}
