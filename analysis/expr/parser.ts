/**
 * A Pratt parser for the expr-lang subset used in Argo Rollouts conditions. Operator precedence
 * follows expr's parser (github.com/expr-lang/expr parser/operator): `or` < `and` < comparisons <
 * `+ -` < `* / %` < unary < `** ^` < `??`, with `?:` lowest.
 */
import type { Node } from "./ast.js";
import { BUILTINS, isBuiltin } from "./builtins.js";
import { ExpressionError } from "./errors.js";
import { type Token, tokenize } from "./tokenizer.js";

interface BinaryOp {
  precedence: number;
  right?: boolean;
}

const BINARY: Record<string, BinaryOp> = {
  "||": { precedence: 10 },
  or: { precedence: 10 },
  "&&": { precedence: 15 },
  and: { precedence: 15 },
  "==": { precedence: 20 },
  "!=": { precedence: 20 },
  "<": { precedence: 20 },
  ">": { precedence: 20 },
  "<=": { precedence: 20 },
  ">=": { precedence: 20 },
  in: { precedence: 20 },
  "not in": { precedence: 20 },
  matches: { precedence: 20 },
  contains: { precedence: 20 },
  startsWith: { precedence: 20 },
  endsWith: { precedence: 20 },
  "+": { precedence: 30 },
  "-": { precedence: 30 },
  "*": { precedence: 60 },
  "/": { precedence: 60 },
  "%": { precedence: 60 },
  "**": { precedence: 100, right: true },
  "^": { precedence: 100, right: true },
  "??": { precedence: 500 },
};

const UNARY: Record<string, number> = { "!": 50, not: 50, "-": 90, "+": 90 };

/** Names a condition may read. Everything else is an unknown name, rejected at compile time. */
export const VARIABLES = new Set(["result"]);

const describe = (t: Token): string => {
  switch (t.kind) {
    case "eof":
      return "end of expression";
    case "string":
      return `string ${JSON.stringify(t.text)}`;
    case "pointer":
      return `"#${t.text}"`;
    default:
      return `"${t.text}"`;
  }
};

class Parser {
  private pos = 0;
  private closureDepth = 0;
  private readonly tokens: Token[];

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parse(): Node {
    if (this.peek().kind === "eof") this.fail("empty expression", this.peek());
    const node = this.parseExpression(0);
    const rest = this.peek();
    if (rest.kind !== "eof") this.fail(`unexpected token ${describe(rest)}`, rest);
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }

  private is(t: Token, kind: Token["kind"], text?: string): boolean {
    return t.kind === kind && (text === undefined || t.text === text);
  }

  private expect(kind: Token["kind"], text: string): Token {
    const t = this.peek();
    if (!this.is(t, kind, text)) this.fail(`unexpected token ${describe(t)}, expected "${text}"`, t);
    return this.next();
  }

  private fail(message: string, at: Token | number): never {
    throw new ExpressionError(message, this.source, typeof at === "number" ? at : at.offset);
  }

  /** The binary operator at the cursor, if any (`not in` is two tokens). */
  private binaryAt(): { op: string; width: number } | undefined {
    const t = this.peek();
    if (t.kind !== "operator") return undefined;
    if (t.text === "not" && this.is(this.peek(1), "operator", "in")) return { op: "not in", width: 2 };
    return Object.hasOwn(BINARY, t.text) ? { op: t.text, width: 1 } : undefined;
  }

  private parseExpression(minPrecedence: number): Node {
    let left = this.parseUnary();
    for (;;) {
      const found = this.binaryAt();
      if (!found) break;
      const info = BINARY[found.op]!;
      if (info.precedence < minPrecedence) break;
      const opToken = this.peek();
      this.pos += found.width;
      const right = this.parseExpression(info.right ? info.precedence : info.precedence + 1);
      left = { type: "Binary", op: found.op, left, right, offset: opToken.offset };
    }
    if (minPrecedence === 0) left = this.parseConditional(left);
    return left;
  }

