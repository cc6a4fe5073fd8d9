/**
 * The functions a condition can call: Argo Rollouts' own (`asInt`, `asFloat`, `isNaN`, `isInf`,
 * `isNil`, `default`; see argo-rollouts utils/evaluate/evaluate.go) and expr-lang's builtins that
 * conditions use (https://expr-lang.org/docs/language-definition#builtin-functions). Nothing else
 * is callable, which is what keeps the evaluator safe by construction.
 */
import { EvaluationError } from "./errors.js";
import { formatValue, isMap, isNumber, toFloat, typeName, type Value } from "./value.js";

/** What the checker knows about a value before the result exists. `number` is int-or-float. */
export type StaticType = "int" | "float" | "number" | "string" | "bool" | "nil" | "array" | "map" | "any";

/** What a builtin sees besides its arguments: the measurement result (Argo's isNil/default read it). */
export interface CallContext {
  result: Value;
}

export type Predicate = (element: Value, index: number) => Value;

export interface Builtin {
  min: number;
  max: number;
  /** Kinds the arguments must have (checked statically when known, always at run time). */
  params?: StaticType[];
  returns: StaticType | ((args: StaticType[]) => StaticType);
  /** Index of the argument that is a predicate (`{# > 1}` or `# > 1`), if any. */
  predicateArg?: number;
  call?: (args: Value[], ctx: CallContext) => Value;
  callWithPredicate?: (items: Value[], pred: Predicate | undefined, rest: Value[]) => Value;
}

const fail = (msg: string): never => {
  throw new EvaluationError(msg);
};

/** The Go `strconv` error text, so messages match Argo's for the same input. */
const syntaxError = (fn: string, s: string): never =>
  fail(`strconv.${fn}: parsing ${JSON.stringify(s)}: invalid syntax`);

