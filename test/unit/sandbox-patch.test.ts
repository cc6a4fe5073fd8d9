import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PatchError } from "../../sandbox/patch/errors.js";
import { applyJsonPatch } from "../../sandbox/patch/json-patch.js";
import { applyMergePatch } from "../../sandbox/patch/merge-patch.js";
import { applyStrategicMergePatch } from "../../sandbox/patch/strategic-merge-patch.js";
import { builtinSchema } from "../../sandbox/schema/builtin.js";

interface SmpCase {
  name: string;
  kind: string;
  original: unknown;
  patch: unknown;
  expected?: unknown;
  error?: string;
}

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/patch/${name}`, import.meta.url)), "utf8");

const smpCases = parse(fixture("strategic-merge.yaml")) as SmpCase[];

function schemaFor(kind: string) {
  const [group, version, k] = kind.split("/");
  const schema = builtinSchema(group, version, k);
  if (!schema) throw new Error(`no schema for ${kind}`);
  return schema;
}

describe("strategic merge patch", () => {
  it.each(smpCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const schema = schemaFor(c.kind);
    const before = JSON.stringify(c.original);
    if (c.error) {
      expect(() => applyStrategicMergePatch(c.original, c.patch, schema)).toThrow(c.error);
      return;
    }
    const result = applyStrategicMergePatch(c.original, c.patch, schema);
    expect(result).toEqual(c.expected);
    // The original is never modified.
    expect(JSON.stringify(c.original)).toBe(before);
  });

  it("shares untouched subtrees with the original", () => {
    const original = {
      metadata: { labels: { a: "1" } },
      spec: { template: { spec: { containers: [{ name: "a" }] } } },
    };
    const result = applyStrategicMergePatch(
      original,
      { metadata: { labels: { b: "2" } } },
      schemaFor("apps/v1/Deployment"),
    );
    expect(result.spec).toBe(original.spec);
    expect(result.metadata).not.toBe(original.metadata);
    // metadata is fresh even when the patch does not touch it
    const scaled = applyStrategicMergePatch(
      original,
      { spec: { replicas: 2 } },
      schemaFor("apps/v1/Deployment"),
    );
    expect(scaled.metadata).not.toBe(original.metadata);
    expect(scaled.metadata).toEqual(original.metadata);
    expect(applyMergePatch(original, { spec: { replicas: 2 } }).metadata).not.toBe(original.metadata);
  });

  it("rejects a non-object patch with 400", () => {
    try {
      applyStrategicMergePatch({}, [1, 2], schemaFor("apps/v1/Deployment"));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PatchError);
      expect((err as PatchError).code).toBe(400);
    }
  });

  it("works without a schema (lists replace, maps merge)", () => {
    expect(applyStrategicMergePatch({ a: { b: 1, c: [1] } }, { a: { c: [2], d: 3 } })).toEqual({
      a: { b: 1, c: [2], d: 3 },
    });
  });
});

// RFC 7386, Appendix A.
const mergeCases: [unknown, unknown, unknown][] = [
  [{ a: "b" }, { a: "c" }, { a: "c" }],
  [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  [{ a: "b" }, { a: null }, {}],
  [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
  [{ a: ["b"] }, { a: "c" }, { a: "c" }],
  [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
  [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  [
    ["a", "b"],
    ["c", "d"],
    ["c", "d"],
  ],
  [{ a: "b" }, ["c"], ["c"]],
  [{ a: "foo" }, null, null],
  [{ a: "foo" }, "bar", "bar"],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: "b", c: null }, { a: "b" }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe("JSON merge patch (RFC 7386)", () => {
  it.each(mergeCases)("%j + %j = %j", (target, patch, expected) => {
    const before = JSON.stringify(target);
    expect(applyMergePatch(target, patch)).toEqual(expected);
    expect(JSON.stringify(target)).toBe(before);
  });

  it("replaces lists of containers wholesale", () => {
    const obj = { spec: { containers: [{ name: "a" }, { name: "b" }] } };
    expect(applyMergePatch(obj, { spec: { containers: [{ name: "c" }] } })).toEqual({
      spec: { containers: [{ name: "c" }] },
    });
  });
});

describe("JSON patch (RFC 6902)", () => {
  const obj = { metadata: { name: "x", labels: { a: "1" } }, spec: { replicas: 1, list: [1, 2] } };

  it("applies add/replace/remove/test without touching the input", () => {
    const result = applyJsonPatch(obj, [
      { op: "test", path: "/spec/replicas", value: 1 },
      { op: "replace", path: "/spec/replicas", value: 3 },
      { op: "add", path: "/metadata/labels/b", value: "2" },
      { op: "remove", path: "/metadata/labels/a" },
      { op: "add", path: "/spec/list/-", value: 3 },
    ]);
    expect(result).toEqual({
      metadata: { name: "x", labels: { b: "2" } },
      spec: { replicas: 3, list: [1, 2, 3] },
    });
    expect(obj.spec.replicas).toBe(1);
  });

  const failures: [string, unknown, RegExp, number][] = [
    [
      "failing test",
      [{ op: "test", path: "/spec/replicas", value: 2 }],
      /testing value \/spec\/replicas failed/,
      422,
    ],
    [
      "replace of a missing key",
      [{ op: "replace", path: "/spec/nope", value: 1 }],
      /replace operation does not apply/,
      422,
    ],
    [
      "remove of a missing key",
      [{ op: "remove", path: "/metadata/labels/zzz" }],
      /Unable to remove nonexistent key/,
      422,
    ],
    [
      "add below a missing path",
      [{ op: "add", path: "/spec/a/b", value: 1 }],
      /add operation does not apply/,
      422,
    ],
    ["unknown op", [{ op: "frobnicate", path: "/x" }], /Unexpected kind: frobnicate/, 400],
    ["not a list", { op: "add" }, /cannot unmarshal/, 400],
  ];
  it.each(failures)("%s → PatchError", (_name, ops, message, code) => {
    try {
      applyJsonPatch(obj, ops);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PatchError);
      expect((err as PatchError).message).toMatch(message);
      expect((err as PatchError).code).toBe(code);
    }
  });
});
