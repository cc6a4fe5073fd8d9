import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ResourceResult } from "../../api/v1alpha1/application.js";
import { describeResource, type KubeObject, resourceKey } from "../../controller/gitops/diff/object.js";
import { healthCheckFor } from "../../controller/gitops/health/index.js";
import type { HealthStatusCode } from "../../controller/gitops/health/types.js";
import {
  isTrackedBy,
  KIND_ORDER,
  type LiveState,
  nextSyncStep,
  parseSyncOptions,
  parseTrackingId,
  planSync,
  resultKey,
  type SyncOptions,
  type SyncPlan,
  SyncPlanError,
  type SyncPlanInput,
  type SyncTask,
  taskResult,
  trackingId,
  withTrackingId,
} from "../../controller/gitops/sync/index.js";

const root = new URL("./fixtures/sync/", import.meta.url);

type PlanInputFixture = Omit<SyncPlanInput, "desired" | "live">;

interface PlanFixture {
  description: string;
  input: PlanInputFixture;
  desired: KubeObject[];
  live: KubeObject[];
  expect: {
    tasks?: string[];
    syncFail?: string[];
    skipped?: string[];
    needsPruneConfirmation?: boolean;
    confirmationContains?: string;
    pruneBudget?: Record<string, unknown>;
    pruneBlocked?: boolean;
    refusedContains?: string;
    error?: string;
    options?: Record<string, Partial<SyncOptions>>;
    objects?: Record<string, KubeObject>;
    warnings?: string[];
  };
}

function describeTask(t: SyncTask): string {
  const hook = t.hookType ? ` hook=${t.hookType} policies=${t.hookDeletePolicies!.join(",")}` : "";
  return `${t.phase} ${t.wave} ${t.action} ${describeResource(t)}${hook}`;
}

function planOf(
  f: { input: PlanInputFixture; desired: KubeObject[]; live: KubeObject[] },
  extra = {},
): SyncPlan {
  return planSync({ ...f.input, desired: f.desired ?? [], live: f.live ?? [], ...extra });
}

const planFixtures = readdirSync(root)
  .filter((f) => f.endsWith(".yaml") && statSync(new URL(f, root)).isFile())
  .sort()
  .map((file) => ({ file, fixture: parseYaml(readFileSync(new URL(file, root), "utf8")) as PlanFixture }));

describe("planSync fixtures", () => {
  for (const { file, fixture } of planFixtures) {
    it(`${file}: ${fixture.description}`, () => {
      const e = fixture.expect;
      if (e.error) {
        expect(() => planOf(fixture)).toThrow(SyncPlanError);
        expect(() => planOf(fixture)).toThrow(e.error);
        return;
      }
      const plan = planOf(fixture);
      if (e.tasks) expect(plan.tasks.map(describeTask)).toEqual(e.tasks);
      if (e.syncFail) expect(plan.syncFailTasks.map(describeTask)).toEqual(e.syncFail);
      if (e.skipped) expect(plan.skipped.map((s) => `${s.reason} ${describeResource(s)}`)).toEqual(e.skipped);
      if (e.needsPruneConfirmation !== undefined)
        expect(plan.needsPruneConfirmation).toBe(e.needsPruneConfirmation);
      if (e.confirmationContains) expect(plan.confirmationMessage).toContain(e.confirmationContains);
      if (e.pruneBudget) expect(plan.pruneBudget).toEqual(e.pruneBudget);
      if (e.pruneBlocked !== undefined) expect(plan.pruneBlocked !== undefined).toBe(e.pruneBlocked);
      if (e.refusedContains) expect(plan.refused).toContain(e.refusedContains);
      if (e.warnings) expect(plan.warnings).toEqual(e.warnings);
      for (const [name, object] of Object.entries(e.objects ?? {})) {
        expect(plan.tasks.find((t) => describeResource(t) === name)?.object).toEqual(object);
      }
      for (const [name, options] of Object.entries(e.options ?? {})) {
        const task = plan.tasks.find((t) => describeResource(t) === name);
        expect(task?.options).toMatchObject(options);
      }
      // Every apply carries this app's tracking id, except an auto-created namespace.
      for (const t of plan.tasks.filter(
        (t) => t.action === "apply" && !(t.kind === "Namespace" && !t.live),
      )) {
        if (t.object?.metadata?.annotations?.["slipway.dev/tracking-id"] === undefined) continue;
        expect(isTrackedBy(fixture.input.app, t.object!)).toBe(true);
      }
    });
  }

  it("is deterministic: the same input gives the same plan", () => {
    for (const { fixture } of planFixtures) {
      if (fixture.expect.error) continue;
      const shuffled = {
        ...fixture,
        desired: [...(fixture.desired ?? [])].reverse(),
        live: [...(fixture.live ?? [])].reverse(),
      };
      expect(planOf(shuffled).tasks.map(describeTask)).toEqual(planOf(fixture).tasks.map(describeTask));
    }
  });

  it("never prunes after a failed render, even with prune and allowEmpty", () => {
    const plan = planSync({
      app: "shop",
      desired: [],
      live: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: "a",
            namespace: "shop",
            annotations: { "slipway.dev/tracking-id": "shop:/ConfigMap:shop/a" },
          },
        },
      ],
      prune: true,
      allowEmpty: true,
      renderError: "boom",
    });
    expect(plan.tasks).toEqual([]);
    expect(nextSyncStep(plan)).toMatchObject({ done: true, phaseResult: "Failed", apply: [], prune: [] });
  });

  it("has Argo CD's kind order", () => {
    expect(KIND_ORDER.slice(0, 3)).toEqual(["Namespace", "NetworkPolicy", "ResourceQuota"]);
    expect(KIND_ORDER[KIND_ORDER.length - 1]).toBe("APIService");
  });
});