  private parseConditional(test: Node): Node {
    let node = test;
    while (this.is(this.peek(), "operator", "?")) {
      const q = this.next();
      if (this.is(this.peek(), "operator", ":")) {
        // Elvis form `a ?: b`.
        this.next();
        const alternate = this.parseExpression(0);
        node = { type: "Conditional", test: node, consequent: node, alternate, offset: q.offset };
        continue;
      }
      const consequent = this.parseExpression(0);
      this.expect("operator", ":");
      const alternate = this.parseExpression(0);
      node = { type: "Conditional", test: node, consequent, alternate, offset: q.offset };
    }
    return node;
  }

  private parseUnary(): Node {
    const t = this.peek();
    if (t.kind === "operator" && Object.hasOwn(UNARY, t.text)) {
      this.next();
      const operand = this.parseExpression(UNARY[t.text]!);
      return { type: "Unary", op: t.text === "not" ? "!" : t.text, operand, offset: t.offset };
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePrimary(): Node {
    const t = this.next();
    switch (t.kind) {
      case "number":
        return { type: "Literal", value: t.num!, offset: t.offset };
      case "string":
        return { type: "Literal", value: t.text, offset: t.offset };
      case "pointer":
        if (this.closureDepth === 0) this.fail("cannot use pointer accessor outside predicate", t);
        if (t.text !== "" && t.text !== "index") this.fail(`unknown pointer #${t.text}`, t);
        return { type: "Pointer", name: t.text, offset: t.offset };
      case "ident":
        return this.parseIdentifier(t);
      case "bracket":
        if (t.text === "(") {
          const inner = this.parseExpression(0);
          this.expect("bracket", ")");
          return inner;
        }
        if (t.text === "[") return this.parseArray(t);
        if (t.text === "{") return this.parseMap(t);
        break;
      case "operator":
        // `.field` inside a predicate is shorthand for `#.field`, as in expr.
        if (t.text === "." && this.closureDepth > 0 && this.peek().kind === "ident") {
          const name = this.next();
          return {
            type: "Member",
            object: { type: "Pointer", name: "", offset: t.offset },
            property: { type: "Literal", value: name.text, offset: name.offset },
            optional: false,
            offset: t.offset,
          };
        }
        break;
    }
    return this.fail(`unexpected token ${describe(t)}`, t);
  }

  private parseIdentifier(t: Token): Node {
    switch (t.text) {
      case "true":
        return { type: "Literal", value: true, offset: t.offset };
      case "false":
        return { type: "Literal", value: false, offset: t.offset };
      case "nil":
        return { type: "Literal", value: null, offset: t.offset };
    }
    if (this.is(this.peek(), "bracket", "(")) return this.parseCall(t);
    if (isBuiltin(t.text)) this.fail(`function ${t.text} must be called`, t);
    if (!VARIABLES.has(t.text)) this.fail(`unknown name ${t.text}`, t);
    return { type: "Identifier", name: t.text, offset: t.offset };
  }

  private parseCall(name: Token): Node {
    if (!isBuiltin(name.text)) {
      this.fail(
        VARIABLES.has(name.text) ? `${name.text} is not a function` : `unknown func ${name.text}`,
        name,
      );
    }
    const fn = BUILTINS[name.text]!;
    this.expect("bracket", "(");
    const args: Node[] = [];
    while (!this.is(this.peek(), "bracket", ")")) {
      if (args.length > 0) {
        this.expect("operator", ",");
        if (this.is(this.peek(), "bracket", ")")) break;
      }
      args.push(args.length === fn.predicateArg ? this.parseClosure() : this.parseExpression(0));
    }
    this.expect("bracket", ")");
    if (args.length < fn.min || args.length > fn.max) {
      const want =
        fn.min === fn.max
          ? `${fn.min}`
          : fn.max === Number.POSITIVE_INFINITY
            ? `at least ${fn.min}`
            : `${fn.min} or ${fn.max}`;
      this.fail(`${name.text} expects ${want} argument${want === "1" ? "" : "s"}, got ${args.length}`, name);
    }
    return { type: "Call", callee: name.text, args, offset: name.offset };
  }

  /** A predicate: `{ # > 1 }` (expr before 1.15) or a bare `# > 1`. */
  private parseClosure(): Node {
    const start = this.peek();
    this.closureDepth++;
    try {
      if (this.is(start, "bracket", "{")) {
        this.next();
        const body = this.parseExpression(0);
        this.expect("bracket", "}");
        return { type: "Closure", body, offset: start.offset };
      }
      return { type: "Closure", body: this.parseExpression(0), offset: start.offset };
    } finally {
      this.closureDepth--;
    }
  }

  private parseArray(open: Token): Node {
    const elements: Node[] = [];
    while (!this.is(this.peek(), "bracket", "]")) {
      if (elements.length > 0) {
        this.expect("operator", ",");
        if (this.is(this.peek(), "bracket", "]")) break;
      }
      elements.push(this.parseExpression(0));
    }
    this.expect("bracket", "]");
    return { type: "Array", elements, offset: open.offset };
  }

  private parseMap(open: Token): Node {
    const entries: { key: string; value: Node }[] = [];
    while (!this.is(this.peek(), "bracket", "}")) {
      if (entries.length > 0) {
        this.expect("operator", ",");
        if (this.is(this.peek(), "bracket", "}")) break;
      }
      const k = this.next();
      if (k.kind !== "ident" && k.kind !== "string" && k.kind !== "number") {
        this.fail(`unexpected token ${describe(k)}, expected a map key`, k);
      }
      this.expect("operator", ":");
      entries.push({ key: k.kind === "number" ? String(k.num) : k.text, value: this.parseExpression(0) });
    }
    this.expect("bracket", "}");
    return { type: "Map", entries, offset: open.offset };
  }

  private parsePostfix(node: Node): Node {
    let current = node;
    for (;;) {
      const t = this.peek();
      if (this.is(t, "operator", ".") || this.is(t, "operator", "?.")) {
        this.next();
        const optional = t.text === "?.";
        if (optional && this.is(this.peek(), "bracket", "[")) {
          this.next();
          current = this.parseIndex(current, t, true);
          continue;
        }
        const name = this.next();
        if (name.kind !== "ident" && !(name.kind === "operator" && /^[A-Za-z]/.test(name.text))) {
          this.fail(`unexpected token ${describe(name)}, expected a field name`, name);
        }
        if (this.is(this.peek(), "bracket", "("))
          this.fail(`calling method ${name.text} is not supported`, name);
        current = {
          type: "Member",
          object: current,
          property: { type: "Literal", value: name.text, offset: name.offset },
          optional,
          offset: name.offset,
        };
        continue;
      }
      if (this.is(t, "bracket", "[")) {
        this.next();
        current = this.parseIndex(current, t, false);
        continue;
      }
      if (this.is(t, "bracket", "(")) this.fail("only functions can be called", t);
      return current;
    }
  }

  /** After `[`: an index `a[i]` or a slice `a[i:j]`. */
  private parseIndex(object: Node, open: Token, optional: boolean): Node {
    if (this.is(this.peek(), "operator", ":")) {
      this.next();
      const to = this.is(this.peek(), "bracket", "]") ? undefined : this.parseExpression(0);
      this.expect("bracket", "]");
      return { type: "Slice", object, to, offset: open.offset };
    }
    const index = this.parseExpression(0);
    if (this.is(this.peek(), "operator", ":")) {
      this.next();
      const to = this.is(this.peek(), "bracket", "]") ? undefined : this.parseExpression(0);
      this.expect("bracket", "]");
      return { type: "Slice", object, from: index, to, offset: open.offset };
    }
    this.expect("bracket", "]");
    return { type: "Member", object, property: index, optional, offset: open.offset };
  }
}

/** Parses a condition into its syntax tree; throws ExpressionError with the position. */
export function parse(source: string): Node {
  return new Parser(source).parse();
}
