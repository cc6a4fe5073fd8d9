import { describe, expect, it } from "vitest";
import { BUILTIN_KINDS, builtinSchema } from "../../sandbox/schema/builtin.js";
import { schemaFromOpenAPIV3 } from "../../sandbox/schema/crd.js";
import {
  type OpenApiEntry,
  openApiDocumentHash,
  openApiV2Document,
  openApiV3Document,
  openApiV3Root,
} from "../../sandbox/schema/openapi.js";
import type { SchemaNode } from "../../sandbox/schema/types.js";

type Json = Record<string, unknown>;

function at(node: SchemaNode | undefined, ...path: string[]): SchemaNode {
  let n = node;
  for (const p of path) n = p === "[]" ? n?.items : n?.properties?.[p];
  if (!n) throw new Error(`no node at ${path.join(".")}`);
  return n;
}

const deployment = builtinSchema("apps", "v1", "Deployment")!;
const podSpec = at(deployment, "spec", "template", "spec");

describe("built-in schemas", () => {
  it("serves every listed kind, cached", () => {
    for (const k of BUILTIN_KINDS) {
      const s = builtinSchema(k.group, k.version, k.kind);
      expect(s, `${k.group}/${k.version}/${k.kind}`).toBeDefined();
      expect(s?.gvk).toContainEqual({ group: k.group, version: k.version, kind: k.kind });
      expect(s?.description).toBeTruthy();
      expect(builtinSchema(k.group, k.version, k.kind)).toBe(s);
    }
    expect(builtinSchema("apps", "v1", "Nope")).toBeUndefined();
  });

  it("knows Deployment containers merge by name", () => {
    const containers = at(podSpec, "containers");
    expect(containers).toMatchObject({
      type: "array",
      patchStrategy: "merge",
      patchMergeKey: "name",
      listType: "map",
      listMapKeys: ["name"],
    });
    expect(containers.items?.ref).toBe("io.k8s.api.core.v1.Container");
    expect(at(containers, "[]", "image").type).toBe("string");
  });

  const metadata: [string, SchemaNode, Partial<SchemaNode>][] = [
    ["initContainers", at(podSpec, "initContainers"), { patchMergeKey: "name", listType: "map" }],
    ["ephemeralContainers", at(podSpec, "ephemeralContainers"), { patchMergeKey: "name" }],
    [
      "container ports",
      at(podSpec, "containers", "[]", "ports"),
      { patchStrategy: "merge", patchMergeKey: "containerPort", listMapKeys: ["containerPort", "protocol"] },
    ],
    ["env", at(podSpec, "containers", "[]", "env"), { patchMergeKey: "name" }],
    ["volumeMounts", at(podSpec, "containers", "[]", "volumeMounts"), { patchMergeKey: "mountPath" }],
    ["volumeDevices", at(podSpec, "containers", "[]", "volumeDevices"), { patchMergeKey: "devicePath" }],
    ["envFrom", at(podSpec, "containers", "[]", "envFrom"), { listType: "atomic" }],
    ["volumes", at(podSpec, "volumes"), { patchStrategy: "merge,retainKeys", patchMergeKey: "name" }],
    ["imagePullSecrets", at(podSpec, "imagePullSecrets"), { patchMergeKey: "name" }],
    ["tolerations", at(podSpec, "tolerations"), { listType: "atomic" }],
    ["hostAliases", at(podSpec, "hostAliases"), { patchMergeKey: "ip" }],
    [
      "topologySpreadConstraints",
      at(podSpec, "topologySpreadConstraints"),
      { patchMergeKey: "topologyKey", listMapKeys: ["topologyKey", "whenUnsatisfiable"] },
    ],
    ["strategy", at(deployment, "spec", "strategy"), { patchStrategy: "retainKeys" }],
    ["selector", at(deployment, "spec", "selector"), { structType: "atomic" }],
    ["finalizers", at(deployment, "metadata", "finalizers"), { patchStrategy: "merge", listType: "set" }],
    ["ownerReferences", at(deployment, "metadata", "ownerReferences"), { patchMergeKey: "uid" }],
    ["deployment conditions", at(deployment, "status", "conditions"), { patchMergeKey: "type" }],
    [
      "service ports",
      at(builtinSchema("", "v1", "Service"), "spec", "ports"),
      { patchMergeKey: "port", listMapKeys: ["port", "protocol"] },
    ],
    ["service selector", at(builtinSchema("", "v1", "Service"), "spec", "selector"), { mapType: "atomic" }],
    ["pod conditions", at(builtinSchema("", "v1", "Pod"), "status", "conditions"), { patchMergeKey: "type" }],
    [
      "job conditions",
      at(builtinSchema("batch", "v1", "Job"), "status", "conditions"),
      { patchMergeKey: "type" },
    ],
    [
      "node conditions",
      at(builtinSchema("", "v1", "Node"), "status", "conditions"),
      { patchMergeKey: "type" },
    ],
    [
      "replicaset conditions",
      at(builtinSchema("apps", "v1", "ReplicaSet"), "status", "conditions"),
      { patchMergeKey: "type" },
    ],
    ["endpoints subsets", at(builtinSchema("", "v1", "Endpoints"), "subsets"), { listType: "atomic" }],
    [
      "endpointslice endpoints",
      at(builtinSchema("discovery.k8s.io", "v1", "EndpointSlice"), "endpoints"),
      { listType: "atomic" },
    ],
    [
      "ingress rules",
      at(builtinSchema("networking.k8s.io", "v1", "Ingress"), "spec", "rules"),
      { listType: "atomic" },
    ],
  ];
  it.each(metadata)("%s carries its patch metadata", (_name, node, expected) => {
    expect(node).toMatchObject(expected);
  });

  it("maps, quantities and int-or-string", () => {
    expect(at(deployment, "metadata", "labels").additionalProperties?.type).toBe("string");
    expect(at(builtinSchema("", "v1", "Secret"), "data").mapType).toBeUndefined();
    expect(at(podSpec, "containers", "[]", "resources", "limits").additionalProperties?.intOrString).toBe(
      true,
    );
    expect(at(builtinSchema("", "v1", "Service"), "spec", "ports", "[]", "targetPort").intOrString).toBe(
      true,
    );
    expect(at(deployment, "metadata", "creationTimestamp")).toMatchObject({
      type: "string",
      format: "date-time",
    });
    expect(at(deployment, "spec", "replicas")).toMatchObject({ type: "integer", format: "int32" });
  });

  it("names definitions like the API server", () => {
    expect(deployment.ref).toBe("io.k8s.api.apps.v1.Deployment");
    expect(at(deployment, "metadata").ref).toBe("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    expect(at(deployment, "spec", "template").ref).toBe("io.k8s.api.core.v1.PodTemplateSpec");
    expect(builtinSchema("", "v1", "Event")?.ref).toBe("io.k8s.api.core.v1.Event");
    expect(builtinSchema("events.k8s.io", "v1", "Event")?.ref).toBe("io.k8s.api.events.v1.Event");
    expect(builtinSchema("rbac.authorization.k8s.io", "v1", "RoleBinding")?.ref).toBe(
      "io.k8s.api.rbac.v1.RoleBinding",
    );
    expect(builtinSchema("autoscaling", "v2", "HorizontalPodAutoscaler")?.ref).toBe(
      "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    );
    expect(builtinSchema("apiextensions.k8s.io", "v1", "CustomResourceDefinition")?.ref).toBe(
      "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    );
    expect(at(builtinSchema("discovery.k8s.io", "v1", "EndpointSlice"), "endpoints", "[]").ref).toBe(
      "io.k8s.api.discovery.v1.Endpoint",
    );
  });
});

const rolloutSchema = schemaFromOpenAPIV3({
  type: "object",
  description: "Rollout is a progressive rollout.",
  properties: {
    spec: {
      type: "object",
      required: ["strategy"],
      properties: {
        replicas: { type: "integer", default: 1 },
        strategy: { type: "string", enum: ["canary", "blueGreen"] },
        steps: { type: "array", items: { type: "object", properties: { pause: { type: "string" } } } },
        gates: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: { type: "object", properties: { name: { type: "string" } } },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
        selector: {
          type: "object",
          "x-kubernetes-map-type": "atomic",
          additionalProperties: { type: "string" },
        },
        port: { "x-kubernetes-int-or-string": true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
    },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
});

describe("CRD schemas", () => {
  it("reads the structural-schema extensions", () => {
    expect(at(rolloutSchema, "spec", "steps").listType).toBe("atomic");
    expect(at(rolloutSchema, "spec", "gates")).toMatchObject({ listType: "map", listMapKeys: ["name"] });
    expect(at(rolloutSchema, "spec", "tags").listType).toBe("set");
    expect(at(rolloutSchema, "spec", "selector").mapType).toBe("atomic");
    expect(at(rolloutSchema, "spec", "port").intOrString).toBe(true);
    expect(at(rolloutSchema, "spec", "template")).toMatchObject({
      embeddedResource: true,
      preserveUnknownFields: true,
    });
    expect(at(rolloutSchema, "spec", "replicas").default).toBe(1);
    expect(at(rolloutSchema, "spec").required).toEqual(["strategy"]);
    expect(at(rolloutSchema, "spec", "gates").patchStrategy).toBeUndefined();
    // metadata is always the standard ObjectMeta
    expect(at(rolloutSchema, "metadata", "finalizers").listType).toBe("set");
  });
});

const entries: OpenApiEntry[] = [
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    schema: deployment,
    statusSubresource: true,
  },
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
    schema: builtinSchema("", "v1", "Namespace")!,
  },
  {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    namespaced: true,
    schema: builtinSchema("", "v1", "ConfigMap")!,
  },
  {
    group: "slipway.dev",
    version: "v1alpha1",
    kind: "Rollout",
    plural: "rollouts",
    namespaced: true,
    schema: rolloutSchema,
  },
];

function patchOperationFor(doc: Json, gvk: Json): Json | undefined {
  for (const item of Object.values(doc.paths as Record<string, Json>)) {
    const op = item.patch as Json | undefined;
    if (op && JSON.stringify(op["x-kubernetes-group-version-kind"]) === JSON.stringify(gvk)) return op;
  }
  return undefined;
}

function resolveRefs(doc: Json, prefix: string): string[] {
  const missing: string[] = [];
  const defs = (prefix === "#/definitions/" ? doc.definitions : (doc.components as Json).schemas) as Json;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "$ref" && typeof x === "string") {
          if (!x.startsWith(prefix) || !(x.slice(prefix.length) in defs)) missing.push(x);
        } else walk(x);
      }
    }
  };
  walk(doc);
  return missing;
}

