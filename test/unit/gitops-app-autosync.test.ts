import { describe, expect, it } from "vitest";
import type { Application, OperationState } from "../../api/v1alpha1/application.js";
import { type AutoSyncInput, decideAutoSync } from "../../controller/gitops/auto-sync.js";
import { createMergePatch, jsonEqual } from "../../controller/gitops/merge-patch.js";
import { appendHistory, retryBackoffMs } from "../../controller/gitops/operation.js";

const SHA = "a".repeat(40);
const source = { repoURL: "https://git.example/apps.git", path: "web", targetRevision: "main" };

function app(automated: Record<string, unknown> | undefined, last?: Partial<OperationState>): Application {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Application",
    metadata: { name: "web", namespace: "slipway-system" },
    spec: {
      project: "default",
      source,
      destination: { namespace: "web" },
      ...(automated ? { syncPolicy: { automated } } : {}),
    },
    ...(last
      ? {
          status: {
            operationState: {
              operation: { sync: { revision: SHA } },
              phase: "Succeeded",
              startedAt: "2030-01-01T00:00:00.000Z",
              finishedAt: "2030-01-01T00:00:10.000Z",
              syncResult: { revision: SHA, source },
              ...last,
            } as OperationState,
          },
        }
      : {}),
  };
}

function input(a: Application, extra: Partial<AutoSyncInput> = {}): AutoSyncInput {
  return {
    app: a,
    revision: SHA,
    source,
    outOfSync: 1,
    requiresPruning: 0,
    resourceCount: 3,
    now: Date.parse("2030-01-01T00:01:00Z"),
    selfHealTimeoutMs: 5000,
    ...extra,
  };
}

describe("decideAutoSync (Argo CD's rules)", () => {
  it("syncs an OutOfSync app with automated on, once per revision", () => {
    const d = decideAutoSync(input(app({ prune: true })));
    expect(d).toMatchObject({
      sync: true,
      selfHeal: false,
      operation: { sync: { revision: SHA, prune: true }, initiatedBy: { automated: true } },
    });
    expect(decideAutoSync(input(app({}, {}))).sync).toBe(false);
  });
  it("is off without automated or with enabled: false, and never while Synced", () => {
    expect(decideAutoSync(input(app(undefined))).sync).toBe(false);
    expect(decideAutoSync(input(app({ enabled: false }))).sync).toBe(false);
    expect(decideAutoSync(input(app({}), { outOfSync: 0 })).sync).toBe(false);
  });
  it("does not repeat a failed attempt at the same revision, even with selfHeal", () => {
    const d = decideAutoSync(input(app({ selfHeal: true }, { phase: "Failed" })));
    expect(d).toMatchObject({ sync: false, reason: expect.stringContaining("failed") });
  });
  it("self-heals after the timeout since the last sync", () => {
    const a = app({ selfHeal: true }, {});
    expect(decideAutoSync(input(a, { now: Date.parse("2030-01-01T00:00:12Z") }))).toMatchObject({
      sync: false,
      retryAfterMs: 3000,
    });
    expect(decideAutoSync(input(a))).toMatchObject({ sync: true, selfHeal: true });
  });
  it("a new commit or changed source is a new attempt", () => {
    expect(decideAutoSync(input(app({}, {}), { revision: "b".repeat(40) })).sync).toBe(true);
    expect(decideAutoSync(input(app({}, {}), { source: { ...source, path: "other" } })).sync).toBe(true);
  });
  it("does not sync only to prune without automated prune, nor wipe an app on an empty render", () => {
    expect(decideAutoSync(input(app({}), { outOfSync: 0, requiresPruning: 2 })).sync).toBe(false);
    expect(decideAutoSync(input(app({ prune: true }), { outOfSync: 0, requiresPruning: 2 })).sync).toBe(true);
    expect(
      decideAutoSync(input(app({ prune: true }), { outOfSync: 0, requiresPruning: 2, resourceCount: 0 })),
    ).toMatchObject({ sync: false, reason: expect.stringContaining("allowEmpty") });
    expect(
      decideAutoSync(
        input(app({ prune: true, allowEmpty: true }), { outOfSync: 0, requiresPruning: 2, resourceCount: 0 }),
      ).sync,
    ).toBe(true);
  });
  it("waits while an operation is requested or running", () => {
    const running = app({}, { phase: "Running", syncResult: { revision: "c".repeat(40) } });
    expect(decideAutoSync(input(running)).sync).toBe(false);
    const requested = { ...app({}), operation: { sync: {} } };
    expect(decideAutoSync(input(requested)).sync).toBe(false);
  });
});

describe("retry backoff", () => {
  it("follows Argo's defaults (5s ×2, max 3m) and the app's settings", () => {
    expect([1, 2, 3, 10].map((n) => retryBackoffMs(undefined, n))).toEqual([5000, 10000, 20000, 180000]);
    expect(retryBackoffMs({ backoff: { duration: "1s", factor: 3, maxDuration: "5s" } }, 3)).toBe(5000);
    expect(retryBackoffMs({ backoff: { duration: "nonsense" } }, 1)).toBe(5000);
  });
});

describe("history", () => {
  it("numbers entries one up and keeps revisionHistoryLimit", () => {
    const a = app({});
    a.spec.revisionHistoryLimit = 2;
    const status = {};
    for (const revision of ["r1", "r2", "r3"])
      appendHistory(a, status, { revision, deployedAt: "2030-01-01T00:00:00Z" });
    expect(
      (status as { history: { id: number; revision: string }[] }).history.map((h) => [h.id, h.revision]),
    ).toEqual([
      [1, "r2"],
      [2, "r3"],
    ]);
  });
});

describe("merge patches", () => {
  it("sends changes, nulls for removals, arrays whole; nothing when equal", () => {
    const from = { a: 1, b: { c: 2, d: 3 }, list: [1, 2], gone: "x" };
    const to = { a: 1, b: { c: 5 }, list: [1, 2, 3], added: true };
    expect(createMergePatch(from, to)).toEqual({
      b: { c: 5, d: null },
      list: [1, 2, 3],
      gone: null,
      added: true,
    });
    expect(createMergePatch(from, structuredClone(from))).toBeUndefined();
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
});
