/**
 * Reading and comparing routing objects, which are schemaless JSON to slipway (CRDs of other
 * projects, edited by hand): narrowing helpers that never throw, a canonical form for equality,
 * and the first difference between two values, worded for a condition message.
 */
import { isDeepStrictEqual } from "node:util";

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value's object entries, or [] when it is not an array (user input: anything else is absent). */
export function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** JSON's view of a value: keys holding `undefined` dropped, so equality means "same on the wire". */
export function canonical<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(canonical(a), canonical(b));
}

/**
 * Whether `live` says everything `wanted` says (objects may carry more keys; arrays must have the
 * same length). Used to keep a live managed route the API server has filled with defaults.
 */
export function contains(live: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(live) && live.length === wanted.length && wanted.every((w, i) => contains(live[i], w))
    );
  }
  if (isRecord(wanted)) {
    return (
      isRecord(live) && Object.entries(wanted).every(([k, w]) => w === undefined || contains(live[k], w))
    );
  }
  return live === wanted;
}

function segment(key: string | number): string {
  if (typeof key === "number") return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function show(value: unknown): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Where `live` first departs from `expected`, as `spec.rules[0].backendRefs[1].weight is 50,
 * expected 10`; undefined when they are the same JSON.
 */
export function firstDifference(expected: unknown, live: unknown, path = ""): string | undefined {
  const e = canonical(expected);
  const l = canonical(live);
  return differ(e, l, path);
}

function differ(expected: unknown, live: unknown, path: string): string | undefined {
  const where = path.replace(/^\./, "") || "the object";
  if (Array.isArray(expected) && Array.isArray(live)) {
    if (expected.length !== live.length) {
      const n = Math.min(expected.length, live.length);
      for (let i = 0; i < n; i++) {
        const inner = differ(expected[i], live[i], path + segment(i));
        if (inner) return `${where} has ${live.length} entries, expected ${expected.length}; ${inner}`;
      }
      return `${where} has ${live.length} entries, expected ${expected.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const inner = differ(expected[i], live[i], path + segment(i));
      if (inner) return inner;
    }
    return undefined;
  }
  if (isRecord(expected) && isRecord(live)) {
    // The spec first: a wrong route says more than the annotation listing it.
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(live)])].sort(
      (a, b) => Number(b === "spec") - Number(a === "spec"),
    );
    for (const key of keys) {
      const inner = differ(expected[key], live[key], path + segment(key));
      if (inner) return inner;
    }
    return undefined;
  }
  if (isDeepStrictEqual(expected, live)) return undefined;
  if (expected === undefined) return `${where} is ${show(live)}, expected it absent`;
  return `${where} is ${show(live)}, expected ${show(expected)}`;
}

/** A regular expression matching exactly `text` (for prefix matches written as regexes). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
