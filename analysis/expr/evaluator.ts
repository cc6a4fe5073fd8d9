/**
 * Tree-walking evaluator with expr-lang's runtime semantics: int/float arithmetic as Go does it,
 * `==` across number kinds, errors (not silent `false`) for index out of range or mismatched
 * comparisons, so Argo's Error phase comes out the same. The only names in scope are `result`
 * and the builtins; maps are read by own keys only.
 */
import type { Node } from "./ast.js";
import { BUILTINS, type CallContext, listArg } from "./builtins.js";
import { EvaluationError } from "./errors.js";
import {
  equal,
  isMap,
  isNumber,
  ownKey,
  toFloat,
  typeName,
  type Value,
  type ValueMap,
  wrapInt,
} from "./value.js";

interface Scope {
  element: Value;
  index: number;
}

const MAX_STEPS = 1_000_000;

export class Evaluator {
  private steps = 0;
  private readonly scopes: Scope[] = [];
  private readonly regexCache = new Map<string, RegExp>();

  constructor(private readonly ctx: CallContext) {}

  private fail(message: string): never {
    throw new EvaluationError(message);
  }

  eval(node: Node): Value {
    if (++this.steps > MAX_STEPS) this.fail("evaluation exceeded its step budget");
    switch (node.type) {
      case "Literal":
        return node.value;
      case "Identifier":
        // The parser only lets `result` through.
        return this.ctx.result;
      case "Pointer": {
        const scope = this.scopes.at(-1);
        if (!scope) return this.fail("cannot use pointer accessor outside predicate");
        return node.name === "index" ? BigInt(scope.index) : scope.element;
      }
      case "Array":
        return node.elements.map((e) => this.eval(e));
      case "Map": {
        const out: ValueMap = Object.create(null);
        for (const { key, value } of node.entries) {
          Object.defineProperty(out, key, { value: this.eval(value), enumerable: true, writable: true });
        }
        return out;
      }
      case "Closure":
        return this.fail("a predicate can only be passed to a builtin");
      case "Member":
        return this.member(this.eval(node.object), node);
      case "Slice":
        return this.slice(node);
      case "Unary":
        return this.unary(node.op, this.eval(node.operand));
      case "Conditional": {
        const test = this.eval(node.test);
        if (typeof test !== "boolean")
          return this.fail(`non-bool expression (type ${typeName(test)}) used as condition`);
        return test ? this.eval(node.consequent) : this.eval(node.alternate);
      }
      case "Binary":
        return this.binary(node);
      case "Call":
        return this.call(node);
    }
  }

  private member(object: Value, node: Extract<Node, { type: "Member" }>): Value {
    if (object === null) {
      if (node.optional) return null;
      const what = node.property.type === "Literal" ? String(node.property.value) : "index";
      return this.fail(`cannot fetch ${what} from <nil>`);
    }
    const key = this.eval(node.property);
    if (Array.isArray(object) || typeof object === "string") {
      if (!isNumber(key)) return this.fail(`cannot use ${typeName(key)} as index to ${typeName(object)}`);
      const items = typeof object === "string" ? [...object] : object;
      let i = Math.trunc(toFloat(key));
      // expr allows negative indexes counted from the end.
      if (i < 0) i += items.length;
      if (i < 0 || i >= items.length) {
        return this.fail(`index out of range: ${String(key)} (array length is ${items.length})`);
      }
      return items[i]!;
    }
    if (isMap(object)) {
      if (typeof key !== "string") return this.fail(`cannot use ${typeName(key)} as map key`);
      return ownKey(object, key);
    }
    return this.fail(`cannot fetch ${String(key)} from ${typeName(object)}`);
  }

  private slice(node: Extract<Node, { type: "Slice" }>): Value {
    const object = this.eval(node.object);
    if (!Array.isArray(object) && typeof object !== "string")
      return this.fail(`cannot slice ${typeName(object)}`);
    const items = typeof object === "string" ? [...object] : object;
    const bound = (n: Node | undefined, dflt: number): number => {
      if (!n) return dflt;
      const v = this.eval(n);
      if (!isNumber(v)) return this.fail(`slice bounds must be integers, got ${typeName(v)}`);
      const i = Math.trunc(toFloat(v));
      return Math.min(Math.max(i < 0 ? i + items.length : i, 0), items.length);
    };
    const from = bound(node.from, 0);
    const to = Math.max(bound(node.to, items.length), from);
    const part = items.slice(from, to);
    return typeof object === "string" ? part.join("") : part;
  }

  private unary(op: string, v: Value): Value {
    if (op === "!") {
      if (typeof v !== "boolean") return this.fail(`invalid operation: ! (mismatched type ${typeName(v)})`);
      return !v;
    }
    if (!isNumber(v)) return this.fail(`invalid operation: ${op} (mismatched type ${typeName(v)})`);
    if (op === "+") return v;
    return typeof v === "bigint" ? wrapInt(-v) : -v;
  }

