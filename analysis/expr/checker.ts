/**
 * Static checks done when a condition is compiled, as expr.Compile does with Argo's environment:
 * a mismatch visible without the result (`asFloat(result) == "1.1"`, `len(result) && true`) is a
 * compile error with its position instead of an Error on every measurement. `result` itself is
 * untyped, so anything involving it is left to run time.
 */
import type { Node } from "./ast.js";
import { BUILTINS, type StaticType } from "./builtins.js";
import { ExpressionError } from "./errors.js";
import { isMap, type Value } from "./value.js";

const NUMERIC = new Set<StaticType>(["int", "float", "number"]);
const known = (t: StaticType): boolean => t !== "any";
const numeric = (t: StaticType): boolean => NUMERIC.has(t);

/** Go's spelling of a static type, for messages that match expr's. */
function goName(t: StaticType): string {
  switch (t) {
    case "float":
      return "float64";
    case "nil":
      return "<nil>";
    case "array":
      return "[]interface {}";
    case "map":
      return "map[string]interface {}";
    default:
      return t;
  }
}

function literalType(v: Value): StaticType {
  if (v === null) return "nil";
  switch (typeof v) {
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "string";
    case "boolean":
      return "bool";
  }
  return Array.isArray(v) ? "array" : isMap(v) ? "map" : "any";
}

/** Whether a value of static type `actual` can be used where `wanted` is required. */
function fits(actual: StaticType, wanted: StaticType): boolean {
  if (!known(actual) || !known(wanted)) return true;
  if (wanted === "number") return numeric(actual);
  if (actual === "number") return numeric(wanted);
  return actual === wanted;
}

export class Checker {
  constructor(private readonly source: string) {}

  private fail(message: string, node: Node): never {
    throw new ExpressionError(message, this.source, node.offset);
  }

  private mismatch(op: string, a: StaticType, b: StaticType, node: Node): never {
    return this.fail(`invalid operation: ${op} (mismatched types ${goName(a)} and ${goName(b)})`, node);
  }

  /** Returns the static type of `node`, throwing on a mismatch that can never succeed. */
  check(node: Node): StaticType {
    switch (node.type) {
      case "Literal":
        return literalType(node.value);
      case "Identifier":
      case "Pointer":
        return node.type === "Pointer" && node.name === "index" ? "int" : "any";
      case "Array":
        for (const e of node.elements) this.check(e);
        return "array";
      case "Map":
        for (const e of node.entries) this.check(e.value);
        return "map";
      case "Closure":
        this.check(node.body);
        return "any";
      case "Member": {
        const t = this.check(node.object);
        const p = this.check(node.property);
        if (t === "nil" && !node.optional) this.fail("cannot fetch a field from nil", node);
        if (known(t) && t !== "array" && t !== "map" && t !== "string" && t !== "nil") {
          this.fail(`type ${goName(t)} has no field or index`, node);
        }
        if ((t === "array" || t === "string") && known(p) && !numeric(p)) {
          this.fail(`array elements can only be selected using an integer (got ${goName(p)})`, node.property);
        }
        return "any";
      }
      case "Slice": {
        const t = this.check(node.object);
        for (const bound of [node.from, node.to]) {
          if (bound && !fits(this.check(bound), "int")) this.fail("slice bounds must be integers", bound);
        }
        if (known(t) && t !== "array" && t !== "string") this.fail(`cannot slice ${goName(t)}`, node);
        return t === "string" ? "string" : known(t) ? "array" : "any";
      }
      case "Unary": {
        const t = this.check(node.operand);
        if (node.op === "!") {
          if (!fits(t, "bool")) this.fail(`invalid operation: ! (mismatched type ${goName(t)})`, node);
          return "bool";
        }
        if (!fits(t, "number"))
          this.fail(`invalid operation: ${node.op} (mismatched type ${goName(t)})`, node);
        return t;
      }
      case "Conditional": {
        const t = this.check(node.test);
        if (!fits(t, "bool"))
          this.fail(`non-bool expression (type ${goName(t)}) used as condition`, node.test);
        const a = this.check(node.consequent);
        const b = this.check(node.alternate);
        return a === b ? a : "any";
      }
      case "Call":
        return this.checkCall(node);
      case "Binary":
        return this.checkBinary(node);
    }
  }

  private checkCall(node: Extract<Node, { type: "Call" }>): StaticType {
    const fn = BUILTINS[node.callee]!;
    const types = node.args.map((a) => this.check(a));
    fn.params?.forEach((want, i) => {
      const got = types[i];
      if (got !== undefined && !fits(got, want)) {
        this.fail(
          `cannot use ${goName(got)} as argument (type ${goName(want)}) to call ${node.callee}`,
          node.args[i]!,
        );
      }
    });
    return typeof fn.returns === "function" ? fn.returns(types) : fn.returns;
  }

  private checkBinary(node: Extract<Node, { type: "Binary" }>): StaticType {
    const l = this.check(node.left);
    const r = this.check(node.right);
    const both = known(l) && known(r);
    switch (node.op) {
      case "||":
      case "or":
      case "&&":
      case "and":
        if (!fits(l, "bool") || !fits(r, "bool")) this.mismatch(node.op, l, r, node);
        return "bool";
      case "==":
      case "!=":
        if (both && l !== "nil" && r !== "nil" && !(numeric(l) && numeric(r)) && l !== r) {
          this.mismatch(node.op, l, r, node);
        }
        return "bool";
      case "<":
      case ">":
      case "<=":
      case ">=":
        if (both && !(numeric(l) && numeric(r)) && !(l === "string" && r === "string")) {
          this.mismatch(node.op, l, r, node);
        }
        return "bool";
      case "in":
      case "not in":
        if (known(r) && r !== "array" && r !== "map") this.mismatch(node.op, l, r, node);
        if (r === "map" && !fits(l, "string")) this.mismatch(node.op, l, r, node);
        return "bool";
      case "matches":
      case "contains":
      case "startsWith":
      case "endsWith":
        if (!fits(l, "string") || !fits(r, "string")) this.mismatch(node.op, l, r, node);
        return "bool";
      case "+":
        if (both && !(numeric(l) && numeric(r)) && !(l === "string" && r === "string")) {
          this.mismatch(node.op, l, r, node);
        }
        if (l === "string" || r === "string") return "string";
        return this.arithmeticType(l, r);
      case "-":
      case "*":
        if (!fits(l, "number") || !fits(r, "number")) this.mismatch(node.op, l, r, node);
        return this.arithmeticType(l, r);
      case "/":
      case "**":
      case "^":
        if (!fits(l, "number") || !fits(r, "number")) this.mismatch(node.op, l, r, node);
        return "float";
      case "%":
        if (!fits(l, "int") || !fits(r, "int")) this.mismatch(node.op, l, r, node);
        return "int";
      case "??":
        return l === "nil" ? r : l === r ? l : "any";
    }
    return "any";
  }

  private arithmeticType(l: StaticType, r: StaticType): StaticType {
    if (l === "int" && r === "int") return "int";
    if (l === "float" || r === "float") return "float";
    return numeric(l) && numeric(r) ? "number" : "any";
  }
}
