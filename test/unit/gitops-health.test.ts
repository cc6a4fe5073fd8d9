import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { KubeObject } from "../../controller/gitops/diff/object.js";
import {
  aggregateHealth,
  type HealthStatus,
  type HealthStatusCode,
  healthCheckFor,
  healthOf,
  isWorse,
} from "../../controller/gitops/health/index.js";

interface HealthFixture {
  expected: { status: HealthStatusCode; message?: string };
  object: KubeObject;
}

const root = new URL("./fixtures/health/", import.meta.url);

describe("health fixtures (gitops-engine rules)", () => {
  const kinds = readdirSync(root).sort();
  it("covers every kind DESIGN.md lists", () => {
    expect(kinds).toEqual(
      expect.arrayContaining([
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "pod",
        "job",
        "service",
        "ingress",
        "pvc",
        "namespace",
        "rollout",
      ]),
    );
  });
  for (const kind of kinds) {
    describe(kind, () => {
      for (const file of readdirSync(new URL(`${kind}/`, root)).sort()) {
        const fixture = parseYaml(readFileSync(new URL(`${kind}/${file}`, root), "utf8")) as HealthFixture;
        it(`${file} → ${fixture.expected.status}`, () => {
          const got = healthOf(fixture.object);
          expect(got?.status).toBe(fixture.expected.status);
          if (fixture.expected.message) expect(got?.message ?? "").toContain(fixture.expected.message);
        });
      }
    });
  }
});

describe("healthOf registry", () => {
  const cases: [string, KubeObject, HealthStatus | undefined][] = [
    ["absent object is Missing", undefined as unknown as KubeObject, { status: "Missing" }],
    ["ConfigMap has no health", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }, undefined],
    [
      "a CR without a rule has no health",
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
      undefined,
    ],
    [
      "ignore-healthcheck leaves a Degraded pod out",
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p", annotations: { "argocd.argoproj.io/ignore-healthcheck": "true" } },
        status: { phase: "Failed" },
      },
      undefined,
    ],
    [
      "Deployment under the old extensions group",
      {
        apiVersion: "extensions/v1beta1",
        kind: "Deployment",
        metadata: { name: "d" },
        spec: { paused: true },
      },
      { status: "Suspended", message: "Deployment is paused" },
    ],
  ];
  for (const [name, obj, expected] of cases) {
    it(name, () => {
      expect(healthOf(obj)).toEqual(expected);
    });
  }

  it("looks rules up by group and kind", () => {
    expect(healthCheckFor("apps", "Deployment")).toBeDefined();
    expect(healthCheckFor("", "Deployment")).toBeUndefined();
    expect(healthCheckFor("slipway.dev", "Rollout")).toBe(healthCheckFor("argoproj.io", "Rollout"));
  });
});

describe("aggregateHealth: the worst resource wins", () => {
  const cases: [(HealthStatusCode | HealthStatus | undefined)[], HealthStatusCode][] = [
    [[], "Healthy"],
    [[undefined, undefined], "Healthy"],
    [["Healthy", "Healthy"], "Healthy"],
    [["Healthy", "Suspended"], "Suspended"],
    [["Suspended", "Progressing"], "Progressing"],
    [["Progressing", "Missing", "Healthy"], "Missing"],
    [["Missing", "Degraded"], "Degraded"],
    [["Degraded", "Unknown"], "Unknown"],
    [[{ status: "Degraded", message: "x" }, undefined, "Healthy"], "Degraded"],
  ];
  for (const [statuses, expected] of cases) {
    it(`${JSON.stringify(statuses)} → ${expected}`, () => {
      expect(aggregateHealth(statuses)).toBe(expected);
    });
  }
  it("orders Healthy < Suspended < Progressing < Missing < Degraded < Unknown", () => {
    const order: HealthStatusCode[] = [
      "Healthy",
      "Suspended",
      "Progressing",
      "Missing",
      "Degraded",
      "Unknown",
    ];
    for (let i = 1; i < order.length; i++) {
      expect(isWorse(order[i]!, order[i - 1]!)).toBe(true);
      expect(isWorse(order[i - 1]!, order[i]!)).toBe(false);
    }
  });
});
