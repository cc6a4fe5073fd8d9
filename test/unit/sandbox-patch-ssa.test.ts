import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../sandbox/core/types.js";
import { ConflictError } from "../../sandbox/patch/errors.js";
import {
  FieldSet,
  fieldSetFromFieldsV1,
  fieldSetOf,
  fieldSetToFieldsV1,
  pathString,
  updateManagedFields,
} from "../../sandbox/patch/managed-fields.js";
import { serverSideApply } from "../../sandbox/patch/server-side-apply.js";
import { builtinSchema } from "../../sandbox/schema/builtin.js";
import { schemaFromOpenAPIV3 } from "../../sandbox/schema/crd.js";

const deploymentSchema = builtinSchema("apps", "v1", "Deployment")!;
const T1 = "2025-01-01T00:00:00Z";
const T2 = "2025-01-01T00:01:00Z";
const T3 = "2025-01-01T00:02:00Z";

interface DeploymentOptions {
  replicas?: number;
  labels?: Record<string, string>;
  containers?: Record<string, unknown>[];
}

function deployment(o: DeploymentOptions = {}): KubeObject {
  const spec: Record<string, unknown> = {
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: o.containers ?? [{ name: "nginx", image: "nginx:1.25", ports: [{ containerPort: 80 }] }],
      },
    },
  };
  if (o.replicas !== undefined) spec.replicas = o.replicas;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: o.labels ?? { app: "web" } },
    spec,
  };
}

function apply(live: KubeObject | undefined, applied: KubeObject, manager: string, now = T1, force = false) {
  return serverSideApply({ live, applied, manager, force, schema: deploymentSchema, now }).object;
}

function entry(obj: KubeObject, manager: string, operation = "Apply") {
  return obj.metadata.managedFields?.find((e) => e.manager === manager && e.operation === operation);
}

/** Simulates the store: server-set metadata on the stored object. */
function stored(obj: KubeObject): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, uid: "u-1", resourceVersion: "1", generation: 1 } };
}

