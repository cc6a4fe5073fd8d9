import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Ajv, type ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  buildCrds,
  type CustomResourceDefinition,
  defaultAppProject,
  installManifests,
  type JSONSchemaProps,
  renderCrdFiles,
  toStructuralSchema,
} from "../../api/v1alpha1/crds.js";
import { KINDS, kindInfo } from "../../api/v1alpha1/kinds.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const crdDir = path.join(root, "crds");
const fixtureDir = path.join(root, "test/unit/fixtures/api");

type Doc = Record<string, unknown>;

const crds = buildCrds();
const crdFor = (kind: string): CustomResourceDefinition => {
  const crd = crds.find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd;
};
const schemaOf = (kind: string): JSONSchemaProps => crdFor(kind).spec.versions[0]!.schema.openAPIV3Schema;

const fixtures: { file: string; doc: Doc }[] = readdirSync(fixtureDir)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((file) => ({ file, doc: parse(readFileSync(path.join(fixtureDir, file), "utf8")) as Doc }));

/**
 * The rules the API server applies to CRD schemas, written out independently of crds.ts:
 * https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
 */
function structuralProblems(node: JSONSchemaProps, at: string, problems: string[] = []): string[] {
  const n = node as Record<string, unknown>;
  const allowed = new Set([
    "type",
    "description",
    "format",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
  ]);
  for (const key of Object.keys(n)) if (!allowed.has(key)) problems.push(`${at}: unexpected keyword ${key}`);
  const intOrString = n["x-kubernetes-int-or-string"] === true;
  const preserve = n["x-kubernetes-preserve-unknown-fields"] === true;
  if (!n.type && !intOrString && !preserve) problems.push(`${at}: no type`);
  if (n.anyOf !== undefined) {
    const ok =
      intOrString && JSON.stringify(n.anyOf) === JSON.stringify([{ type: "integer" }, { type: "string" }]);
    if (!ok) problems.push(`${at}: anyOf outside the int-or-string pattern`);
  }
  if (intOrString && n.type) problems.push(`${at}: int-or-string must not set type`);
  if (n.properties && n.additionalProperties !== undefined)
    problems.push(`${at}: properties together with additionalProperties`);
  if (typeof n.additionalProperties === "boolean") problems.push(`${at}: boolean additionalProperties`);
  if (n.type === "array" && !n.items) problems.push(`${at}: array without items`);
  if ((n.properties || n.additionalProperties) && n.type !== "object")
    problems.push(`${at}: properties on a non-object`);
  for (const r of node.required ?? [])
    if (!node.properties?.[r]) problems.push(`${at}: required ${r} is not a property`);
  for (const v of node.enum ?? []) {
    const t = typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v;
    if (t !== node.type) problems.push(`${at}: enum value ${String(v)} does not match type ${node.type}`);
  }
  for (const [name, child] of Object.entries(node.properties ?? {}))
    structuralProblems(child, `${at}.${name}`, problems);
  if (node.items) structuralProblems(node.items, `${at}[]`, problems);
  if (node.additionalProperties) structuralProblems(node.additionalProperties, `${at}.*`, problems);
  return problems;
}

function kubeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addKeyword("x-kubernetes-int-or-string");
  ajv.addKeyword("x-kubernetes-preserve-unknown-fields");
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
  return ajv;
}

/**
 * The API server silently prunes unknown fields; closing every typed object turns "this Argo
 * field would be dropped" into a validation error, like `kubectl apply --validate=strict`.
 */
function closeObjects(node: JSONSchemaProps): JSONSchemaProps {
  const copy: JSONSchemaProps & { additionalProperties?: JSONSchemaProps | boolean } = { ...node };
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties).map(([k, v]) => [k, closeObjects(v)]),
    );
    if (!copy["x-kubernetes-preserve-unknown-fields"]) copy.additionalProperties = false;
  }
  if (copy.items) copy.items = closeObjects(copy.items);
  if (copy.additionalProperties && typeof copy.additionalProperties === "object")
    copy.additionalProperties = closeObjects(copy.additionalProperties);
  return copy as JSONSchemaProps;
}