const FLOAT_RE =
  /^[+-]?(?:(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?|0[xX][\da-fA-F_.]+[pP][+-]?\d+)$/;

/** Go's strconv.ParseFloat: decimal, exponent, `Inf`/`Infinity`/`NaN` in any case. */
export function parseGoFloat(s: string): number {
  const lower = s.toLowerCase();
  const unsigned = lower.replace(/^[+-]/, "");
  if (unsigned === "inf" || unsigned === "infinity") {
    return lower.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  if (unsigned === "nan" && lower === "nan") return Number.NaN;
  if (!FLOAT_RE.test(s) || s.includes("_")) return syntaxError("ParseFloat", s);
  return Number(s);
}

/** Go's strconv.ParseInt(s, 10, 64). */
export function parseGoInt(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) return syntaxError("ParseInt", s);
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    return fail(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return n;
}

/** Go's int64(f): truncation; NaN and ±Inf give math.MinInt64 on amd64. */
function truncToInt(f: number): bigint {
  if (!Number.isFinite(f) || Math.abs(f) >= 2 ** 63) return -9223372036854775808n;
  return BigInt(Math.trunc(f));
}

function num(v: Value, fn: string): bigint | number {
  if (!isNumber(v)) return fail(`${fn}: expected a number, got ${typeName(v)}`);
  return v;
}

function str(v: Value, fn: string): string {
  if (typeof v !== "string") return fail(`${fn}: expected a string, got ${typeName(v)}`);
  return v;
}

function list(v: Value, fn: string): Value[] {
  if (!Array.isArray(v)) return fail(`builtin ${fn} takes only array (got ${typeName(v)})`);
  return v;
}

function bool(v: Value, fn: string): boolean {
  if (typeof v !== "boolean") return fail(`predicate of ${fn} must return bool, but got ${typeName(v)}`);
  return v;
}

function numbers(args: Value[], fn: string): (bigint | number)[] {
  const items = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return items.map((x) => num(x, fn));
}

function add(a: bigint | number, b: bigint | number): bigint | number {
  return typeof a === "bigint" && typeof b === "bigint" ? BigInt.asIntN(64, a + b) : toFloat(a) + toFloat(b);
}

function extreme(args: Value[], fn: string, pick: (a: number, b: number) => boolean): Value {
  const items = numbers(args, fn);
  if (items.length === 0) return fail(`${fn}: not enough arguments`);
  let best = items[0]!;
  for (const x of items.slice(1)) if (pick(toFloat(x), toFloat(best))) best = x;
  return best;
}

function median(items: (bigint | number)[]): number {
  if (items.length === 0) return 0;
  const sorted = items.map(toFloat).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Go's math.Round: halves away from zero. */
const goRound = (f: number): number => Math.sign(f) * Math.round(Math.abs(f));

const sameNumber = (args: StaticType[]): StaticType =>
  args[0] === "int" || args[0] === "float" ? args[0] : "number";

export const BUILTINS: Readonly<Record<string, Builtin>> = Object.freeze({
  // --- Argo Rollouts' additions -------------------------------------------------------------
  asInt: {
    min: 1,
    max: 1,
    returns: "int",
    call: ([v]) => {
      if (typeof v === "bigint") return v;
      if (typeof v === "number") return truncToInt(v);
      if (typeof v === "string") return parseGoInt(v);
      return fail(`asInt() not supported on ${typeName(v!)} ${formatValue(v!)}`);
    },
  },
  asFloat: {
    min: 1,
    max: 1,
    returns: "float",
    call: ([v]) => {
      if (isNumber(v!)) return toFloat(v);
      if (typeof v === "string") return parseGoFloat(v);
      return fail(`asFloat() not supported on ${typeName(v!)} ${formatValue(v!)}`);
    },
  },
  isNaN: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: "bool",
    call: ([v]) => Number.isNaN(toFloat(num(v!, "isNaN"))),
  },
  isInf: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: "bool",
    call: ([v]) => {
      const f = toFloat(num(v!, "isInf"));
      return f === Number.POSITIVE_INFINITY || f === Number.NEGATIVE_INFINITY;
    },
  },
  // Argo's isNil and default ignore their first argument and look at the measurement result
  // itself (isNilFunc/defaultFunc close over it), so `default(result[0], 0)` still indexes first.
  isNil: { min: 1, max: 1, returns: "bool", call: (_args, ctx) => ctx.result === null },
  default: { min: 2, max: 2, returns: "any", call: ([, d], ctx) => (ctx.result === null ? d! : ctx.result) },

  // --- expr-lang builtins --------------------------------------------------------------------
  len: {
    min: 1,
    max: 1,
    returns: "int",
    call: ([v]) => {
      if (typeof v === "string") return BigInt([...v].length);
      if (Array.isArray(v)) return BigInt(v.length);
      if (isMap(v!)) return BigInt(Object.keys(v).length);
      return fail(`invalid argument for len (type ${typeName(v!)})`);
    },
  },
  abs: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: sameNumber,
    call: ([v]) => {
      const n = num(v!, "abs");
      return typeof n === "bigint" ? (n < 0n ? BigInt.asIntN(64, -n) : n) : Math.abs(n);
    },
  },
  ceil: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: "float",
    call: ([v]) => Math.ceil(toFloat(num(v!, "ceil"))),
  },
  floor: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: "float",
    call: ([v]) => Math.floor(toFloat(num(v!, "floor"))),
  },
  round: {
    min: 1,
    max: 1,
    params: ["number"],
    returns: "float",
    call: ([v]) => goRound(toFloat(num(v!, "round"))),
  },
  int: {
    min: 1,
    max: 1,
    returns: "int",
    call: ([v]) => {
      if (typeof v === "bigint") return v;
      if (typeof v === "number") return truncToInt(v);
      if (typeof v === "string") return parseGoInt(v.trim());
      return fail(`invalid operation: int(${typeName(v!)})`);
    },
  },
  float: {
    min: 1,
    max: 1,
    returns: "float",
    call: ([v]) => {
      if (isNumber(v!)) return toFloat(v);
      if (typeof v === "string") return parseGoFloat(v.trim());
      return fail(`invalid operation: float(${typeName(v!)})`);
    },
  },
  string: { min: 1, max: 1, returns: "string", call: ([v]) => formatValue(v!) },
  lower: {
    min: 1,
    max: 1,
    params: ["string"],
    returns: "string",
    call: ([v]) => str(v!, "lower").toLowerCase(),
  },
  upper: {
    min: 1,
    max: 1,
    params: ["string"],
    returns: "string",
    call: ([v]) => str(v!, "upper").toUpperCase(),
  },
  trim: { min: 1, max: 1, params: ["string"], returns: "string", call: ([v]) => str(v!, "trim").trim() },
  max: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    returns: "number",
    call: (a) => extreme(a, "max", (x, b) => x > b),
  },
  min: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    returns: "number",
    call: (a) => extreme(a, "min", (x, b) => x < b),
  },
  mean: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    returns: "float",
    call: (a) => {
      const items = numbers(a, "mean");
      return items.length === 0 ? 0 : items.reduce<number>((s, x) => s + toFloat(x), 0) / items.length;
    },
  },
  median: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    returns: "float",
    call: (a) => median(numbers(a, "median")),
  },
  first: {
    min: 1,
    max: 1,
    params: ["array"],
    returns: "any",
    call: ([v]) =>
      Array.isArray(v) ? (v[0] ?? null) : fail(`builtin first takes only array (got ${typeName(v!)})`),
  },
  last: {
    min: 1,
    max: 1,
    params: ["array"],
    returns: "any",
    call: ([v]) =>
      Array.isArray(v) ? (v.at(-1) ?? null) : fail(`builtin last takes only array (got ${typeName(v!)})`),
  },
  keys: {
    min: 1,
    max: 1,
    params: ["map"],
    returns: "array",
    call: ([v]) =>
      isMap(v!) ? Object.keys(v).sort() : fail(`builtin keys takes only map (got ${typeName(v!)})`),
  },
  values: {
    min: 1,
    max: 1,
    params: ["map"],
    returns: "array",
    call: ([v]) =>
      isMap(v!)
        ? Object.keys(v)
            .sort()
            .map((k) => v[k]!)
        : fail(`builtin values takes only map (got ${typeName(v!)})`),
  },

  // --- predicates: `all(result, {# > 0.9})` or `all(result, # > 0.9)` ---------------------------
  all: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "bool",
    callWithPredicate: (xs, p) => xs.every((x, i) => bool(p!(x, i), "all")),
  },
  any: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "bool",
    callWithPredicate: (xs, p) => xs.some((x, i) => bool(p!(x, i), "any")),
  },
  none: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "bool",
    callWithPredicate: (xs, p) => !xs.some((x, i) => bool(p!(x, i), "none")),
  },
  one: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "bool",
    callWithPredicate: (xs, p) => xs.filter((x, i) => bool(p!(x, i), "one")).length === 1,
  },
  filter: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "array",
    callWithPredicate: (xs, p) => xs.filter((x, i) => bool(p!(x, i), "filter")),
  },
  map: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "array",
    callWithPredicate: (xs, p) => xs.map((x, i) => p!(x, i)),
  },
  count: {
    min: 1,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "int",
    callWithPredicate: (xs, p) => BigInt(xs.filter((x, i) => bool(p ? p(x, i) : x, "count")).length),
  },
  sum: {
    min: 1,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "number",
    callWithPredicate: (xs, p) =>
      xs.map((x, i) => num(p ? p(x, i) : x, "sum")).reduce<bigint | number>(add, 0n),
  },
  find: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "any",
    callWithPredicate: (xs, p) => xs.find((x, i) => bool(p!(x, i), "find")) ?? null,
  },
  findIndex: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "int",
    callWithPredicate: (xs, p) => BigInt(xs.findIndex((x, i) => bool(p!(x, i), "findIndex"))),
  },
  findLast: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "any",
    callWithPredicate: (xs, p) => xs.findLast((x, i) => bool(p!(x, i), "findLast")) ?? null,
  },
  findLastIndex: {
    min: 2,
    max: 2,
    params: ["array"],
    predicateArg: 1,
    returns: "int",
    callWithPredicate: (xs, p) => BigInt(xs.findLastIndex((x, i) => bool(p!(x, i), "findLastIndex"))),
  },
} satisfies Record<string, Builtin>);

export function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTINS, name);
}

/** Used by the evaluator to run a predicate builtin over a collection. */
export function listArg(v: Value, fn: string): Value[] {
  return list(v, fn);
}
