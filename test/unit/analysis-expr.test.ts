import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  compileCondition,
  EvaluationError,
  ExpressionError,
  evaluate,
  evaluateCondition,
} from "../../analysis/expr/index.js";

interface CorpusCase {
  result: unknown;
  expect: boolean | "error";
  error?: string;
}
interface CorpusEntry {
  condition: string;
  source: string;
  cases: CorpusCase[];
}

const corpus = parseYaml(
  readFileSync(new URL("./fixtures/analysis/argo-conditions.yaml", import.meta.url), "utf8"),
) as CorpusEntry[];

describe("Argo condition corpus", () => {
  it("has the published conditions", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });

  for (const entry of corpus) {
    describe(`${entry.condition}  (${entry.source})`, () => {
      const compiled = compileCondition(entry.condition);
      for (const c of entry.cases) {
        it(`result ${JSON.stringify(c.result)} → ${String(c.expect)}`, () => {
          if (c.expect === "error") {
            expect(() => evaluate(compiled, c.result)).toThrow(EvaluationError);
            if (c.error) expect(() => evaluate(compiled, c.result)).toThrow(c.error);
          } else {
            expect(evaluate(compiled, c.result)).toBe(c.expect);
          }
        });
      }
    });
  }
});

describe("expr semantics", () => {
  const cases: [string, unknown, boolean][] = [
    // int vs float arithmetic as expr does it
    ["3 / 2 == 1.5", null, true],
    ["4 / 2 == 2", null, true],
    ["7 % 3 == 1", null, true],
    ["2 ** 3 == 8", null, true],
    ["2 ** 3 ** 2 == 512", null, true],
    ["-2 ** 2 == -4", null, true],
    ["1 + 2 * 3 == 7", null, true],
    ["(1 + 2) * 3 == 9", null, true],
    ["1 == 1.0", null, true],
    ["1 < 1.5", null, true],
    ["result + 1 == 3", 2, true],
    ["result * 100 >= 95", 0.95, true],
    ["-result < 0", 1, true],
    ["9223372036854775807 + 1 < 0", null, true],
    // strings
    ["'abc' < 'abd'", null, true],
    ['"a" + "b" == "ab"', null, true],
    ["result contains 'err'", "an error", true],
    ["result startsWith 'ok'", "okay", true],
    ["result endsWith 'ay'", "okay", true],
    ["result matches '^[0-9]+$'", "123", true],
    ["result matches '^[0-9]+$'", "12a", false],
    ["'\\u0041' == 'A'", null, true],
    ["`raw\\n` == 'raw\\\\n'", null, true],
    // membership, ternary, nil handling
    ["'a' in ['a', 'b']", null, true],
    ["'c' not in ['a', 'b']", null, true],
    ["'k' in result", { k: 1 }, true],
    ["'x' in result", { k: 1 }, false],
    ["result > 1 ? true : false", 2, true],
    ["(result > 1 ? 'big' : 'small') == 'small'", 0, true],
    ["result ?? true", null, true],
    ["result.missing ?? 5 == 5", {}, true],
    ["result?.a?.b == nil", null, true],
    ["result.a?.b == nil", {}, true],
    ["result == nil", null, true],
    ["nil == nil", null, true],
    ["!false", null, true],
    ["not false and true", null, true],
    // indexes and slices
    ["result[-1] == 3", [1, 2, 3], true],
    ["result[1:] == [2, 3]", [1, 2, 3], true],
    ["result[:1] == [1]", [1, 2, 3], true],
    ["result['a'] == 1", { a: 1 }, true],
    ["result.a.b[0] == 'x'", { a: { b: ["x"] } }, true],
    // builtins
    ["len(result) == 3", [1, 2, 3], true],
    ["len('héllo') == 5", null, true],
    ["len(result) == 2", { a: 1, b: 2 }, true],
    ["none(result, # > 5)", [1, 2], true],
    ["one(result, # > 1)", [1, 2], true],
    ["count(result, # > 1) == 2", [1, 2, 3], true],
    ["filter(result, # > 1) == [2, 3]", [1, 2, 3], true],
    ["map(result, # * 2) == [2, 4]", [1, 2], true],
    ["map(result, #index) == [0, 1]", ["a", "b"], true],
    ["all(result, {.ok})", [{ ok: true }, { ok: true }], true],
    ["any(result, {all(#, # > 1)})", [[2, 3], [0]], true],
    ["sum(result) == 6", [1, 2, 3], true],
    ["mean(result) == 2", [1, 2, 3], true],
    ["median(result) == 2.5", [1, 2, 3, 4], true],
    ["max(result) == 3", [1, 3, 2], true],
    ["min(1, 2.5) == 1", null, true],
    ["abs(-2) == 2", null, true],
    ["abs(result) == 0.5", -0.5, true],
    ["round(2.5) == 3", null, true],
    ["round(-2.5) == -3", null, true],
    ["floor(result) == 1", 1.7, true],
    ["ceil(result) == 2", 1.2, true],
    ["int('42') == 42", null, true],
    ["float('1.5') == 1.5", null, true],
    ["string(1) == '1'", null, true],
    ["lower('AB') == 'ab'", null, true],
    ["upper(trim(' ab ')) == 'AB'", null, true],
    ["first(result) == 1 && last(result) == 3", [1, 2, 3], true],
    ["keys(result) == ['a', 'b']", { b: 1, a: 2 }, true],
    ["find(result, # > 1) == 2", [1, 2, 3], true],
    ["findIndex(result, # > 1) == 1", [1, 2, 3], true],
    ["{a: 1}.a == 1", null, true],
    // Argo's helpers
    ["isNaN(result)", Number.NaN, true],
    ["isNaN(1)", null, false],
    ["isInf(result)", Number.NEGATIVE_INFINITY, true],
    ["isNil(result)", null, true],
    ["isNil(result)", [], false],
    ["asFloat('+Inf') > 1e308", null, true],
    ["asFloat('-inf') < 0", null, true],
    ["asInt(-1.9) == -1", null, true],
    ["asInt(result) == 3", 3.9, true],
    // Argo's isNil/default look at the result, whatever argument is passed.
    ["isNil(1)", null, true],
    ["default(1, 7) == 7", null, true],
    ["default(1, 7) == 2", 2, true],
  ];

  for (const [source, result, want] of cases) {
    it(`${source} with ${JSON.stringify(result)}`, () => {
      expect(evaluateCondition(source, result)).toBe(want);
    });
  }

  it("reports runtime problems as EvaluationError", () => {
    const table: [string, unknown, string][] = [
      ["result", 1, "expected bool, but got float64"],
      ["result", "yes", "expected bool, but got string"],
      ["result[3] > 1", [1], "index out of range: 3 (array length is 1)"],
      ["result.a > 1", null, "cannot fetch a from <nil>"],
      ["result.a.b > 1", {}, "cannot fetch b from <nil>"],
      ["result % 2 == 0", 4, "invalid operation: % (mismatched types float64 and int)"],
      ["1 % 0 == 0", null, "integer divide by zero"],
      ["result > 1", [1], "mismatched types []interface {} and int"],
      ["all(result, # > 1)", 1, "builtin all takes only array (got float64)"],
      ["all(result, #)", [1], "predicate of all must return bool, but got float64"],
      ["asInt(result) > 1", [1], "asInt() not supported on []interface {}"],
      ["result matches '('", "x", "error parsing regexp"],
      ["result > 1 ? true : 1", 0, "expected bool, but got int"],
    ];
    for (const [source, result, message] of table) {
      const compiled = compileCondition(source);
      expect(() => evaluate(compiled, result), source).toThrow(EvaluationError);
      expect(() => evaluate(compiled, result), source).toThrow(message);
    }
  });
});