describe("server-side apply", () => {
  it("creates an object and records the applier's fields in FieldsV1", () => {
    const obj = apply(undefined, deployment({ replicas: 2 }), "kubectl");
    expect(obj.spec.replicas).toBe(2);
    expect(obj.metadata.managedFields).toEqual([
      {
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: T1,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
              "f:metadata": { "f:labels": { "f:app": {} } },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"nginx"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                      'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it("re-applying without a field removes it (labels, containers)", () => {
    const first = stored(
      apply(
        undefined,
        deployment({
          labels: { app: "web", tier: "front" },
          containers: [
            { name: "nginx", image: "nginx:1.25" },
            { name: "sidecar", image: "envoy:1" },
          ],
        }),
        "kubectl",
      ),
    );
    const second = apply(
      first,
      deployment({ containers: [{ name: "nginx", image: "nginx:1.26" }] }),
      "kubectl",
      T2,
    );
    expect(second.metadata.labels).toEqual({ app: "web" });
    expect(second.spec.template.spec.containers).toEqual([{ name: "nginx", image: "nginx:1.26" }]);
    expect(second.metadata.uid).toBe("u-1");
    expect(entry(second, "kubectl")?.time).toBe(T2);
    const fields = JSON.stringify(entry(second, "kubectl")?.fieldsV1);
    expect(fields).not.toContain("sidecar");
    expect(fields).not.toContain("tier");
  });

  it("two managers can own the same field; it stays until neither applies it", () => {
    const a1 = stored(apply(undefined, deployment({ replicas: 2 }), "a"));
    const b1 = stored(
      serverSideApply({
        live: a1,
        applied: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web" },
          spec: { replicas: 2 },
        },
        manager: "b",
        force: false,
        schema: deploymentSchema,
        now: T2,
      }).object,
    );
    expect(entry(b1, "a")?.fieldsV1).toHaveProperty(["f:spec", "f:replicas"]);
    expect(entry(b1, "b")?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });

    const a2 = stored(apply(b1, deployment(), "a", T3));
    expect(a2.spec.replicas).toBe(2); // still owned by b
    expect(entry(a2, "a")?.fieldsV1).not.toHaveProperty(["f:spec", "f:replicas"]);

    const b2 = serverSideApply({
      live: a2,
      applied: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } },
      manager: "b",
      force: false,
      schema: deploymentSchema,
      now: T3,
    }).object;
    expect(b2.spec.replicas).toBeUndefined();
    expect(entry(b2, "b")).toBeUndefined(); // empty entries are dropped
  });

  it("conflicts when changing a field another applier owns; force takes it over", () => {
    const a1 = stored(apply(undefined, deployment({ replicas: 2 }), "a"));
    let error: unknown;
    try {
      apply(a1, deployment({ replicas: 5 }), "b", T2);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConflictError);
    const conflict = error as ConflictError;
    expect(conflict.message).toBe('Apply failed with 1 conflict: conflict with "a": .spec.replicas');
    expect(conflict.conflicts).toEqual([{ manager: "a", description: '"a"', field: ".spec.replicas" }]);
    expect(conflict.causes).toEqual([
      { reason: "FieldManagerConflict", message: 'conflict with "a"', field: ".spec.replicas" },
    ]);

    const forced = apply(a1, deployment({ replicas: 5 }), "b", T2, true);
    expect(forced.spec.replicas).toBe(5);
    expect(entry(forced, "a")?.fieldsV1).not.toHaveProperty(["f:spec", "f:replicas"]);
    expect(entry(forced, "b")?.fieldsV1).toHaveProperty(["f:spec", "f:replicas"]);
    // Fields both set to the same value are shared, not conflicts.
    expect(entry(forced, "a")?.fieldsV1).toHaveProperty(["f:metadata", "f:labels", "f:app"]);
    expect(entry(forced, "b")?.fieldsV1).toHaveProperty(["f:metadata", "f:labels", "f:app"]);
  });

  it("lists several conflicts grouped by manager", () => {
    const a1 = stored(apply(undefined, deployment({ replicas: 2 }), "a"));
    const next = deployment({
      replicas: 3,
      containers: [{ name: "nginx", image: "nginx:2", ports: [{ containerPort: 80 }] }],
    });
    expect(() => apply(a1, next, "b", T2)).toThrow(
      'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
    );
  });

  it("conflicts with kubectl client-side apply's Update entry, naming its apiVersion", () => {
    const created = deployment({ replicas: 2 });
    created.metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{}" };
    const live = stored({
      ...created,
      metadata: {
        ...created.metadata,
        managedFields: updateManagedFields(
          undefined,
          created,
          "kubectl-client-side-apply",
          deploymentSchema,
          T1,
        ),
      },
    });
    expect(live.metadata.managedFields).toHaveLength(1);
    expect(live.metadata.managedFields?.[0]).toMatchObject({
      manager: "kubectl-client-side-apply",
      operation: "Update",
    });

    expect(() => apply(live, deployment({ replicas: 4 }), "kubectl", T2)).toThrow(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
    // Same values: no conflict; both own them and the annotation stays (client-side apply owns it).
    const same = apply(live, deployment({ replicas: 2 }), "kubectl", T2);
    expect(Object.keys(same.metadata.annotations ?? {})).toEqual([
      "kubectl.kubernetes.io/last-applied-configuration",
    ]);
    expect(same.metadata.managedFields?.map((e) => `${e.manager}/${e.operation}`)).toEqual([
      "kubectl/Apply",
      "kubectl-client-side-apply/Update",
    ]);
  });

  it("merges associative lists by key and removes only the applier's items", () => {
    const base = deployment({
      containers: [
        { name: "a", image: "a:1" },
        { name: "b", image: "b:1" },
      ],
    });
    const live = stored({
      ...base,
      metadata: {
        ...base.metadata,
        managedFields: updateManagedFields(undefined, base, "ctrl", deploymentSchema, T1),
      },
    });
    const sidecar = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "c",
                image: "c:1",
                ports: [{ containerPort: 9090 }, { containerPort: 9090, protocol: "UDP" }],
              },
            ],
          },
        },
      },
    };
    const withC = stored(
      serverSideApply({
        live,
        applied: sidecar,
        manager: "x",
        force: false,
        schema: deploymentSchema,
        now: T2,
      }).object,
    );
    expect(withC.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(["a", "b", "c"]);
    const xFields = entry(withC, "x")?.fieldsV1 as Record<
      string,
      Record<string, Record<string, Record<string, Record<string, unknown>>>>
    >;
    const containers = xFields["f:spec"]["f:template"]["f:spec"]["f:containers"];
    expect(Object.keys(containers)).toEqual(['k:{"name":"c"}']);
    expect(
      Object.keys((containers['k:{"name":"c"}'] as Record<string, Record<string, unknown>>)["f:ports"]),
    ).toEqual(['k:{"containerPort":9090,"protocol":"TCP"}', 'k:{"containerPort":9090,"protocol":"UDP"}']);

    const withoutC = serverSideApply({
      live: withC,
      applied: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } },
      manager: "x",
      force: false,
      schema: deploymentSchema,
      now: T3,
    }).object;
    expect(withoutC.spec.template.spec.containers).toEqual([
      { name: "a", image: "a:1" },
      { name: "b", image: "b:1" },
    ]);
  });

  it("keeps an item another manager still owns part of, removing only the applier's fields", () => {
    const a1 = stored(
      apply(
        undefined,
        deployment({ containers: [{ name: "nginx", image: "nginx:1", imagePullPolicy: "Always" }] }),
        "a",
      ),
    );
    // Another manager takes over the image through an update.
    const edited = structuredClone(a1);
    edited.spec.template.spec.containers[0].image = "nginx:2";
    const b1 = stored({
      ...edited,
      metadata: {
        ...edited.metadata,
        managedFields: updateManagedFields(a1, edited, "editor", deploymentSchema, T2),
      },
    });
    const a2 = apply(b1, deployment({ containers: [] }), "a", T3);
    expect(a2.spec.template.spec.containers).toEqual([{ name: "nginx", image: "nginx:2" }]);
  });

  it("replaces atomic lists and structs, unions sets", () => {
    const schema = deploymentSchema;
    const live = stored(apply(undefined, deployment(), "a"));
    const next = deployment();
    next.spec.selector = { matchLabels: { app: "web", v: "2" } };
    next.metadata.finalizers = ["example.com/f"];
    const forced = serverSideApply({
      live,
      applied: next,
      manager: "a",
      force: false,
      schema,
      now: T2,
    }).object;
    expect(forced.spec.selector).toEqual({ matchLabels: { app: "web", v: "2" } });
    const other = serverSideApply({
      live: stored(forced),
      applied: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", finalizers: ["other/f"] },
      },
      manager: "b",
      force: false,
      schema,
      now: T3,
    }).object;
    expect(other.metadata.finalizers).toEqual(["example.com/f", "other/f"]);
    expect(entry(other, "b")?.fieldsV1).toEqual({ "f:metadata": { "f:finalizers": { 'v:"other/f"': {} } } });
  });

  it("ignores status on the main resource and tracks it on the status subresource", () => {
    const applied = { ...deployment({ replicas: 1 }), status: { replicas: 7 } };
    const created = apply(undefined, applied, "kubectl");
    expect(created.status).toBeUndefined();
    expect(entry(created, "kubectl")?.fieldsV1).not.toHaveProperty("f:status");

    const withStatus = {
      ...stored(created),
      status: { replicas: 1, conditions: [{ type: "Available", status: "True" }] },
    };
    const mf = updateManagedFields(
      stored(created),
      withStatus,
      "deployment-controller",
      deploymentSchema,
      T2,
      "status",
    );
    const ctrl = mf.find((e) => e.manager === "deployment-controller");
    expect(ctrl).toMatchObject({ operation: "Update", subresource: "status" });
    expect(ctrl?.fieldsV1).toEqual({
      "f:status": {
        "f:conditions": { 'k:{"type":"Available"}': { ".": {}, "f:status": {}, "f:type": {} } },
        "f:replicas": {},
      },
    });
  });

  it("handles custom resources by their CRD schema (lists atomic unless typed)", () => {
    const schema = schemaFromOpenAPIV3({
      type: "object",
      properties: {
        spec: {
          type: "object",
          properties: {
            steps: {
              type: "array",
              items: { type: "object", properties: { setWeight: { type: "integer" } } },
            },
            analyses: {
              type: "array",
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["name"],
              items: {
                type: "object",
                properties: { name: { type: "string" }, interval: { type: "string" } },
              },
            },
            extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          },
        },
      },
    });
    const cr = {
      apiVersion: "slipway.dev/v1alpha1",
      kind: "Rollout",
      metadata: { name: "r", labels: { a: "b" } },
      spec: {
        steps: [{ setWeight: 10 }],
        analyses: [{ name: "x", interval: "1m" }],
        extra: { any: { thing: 1 } },
      },
    };
    const out = serverSideApply({
      live: undefined,
      applied: cr,
      manager: "m",
      force: false,
      schema,
      now: T1,
    });
    expect(out.managedFields[0].fieldsV1).toEqual({
      "f:metadata": { "f:labels": { "f:a": {} } },
      "f:spec": {
        "f:analyses": { 'k:{"name":"x"}': { ".": {}, "f:interval": {}, "f:name": {} } },
        "f:extra": { "f:any": { ".": {}, "f:thing": {} } },
        "f:steps": {},
      },
    });
  });
});

