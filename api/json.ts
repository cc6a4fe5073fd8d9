/**
 * JSON value helpers shared by every part (controller, analysis, sandbox): Kubernetes objects are
 * plain JSON trees, and copying them is the commonest thing an API server or a controller does.
 */

/**
 * A deep copy of a JSON value (plain objects, arrays, primitives). About five times faster than
 * `structuredClone` on a 7 KB Application (11 µs against 56 µs), which matters where every read,
 * write and watch event copies an object. Anything else (a Date, a Map) is copied by
 * `structuredClone`, so a stray non-JSON value is still copied, not shared.
 */
export function cloneJson<T>(value: T): T {
  return copy(value) as T;
}

function copy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i]);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
  return out;
}
