/**
 * The short forms `slipway appset list|get` print for generators, sync policy and conditions:
 * nested and rarer generator shapes the e2e test (test/e2e/cli-appset.test.ts) does not create.
 */
import { describe, expect, it } from "vitest";
import type { ApplicationSet, ApplicationSetGenerator } from "../../api/v1alpha1/applicationset.js";
import { conditionsColumn, generatorSummary, syncPolicyColumn } from "../../cli/appset-actions.js";

const set = (spec: Partial<ApplicationSet["spec"]>, status?: ApplicationSet["status"]): ApplicationSet => ({
  apiVersion: "slipway.dev/v1alpha1",
  kind: "ApplicationSet",
  metadata: { name: "s", namespace: "slipway-system" },
  spec: {
    generators: [{ list: { elements: [] } }],
    template: {
      metadata: { name: "a" },
      spec: { project: "default", destination: { server: "https://kubernetes.default.svc" } },
    },
    ...spec,
  },
  ...(status ? { status } : {}),
});

describe("generatorSummary", () => {
  it.each<[ApplicationSetGenerator, string]>([
    [{ list: { elements: [{ a: 1 }, { a: 2 }] } }, "list[2]"],
    [{ clusters: {} }, "clusters"],
    [{ clusters: { selector: {} } }, "clusters"],
    [
      { clusters: { selector: { matchLabels: { tier: "target", env: "prod" } } } },
      "clusters(selector env=prod,tier=target)",
    ],
    [
      {
        git: {
          repoURL: "https://g/x.git",
          files: [{ path: "cfg/*.json" }, { path: "cfg/old.json", exclude: true }],
        },
      },
      "git(https://g/x.git, files cfg/*.json,!cfg/old.json)",
    ],
    [
      {
        matrix: {
          generators: [
            { git: { repoURL: "https://g/x.git", directories: [{ path: "apps/*" }] } },
            // A nested matrix is free-form in the schema; it is read as the same shape.
            { matrix: { generators: [{ clusters: {} }, { list: { elements: [{}] } }] } },
          ],
        },
      },
      "matrix(git(https://g/x.git, directories apps/*), matrix(clusters, list[1]))",
    ],
    [
      {
        merge: {
          mergeKeys: ["server", "env"],
          generators: [{ clusters: {} }, { list: { elementsYaml: "[]" } }],
        },
        selector: { matchExpressions: [{ key: "env", operator: "DoesNotExist" }] },
      },
      "merge(keys server,env: clusters, list(elementsYaml)) | selector !env",
    ],
    [{} as ApplicationSetGenerator, "(unknown generator)"],
  ])("%j → %s", (gen, text) => {
    expect(generatorSummary(gen)).toBe(text);
  });
});

describe("list columns", () => {
  it("SYNCPOLICY: applicationsSync (default sync), with RollingSync named", () => {
    expect(syncPolicyColumn(set({}))).toBe("sync");
    expect(syncPolicyColumn(set({ syncPolicy: { applicationsSync: "create-only" } }))).toBe("create-only");
    expect(syncPolicyColumn(set({ strategy: { type: "AllAtOnce" } }))).toBe("sync");
    expect(syncPolicyColumn(set({ strategy: { type: "RollingSync", rollingSync: { steps: [] } } }))).toBe(
      "sync (RollingSync)",
    );
  });

  it("CONDITIONS: True problem and progressing conditions only, <none> otherwise", () => {
    expect(conditionsColumn(set({}))).toBe("<none>");
    const healthy = [
      { type: "ErrorOccurred", status: "False" as const },
      { type: "ParametersGenerated", status: "True" as const },
      { type: "ResourcesUpToDate", status: "True" as const },
      { type: "RolloutProgressing", status: "False" as const },
    ];
    expect(conditionsColumn(set({}, { conditions: healthy }))).toBe("<none>");
    expect(
      conditionsColumn(
        set(
          {},
          {
            conditions: [
              { type: "ErrorOccurred", status: "True" },
              { type: "ResourcesUpToDate", status: "False" },
              { type: "RolloutProgressing", status: "True" },
            ],
          },
        ),
      ),
    ).toBe("ErrorOccurred,RolloutProgressing");
  });
});
