import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import type { ApplicationSet } from "../../api/v1alpha1/applicationset.js";
import {
  type ClusterInfo,
  type GeneratorContext,
  GeneratorError,
  generateParams,
} from "../../controller/appset/generators.js";
import { InvalidSetError, planWrites, renderApplications } from "../../controller/appset/plan.js";
import { maxUpdateOf, planRollingSync } from "../../controller/appset/rolling-sync.js";
import { renderString, renderValue } from "../../controller/appset/template.js";

const clusters: ClusterInfo[] = [
  { name: "in-cluster", server: "https://kubernetes.default.svc", labels: {}, annotations: {} },
  { name: "Prod EU", server: "https://eu:6443", labels: { env: "prod" }, annotations: { owner: "ops" } },
  { name: "staging", server: "https://st:6443", labels: { env: "staging" }, annotations: {} },
];

let repo: string;
function ctx(goTemplate = false, checkout?: GeneratorContext["checkout"]): GeneratorContext {
  return { goTemplate, clusters: () => clusters, checkout: checkout ?? (async () => repo) };
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), "appset-git-"));
  for (const d of ["apps/web", "apps/api", "apps/legacy", "other/x"])
    await mkdir(join(repo, d), { recursive: true });
  await writeFile(
    join(repo, "apps/web/config.json"),
    JSON.stringify({ cluster: { name: "eu", address: "https://eu" } }),
  );
  await writeFile(join(repo, "apps/api/config.yaml"), "cluster:\n  name: us\n  address: https://us\n");
});
afterAll(async () => rm(repo, { recursive: true, force: true }));

function set(spec: Partial<ApplicationSet["spec"]>): ApplicationSet {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: "s", namespace: "slipway-system", uid: "u1" },
    spec: {
      generators: [{ list: { elements: [] } }],
      template: {
        metadata: { name: "{{name}}-app", labels: { env: "{{metadata.labels.env}}" } },
        spec: {
          project: "default",
          source: { repoURL: "https://git/x", path: "p/{{name}}" },
          destination: { server: "{{server}}", namespace: "ns" },
        },
      },
      ...spec,
    },
  };
}

describe("template", () => {
  it("substitutes fasttemplate params, nested keys and leaves unknown ones", () => {
    expect(renderString("{{a}}-{{ path.basename }}-{{nope}}", { a: "x", path: { basename: "b" } })).toBe(
      "x-b-{{nope}}",
    );
    expect(renderValue({ k: ["{{a}}"], n: 1 }, { a: "y" })).toEqual({ k: ["y"], n: 1 });
  });
  it("goTemplate: {{.a.b}}, missing key errors", () => {
    expect(renderString("{{.a.b}}/{{ .c }}", { a: { b: "1" }, c: 2 }, true)).toBe("1/2");
    expect(() => renderString("{{.missing}}", {}, true)).toThrow(/no entry/);
  });
});

