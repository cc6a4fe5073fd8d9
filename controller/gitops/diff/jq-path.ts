/**
 * The subset of jq that `ignoreDifferences.jqPathExpressions` needs: expressions that *select
 * paths*, which Argo CD evaluates as `del(EXPR)`
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/#application-level-configuration).
 * Argo embeds gojq; slipway does not carry a full jq, so only path expressions are accepted and
 * anything else is a JqPathError naming the unsupported construct.
 *
 * Supported:
 * - field access: `.a.b`, `."a.b/c"`, `.["a.b"]`, `.a?` (the `?` is accepted and changes nothing,
 *   since missing paths are never an error here)
 * - iteration and indexing: `.a[]`, `.a[0]`, `.a[-1]`
 * - pipes: `PATH | PATH`
 * - `select(COND)`, where COND combines with `and`, `or`, `not`, parentheses and comparisons
 *   (`==`, `!=`, `<`, `<=`, `>`, `>=`) between paths and literals (strings, numbers, true, false,
 *   null), plus `PATH | test("re")`, `startswith("s")`, `endswith("s")`, `contains("s")`, `has("k")`
 *   and `length`.
 *
 * Example: `.spec.template.spec.containers[] | select(.name == "istio-proxy") | .image`.
 */
import { deepEqual, isPlainObject } from "./object.js";

export class JqPathError extends Error {
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(`jq path expression ${JSON.stringify(expression)}: ${message}`);
    this.name = "JqPathError";
  }
}

type Token =
  | { t: "dot" }
  | { t: "ident"; v: string }
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "lbrack" }
  | { t: "rbrack" }
  | { t: "lparen" }
  | { t: "rparen" }
  | { t: "pipe" }
  | { t: "question" }
  | { t: "op"; v: "==" | "!=" | "<" | "<=" | ">" | ">=" }
  | { t: "comma" };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (m: string): never => {
    throw new JqPathError(src, m);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === ".") {
      if (src[i + 1] === ".") fail("recursive descent `..` is not supported");
      out.push({ t: "dot" });
      i++;
    } else if (c === "[") {
      out.push({ t: "lbrack" });
      i++;
    } else if (c === "]") {
      out.push({ t: "rbrack" });
      i++;
    } else if (c === "(") {
      out.push({ t: "lparen" });
      i++;
    } else if (c === ")") {
      out.push({ t: "rparen" });
      i++;
    } else if (c === "|") {
      out.push({ t: "pipe" });
      i++;
    } else if (c === "?") {
      out.push({ t: "question" });
      i++;
    } else if (c === ",") {
      out.push({ t: "comma" });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      while (j < src.length && src[j] !== '"') {
        if (src[j] === "\\") {
          text += src.slice(j, j + 2);
          j += 2;
        } else {
          text += src[j];
          j++;
        }
      }
      if (j >= src.length) fail("unterminated string");
      try {
        out.push({ t: "str", v: JSON.parse(`"${text}"`) as string });
      } catch {
        fail(`bad string escape in "${text}"`);
      }
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i));
      if (!m) fail(`unexpected "${c}"`);
      out.push({ t: "num", v: Number(m![0]) });
      i += m![0].length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i))!;
      out.push({ t: "ident", v: m[0] });
      i += m[0].length;
    } else if (c === "=" || c === "!" || c === "<" || c === ">") {
      const two = src.slice(i, i + 2);
      if (two === "==" || two === "!=" || two === "<=" || two === ">=") {
        out.push({ t: "op", v: two });
        i += 2;
      } else if (c === "<" || c === ">") {
        out.push({ t: "op", v: c });
        i++;
      } else {
        fail(`unexpected "${c}" (assignment is not supported)`);
      }
    } else {
      fail(`unexpected "${c}"`);
    }
  }
  return out;
}

type Step =
  | { k: "field"; name: string }
  | { k: "iter" }
  | { k: "index"; i: number }
  | { k: "select"; cond: Cond };

type Operand = { k: "path"; steps: Step[]; fn?: Fn } | { k: "lit"; v: string | number | boolean | null };
type Fn = { name: "test" | "startswith" | "endswith" | "contains" | "has"; arg: string } | { name: "length" };
type Cond =
  | { k: "and" | "or"; a: Cond; b: Cond }
  | { k: "not"; a: Cond }
  | { k: "cmp"; op: string; a: Operand; b: Operand }
  | { k: "truthy"; a: Operand };

