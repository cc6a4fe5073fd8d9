/**
 * Conditions in the syntax Argo Rollouts evaluates with expr-lang
 * (https://argo-rollouts.readthedocs.io/en/stable/features/analysis/): `result[0] >= 0.95`,
 * `len(result) == 0 || ...`, `all(result, {# > 0.9})`, `isNaN(result)`, `default(result, 0)`.
 *
 * No maintained JavaScript library parses expr-lang's syntax (closures with `#`, `in`, `??`,
 * int/float arithmetic as Go), so this is a small evaluator that only knows `result` and a fixed
 * set of functions: there is no path from a condition to JavaScript objects or globals.
 */
import type { Node } from "./ast.js";
import { Checker } from "./checker.js";
import { EvaluationError, ExpressionError } from "./errors.js";
import { Evaluator } from "./evaluator.js";
import { parse } from "./parser.js";
import { toValue, typeName } from "./value.js";

export { EvaluationError, ExpressionError, type SourcePosition } from "./errors.js";

/** A parsed and checked condition, reusable across measurements. */
export interface CompiledCondition {
  readonly source: string;
  readonly ast: Node;
}

/**
 * Parses and statically checks a condition. Throws ExpressionError carrying the 1-based column
 * (`unexpected token ")" at column 14`), so a bad template is refused when applied.
 */
export function compileCondition(source: string): CompiledCondition {
  if (typeof source !== "string") throw new TypeError(`condition must be a string, got ${typeof source}`);
  const ast = parse(source);
  const type = new Checker(source).check(ast);
  if (type !== "any" && type !== "bool") {
    const go = type === "float" ? "float64" : type === "number" ? "number" : type;
    throw new ExpressionError(`expected bool, but got ${go}`, source, 0);
  }
  return Object.freeze({ source, ast });
}

/**
 * Evaluates a compiled condition against a measurement result (numbers are float64 as in Argo;
 * arrays, maps, strings, booleans, null). Throws EvaluationError when the condition cannot be
 * decided for this result, which Argo records as an Error measurement.
 */
export function evaluate(compiled: CompiledCondition, result: unknown): boolean {
  const out = new Evaluator({ result: toValue(result) }).eval(compiled.ast);
  if (typeof out !== "boolean") throw new EvaluationError(`expected bool, but got ${typeName(out)}`);
  return out;
}

/** compileCondition + evaluate, for one-off checks (tests, `slipway rollout lint`). */
export function evaluateCondition(source: string, result: unknown): boolean {
  return evaluate(compileCondition(source), result);
}
