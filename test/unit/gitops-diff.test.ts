import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  compileJqPath,
  type DiffOptions,
  diffResource,
  JqPathError,
  JsonPointerError,
  jsonPointerGet,
  jsonPointerRemove,
  type KubeObject,
  maskSecret,
  maskSecrets,
  prepareDesiredForApply,
  quantitiesEqual,
  unifiedDiff,
} from "../../controller/gitops/diff/index.js";

interface DiffFixture {
  description: string;
  issue?: string;
  options?: DiffOptions;
  desired?: KubeObject;
  live?: KubeObject;
  expect: {
    modified: boolean;
    patch?: unknown[];
    linesContain?: string[];
    linesNotContain?: string[];
  };
}

const root = new URL("./fixtures/diff/", import.meta.url);
const fixtures = readdirSync(root)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((file) => ({ file, fixture: parseYaml(readFileSync(new URL(file, root), "utf8")) as DiffFixture }));

describe("diffResource fixtures", () => {
  for (const { file, fixture } of fixtures) {
    const title = `${file}: ${fixture.description}${fixture.issue ? ` (${fixture.issue})` : ""}`;
    it(title, () => {
      const result = diffResource(fixture.desired, fixture.live, fixture.options);
      const shown = (result.lines ?? []).join("\n");
      expect(result.modified, shown).toBe(fixture.expect.modified);
      if (fixture.expect.patch) expect(result.patch).toEqual(fixture.expect.patch);
      for (const text of fixture.expect.linesContain ?? []) expect(result.lines).toContain(text);
      for (const text of fixture.expect.linesNotContain ?? []) expect(shown).not.toContain(text);
    });
  }
});

describe("never OutOfSync with an empty diff (argo-cd #15898)", () => {
  for (const { file, fixture } of fixtures) {
    it(`${file}: modified ⇔ lines non-empty ⇔ patch non-empty`, () => {
      const result = diffResource(fixture.desired, fixture.live, fixture.options);
      expect(result.lines!.length > 0).toBe(result.modified);
      expect(result.patch!.length > 0).toBe(result.modified);
    });
  }

  it("holds for random perturbations of a live object", () => {
    const base = fixtures.find((f) => f.file === "server-defaults-deployment.yaml")!.fixture;
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const values: unknown[] = ["x", "", 0, 1, true, false, null, {}, [], "1000m", { a: 1 }];
    for (let i = 0; i < 300; i++) {
      const live = structuredClone(base.live!) as Record<string, unknown>;
      const desired = structuredClone(base.desired!) as Record<string, unknown>;
      // Set a random value at a random existing path of one side.
      const target = rand() < 0.5 ? live : desired;
      let cur: unknown = target;
      for (let depth = 0; depth < 6; depth++) {
        const container = cur as Record<string, unknown> | unknown[];
        const keys = Object.keys(container);
        if (keys.length === 0) break;
        const k = keys[Math.floor(rand() * keys.length)]!;
        const next = (container as Record<string, unknown>)[k];
        if (typeof next !== "object" || next === null || rand() < 0.3) {
          (container as Record<string, unknown>)[k] = values[Math.floor(rand() * values.length)];
          break;
        }
        cur = next;
      }
      const result = diffResource(desired as KubeObject, live as KubeObject);
      expect(result.lines!.length > 0).toBe(result.modified);
      expect(result.patch!.length > 0).toBe(result.modified);
    }
  });
});

describe("quantities", () => {
  const cases: [string | number, string | number, boolean][] = [
    ["1000m", "1", true],
    ["1", 1, true],
    ["0.5", "500m", true],
    [".5", "500m", true],
    ["1Gi", "1024Mi", true],
    ["1Gi", "1G", false],
    ["1k", "1e3", true],
    ["1E", "1e18", true],
    ["1Ki", "1024", true],
    ["100n", "0.0000001", true],
    ["1.5Gi", "1536Mi", true],
    ["-1", "-1000m", true],
    ["2", "1", false],
    ["abc", "abc", false],
    ["1Gib", "1Gi", false],
  ];
  for (const [a, b, equal] of cases) {
    it(`${a} ${equal ? "==" : "!="} ${b}`, () => {
      expect(quantitiesEqual(a, b)).toBe(equal);
    });
  }
});