describe("server-side apply details", () => {
  it("kubectl's server-side apply keeps an existing last-applied annotation in step", () => {
    const created = deployment({ replicas: 2 });
    created.metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{}" };
    const live = stored({
      ...created,
      metadata: {
        ...created.metadata,
        managedFields: updateManagedFields(
          undefined,
          created,
          "kubectl-client-side-apply",
          deploymentSchema,
          T1,
        ),
      },
    });
    const out = apply(live, deployment({ replicas: 2 }), "kubectl", T2);
    const annotation = out.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"] ?? "";
    expect(JSON.parse(annotation)).toEqual(deployment({ replicas: 2 }));
    // Other managers leave it alone.
    const other = apply(live, deployment({ replicas: 2 }), "argo", T2);
    expect(other.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).toBe("{}");
  });

  it("removes set items the applier no longer applies", () => {
    const withF = deployment();
    withF.metadata.finalizers = ["a/f", "b/f"];
    const live = stored(apply(undefined, withF, "m"));
    const out = apply(
      live,
      { ...deployment(), metadata: { ...deployment().metadata, finalizers: ["b/f"] } },
      "m",
      T2,
    );
    expect(out.metadata.finalizers).toEqual(["b/f"]);
  });

  it.each([
    ["insert in the middle", ["a", "c"], ["a", "b", "c"], ["a", "b", "c"]],
    ["reorder", ["a", "b"], ["b", "a"], ["b", "a"]],
    ["live-only items keep their place", ["x", "a"], ["a", "b"], ["x", "a", "b"]],
    ["prepend", ["a"], ["z", "a"], ["z", "a"]],
  ])(
    "orders associative lists like structured-merge-diff: %s",
    (_name, liveNames, appliedNames, expected) => {
      const env = (names: string[]) => names.map((name) => ({ name, value: name }));
      const live = stored(
        serverSideApply({
          live: undefined,
          applied: deployment({ containers: [{ name: "app", env: env(liveNames) }] }),
          manager: "other",
          force: false,
          schema: deploymentSchema,
          now: T1,
        }).object,
      );
      const out = apply(live, deployment({ containers: [{ name: "app", env: env(appliedNames) }] }), "m", T2);
      expect(out.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).toEqual(expected);
    },
  );

  it("rejects an applied configuration that sets managedFields", () => {
    const bad = deployment();
    bad.metadata.managedFields = [
      { manager: "x", operation: "Apply", apiVersion: "apps/v1", fieldsType: "FieldsV1", fieldsV1: {} },
    ];
    expect(() => apply(undefined, bad, "m")).toThrow("metadata.managedFields must be nil");
  });

  it("forcing takes list-item fields from an updater", () => {
    const base = deployment();
    const live = stored({
      ...base,
      metadata: {
        ...base.metadata,
        managedFields: updateManagedFields(undefined, base, "ctrl", deploymentSchema, T1),
      },
    });
    const next = deployment({
      containers: [{ name: "nginx", image: "nginx:9", ports: [{ containerPort: 80 }] }],
    });
    expect(() => apply(live, next, "m", T2)).toThrow(
      'conflict with "ctrl" using apps/v1: .spec.template.spec.containers[name="nginx"].image',
    );
    const out = apply(live, next, "m", T2, true);
    expect(out.spec.template.spec.containers[0].image).toBe("nginx:9");
    const ctrl = JSON.stringify(entry(out, "ctrl", "Update")?.fieldsV1);
    expect(ctrl).toContain('k:{\\"name\\":\\"nginx\\"}');
    expect(ctrl).not.toContain("f:image");
  });
});