  private bool(v: Value, op: string, other: Value): boolean {
    if (typeof v !== "boolean")
      return this.fail(`invalid operation: ${op} (mismatched types ${typeName(v)} and ${typeName(other)})`);
    return v;
  }

  private binary(node: Extract<Node, { type: "Binary" }>): Value {
    const { op } = node;
    // Short-circuit operators evaluate their right side only when needed, as expr does.
    if (op === "&&" || op === "and") {
      const l = this.eval(node.left);
      if (!this.bool(l, op, true)) return false;
      const r = this.eval(node.right);
      return this.bool(r, op, l);
    }
    if (op === "||" || op === "or") {
      const l = this.eval(node.left);
      if (this.bool(l, op, true)) return true;
      const r = this.eval(node.right);
      return this.bool(r, op, l);
    }
    if (op === "??") {
      const l = this.eval(node.left);
      return l === null ? this.eval(node.right) : l;
    }
    const l = this.eval(node.left);
    const r = this.eval(node.right);
    const mismatch = (): never =>
      this.fail(`invalid operation: ${op} (mismatched types ${typeName(l)} and ${typeName(r)})`);
    switch (op) {
      case "==":
        return equal(l, r);
      case "!=":
        return !equal(l, r);
      case "<":
      case ">":
      case "<=":
      case ">=": {
        if (!((isNumber(l) && isNumber(r)) || (typeof l === "string" && typeof r === "string")))
          return mismatch();
        const a = l as number | bigint | string;
        const b = r as number | bigint | string;
        if (op === "<") return a < b;
        if (op === ">") return a > b;
        if (op === "<=") return a <= b;
        return a >= b;
      }
      case "in":
      case "not in": {
        let found: boolean;
        if (Array.isArray(r)) found = r.some((x) => equal(l, x));
        else if (isMap(r)) {
          if (typeof l !== "string") return mismatch();
          found = Object.hasOwn(r, l);
        } else if (r === null) found = false;
        else return mismatch();
        return op === "in" ? found : !found;
      }
      case "contains":
      case "startsWith":
      case "endsWith":
      case "matches": {
        if (typeof l !== "string" || typeof r !== "string") return mismatch();
        if (op === "contains") return l.includes(r);
        if (op === "startsWith") return l.startsWith(r);
        if (op === "endsWith") return l.endsWith(r);
        return this.regex(r).test(l);
      }
      case "+":
        if (typeof l === "string" && typeof r === "string") return l + r;
        return this.arithmetic(op, l, r, mismatch);
      case "-":
      case "*":
      case "/":
      case "%":
      case "**":
      case "^":
        return this.arithmetic(op, l, r, mismatch);
    }
    return this.fail(`unknown operator ${op}`);
  }

  private arithmetic(op: string, l: Value, r: Value, mismatch: () => never): Value {
    if (!isNumber(l) || !isNumber(r)) return mismatch();
    if (op === "%") {
      if (typeof l !== "bigint" || typeof r !== "bigint") return mismatch();
      if (r === 0n) return this.fail("integer divide by zero");
      return wrapInt(l % r);
    }
    // expr: `/` and `**` always produce floats.
    if (op === "/") return toFloat(l) / toFloat(r);
    if (op === "**" || op === "^") return toFloat(l) ** toFloat(r);
    if (typeof l === "bigint" && typeof r === "bigint") {
      if (op === "+") return wrapInt(l + r);
      if (op === "-") return wrapInt(l - r);
      return wrapInt(l * r);
    }
    const a = toFloat(l);
    const b = toFloat(r);
    if (op === "+") return a + b;
    if (op === "-") return a - b;
    return a * b;
  }

  private regex(pattern: string): RegExp {
    let re = this.regexCache.get(pattern);
    if (!re) {
      try {
        re = new RegExp(pattern, "u");
      } catch (err) {
        return this.fail(`error parsing regexp: ${(err as Error).message}`);
      }
      this.regexCache.set(pattern, re);
    }
    return re;
  }

  private call(node: Extract<Node, { type: "Call" }>): Value {
    const fn = BUILTINS[node.callee]!;
    if (fn.callWithPredicate) {
      const items = listArg(this.eval(node.args[0]!), node.callee);
      const predNode = fn.predicateArg === undefined ? undefined : node.args[fn.predicateArg];
      const body = predNode?.type === "Closure" ? predNode.body : predNode;
      const pred = body
        ? (element: Value, index: number): Value => {
            this.scopes.push({ element, index });
            try {
              return this.eval(body);
            } finally {
              this.scopes.pop();
            }
          }
        : undefined;
      return fn.callWithPredicate(items, pred, []);
    }
    const args = node.args.map((a) => this.eval(a));
    return fn.call!(args, this.ctx);
  }
}
