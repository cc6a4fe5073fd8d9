/**
 * Runtime values of the evaluator, mirroring Go's types under expr: `bigint` is an int, `number`
 * is a float64 (provider results are floats, as in Argo: Prometheus samples and JSON numbers),
 * maps have no prototype so nothing but their own keys is reachable.
 */
import { EvaluationError } from "./errors.js";

export type ValueMap = { [key: string]: Value };
export type Value = null | boolean | bigint | number | string | Value[] | ValueMap;

export const isMap = (v: Value): v is ValueMap => typeof v === "object" && v !== null && !Array.isArray(v);
export const isNumber = (v: Value): v is bigint | number => typeof v === "bigint" || typeof v === "number";

/** Go's names for the types, so messages read like Argo's (`expected bool, but got int`). */
export function typeName(v: Value): string {
  if (v === null) return "<nil>";
  switch (typeof v) {
    case "bigint":
      return "int";
    case "number":
      return "float64";
    case "string":
      return "string";
    case "boolean":
      return "bool";
    default:
      return Array.isArray(v) ? "[]interface {}" : "map[string]interface {}";
  }
}

/** Reads a map key without ever reaching a prototype (`constructor`, `__proto__` are just missing keys). */
export function ownKey(map: ValueMap, key: string): Value {
  return Object.hasOwn(map, key) ? (Object.getOwnPropertyDescriptor(map, key)?.value as Value) : null;
}

/**
 * Copies a provider's result into evaluator values. Plain data only: functions, class instances
 * and symbols are refused, so a condition can never reach host objects.
 */
export function toValue(input: unknown, depth = 0): Value {
  if (depth > 64) throw new EvaluationError("result is nested too deeply");
  if (input === null || input === undefined) return null;
  switch (typeof input) {
    case "boolean":
    case "bigint":
    case "number":
    case "string":
      return input;
    case "object": {
      if (Array.isArray(input)) return input.map((x) => toValue(x, depth + 1));
      const proto = Object.getPrototypeOf(input);
      if (proto !== Object.prototype && proto !== null) {
        throw new EvaluationError(`result of type ${proto?.constructor?.name ?? "object"} is not plain data`);
      }
      const out: ValueMap = Object.create(null);
      for (const [k, v] of Object.entries(input)) {
        Object.defineProperty(out, k, { value: toValue(v, depth + 1), enumerable: true, writable: true });
      }
      return out;
    }
    default:
      throw new EvaluationError(`result of type ${typeof input} is not plain data`);
  }
}

/** Back to plain JS for callers (ints become numbers when they fit). */
export function fromValue(v: Value): unknown {
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(fromValue);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromValue(x)]));
  return v;
}

/** expr's `==`: numbers compare by value across int/float, other kinds deeply, mixed kinds are unequal. */
export function equal(a: Value, b: Value): boolean {
  if (isNumber(a) && isNumber(b)) {
    // biome-ignore lint/suspicious/noDoubleEquals: bigint/number comparison by value is the point here.
    return a == b;
  }
  if (a === null || b === null) return a === b;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  }
  if (isMap(a)) {
    if (!isMap(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
  }
  return a === b;
}

/** Int or float as a float64. */
export const toFloat = (v: bigint | number): number => (typeof v === "bigint" ? Number(v) : v);

/** Go's int64 wrap-around for integer arithmetic. */
export const wrapInt = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)`-ish text for messages and string(). */
export function formatValue(v: Value): string {
  if (v === null) return "<nil>";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (v === Number.POSITIVE_INFINITY) return "+Inf";
    if (v === Number.NEGATIVE_INFINITY) return "-Inf";
    return String(v);
  }
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(" ")}]`;
  return `map[${Object.keys(v)
    .sort()
    .map((k) => `${k}:${formatValue(v[k]!)}`)
    .join(" ")}]`;
}