class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  fail(m: string): never {
    throw new JqPathError(this.src, m);
  }
  peek(): Token | undefined {
    return this.toks[this.pos];
  }
  next(): Token | undefined {
    return this.toks[this.pos++];
  }
  expect(t: Token["t"]): Token {
    const tok = this.next();
    if (!tok || tok.t !== t) this.fail(`expected ${t}${tok ? `, got ${tok.t}` : " at end"}`);
    return tok!;
  }
  atEnd(): boolean {
    return this.pos >= this.toks.length;
  }

  /** pipeline := term ('|' term)* */
  pipeline(): Step[] {
    const steps = this.term();
    while (this.peek()?.t === "pipe") {
      this.next();
      steps.push(...this.term());
    }
    return steps;
  }

  term(): Step[] {
    const tok = this.peek();
    if (tok?.t === "ident" && tok.v === "select") {
      this.next();
      this.expect("lparen");
      const cond = this.or();
      this.expect("rparen");
      return [{ k: "select", cond }];
    }
    if (tok?.t === "ident") this.fail(`function "${tok.v}" is not supported in a path expression`);
    return this.path();
  }

  /** path := '.' | ('.' (ident|str)? | '[' ... ']' | '?')+ */
  path(): Step[] {
    const steps: Step[] = [];
    if (this.peek()?.t !== "dot") this.fail("a path must start with '.'");
    let first = true;
    for (;;) {
      const tok = this.peek();
      if (tok?.t === "dot") {
        this.next();
        const after = this.peek();
        if (after?.t === "ident" || after?.t === "str") {
          this.next();
          steps.push({ k: "field", name: after.v });
        } else if (!first && after?.t !== "lbrack") {
          this.fail("'.' must be followed by a field name");
        }
      } else if (tok?.t === "lbrack") {
        this.next();
        const inner = this.next();
        if (inner?.t === "rbrack") {
          steps.push({ k: "iter" });
          first = false;
          continue;
        }
        if (inner?.t === "num" && Number.isInteger(inner.v)) steps.push({ k: "index", i: inner.v });
        else if (inner?.t === "str") steps.push({ k: "field", name: inner.v });
        else this.fail('only [], [N] and ["key"] are supported inside brackets');
        this.expect("rbrack");
      } else if (tok?.t === "question") {
        this.next();
      } else {
        break;
      }
      first = false;
    }
    return steps;
  }

  or(): Cond {
    let a = this.and();
    while (this.peek()?.t === "ident" && (this.peek() as { v: string }).v === "or") {
      this.next();
      a = { k: "or", a, b: this.and() };
    }
    return a;
  }
  and(): Cond {
    let a = this.unary();
    while (this.peek()?.t === "ident" && (this.peek() as { v: string }).v === "and") {
      this.next();
      a = { k: "and", a, b: this.unary() };
    }
    return a;
  }
  unary(): Cond {
    const tok = this.peek();
    if (tok?.t === "lparen") {
      this.next();
      const c = this.or();
      this.expect("rparen");
      return this.postfixNot(c);
    }
    const a = this.operand();
    const op = this.peek();
    if (op?.t === "op") {
      this.next();
      return this.postfixNot({ k: "cmp", op: op.v, a, b: this.operand() });
    }
    return this.postfixNot({ k: "truthy", a });
  }
  /** jq spells negation as a filter: `.a == 1 | not`. */
  postfixNot(c: Cond): Cond {
    let out = c;
    while (this.peek()?.t === "pipe" && this.toks[this.pos + 1]?.t === "ident") {
      const id = this.toks[this.pos + 1] as { v: string };
      if (id.v !== "not") break;
      this.pos += 2;
      out = { k: "not", a: out };
    }
    return out;
  }
  operand(): Operand {
    const tok = this.peek();
    if (!tok) this.fail("unexpected end of condition");
    if (tok!.t === "str" || tok!.t === "num") {
      this.next();
      return { k: "lit", v: (tok as { v: string | number }).v };
    }
    if (tok!.t === "ident" && ["true", "false", "null"].includes(tok!.v)) {
      this.next();
      return { k: "lit", v: tok!.v === "null" ? null : tok!.v === "true" };
    }
    const steps = this.path();
    if (this.peek()?.t === "pipe" && this.toks[this.pos + 1]?.t === "ident") {
      const id = (this.toks[this.pos + 1] as { v: string }).v;
      if (id === "not") return { k: "path", steps };
      this.pos += 2;
      if (id === "length") return { k: "path", steps, fn: { name: "length" } };
      if (id === "test" || id === "startswith" || id === "endswith" || id === "contains" || id === "has") {
        this.expect("lparen");
        const arg = this.next();
        if (arg?.t !== "str") this.fail(`${id}() takes one string argument`);
        this.expect("rparen");
        return { k: "path", steps, fn: { name: id, arg: (arg as { v: string }).v } };
      }
      this.fail(`function "${id}" is not supported`);
    }
    return { k: "path", steps };
  }
}