describe("JSON pointers", () => {
  const doc = () => ({ a: { "b/c": [1, 2, { "d~e": "x" }] }, m: { k: null } });
  const gets: [string, unknown][] = [
    ["", doc()],
    ["/a/b~1c/0", 1],
    ["/a/b~1c/2/d~0e", "x"],
    ["/a/b~1c/3", undefined],
    ["/a/b~1c/01", undefined],
    ["/m/k", null],
    ["/nope/deeper", undefined],
  ];
  for (const [pointer, value] of gets) {
    it(`get ${JSON.stringify(pointer)}`, () => {
      expect(jsonPointerGet(doc(), pointer)).toEqual(value);
    });
  }
  it("removes object members and array elements in place", () => {
    const d = doc();
    expect(jsonPointerRemove(d, "/a/b~1c/1")).toBe(true);
    expect(d.a["b/c"]).toEqual([1, { "d~e": "x" }]);
    expect(jsonPointerRemove(d, "/m/k")).toBe(true);
    expect(d.m).toEqual({});
    expect(jsonPointerRemove(d, "/m/k")).toBe(false);
    expect(jsonPointerRemove(d, "")).toBe(false);
  });
  it("rejects text that is not a pointer", () => {
    expect(() => jsonPointerGet({}, "spec/replicas")).toThrow(JsonPointerError);
  });
});

describe("jq path subset", () => {
  const doc = {
    spec: {
      replicas: 3,
      "odd.key": { x: 1 },
      containers: [
        { name: "app", image: "a", env: [{ name: "A" }] },
        { name: "istio-proxy", image: "p", ports: [{ containerPort: 15090 }] },
        { name: "log", image: "l" },
      ],
    },
  };
  const cases: [string, (string | number)[][]][] = [
    [".spec.replicas", [["spec", "replicas"]]],
    ['.spec."odd.key".x', [["spec", "odd.key", "x"]]],
    ['.spec["odd.key"]', [["spec", "odd.key"]]],
    [".spec.missing", []],
    [
      ".spec.containers[].image",
      [
        ["spec", "containers", 0, "image"],
        ["spec", "containers", 1, "image"],
        ["spec", "containers", 2, "image"],
      ],
    ],
    [".spec.containers[1].name", [["spec", "containers", 1, "name"]]],
    [".spec.containers[-1]", [["spec", "containers", 2]]],
    [".spec.containers[]?.env", [["spec", "containers", 0, "env"]]],
    ['.spec.containers[] | select(.name == "istio-proxy")', [["spec", "containers", 1]]],
    ['.spec.containers[] | select(.name == "app") | .image', [["spec", "containers", 0, "image"]]],
    [
      '.spec.containers[] | select(.name != "app" and .name != "log") | .image',
      [["spec", "containers", 1, "image"]],
    ],
    [
      '.spec.containers[] | select(.name == "app" or .name == "log") | .name',
      [
        ["spec", "containers", 0, "name"],
        ["spec", "containers", 2, "name"],
      ],
    ],
    [
      '.spec.containers[] | select(.name | startswith("istio")) | .image',
      [["spec", "containers", 1, "image"]],
    ],
    ['.spec.containers[] | select(.name | test("^l.g$"))', [["spec", "containers", 2]]],
    [".spec.containers[] | select(.ports) | .ports", [["spec", "containers", 1, "ports"]]],
    [
      ".spec.containers[] | select(.ports[].containerPort == 15090) | .name",
      [["spec", "containers", 1, "name"]],
    ],
    [
      ".spec.containers[] | select(.env == null) | .name",
      [
        ["spec", "containers", 1, "name"],
        ["spec", "containers", 2, "name"],
      ],
    ],
    [
      '.spec.containers[] | select((.name == "app") | not) | .name',
      [
        ["spec", "containers", 1, "name"],
        ["spec", "containers", 2, "name"],
      ],
    ],
  ];
  for (const [expr, paths] of cases) {
    it(expr, () => {
      expect(compileJqPath(expr).paths(doc)).toEqual(paths);
    });
  }
  const bad = [".a = 1", "..", ".a | map(.b)", "[.a]", ".a[.b]", '.a | select(.b == "x"'];
  for (const expr of bad) {
    it(`rejects ${expr}`, () => {
      expect(() => compileJqPath(expr)).toThrow(JqPathError);
    });
  }
});