describe("managedFields for ordinary writes", () => {
  it("moves changed fields to the writer and keeps one entry per manager/operation/subresource", () => {
    const applied = stored(apply(undefined, deployment({ replicas: 2 }), "kubectl"));
    const scaled = { ...applied, spec: { ...applied.spec, replicas: 5 } };
    const mf1 = updateManagedFields(applied, scaled, "hpa", deploymentSchema, T2);
    expect(mf1.map((e) => `${e.manager}/${e.operation}`)).toEqual(["kubectl/Apply", "hpa/Update"]);
    expect(mf1[0].fieldsV1).not.toHaveProperty(["f:spec", "f:replicas"]);
    expect(mf1[1].fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });

    const live = stored({ ...scaled, metadata: { ...scaled.metadata, managedFields: mf1 } });
    const labelled = { ...live, metadata: { ...live.metadata, labels: { app: "web", x: "1" } } };
    const mf2 = updateManagedFields(live, labelled, "hpa", deploymentSchema, T3);
    expect(mf2.filter((e) => e.manager === "hpa")).toHaveLength(1);
    expect(mf2.find((e) => e.manager === "hpa")?.fieldsV1).toEqual({
      "f:metadata": { "f:labels": { "f:x": {} } },
      "f:spec": { "f:replicas": {} },
    });
    // A write that changes nothing leaves managedFields alone (same entries, same times).
    const mf3 = updateManagedFields(
      { ...labelled, metadata: { ...labelled.metadata, managedFields: mf2 } },
      { ...labelled, metadata: { ...labelled.metadata, managedFields: mf2 } },
      "other",
      deploymentSchema,
      T3,
    );
    expect(mf3).toEqual(mf2);

    // The applier now conflicts with the autoscaler over replicas.
    const back = stored({ ...labelled, metadata: { ...labelled.metadata, managedFields: mf2 } });
    expect(() => apply(back, deployment({ replicas: 2 }), "kubectl", T3)).toThrow(
      'conflict with "hpa" using apps/v1: .spec.replicas',
    );
  });

  it("drops fields removed by the writer from its own set", () => {
    const obj = deployment({ replicas: 1, labels: { app: "web", x: "1" } });
    const mf = updateManagedFields(undefined, obj, "m", deploymentSchema, T1);
    const live = stored({ ...obj, metadata: { ...obj.metadata, managedFields: mf } });
    const after = { ...live, metadata: { ...live.metadata, labels: { app: "web" } } };
    const mf2 = updateManagedFields(live, after, "m", deploymentSchema, T2);
    expect(JSON.stringify(mf2[0].fieldsV1)).not.toContain("f:x");
    expect(mf2[0].time).toBe(T2);
  });
});

