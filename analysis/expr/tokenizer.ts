/**
 * Lexer for the expr-lang (https://expr-lang.org/docs/language-definition) subset that Argo
 * Rollouts conditions are written in. Integers and floats stay distinct because expr's arithmetic
 * depends on it (`3 / 2` is a float, `3 % 2` needs ints).
 */
import { ExpressionError } from "./errors.js";

export type TokenKind = "number" | "string" | "ident" | "operator" | "bracket" | "pointer" | "eof";

export interface Token {
  kind: TokenKind;
  /** Operator/bracket/identifier text, the string's decoded value, or the pointer name. */
  text: string;
  /** For numbers: bigint for integer literals, number for floats. */
  num?: bigint | number;
  /** 0-based offset of the first character. */
  offset: number;
}

/** Word operators are spelled like identifiers but behave as operators. */
const WORD_OPERATORS = new Set(["and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"]);

/** Longest first, so `**` wins over `*` and `?.` over `?`. */
const SYMBOLS = [
  "**",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "..",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
  "!",
  "?",
  ":",
  ".",
  ",",
  "|",
];
const BRACKETS = new Set(["(", ")", "[", "]", "{", "}"]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_$]/.test(c);
const isIdentPart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_$]/.test(c);

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
  a: "\x07",
  "0": "\0",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "`": "`",
};

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (msg: string, at: number): never => {
    throw new ExpressionError(msg, source, at);
  };

  while (i < source.length) {
    const c = source[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const start = i;

    if (isDigit(c) || (c === "." && isDigit(source[i + 1]))) {
      const tok = readNumber(source, start, fail);
      tokens.push(tok);
      i = start + tok.text.length;
      continue;
    }

    if (c === "'" || c === '"' || c === "`") {
      const { value, end } = readString(source, start, fail);
      tokens.push({ kind: "string", text: value, offset: start });
      i = end;
      continue;
    }

    if (isIdentStart(c)) {
      let j = i + 1;
      while (isIdentPart(source[j])) j++;
      const word = source.slice(i, j);
      tokens.push({ kind: WORD_OPERATORS.has(word) ? "operator" : "ident", text: word, offset: start });
      i = j;
      continue;
    }

    if (c === "#") {
      let j = i + 1;
      while (isIdentPart(source[j])) j++;
      tokens.push({ kind: "pointer", text: source.slice(i + 1, j), offset: start });
      i = j;
      continue;
    }

    if (BRACKETS.has(c)) {
      tokens.push({ kind: "bracket", text: c, offset: start });
      i++;
      continue;
    }

    const sym = SYMBOLS.find((s) => source.startsWith(s, i));
    if (sym) {
      // `?.5` is a ternary with a float, not optional chaining.
      if (sym === "?." && isDigit(source[i + 2])) {
        tokens.push({ kind: "operator", text: "?", offset: start });
        i++;
        continue;
      }
      tokens.push({ kind: "operator", text: sym, offset: start });
      i += sym.length;
      continue;
    }

    fail(`unrecognized character ${JSON.stringify(c)}`, start);
  }
  tokens.push({ kind: "eof", text: "", offset: source.length });
  return tokens;
}

const NUMBER_RE =
  /0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*)?(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9_]+)?/y;

function numberLength(source: string, start: number): number {
  NUMBER_RE.lastIndex = start;
  let text = NUMBER_RE.exec(source)?.[0] ?? "";
  // `1..3` is a range, not `1.` followed by `.3`; and `1.foo` is not a float either.
  const dot = text.indexOf(".");
  if (dot >= 0 && !/[eE]/.test(text.slice(0, dot)) && !isDigit(text[dot + 1])) text = text.slice(0, dot);
  return text.length;
}

function readNumber(source: string, start: number, fail: (msg: string, at: number) => never): Token {
  const text = source.slice(start, start + numberLength(source, start));
  const clean = text.replaceAll("_", "");
  if (isIdentStart(source[start + text.length])) {
    fail(`invalid number literal ${JSON.stringify(source.slice(start, start + text.length + 1))}`, start);
  }
  if (/^0[xXoObB]/.test(clean)) {
    try {
      return { kind: "number", text, num: BigInt.asIntN(64, BigInt(clean)), offset: start };
    } catch {
      fail(`invalid number literal ${JSON.stringify(text)}`, start);
    }
  }
  if (/[.eE]/.test(clean)) {
    const f = Number(clean);
    if (Number.isNaN(f)) fail(`invalid number literal ${JSON.stringify(text)}`, start);
    return { kind: "number", text, num: f, offset: start };
  }
  const n = BigInt(clean);
  if (n > 9223372036854775807n) fail(`integer literal ${text} overflows int`, start);
  return { kind: "number", text, num: n, offset: start };
}

function readString(
  source: string,
  start: number,
  fail: (msg: string, at: number) => never,
): { value: string; end: number } {
  const quote = source[start]!;
  let i = start + 1;
  let out = "";
  while (i < source.length) {
    const c = source[i]!;
    if (c === quote) return { value: out, end: i + 1 };
    if (c === "\\" && quote !== "`") {
      const e = source[i + 1];
      if (e === undefined) break;
      if (e === "u" || e === "x") {
        const len = e === "u" ? 4 : 2;
        const hex = source.slice(i + 2, i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail("invalid escape sequence in string", i);
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += 2 + len;
        continue;
      }
      const mapped = ESCAPES[e];
      if (mapped === undefined) fail(`invalid escape sequence "\\${e}" in string`, i);
      out += mapped;
      i += 2;
      continue;
    }
    if (c === "\n" && quote !== "`") break;
    out += c;
    i++;
  }
  return fail("unterminated string literal", start);
}