describe("generators", () => {
  it("list elements, nested flattened", async () => {
    const p = await generateParams({ list: { elements: [{ name: "a", x: { y: "z" } }] } }, ctx());
    expect(p).toEqual([{ name: "a", "x.y": "z" }]);
  });
  it("clusters: selector, labels/annotations params, values, nameNormalized", async () => {
    const all = await generateParams({ clusters: {} }, ctx());
    expect(all.map((p) => p.name)).toEqual(["in-cluster", "Prod EU", "staging"]);
    const prod = await generateParams(
      {
        clusters: {
          selector: { matchLabels: { env: "prod" } },
          values: { rev: "v-{{metadata.labels.env}}" },
        },
      },
      ctx(),
    );
    expect(prod).toEqual([
      {
        name: "Prod EU",
        nameNormalized: "prod-eu",
        server: "https://eu:6443",
        "metadata.labels.env": "prod",
        "metadata.annotations.owner": "ops",
        "values.rev": "v-prod",
      },
    ]);
    const notProd = await generateParams(
      { clusters: { selector: { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] } } },
      ctx(),
    );
    expect(notProd.map((p) => p.name)).toEqual(["in-cluster", "staging"]);
  });
  it("git directories with exclude", async () => {
    const p = await generateParams(
      { git: { repoURL: "r", directories: [{ path: "apps/*" }, { path: "apps/legacy", exclude: true }] } },
      ctx(),
    );
    expect(p.map((x) => x.path)).toEqual(["apps/api", "apps/web"]);
    expect(p[0]).toMatchObject({ "path.basename": "api", "path[0]": "apps", "path[1]": "api" });
  });
  it("git files: JSON and YAML flattened with path params", async () => {
    const p = await generateParams({ git: { repoURL: "r", files: [{ path: "apps/**/config.*" }] } }, ctx());
    expect(p).toEqual([
      expect.objectContaining({
        "cluster.name": "us",
        path: "apps/api",
        "path.basename": "api",
        "path.filename": "config.yaml",
      }),
      expect.objectContaining({ "cluster.name": "eu", path: "apps/web", "path.basenameNormalized": "web" }),
    ]);
    const go = await generateParams(
      { git: { repoURL: "r", files: [{ path: "apps/web/*.json" }] } },
      ctx(true),
    );
    expect(go[0]).toMatchObject({ cluster: { name: "eu" }, path: { path: "apps/web", basename: "web" } });
  });
  it("git unreachable → GeneratorError", async () => {
    const failing = ctx(false, async () => {
      throw new Error("connection refused");
    });
    await expect(
      generateParams({ git: { repoURL: "http://x", directories: [{ path: "*" }] } }, failing),
    ).rejects.toThrow(GeneratorError);
  });
  it("matrix: cartesian product, second child rendered with the first's params", async () => {
    const p = await generateParams(
      {
        matrix: {
          generators: [
            { git: { repoURL: "r", directories: [{ path: "apps/w*" }] } },
            { list: { elements: [{ env: "a-{{path.basename}}" }, { env: "b" }] } },
          ],
        },
      },
      ctx(),
    );
    expect(p.map((x) => `${x.path}/${x.env}`)).toEqual(["apps/web/a-web", "apps/web/b"]);
    const m2 = await generateParams(
      {
        matrix: {
          generators: [
            { clusters: { selector: { matchLabels: { env: "prod" } } } },
            { list: { elements: [{ a: "1" }, { a: "2" }] } },
          ],
        },
      },
      ctx(),
    );
    expect(m2.map((x) => `${x.name}:${x.a}`)).toEqual(["Prod EU:1", "Prod EU:2"]);
  });
  it("merge by mergeKeys: later generators override matching sets only", async () => {
    const p = await generateParams(
      {
        merge: {
          mergeKeys: ["server"],
          generators: [
            { clusters: { values: { kafka: "true" } } },
            {
              list: {
                elements: [
                  { server: "https://eu:6443", "values.kafka": "false" },
                  { server: "https://none" },
                ],
              },
            },
          ],
        },
      },
      ctx(),
    );
    expect(p.map((x) => `${x.name}:${x["values.kafka"]}`)).toEqual([
      "in-cluster:true",
      "Prod EU:false",
      "staging:true",
    ]);
  });
  it("generator selector filters sets; two kinds in one entry is an error", async () => {
    const p = await generateParams(
      { list: { elements: [{ a: "1" }, { a: "2" }] }, selector: { matchLabels: { a: "2" } } },
      ctx(),
    );
    expect(p).toEqual([{ a: "2" }]);
    await expect(generateParams({ list: { elements: [] }, clusters: {} }, ctx())).rejects.toThrow(
      /exactly one/,
    );
  });
});