describe("field sets", () => {
  const sample = {
    "f:metadata": {
      "f:annotations": { ".": {}, "f:deployment.kubernetes.io/revision": {} },
      "f:labels": { ".": {}, "f:app": {} },
    },
    "f:spec": {
      "f:progressDeadlineSeconds": {},
      "f:replicas": {},
      "f:selector": {},
      "f:strategy": {
        "f:rollingUpdate": { ".": {}, "f:maxSurge": {}, "f:maxUnavailable": {} },
        "f:type": {},
      },
      "f:template": {
        "f:spec": {
          "f:containers": {
            'k:{"name":"nginx"}': {
              ".": {},
              "f:image": {},
              "f:name": {},
              "f:ports": {
                ".": {},
                'k:{"containerPort":80,"protocol":"TCP"}': {
                  ".": {},
                  "f:containerPort": {},
                  "f:protocol": {},
                },
              },
            },
          },
        },
      },
    },
  };

  it("round-trips FieldsV1 from the API server unchanged", () => {
    const set = fieldSetFromFieldsV1(sample);
    expect(fieldSetToFieldsV1(set)).toEqual(sample);
    expect(JSON.stringify(fieldSetToFieldsV1(fieldSetFromFieldsV1(JSON.parse(JSON.stringify(sample)))))).toBe(
      JSON.stringify(sample),
    );
  });

  it("normalizes key order inside k: elements", () => {
    const set = fieldSetFromFieldsV1({
      "f:ports": { 'k:{"protocol":"TCP","containerPort":80}': { ".": {} } },
    });
    expect(set.has(["f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'])).toBe(true);
  });

  it("prints paths like the API server", () => {
    expect(pathString(["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:image"])).toBe(
      '.spec.template.spec.containers[name="a"].image',
    );
    expect(pathString(["f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'])).toBe(
      '.spec.ports[port=80,protocol="TCP"]',
    );
    expect(pathString(["f:metadata", "f:finalizers", 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });

  it("leaves out apiVersion, kind and server-managed metadata", () => {
    const set = fieldSetOf(
      stored({ ...deployment(), metadata: { name: "x", namespace: "y", uid: "u", creationTimestamp: T1 } }),
      deploymentSchema,
    );
    expect(set.child("f:metadata")).toBeUndefined();
    expect(set.child("f:apiVersion")).toBeUndefined();
    expect(FieldSet.EMPTY.empty).toBe(true);
  });
});