describe("OpenAPI v3", () => {
  const apps = openApiV3Document("apps/v1", entries);
  const schemas = (apps.components as Json).schemas as Record<string, Json>;

  it("has the kind with its GVK extension and patch metadata", () => {
    expect(apps.openapi).toBe("3.0.0");
    expect(schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "Deployment" },
    ]);
    expect(schemas["io.k8s.api.apps.v1.Deployment"].description).toBe(
      "Deployment enables declarative updates for Pods and ReplicaSets.",
    );
    const containers = ((schemas["io.k8s.api.core.v1.PodSpec"].properties as Json).containers ?? {}) as Json;
    expect(containers).toMatchObject({
      type: "array",
      "x-kubernetes-patch-merge-key": "name",
      "x-kubernetes-patch-strategy": "merge",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
      items: { allOf: [{ $ref: "#/components/schemas/io.k8s.api.core.v1.Container" }] },
    });
    const strategy = (schemas["io.k8s.api.apps.v1.DeploymentSpec"].properties as Json).strategy;
    expect(strategy).toMatchObject({ "x-kubernetes-patch-strategy": "retainKeys" });
    expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]).toBeDefined();
    expect(resolveRefs(apps, "#/components/schemas/")).toEqual([]);
    // Only this group-version's paths.
    expect(Object.keys(apps.paths as Json).every((p) => p.startsWith("/apis/apps/v1/"))).toBe(true);
  });

  it("has paths whose PATCH operation carries the GVK and a fieldValidation parameter (kubectl's check)", () => {
    const paths = apps.paths as Record<string, Json>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        "/apis/apps/v1/namespaces/{namespace}/deployments",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
        "/apis/apps/v1/deployments",
      ]),
    );
    const op = patchOperationFor(apps, { group: "apps", version: "v1", kind: "Deployment" })!;
    expect(op["x-kubernetes-action"]).toBe("patch");
    const names = (op.parameters as Json[]).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["dryRun", "fieldManager", "fieldValidation", "force"]));
    const content = (op.requestBody as Json).content as Json;
    expect(Object.keys(content)).toContain("application/strategic-merge-patch+json");
    expect(Object.keys(content)).toContain("application/apply-patch+yaml");
    const list = (paths["/apis/apps/v1/namespaces/{namespace}/deployments"].get ?? {}) as Json;
    expect(list["x-kubernetes-action"]).toBe("list");
    expect(list["x-kubernetes-group-version-kind"]).toEqual({
      group: "apps",
      version: "v1",
      kind: "Deployment",
    });
  });

  it("core group-version lives under /api/v1 and has the Namespace PATCH with fieldValidation", () => {
    const core = openApiV3Document("v1", entries);
    expect(Object.keys(core.paths as Json)).toEqual(
      expect.arrayContaining([
        "/api/v1/namespaces/{name}",
        "/api/v1/namespaces/{namespace}/configmaps/{name}",
      ]),
    );
    const op = patchOperationFor(core, { group: "", version: "v1", kind: "Namespace" })!;
    expect((op.parameters as Json[]).some((p) => p.name === "fieldValidation")).toBe(true);
  });

  it("names CRD components by reversed group and offers no strategic merge patch", () => {
    const doc = openApiV3Document("apis/slipway.dev/v1alpha1", entries);
    const comps = (doc.components as Json).schemas as Record<string, Json>;
    const rollout = comps["dev.slipway.v1alpha1.Rollout"];
    expect(rollout["x-kubernetes-group-version-kind"]).toEqual([
      { group: "slipway.dev", version: "v1alpha1", kind: "Rollout" },
    ]);
    expect(rollout.description).toBe("Rollout is a progressive rollout.");
    const gates = ((rollout.properties as Json).spec as Json).properties as Json;
    expect(gates.gates).toMatchObject({
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    });
    const op = patchOperationFor(doc, { group: "slipway.dev", version: "v1alpha1", kind: "Rollout" })!;
    expect(Object.keys((op.requestBody as Json).content as Json)).not.toContain(
      "application/strategic-merge-patch+json",
    );
    expect(Object.keys(doc.paths as Json)).toContain(
      "/apis/slipway.dev/v1alpha1/namespaces/{namespace}/rollouts/{name}",
    );
    expect(resolveRefs(doc, "#/components/schemas/")).toEqual([]);
  });

  it("root lists group-versions with hashed URLs", () => {
    const hash = openApiDocumentHash(apps);
    const root = openApiV3Root(["v1", "apps/v1"], { "apps/v1": hash });
    expect(root.paths["apis/apps/v1"].serverRelativeURL).toBe(`/openapi/v3/apis/apps/v1?hash=${hash}`);
    expect(root.paths["api/v1"].serverRelativeURL).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
  });
});