const ajv = kubeAjv();
const validators = new Map<string, { open: ValidateFunction; closed: ValidateFunction }>(
  KINDS.map((k) => [
    k.kind,
    { open: ajv.compile(schemaOf(k.kind)), closed: ajv.compile(closeObjects(schemaOf(k.kind))) },
  ]),
);
const validate = (doc: Doc, mode: "open" | "closed" = "open") => {
  const v = validators.get(String(doc.kind))![mode];
  const ok = v(doc);
  return { ok, errors: ajv.errorsText(v.errors, { separator: "\n" }) };
};
const fixture = (file: string): Doc => structuredClone(fixtures.find((f) => f.file === file)!.doc);

describe("generated CRDs", () => {
  it("match the committed crds/*.yaml", () => {
    const expected = renderCrdFiles();
    const committed = readdirSync(crdDir).filter((f) => f.endsWith(".slipway.dev.yaml"));
    expect(committed.sort(), "run npm run gen:crds").toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) {
      expect(
        readFileSync(path.join(crdDir, name), "utf8"),
        `crds/${name} is stale: run npm run gen:crds`,
      ).toBe(text);
    }
  });

  it("render byte-identically twice", () => {
    expect([...renderCrdFiles()]).toEqual([...renderCrdFiles()]);
  });

  it.each(KINDS.map((k) => k.kind))("%s has a structural schema", (kind) => {
    const schema = schemaOf(kind);
    expect(structuralProblems(schema, kind)).toEqual([]);
    expect(schema.properties?.metadata).toEqual({ type: "object" });
    expect(schema.properties?.spec?.type).toBe("object");
  });

  it("name every kind as Argo does", () => {
    const names = Object.fromEntries(crds.map((c) => [c.spec.names.kind, c.spec.names.shortNames]));
    expect(names).toEqual({
      Application: ["app", "apps"],
      ApplicationSet: ["appset", "appsets"],
      AppProject: ["appproj", "appprojs"],
      Rollout: ["ro"],
      AnalysisTemplate: ["at"],
      ClusterAnalysisTemplate: ["cat"],
      AnalysisRun: ["ar"],
    });
    for (const crd of crds) {
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.slipway.dev`);
      expect(crd.spec.names.categories).toContain("slipway");
      expect(crd.spec.scope).toBe(
        crd.spec.names.kind === "ClusterAnalysisTemplate" ? "Cluster" : "Namespaced",
      );
    }
  });

  it("serve status through the status subresource for every kind with a status", () => {
    const withStatus = crds
      .filter((c) => c.spec.versions[0]!.subresources?.status)
      .map((c) => c.spec.names.kind);
    expect(withStatus.sort()).toEqual([
      "AnalysisRun",
      "AppProject",
      "Application",
      "ApplicationSet",
      "Rollout",
    ]);
  });

  it("give Rollout the scale subresource, for kubectl scale and HPAs", () => {
    expect(crdFor("Rollout").spec.versions[0]!.subresources?.scale).toEqual({
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.HPAReplicas",
      labelSelectorPath: ".status.selector",
    });
    expect(schemaOf("Rollout").properties?.status?.properties?.selector?.type).toBe("string");
  });

  it("print the columns Argo users know", () => {
    const columns = (kind: string) => crdFor(kind).spec.versions[0]!.additionalPrinterColumns;
    expect(columns("Application").slice(0, 2)).toEqual([
      { name: "Sync Status", type: "string", jsonPath: ".status.sync.status" },
      { name: "Health Status", type: "string", jsonPath: ".status.health.status" },
    ]);
    expect(columns("Rollout").map((c) => c.name)).toEqual(
      expect.arrayContaining(["Desired", "Current", "Up-to-date", "Available", "Age"]),
    );
    expect(columns("AnalysisRun").map((c) => [c.name, c.jsonPath])).toEqual([
      ["Status", ".status.phase"],
      ["Age", ".metadata.creationTimestamp"],
    ]);
  });

  it("mark int-or-string and free-form fields with the Kubernetes keywords", () => {
    const canary = schemaOf("Rollout").properties!.spec!.properties!.strategy!.properties!.canary!;
    expect(canary.properties?.maxSurge?.["x-kubernetes-int-or-string"]).toBe(true);
    const pause = canary.properties?.steps?.items?.properties?.pause?.properties?.duration;
    expect(pause?.["x-kubernetes-int-or-string"]).toBe(true);
    const template = schemaOf("Rollout").properties!.spec!.properties!.template!;
    expect(template["x-kubernetes-preserve-unknown-fields"]).toBe(true);
    const helm = schemaOf("Application").properties!.spec!.properties!.source!.properties!.helm!;
    expect(helm.properties?.valuesObject).toEqual({
      type: "object",
      description: "Values as an object",
      "x-kubernetes-preserve-unknown-fields": true,
    });
    const job =
      schemaOf("AnalysisTemplate").properties!.spec!.properties!.metrics!.items!.properties!.provider!
        .properties!.job!.properties!.spec!;
    expect(job["x-kubernetes-preserve-unknown-fields"]).toBe(true);
  });

  it("refuse schema constructs Kubernetes cannot express, instead of emitting them", () => {
    const convert = (a: Parameters<typeof toStructuralSchema>[0]) => () =>
      toStructuralSchema(Type.Object({ a }));
    expect(convert(Type.Union([Type.Object({ x: Type.String() }), Type.String()]))).toThrow(/string enums/);
    expect(convert(Type.Record(Type.String(), Type.Unknown()))).toThrow(/preserve-unknown-fields/);
    expect(convert(Type.Object({}, { additionalProperties: false }))).toThrow(
      /additionalProperties: false is not allowed/,
    );
    expect(convert(Type.Any())).toThrow(/needs a type/);
    expect(convert(Type.Record(Type.String({ pattern: "^x-" }), Type.String()))).toThrow(/record keys/);
    expect(convert(Type.Tuple([Type.String()]))).toThrow(/no structural CRD equivalent/);
  });

  // `kubectl apply --dry-run=client` still downloads discovery and OpenAPI from a server, so
  // without a cluster the closest offline check is that kubectl decodes every file as a CRD.
  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
  it.skipIf(!kubectl)("are read by kubectl as CustomResourceDefinitions", () => {
    const run = spawnSync(
      "kubectl",
      ["label", "--local", "-f", crdDir, "-o", "name", "slipway.dev/check=ok"],
      {
        encoding: "utf8",
        env: { ...process.env, KUBECONFIG: "/dev/null" },
      },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim().split("\n").sort()).toEqual(
      crds.map((c) => `customresourcedefinition.apiextensions.k8s.io/${c.metadata.name}`).sort(),
    );
  });
});

describe("Argo manifests with apiVersion slipway.dev/v1alpha1", () => {
  it("cover every kind with at least one fixture", () => {
    const kinds = new Set(fixtures.map((f) => f.doc.kind));
    for (const k of [
      "Application",
      "ApplicationSet",
      "AppProject",
      "Rollout",
      "AnalysisTemplate",
      "AnalysisRun",
    ])
      expect(kinds).toContain(k);
  });

  it.each(fixtures.map((f) => f.file))("%s is accepted by its CRD schema", (file) => {
    const result = validate(fixture(file));
    expect(result.errors).toBe("No errors");
    expect(result.ok).toBe(true);
  });

  it.each(fixtures.map((f) => f.file))("%s uses no field the API server would prune", (file) => {
    const result = validate(fixture(file), "closed");
    expect(result.errors).toBe("No errors");
  });

  it.each(fixtures.map((f) => f.file))("%s type-checks against the TypeBox schema", (file) => {
    const doc = fixture(file);
    const schema = kindInfo(String(doc.kind)).schema;
    const errors = [...Value.Errors(schema, doc)].slice(0, 5).map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([]);
  });
});

describe("invalid manifests are rejected", () => {
  const cases: [string, string, (doc: Doc) => void][] = [
    ["replicas as a word", "rollout-canary.yaml", (d) => set(d, "spec.replicas", "three")],
    [
      "a weight above 100",
      "rollout-canary.yaml",
      (d) => set(d, "spec.strategy.canary.steps.7.setWeight", 150),
    ],
    [
      "a boolean pause duration",
      "rollout-canary.yaml",
      (d) => set(d, "spec.strategy.canary.steps.3.pause.duration", true),
    ],
    [
      "a blue-green without activeService",
      "rollout-bluegreen.yaml",
      (d) => set(d, "spec.strategy.blueGreen.activeService", undefined),
    ],
    ["an unknown rollout phase", "rollout-status.yaml", (d) => set(d, "status.phase", "Sleeping")],
    [
      "an Application without destination",
      "application-helm.yaml",
      (d) => set(d, "spec.destination", undefined),
    ],
    [
      "prune spelled as a string",
      "application-helm.yaml",
      (d) => set(d, "spec.syncPolicy.automated.prune", "yes"),
    ],
    [
      "an unknown sync status",
      "application-sources-status.yaml",
      (d) => set(d, "status.sync.status", "Drifted"),
    ],
    [
      "a fractional metric count",
      "analysistemplate-success-rate.yaml",
      (d) => set(d, "spec.metrics.0.count", 2.5),
    ],
    [
      "a metric without provider",
      "analysistemplate-success-rate.yaml",
      (d) => set(d, "spec.metrics.0.provider", undefined),
    ],
    ["a malformed timestamp", "analysisrun-status.yaml", (d) => set(d, "status.startedAt", "yesterday")],
    [
      "an unknown applicationsSync policy",
      "applicationset-matrix.yaml",
      (d) => set(d, "spec.syncPolicy.applicationsSync", "yolo"),
    ],
    ["a sync window of kind maybe", "appproject.yaml", (d) => set(d, "spec.syncWindows.0.kind", "maybe")],
  ];
  it.each(cases)("%s", (_name, file, mutate) => {
    const doc = fixture(file);
    mutate(doc);
    expect(validate(doc).ok).toBe(false);
    expect(Value.Check(kindInfo(String(doc.kind)).schema, doc)).toBe(false);
  });

  it("a misspelt field passes the API server (it is pruned) but not strict validation", () => {
    const doc = fixture("rollout-canary.yaml");
    set(doc, "spec.strategy.canary.stepz", []);
    expect(validate(doc).ok).toBe(true);
    expect(validate(doc, "closed").errors).toContain("must NOT have additional properties");
  });
});

describe("install bundle", () => {
  it("applies CRDs first, then the namespace, RBAC and the default project", () => {
    const objects = installManifests("delivery");
    expect(objects.map((o) => o.kind)).toEqual([
      ...crds.map(() => "CustomResourceDefinition"),
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "AppProject",
    ]);
    const binding = objects.find((o) => o.kind === "ClusterRoleBinding")!;
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "slipway-controller", namespace: "delivery" },
    ]);
    expect(objects.find((o) => o.kind === "AppProject")?.metadata.namespace).toBe("delivery");
  });

  it("grants the controller write access to every resource but no impersonation", () => {
    const role = installManifests().find((o) => o.kind === "ClusterRole")!;
    const verbs = (role.rules as { verbs: string[] }[]).flatMap((r) => r.verbs);
    expect(verbs).toEqual(expect.arrayContaining(["get", "list", "watch", "create", "patch", "delete"]));
    expect(verbs).not.toContain("impersonate");
    expect(verbs).not.toContain("*");
  });

  it("ships Argo CD's permissive default project, valid against its own CRD", () => {
    const project = defaultAppProject();
    expect(project.metadata).toMatchObject({ name: "default", namespace: "slipway-system" });
    expect(project.spec).toMatchObject({
      sourceRepos: ["*"],
      destinations: [{ server: "*", namespace: "*" }],
      clusterResourceWhitelist: [{ group: "*", kind: "*" }],
    });
    expect(validate(project as unknown as Doc, "closed").errors).toBe("No errors");
  });
});

/** Sets (or with `undefined`, deletes) a dotted path; numeric segments index arrays. */
function set(doc: Doc, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let node: Record<string, unknown> = doc;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}