/** A compiled expression: call it on a document to get the concrete paths it selects. */
export interface JqPath {
  readonly expression: string;
  paths(doc: unknown): (string | number)[][];
}

export function compileJqPath(expression: string): JqPath {
  const parser = new Parser(expression, tokenize(expression));
  const steps = parser.pipeline();
  if (!parser.atEnd()) parser.fail(`unexpected ${parser.peek()!.t} (only path expressions are supported)`);
  return {
    expression,
    paths(doc) {
      return run(steps, [{ v: doc, p: [] }]).map((r) => r.p);
    },
  };
}

interface Cursor {
  v: unknown;
  p: (string | number)[];
}

function run(steps: readonly Step[], start: Cursor[]): Cursor[] {
  let cur = start;
  for (const step of steps) {
    const next: Cursor[] = [];
    for (const c of cur) {
      switch (step.k) {
        case "field":
          if (isPlainObject(c.v) && Object.hasOwn(c.v, step.name)) {
            next.push({ v: c.v[step.name], p: [...c.p, step.name] });
          }
          break;
        case "index":
          if (Array.isArray(c.v)) {
            const i = step.i < 0 ? c.v.length + step.i : step.i;
            if (i >= 0 && i < c.v.length) next.push({ v: c.v[i], p: [...c.p, i] });
          }
          break;
        case "iter":
          if (Array.isArray(c.v)) {
            for (let i = 0; i < c.v.length; i++) next.push({ v: c.v[i], p: [...c.p, i] });
          } else if (isPlainObject(c.v))
            for (const [k, v] of Object.entries(c.v)) next.push({ v, p: [...c.p, k] });
          break;
        case "select":
          if (evalCond(step.cond, c.v)) next.push(c);
          break;
      }
    }
    cur = next;
  }
  return cur;
}

/** All values an operand produces (a path through `[]` can produce several; jq's select then ORs). */
function values(op: Operand, input: unknown): unknown[] {
  if (op.k === "lit") return [op.v];
  const found = run(op.steps, [{ v: input, p: [] }]).map((c) => c.v);
  // jq yields null for a missing field; keep that so `.x == null` matches absent fields.
  const vals = found.length === 0 && !op.steps.some((s) => s.k === "iter") ? [null] : found;
  if (!op.fn) return vals;
  const fn = op.fn;
  return vals.map((v) => {
    if (fn.name === "length") {
      if (typeof v === "string" || Array.isArray(v)) return v.length;
      if (isPlainObject(v)) return Object.keys(v).length;
      return v === null ? 0 : Math.abs(Number(v));
    }
    if (fn.name === "has") return isPlainObject(v) && Object.hasOwn(v, fn.arg);
    if (typeof v !== "string") return false;
    switch (fn.name) {
      case "test":
        return new RegExp(fn.arg).test(v);
      case "startswith":
        return v.startsWith(fn.arg);
      case "endswith":
        return v.endsWith(fn.arg);
      case "contains":
        return v.includes(fn.arg);
    }
    return false;
  });
}

function truthy(v: unknown): boolean {
  return v !== null && v !== undefined && v !== false;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (op === "==") return deepEqual(a, b);
  if (op === "!=") return !deepEqual(a, b);
  if (typeof a === "number" && typeof b === "number") {
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  if (typeof a === "string" && typeof b === "string") {
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  return false;
}

function evalCond(c: Cond, input: unknown): boolean {
  switch (c.k) {
    case "and":
      return evalCond(c.a, input) && evalCond(c.b, input);
    case "or":
      return evalCond(c.a, input) || evalCond(c.b, input);
    case "not":
      return !evalCond(c.a, input);
    case "truthy":
      return values(c.a, input).some(truthy);
    case "cmp": {
      const as = values(c.a, input);
      const bs = values(c.b, input);
      return as.some((a) => bs.some((b) => compare(c.op, a, b)));
    }
  }
}