describe("OpenAPI v2", () => {
  const doc = openApiV2Document(entries);
  const defs = doc.definitions as Record<string, Json>;

  it("has definitions with GVK extensions and resolvable refs", () => {
    expect(doc.swagger).toBe("2.0");
    expect(defs["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", version: "v1", kind: "Deployment" },
    ]);
    expect(defs["dev.slipway.v1alpha1.Rollout"]).toBeDefined();
    expect(defs["io.k8s.api.apps.v1.DeploymentList"]).toBeDefined();
    expect((defs["io.k8s.api.apps.v1.DeploymentSpec"].properties as Json).strategy).toMatchObject({
      $ref: "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy",
      "x-kubernetes-patch-strategy": "retainKeys",
    });
    expect(resolveRefs(doc, "#/definitions/")).toEqual([]);
  });

  it("PATCH operations list their patch content types (kubectl picks the patch type from them)", () => {
    const dep = patchOperationFor(doc, { group: "apps", version: "v1", kind: "Deployment" })!;
    expect(dep.consumes).toContain("application/strategic-merge-patch+json");
    expect((dep.parameters as Json[]).map((p) => p.name)).toEqual(
      expect.arrayContaining(["body", "fieldValidation", "fieldManager", "dryRun", "force"]),
    );
    const ro = patchOperationFor(doc, { group: "slipway.dev", version: "v1alpha1", kind: "Rollout" })!;
    expect(ro.consumes).not.toContain("application/strategic-merge-patch+json");
  });
});

describe("documents for every built-in kind", () => {
  const all: OpenApiEntry[] = BUILTIN_KINDS.map((k) => ({
    group: k.group,
    version: k.version,
    kind: k.kind,
    plural: `${k.kind.toLowerCase()}s`,
    namespaced: k.kind !== "Namespace" && k.kind !== "Node" && !k.kind.startsWith("Cluster"),
    schema: builtinSchema(k.group, k.version, k.kind)!,
  }));
  const gvs = [...new Set(all.map((e) => (e.group ? `${e.group}/${e.version}` : e.version)))];

  it.each(gvs)("v3 %s: every $ref resolves and every kind has its PATCH operation", (gv) => {
    const doc = openApiV3Document(gv, all);
    expect(resolveRefs(doc, "#/components/schemas/")).toEqual([]);
    for (const e of all.filter((x) => (x.group ? `${x.group}/${x.version}` : x.version) === gv)) {
      expect(patchOperationFor(doc, { group: e.group, version: e.version, kind: e.kind })).toBeDefined();
    }
  });

  it("v2: every $ref resolves", () => {
    expect(resolveRefs(openApiV2Document(all), "#/definitions/")).toEqual([]);
  });
});