describe("tracking ids", () => {
  const cases: [KubeObject, string][] = [
    [
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" } },
      "app:apps/Deployment:shop/web",
    ],
    [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" } }, "app:/ConfigMap:n/c"],
    [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } },
      "app:rbac.authorization.k8s.io/ClusterRole:/r",
    ],
  ];
  for (const [obj, id] of cases) {
    it(id, () => {
      expect(trackingId("app", obj)).toBe(id);
      expect(parseTrackingId(id)).toEqual({
        app: "app",
        group: id.split(":")[1]!.split("/")[0],
        kind: obj.kind,
        namespace: obj.metadata?.namespace ?? "",
        name: obj.metadata?.name,
      });
      expect(isTrackedBy("app", withTrackingId("app", obj))).toBe(true);
      expect(isTrackedBy("other", withTrackingId("app", obj))).toBe(false);
    });
  }
  it("rejects values that are not tracking ids", () => {
    for (const bad of ["", "app", "app:apps/Deployment", "app:Deployment:ns/name", "a:b/c:d/e/f"]) {
      expect(parseTrackingId(bad)).toBeUndefined();
    }
  });
  it("does not track an object whose id names another object (a ReplicaSet inheriting its Deployment's annotation)", () => {
    const rs: KubeObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: "web-5d8f",
        namespace: "shop",
        annotations: { "slipway.dev/tracking-id": "shop:apps/Deployment:shop/web" },
      },
    };
    expect(isTrackedBy("shop", rs)).toBe(false);
  });
});