describe("Secret masking", () => {
  const secret = (data: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    data,
  });
  it("masks every value of one Secret", () => {
    const masked = maskSecret<KubeObject>({ ...secret({ a: "eA==", b: "eQ==" }), stringData: { c: "z" } });
    expect(masked.data).toEqual({ a: "++++++++", b: "++++++++" });
    expect(masked.stringData).toEqual({ c: "++++++++" });
  });
  it("gives equal values one mask and different values different masks, per key", () => {
    const [a, b, c] = maskSecrets(
      secret({ k: "MQ==", j: "eA==" }),
      secret({ k: "Mg==", j: "eA==" }),
      secret({ k: "MQ==" }),
    );
    expect(a!.data).toEqual({ k: "++++++++", j: "++++++++" });
    expect(b!.data).toEqual({ k: "++++++++++++", j: "++++++++" });
    expect(c!.data).toEqual({ k: "++++++++" });
  });
  it("leaves other kinds alone and does not modify its input", () => {
    const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", data: { a: "1" } };
    expect(maskSecret(cm)).toBe(cm);
    const s = secret({ a: "eA==" });
    maskSecret(s);
    expect(s.data).toEqual({ a: "eA==" });
  });
});

describe("unifiedDiff", () => {
  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\nb\n", "a\nb\n")).toEqual([]);
  });
  it("shows changes with context and hunk headers", () => {
    const a = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"].join("\n");
    const b = ["1", "2", "3", "4", "five", "6", "7", "8", "9", "10", "11"].join("\n");
    expect(unifiedDiff(a, b, { fromFile: "live", toFile: "desired", context: 1 })).toEqual([
      "--- live",
      "+++ desired",
      "@@ -4,3 +4,3 @@",
      " 4",
      "-5",
      "+five",
      " 6",
      "@@ -10,1 +10,2 @@",
      " 10",
      "+11",
    ]);
  });
});

describe("prepareDesiredForApply: ignored fields are not healed (argo-cd #7820)", () => {
  const live: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "shop",
      managedFields: [
        {
          manager: "kube-controller-manager",
          operation: "Update",
          subresource: "scale",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:spec": { "f:replicas": {} } },
        },
      ],
    },
    spec: {
      replicas: 7,
      template: {
        spec: {
          containers: [
            { name: "app", image: "app:live" },
            { name: "log", image: "l:1" },
          ],
        },
      },
    },
  };
  const desired: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "shop" },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [
            { name: "app", image: "app:git" },
            { name: "log", image: "l:2" },
          ],
        },
      },
    },
  };
  it("leaves HPA-owned replicas out and keeps the live value of ignored fields", () => {
    const out = prepareDesiredForApply(desired, live, {
      ignoreDifferences: [
        {
          group: "apps",
          kind: "Deployment",
          jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "app") | .image'],
        },
      ],
    });
    expect(out).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "shop" },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "app", image: "app:live" },
              { name: "log", image: "l:2" },
            ],
          },
        },
      },
    });
    expect(desired.spec).toMatchObject({ replicas: 3 });
  });
  it("applies everything when there is no live object", () => {
    expect(prepareDesiredForApply(desired, undefined)).toEqual(desired);
  });
});