describe("renderApplications / planWrites", () => {
  it("renders owned apps with labels; refuses duplicates and invalid names", async () => {
    const s = set({});
    const params = await generateParams(
      { clusters: { selector: { matchLabels: { env: "staging" } } } },
      ctx(),
    );
    const [app] = renderApplications(s, [{ generatorIndex: 0, params }]);
    expect(app!.metadata.name).toBe("staging-app");
    expect(app!.metadata.labels).toMatchObject({ env: "staging", "slipway.dev/application-set": "s" });
    expect(app!.spec.destination.server).toBe("https://st:6443");
    expect(app!.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "ApplicationSet",
      uid: "u1",
      controller: true,
    });
    expect(() => renderApplications(s, [{ generatorIndex: 0, params: [...params, ...params] }])).toThrow(
      /duplicate/,
    );
    expect(() => renderApplications(s, [{ generatorIndex: 0, params: [{ name: "Bad_Name" }] }])).toThrow(
      InvalidSetError,
    );
  });
  it("generator template override and templatePatch", () => {
    const s = set({
      generators: [
        {
          list: {
            elements: [{ name: "a", server: "https://s" }],
            template: { metadata: { labels: { t: "o" } } },
          },
        },
      ],
      templatePatch: "spec:\n  source:\n    targetRevision: rev-{{name}}\n",
    });
    const [app] = renderApplications(s, [
      { generatorIndex: 0, params: [{ name: "a", server: "https://s" }] },
    ]);
    expect(app!.metadata.labels?.t).toBe("o");
    expect(app!.spec.source?.targetRevision).toBe("rev-a");
    expect(app!.spec.source?.path).toBe("p/a");
  });
  it("plans per applicationsSync policy", () => {
    const s = set({});
    const [a, b] = renderApplications(s, [
      {
        generatorIndex: 0,
        params: [
          { name: "a", server: "https://a" },
          { name: "b", server: "https://b" },
        ],
      },
    ]);
    const oldB: Application = structuredClone(b!);
    oldB.spec.destination.namespace = "old";
    const stale: Application = { ...structuredClone(b!), metadata: { ...b!.metadata, name: "c-app" } };
    const ops = (policy: Parameters<typeof planWrites>[2]) =>
      planWrites([a!, b!], [oldB, stale], policy).map(
        (w) => `${w.op}:${(w.op === "create" ? w.app : w.existing).metadata.name}`,
      );
    expect(ops("sync")).toEqual(["create:a-app", "update:b-app", "delete:c-app"]);
    expect(ops("create-only")).toEqual(["create:a-app"]);
    expect(ops("create-update")).toEqual(["create:a-app", "update:b-app"]);
    expect(ops("create-delete")).toEqual(["create:a-app", "delete:c-app"]);
    expect(planWrites([b!], [structuredClone(b!)])).toEqual([]);
  });
});

describe("RollingSync", () => {
  const app = (name: string, env: string, sync: string, health: string): Application =>
    ({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "Application",
      metadata: { name, labels: { env } },
      spec: { project: "default", destination: {} },
      status: { sync: { status: sync }, health: { status: health } },
    }) as Application;
  const steps = [
    { matchExpressions: [{ key: "env", operator: "In" as const, values: ["dev"] }] },
    { matchExpressions: [{ key: "env", operator: "In" as const, values: ["prod"] }], maxUpdate: 1 },
  ];
  it("syncs step 1 first, step 2 only once step 1 is Healthy, maxUpdate at a time", () => {
    let r = planRollingSync(
      [
        app("d1", "dev", "OutOfSync", "Missing"),
        app("p1", "prod", "OutOfSync", "Missing"),
        app("p2", "prod", "OutOfSync", "Missing"),
      ],
      steps,
    );
    expect(r.toSync).toEqual(["d1"]);
    expect(r.currentStep).toBe(1);
    // d1 still syncing: nothing more
    r = planRollingSync(
      [
        app("d1", "dev", "OutOfSync", "Progressing"),
        app("p1", "prod", "OutOfSync", "Missing"),
        app("p2", "prod", "OutOfSync", "Missing"),
      ],
      steps,
      r.applicationStatus,
    );
    expect(r.toSync).toEqual([]);
    r = planRollingSync(
      [
        app("d1", "dev", "Synced", "Healthy"),
        app("p1", "prod", "OutOfSync", "Missing"),
        app("p2", "prod", "OutOfSync", "Missing"),
      ],
      steps,
      r.applicationStatus,
    );
    expect(r.toSync).toEqual(["p1"]);
    expect(r.applicationStatus.find((s) => s.application === "d1")?.status).toBe("Healthy");
    r = planRollingSync(
      [
        app("d1", "dev", "Synced", "Healthy"),
        app("p1", "prod", "Synced", "Healthy"),
        app("p2", "prod", "OutOfSync", "Missing"),
      ],
      steps,
      r.applicationStatus,
    );
    expect(r.toSync).toEqual(["p2"]);
  });
  it("maxUpdate percentages", () => {
    expect(maxUpdateOf({ maxUpdate: "50%" }, 4)).toBe(2);
    expect(maxUpdateOf({ maxUpdate: "10%" }, 4)).toBe(1);
    expect(maxUpdateOf({}, 3)).toBe(3);
    expect(maxUpdateOf({ maxUpdate: 0 }, 3)).toBe(3);
  });
});