describe("compile errors carry the position", () => {
  const table: [string, string, number][] = [
    ["result[0] >= )", 'unexpected token ")" at column 14', 14],
    ["result[0] >=", "unexpected token end of expression at column 13", 13],
    ["result[0 >= 0.95", 'unexpected token end of expression, expected "]" at column 17', 17],
    ["result >= 0.95 )", 'unexpected token ")" at column 16', 16],
    ["resutl[0] >= 0.95", "unknown name resutl at column 1", 1],
    ["result >= 0.95 && foo", "unknown name foo at column 19", 19],
    ["isNan(result)", "unknown func isNan at column 1", 1],
    ["all(result, {# > 1)", 'unexpected token ")", expected "}" at column 19', 19],
    ["# > 1", "cannot use pointer accessor outside predicate at column 1", 1],
    ["result == 'abc", "unterminated string literal at column 11", 11],
    ["result @ 1", 'unrecognized character "@" at column 8', 8],
    [
      'asFloat(result) == "1.1"',
      "invalid operation: == (mismatched types float64 and string) at column 17",
      17,
    ],
    ["len(result) && true", "invalid operation: && (mismatched types int and bool) at column 13", 13],
    ["isNaN('x')", "cannot use string as argument (type number) to call isNaN at column 7", 7],
    ["1", "expected bool, but got int at column 1", 1],
    ["result.Name() == 'hi'", "calling method Name is not supported at column 8", 8],
    ["asInt()", "asInt expects 1 argument, got 0 at column 1", 1],
    ["", "empty expression at column 1", 1],
    ["result >=\n  )", 'unexpected token ")" at line 2, column 3', 3],
  ];
  for (const [source, message, column] of table) {
    it(JSON.stringify(source), () => {
      let error: unknown;
      try {
        compileCondition(source);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ExpressionError);
      expect((error as ExpressionError).message).toBe(message);
      expect((error as ExpressionError).column).toBe(column);
    });
  }

  it("shows a caret under the column", () => {
    try {
      compileCondition("result[0] >= )");
      expect.unreachable();
    } catch (e) {
      expect((e as ExpressionError).snippet).toBe("result[0] >= )\n             ^");
    }
  });
});