describe("sync options", () => {
  const cases: [string[] | string, SyncOptions, string[]][] = [
    [["Prune=false"], { prune: "false" }, []],
    ["Prune=confirm,Delete=false", { prune: "confirm", delete: "false" }, []],
    [
      ["ServerSideApply=true", "Replace=true", "Validate=false"],
      { serverSideApply: true, replace: true, validate: false },
      [],
    ],
    [["ApplyOutOfSyncOnly"], { applyOutOfSyncOnly: true }, []],
    [
      ["CreateNamespace=true", "PruneLast=true", "PrunePropagationPolicy=background"],
      { createNamespace: true, pruneLast: true, prunePropagationPolicy: "background" },
      [],
    ],
    [
      ["PruneBudget=disabled", "RespectIgnoreDifferences=true"],
      { pruneBudget: "disabled", respectIgnoreDifferences: true },
      [],
    ],
    [
      ["Prune=maybe", "Bogus=1", "PrunePropagationPolicy=later"],
      {},
      ["Prune=maybe", "Bogus=1", "PrunePropagationPolicy=later"],
    ],
    [["Replace=true", "Replace=false"], { replace: false }, []],
  ];
  for (const [input, options, unknown] of cases) {
    it(JSON.stringify(input), () => {
      expect(parseSyncOptions(input)).toEqual({ options, unknown });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// nextSyncStep against a small simulated cluster.

const TICKS = "sim.test/ticks";
const OUTCOME = "sim.test/outcome";
const APPLY_ERROR = "sim.test/apply-error";

interface SimObject {
  obj: KubeObject;
  ticksLeft: number;
  outcome: HealthStatusCode;
  deletingTicks?: number;
}

/** Objects with health take `sim.test/ticks` steps (default 1) to reach `sim.test/outcome` (default Healthy). */
class SimCluster {
  readonly objects = new Map<string, SimObject>();
  constructor(live: readonly KubeObject[]) {
    for (const obj of live) this.objects.set(resourceKey(obj), { obj, ticksLeft: 0, outcome: "Healthy" });
  }
  apply(obj: KubeObject): string | undefined {
    const ann = obj.metadata?.annotations ?? {};
    if (ann[APPLY_ERROR]) return ann[APPLY_ERROR];
    const key = resourceKey(obj);
    if (this.objects.get(key)?.deletingTicks !== undefined) return "object is being deleted";
    const previous = this.objects.get(key);
    const hookRerun = previous === undefined;
    this.objects.set(key, {
      obj,
      ticksLeft: hookRerun || previous.obj !== obj ? Number(ann[TICKS] ?? 1) : previous.ticksLeft,
      outcome: (ann[OUTCOME] as HealthStatusCode | undefined) ?? "Healthy",
    });
    return undefined;
  }
  delete(key: string): void {
    const o = this.objects.get(key);
    if (o && o.deletingTicks === undefined) o.deletingTicks = 1;
  }
  tick(): void {
    for (const [key, o] of this.objects) {
      if (o.deletingTicks !== undefined) {
        if (o.deletingTicks-- <= 0) this.objects.delete(key);
      } else if (o.ticksLeft > 0) {
        o.ticksLeft--;
      }
    }
  }
  liveObjects(): KubeObject[] {
    return [...this.objects.values()].map((o) => o.obj);
  }
  liveState(): Record<string, LiveState> {
    const out: Record<string, LiveState> = {};
    for (const [key, o] of this.objects) {
      const [group = "", kind = ""] = key.split("/");
      const hasHealth = healthCheckFor(group, kind) !== undefined;
      out[key] = {
        ...(hasHealth ? { health: { status: o.ticksLeft > 0 ? "Progressing" : o.outcome } } : {}),
        ...(o.deletingTicks !== undefined ? { deleting: true } : {}),
      };
    }
    return out;
  }
}

interface StepFixture {
  description: string;
  input: PlanInputFixture;
  desired: KubeObject[];
  live?: KubeObject[];
  /** Approve pruning once the operation has asked for it. */
  confirm?: boolean;
  expect: { trace: string[] };
}

function merge(results: ResourceResult[], add: readonly ResourceResult[]): ResourceResult[] {
  const byKey = new Map(results.map((r) => [resultKey(r), r]));
  for (const r of add) byKey.set(resultKey(r), r);
  return [...byKey.values()];
}

interface RunOptions {
  /** Build the plan again before every step, as a restarted controller would. */
  replan?: boolean;
  /** Forget the results of the applies of step N (the controller died before writing status). */
  crashBeforeRecordingAt?: number;
}

function runOperation(f: StepFixture, options: RunOptions = {}): { trace: string[]; actions: string[] } {
  const cluster = new SimCluster(f.live ?? []);
  const input = (): SyncPlanInput => ({
    ...f.input,
    desired: f.desired,
    live: cluster.liveObjects(),
    results,
  });
  let results: ResourceResult[] = [];
  let plan = planSync(input());
  const trace: string[] = [];
  const actions: string[] = [];
  let askedForConfirmation = false;
  const push = (line: string) => {
    if (trace[trace.length - 1] !== line) trace.push(line);
  };
  for (let i = 0; i < 200; i++) {
    if (options.replan) plan = planSync(input());
    const step = nextSyncStep(plan, {
      results,
      live: cluster.liveState(),
      pruneConfirmed: f.confirm === true && askedForConfirmation,
    });
    if (plan.needsPruneConfirmation && step.message.startsWith("waiting for pruning confirmation")) {
      askedForConfirmation = true;
      push("wait: pruning confirmation");
    }
    for (const r of step.results) {
      push(
        `record ${describeResource({ group: r.group ?? "", kind: r.kind, namespace: r.namespace ?? "", name: r.name })} ${r.hookPhase ?? r.status}`,
      );
    }
    results = merge(results, step.results);
    const done: ResourceResult[] = [];
    for (const t of step.prune) {
      actions.push(`prune ${describeTask(t)}`);
      push(`prune ${describeTask(t)}`);
      cluster.delete(resourceKey(t));
      done.push(taskResult(t, "Pruned", "pruned"));
    }
    for (const t of step.deleteHooks) {
      actions.push(`delete-hook ${describeResource(t)}`);
      push(`delete-hook ${describeResource(t)}`);
      cluster.delete(resourceKey(t));
    }
    for (const t of step.apply) {
      actions.push(`apply ${describeTask(t)}`);
      push(`apply ${describeTask(t)}`);
      const error = cluster.apply(t.object!);
      done.push(taskResult(t, error ? "SyncFailed" : "Synced", error));
    }
    if (options.crashBeforeRecordingAt !== i) results = merge(results, done);
    if (step.waitFor.length > 0 && !step.message.startsWith("waiting for pruning confirmation")) {
      push(`wait: ${step.waitFor.map((w) => `${describeResource(w)} (${w.reason})`).join("; ")}`);
    }
    if (step.done) {
      push(`done ${step.phaseResult}`);
      actions.push(`done ${step.phaseResult}`);
      return { trace, actions };
    }
    cluster.tick();
  }
  throw new Error(`operation did not finish:\n${trace.join("\n")}`);
}

const stepRoot = new URL("steps/", root);
const stepFixtures = readdirSync(stepRoot)
  .filter((f) => f.endsWith(".yaml"))
  .sort()
  .map((file) => ({
    file,
    fixture: parseYaml(readFileSync(new URL(file, stepRoot), "utf8")) as StepFixture,
  }));

describe("nextSyncStep scenarios", () => {
  for (const { file, fixture } of stepFixtures) {
    describe(`${file}: ${fixture.description}`, () => {
      const reference = runOperation(fixture);
      it("runs the expected steps", () => {
        // DUMP_TRACE=file writes the traces in fixture form, to review when adding a scenario.
        if (process.env.DUMP_TRACE) {
          appendFileSync(
            process.env.DUMP_TRACE,
            `TRACE ${file}\n${reference.trace.map((l) => `      - ${JSON.stringify(l)}`).join("\n")}\n`,
          );
        }
        expect(reference.trace).toEqual(fixture.expect.trace);
      });
      it("continues from status alone when the controller restarts before every step", () => {
        expect(runOperation(fixture, { replan: true }).actions).toEqual(reference.actions);
      });
      it("repeats an unrecorded apply after a crash and ends the same way", () => {
        for (let at = 0; at < reference.actions.length; at++) {
          const crashed = runOperation(fixture, { replan: true, crashBeforeRecordingAt: at });
          expect(crashed.actions[crashed.actions.length - 1]).toBe(
            reference.actions[reference.actions.length - 1],
          );
          // Nothing runs that the reference run did not run (the repeat is the same apply, idempotent).
          expect(new Set(crashed.actions)).toEqual(new Set(reference.actions));
        }
      });
    });
  }
});

describe("nextSyncStep rules", () => {
  const cm = (name: string, wave = 0, extra: Record<string, string> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, annotations: { "slipway.dev/sync-wave": String(wave), ...extra } },
  });
  const deploy = (name: string, wave = 0): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, annotations: { "slipway.dev/sync-wave": String(wave) } },
  });
  const plan = planSync({
    app: "shop",
    destinationNamespace: "shop",
    desired: [deploy("web", 0), cm("after", 1)],
    live: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "extra",
          namespace: "shop",
          annotations: { "slipway.dev/tracking-id": "shop:/ConfigMap:shop/extra" },
        },
      },
      ...["a", "b", "c"].map((n) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: n,
          namespace: "shop",
          annotations: { "slipway.dev/tracking-id": `shop:/Secret:shop/${n}` },
        },
      })),
    ],
  });
  const [web, after] = [
    plan.tasks.find((t) => t.name === "web")!,
    plan.tasks.find((t) => t.name === "after")!,
  ];
  const webLive = (status: HealthStatusCode) => ({ "apps/Deployment/shop/web": { health: { status } } });
  const prunesSkipped = plan.skipped.map((s) => ({
    group: s.group,
    kind: s.kind,
    name: s.name,
    namespace: s.namespace,
    status: "PruneSkipped" as const,
    message: s.message,
    syncPhase: "Sync" as const,
  }));

  it("records PruneSkipped for extras first, before acting", () => {
    const step = nextSyncStep(plan, {});
    expect(step.results.map((r) => `${r.name} ${r.status}`)).toEqual([
      "extra PruneSkipped",
      "a PruneSkipped",
      "b PruneSkipped",
      "c PruneSkipped",
    ]);
    expect(step.apply).toEqual([]);
  });

  const cases: [
    string,
    Parameters<typeof nextSyncStep>[1],
    Partial<Record<"apply" | "wait" | "done" | "phaseResult", unknown>>,
  ][] = [
    ["first wave applies", { results: prunesSkipped }, { apply: ["web"], wait: [], done: false }],
    [
      "a Progressing resource holds the next wave",
      { results: [...prunesSkipped, taskResult(web, "Synced")], live: webLive("Progressing") },
      { apply: [], wait: ["web: Progressing"], done: false },
    ],
    [
      "a Degraded resource holds the next wave (it may recover; the operation timeout ends it)",
      { results: [...prunesSkipped, taskResult(web, "Synced")], live: webLive("Degraded") },
      { apply: [], wait: ["web: Degraded"], done: false },
    ],
    [
      "a Suspended resource (a paused rollout) lets the next wave start",
      { results: [...prunesSkipped, taskResult(web, "Synced")], live: webLive("Suspended") },
      { apply: ["after"], wait: [], done: false },
    ],
    [
      "the last wave's resources need not become healthy",
      {
        results: [...prunesSkipped, taskResult(web, "Synced"), taskResult(after, "Synced")],
        live: webLive("Healthy"),
      },
      { apply: [], done: true, phaseResult: "Succeeded" },
    ],
    [
      "a failed apply fails the operation",
      { results: [...prunesSkipped, taskResult(web, "SyncFailed", "forbidden")] },
      { apply: [], done: true, phaseResult: "Failed" },
    ],
    [
      "terminate-op ends it",
      { results: prunesSkipped, terminating: true },
      { done: true, phaseResult: "Failed" },
    ],
  ];
  for (const [name, state, want] of cases) {
    it(name, () => {
      const step = nextSyncStep(plan, state);
      if ("apply" in want) expect(step.apply.map((t) => t.name)).toEqual(want.apply);
      if ("wait" in want) expect(step.waitFor.map((w) => `${w.name}: ${w.reason}`)).toEqual(want.wait);
      if ("done" in want) expect(step.done).toBe(want.done);
      if ("phaseResult" in want) expect(step.phaseResult).toBe(want.phaseResult);
    });
  }

  it("does nothing while a prune needs confirmation, then prunes once confirmed", () => {
    const p = planSync({
      app: "shop",
      destinationNamespace: "shop",
      prune: true,
      desired: [cm("new")],
      live: ["a", "b", "c"].map((n) => ({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: n,
          namespace: "shop",
          annotations: { "slipway.dev/tracking-id": `shop:/Secret:shop/${n}` },
        },
      })),
    });
    expect(p.needsPruneConfirmation).toBe(true);
    const waiting = nextSyncStep(p, {});
    expect(waiting).toMatchObject({ apply: [], prune: [], done: false });
    expect(waiting.message).toContain("--prune-budget 3");
    expect(waiting.waitFor.map((w) => w.name)).toEqual(["a", "b", "c"]);
    const go = nextSyncStep(p, { pruneConfirmed: true });
    expect(go.prune.map((t) => t.name)).toEqual(["a", "b", "c"]);
    expect(go.apply.map((t) => t.name)).toEqual(["new"]);
  });

  it("completes a hook without health (a ConfigMap hook) as soon as it exists", () => {
    const p = planSync({
      app: "shop",
      destinationNamespace: "shop",
      desired: [
        { ...cm("marker"), metadata: { name: "marker", annotations: { "slipway.dev/hook": "PreSync" } } },
        cm("x"),
      ],
      live: [],
    });
    const hook = p.tasks[0]!;
    const step = nextSyncStep(p, {
      results: [taskResult(hook, "Synced")],
      live: { "/ConfigMap/shop/marker": {} },
    });
    expect(step.results).toEqual([taskResult(hook, "Synced", undefined, "Succeeded")]);
  });
});
