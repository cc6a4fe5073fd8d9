/**
 * Small helpers shared by the routers: reading schemaless JSON safely, regular expressions compiled
 * once, and weighted choice.
 */
import type { RandomSource } from "./prng.js";

/** The value as an array of objects (routes are user input: anything else counts as absent). */
export function objects(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is Record<string, unknown> => isRecord(item));
}

/** API group of an apiVersion ("" for the core group). */
export function apiGroup(apiVersion: string | undefined): string {
  const slash = apiVersion?.indexOf("/") ?? -1;
  return slash < 0 ? "" : apiVersion!.slice(0, slash);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

const regexCache = new Map<string, RegExp | null>();
const REGEX_CACHE_LIMIT = 1000;

/**
 * Compiles `pattern` anchored at both ends (Envoy, which serves Istio and most Gateway API
 * implementations, matches the whole value), or null when it does not compile. Cached: routes are
 * evaluated for every simulated request.
 */
export function fullMatchRegex(pattern: string): RegExp | null {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(`^(?:${pattern})$`);
    } catch {
      compiled = null;
    }
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled;
}

/**
 * Picks an index with probability weight/total; entries with weight <= 0 are never chosen.
 * Returns -1 when no entry has a positive weight.
 */
export function weightedIndex(weights: readonly number[], random: RandomSource): number {
  let total = 0;
  for (const weight of weights) if (weight > 0) total += weight;
  if (total <= 0) return -1;
  let point = random.next() * total;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    const weight = weights[i]!;
    if (weight <= 0) continue;
    if (point < weight) return i;
    point -= weight;
    last = i;
  }
  // Floating-point residue: the draw fell past the end; the last positive entry owns it.
  return last;
}

/**
 * Path-prefix match by path elements, as Gateway API PathPrefix and Ingress Prefix define it:
 * "/foo" matches "/foo" and "/foo/bar" but not "/foobar"; a trailing slash in the prefix is ignored.
 */
export function pathHasPrefix(path: string, prefix: string): boolean {
  const trimmed = prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (trimmed === "/" || trimmed === "") return true;
  return path === trimmed || path.startsWith(`${trimmed}/`);
}