describe("safety: only result and the builtins are reachable", () => {
  it("refuses names outside the environment at compile time", () => {
    for (const name of [
      "constructor",
      "this",
      "globalThis",
      "process",
      "require",
      "Function",
      "__proto__",
      "eval",
    ]) {
      expect(() => compileCondition(`${name} != nil`), name).toThrow(`unknown name ${name}`);
    }
    expect(() => compileCondition("process.exit(1)")).toThrow(ExpressionError);
    expect(() => compileCondition("result.constructor('x')")).toThrow(ExpressionError);
  });

  it("sees prototype members as missing keys", () => {
    expect(evaluateCondition("result.constructor == nil", {})).toBe(true);
    expect(evaluateCondition("result.__proto__ == nil", {})).toBe(true);
    expect(evaluateCondition("result['constructor'] == nil", {})).toBe(true);
    expect(evaluateCondition("result.toString == nil", { a: 1 })).toBe(true);
    expect(evaluateCondition("result.hasOwnProperty == nil", {})).toBe(true);
    expect(evaluateCondition("'constructor' in result", {})).toBe(false);
    expect(evaluateCondition("len(result) == 0", {})).toBe(true);
  });

  it("has no properties on arrays or strings", () => {
    expect(() => evaluateCondition("result.length == 1", [1])).toThrow(EvaluationError);
    expect(() => evaluateCondition("result.length == 1", "a")).toThrow(EvaluationError);
    expect(() => evaluateCondition("result['map'] == nil", [1])).toThrow(EvaluationError);
  });

  it("reads a JSON __proto__ key as data and pollutes nothing", () => {
    const result = JSON.parse('{"__proto__": {"polluted": true}, "ok": true}');
    expect(evaluateCondition("result.__proto__.polluted == true", result)).toBe(true);
    expect(evaluateCondition("{__proto__: 1}.__proto__ == 1", null)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses results that are not plain data", () => {
    expect(() => evaluateCondition("result != nil", new Date())).toThrow("not plain data");
    expect(() => evaluateCondition("result != nil", () => 1)).toThrow("not plain data");
    expect(() => evaluateCondition("result[0] != nil", [new Map()])).toThrow("not plain data");
  });

  it("does not let the result change between evaluations", () => {
    const compiled = compileCondition("result.a == 1");
    const result = { a: 1 };
    expect(evaluate(compiled, result)).toBe(true);
    result.a = 2;
    expect(evaluate(compiled, result)).toBe(false);
  });
});
