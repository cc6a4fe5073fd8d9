/**
 * The pure planner, table-tested with plain-data fixtures: given a rollout context (the Rollout,
 * its ReplicaSets, Services, AnalysisRuns and what the router was verified to realise), the
 * ordered actions, the new status and the events. No cluster, no clock.
 */
import type { V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { AnalysisPhase, AnalysisTemplateSpec } from "../../api/v1alpha1/analysis.js";
import type { RolloutStatus, RolloutStrategy } from "../../api/v1alpha1/rollout.js";
import type { Action, DesiredTraffic, Plan, RolloutContext } from "../../controller/rollouts/context.js";
import { podTemplateHash } from "../../controller/rollouts/hash.js";
import { planRollout } from "../../controller/rollouts/plan.js";
import type { AnalysisRunObject, RolloutObject } from "../../controller/rollouts/types.js";

// ---- fixtures ------------------------------------------------------------------------------

const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const UID = "ro-uid";
const tpl = (image: string) => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "web", image }] },
});
const H1 = podTemplateHash(tpl("web:1"));
const H2 = podTemplateHash(tpl("web:2"));

function rs(
  hash: string,
  replicas: number,
  available = replicas,
  annotations: Record<string, string> = {},
): V1ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `web-${hash}`,
      namespace: "ns",
      uid: `rs-${hash}`,
      generation: 1,
      labels: { app: "web", "rollouts-pod-template-hash": hash },
      annotations: { "rollout.argoproj.io/revision": hash === H1 ? "1" : "2", ...annotations },
      ownerReferences: [
        { apiVersion: "slipway.dev/v1alpha1", kind: "Rollout", name: "web", uid: UID, controller: true },
      ],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web", "rollouts-pod-template-hash": hash } },
      template: { metadata: { labels: { app: "web", "rollouts-pod-template-hash": hash } } },
    },
    status: { replicas, readyReplicas: available, availableReplicas: available, observedGeneration: 1 },
  };
}

function svc(name: string, hash?: string): V1Service {
  return {
    metadata: { name, namespace: "ns" },
    spec: { selector: { app: "web", ...(hash ? { "rollouts-pod-template-hash": hash } : {}) } },
  };
}

function run(name: string, phase: AnalysisPhase, value = "0.05"): AnalysisRunObject {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "AnalysisRun",
    metadata: { name, namespace: "ns" },
    spec: {
      metrics: [
        { name: "error-rate", successCondition: "result[0] < 0.1", provider: { prometheus: { query: "q" } } },
      ],
    },
    status: {
      phase,
      metricResults: [{ name: "error-rate", phase, measurements: [{ phase, value: `[${value}]` }] }],
    },
  };
}

function rollout(
  strategy: RolloutStrategy,
  status: RolloutStatus = {},
  image = "web:2",
  extra: Partial<RolloutObject["spec"]> = {},
): RolloutObject {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web", namespace: "ns", uid: UID, generation: 2 },
    spec: {
      replicas: 10,
      selector: { matchLabels: { app: "web" } },
      template: tpl(image),
      strategy,
      ...extra,
    },
    status,
  };
}

const TEMPLATE: AnalysisTemplateSpec = {
  metrics: [
    { name: "error-rate", successCondition: "result[0] < 0.1", provider: { prometheus: { query: "q" } } },
  ],
};

interface Fixture {
  replicaSets?: V1ReplicaSet[];
  services?: V1Service[];
  runs?: AnalysisRunObject[];
  /** Router states verified (all when true). */
  verified?: boolean | ((s: DesiredTraffic) => boolean);
  routerError?: string;
  now?: number;
}

function context(ro: RolloutObject, f: Fixture = {}): RolloutContext {
  const template = ro.spec.template;
  const services = new Map((f.services ?? []).map((s) => [s.metadata!.name!, s]));
  const verified = f.verified ?? false;
  return {
    rollout: ro,
    now: f.now ?? NOW,
    template,
    podHash: template ? podTemplateHash(template) : "",
    replicaSets: f.replicaSets ?? [],
    services,
    analysisRuns: f.runs ?? [],
    analysisTemplate: (name) => (name === "error-rate" ? TEMPLATE : undefined),
    pods: [],
    routed: Boolean(ro.spec.strategy.canary?.trafficRouting),
    traffic: {
      verified: (s) => (typeof verified === "function" ? verified(s) : verified),
      ...(f.routerError ? { error: { reason: "RouteNotFound", message: f.routerError } } : {}),
    },
  };
}

const plan = (ro: RolloutObject, f?: Fixture) => planRollout(context(ro, f));

/** Actions in a compact form: "scale web-x 3", "switch svc → hash", "traffic 20", ... */
function summary(p: Plan): string[] {
  return p.actions.map((a: Action) => {
    switch (a.type) {
      case "createReplicaSet":
        return `create ${a.replicaSet.metadata?.name} ${a.replicaSet.spec?.replicas}`;
      case "patchReplicaSet":
        return a.patch.spec?.replicas !== undefined
          ? `scale ${a.name} ${a.patch.spec.replicas}`
          : `patch ${a.name} ${JSON.stringify(a.patch)}`;
      case "switchService":
        return `switch ${a.service} → ${a.hash}`;
      case "traffic":
        return `traffic ${a.state.canaryWeight}${a.state.headerRoutes.length ? ` +${a.state.headerRoutes.map((r) => r.name)}` : ""}${a.gate ? "" : " (no gate)"}`;
      case "createAnalysisRun":
        return `run ${a.run.metadata.name}`;
      case "terminateAnalysisRun":
        return `terminate ${a.name}`;
      default:
        return a.type;
    }
  });
}

const reasons = (p: Plan) => p.events.map((e) => e.reason);

const basic: RolloutStrategy = {
  canary: {
    canaryService: "web-canary",
    stableService: "web-stable",
    steps: [{ setWeight: 20 }, { pause: { duration: "10s" } }, { setWeight: 41 }, { pause: {} }],
  },
};
const routed: RolloutStrategy = {
  canary: {
    canaryService: "web-canary",
    stableService: "web-stable",
    abortScaleDownDelaySeconds: 30,
    trafficRouting: { gatewayAPI: { httpRoute: "web" }, managedRoutes: [{ name: "beta" }] },
    steps: [
      { setWeight: 41 },
      { analysis: { templates: [{ templateName: "error-rate" }] } },
      {
        setHeaderRoute: { name: "beta", match: [{ headerName: "x-cohort", headerValue: { exact: "beta" } }] },
      },
      { setWeight: 60 },
    ],
  },
};
const services = (canary = H1, stable = H1) => [svc("web-canary", canary), svc("web-stable", stable)];
const progressing = (index: number, extra: RolloutStatus = {}): RolloutStatus => ({
  currentPodHash: H2,
  stableRS: H1,
  currentStepIndex: index,
  observedGeneration: 2,
  ...extra,
});

// ---- tests ---------------------------------------------------------------------------------

describe("first deploy", () => {
  it("creates the set at full size and makes it stable at once (the strategy is skipped)", () => {
    const p = plan(rollout(basic, {}, "web:1"), { services: [svc("web-canary"), svc("web-stable")] });
    expect(summary(p)).toEqual([`create web-${H1} 10`]);
    expect(p.status).toMatchObject({
      stableRS: H1,
      currentPodHash: H1,
      currentStepIndex: 4,
      selector: "app=web",
    });
    expect(reasons(p)).toEqual([]);
  });

  it("points the Services at it only once every pod is available", () => {
    const p = plan(rollout(basic, { stableRS: H1, currentPodHash: H1 }, "web:1"), {
      replicaSets: [rs(H1, 10, 10)],
      services: [svc("web-canary"), svc("web-stable")],
    });
    expect(summary(p)).toEqual([`switch web-stable → ${H1}`, `switch web-canary → ${H1}`]);
    expect(p.status.phase).toBe("Healthy");
  });

  it("plans nothing and changes no status for a healthy, unchanged rollout", () => {
    const first = plan(rollout(basic, { stableRS: H1, currentPodHash: H1 }, "web:1"), {
      replicaSets: [rs(H1, 10, 10)],
      services: services(),
    });
    const again = plan(rollout(basic, first.status, "web:1"), {
      replicaSets: [rs(H1, 10, 10)],
      services: services(),
    });
    expect(again.actions).toEqual([]);
    expect(again.status).toEqual(first.status);
    expect(again.events).toEqual([]);
    expect(again.requeueAfterMs).toBeUndefined();
  });
});

describe("canary without a router", () => {
  it("a new template starts at step 0 and surges the canary towards 2 of 10", () => {
    const p = plan(rollout(basic, { stableRS: H1, currentPodHash: H1, currentStepIndex: 4 }), {
      replicaSets: [rs(H1, 10)],
      services: services(),
    });
    expect(summary(p)).toEqual([`create web-${H2} 2`]);
    expect(p.status.currentStepIndex).toBe(0);
    expect(reasons(p)).toContain("RolloutUpdated");
    expect(p.status.phase).toBe("Progressing");
  });

  it("shrinks stable as canary pods become available, and completes the step at 2/8", () => {
    const waiting = plan(rollout(basic, progressing(0)), {
      replicaSets: [rs(H1, 10), rs(H2, 2, 1)],
      services: services(),
    });
    expect(summary(waiting)).toEqual([`scale web-${H1} 9`]);
    expect(waiting.status.currentStepIndex).toBe(0);
    const done = plan(rollout(basic, progressing(0)), {
      replicaSets: [rs(H1, 8), rs(H2, 2)],
      services: services(),
    });
    expect(summary(done)).toEqual([`switch web-canary → ${H2}`]);
    expect(done.status.currentStepIndex).toBe(1);
    expect(done.events.find((e) => e.reason === "RolloutStepCompleted")?.message).toBe(
      "Rollout step 1/4 completed (setWeight: 20)",
    );
    expect(done.status.canary?.weights).toMatchObject({ canary: { weight: 20, podTemplateHash: H2 } });
  });

  it("10 replicas at 41% → 4 canary / 6 stable", () => {
    const p = plan(rollout(basic, progressing(2)), {
      replicaSets: [rs(H1, 8), rs(H2, 2)],
      services: services(H2),
    });
    expect(summary(p)).toEqual([`scale web-${H2} 4`, `scale web-${H1} 8`].slice(0, 1));
    const later = plan(rollout(basic, progressing(2)), {
      replicaSets: [rs(H1, 8), rs(H2, 4, 4)],
      services: services(H2),
    });
    expect(summary(later)).toEqual([`scale web-${H1} 6`]);
    const done = plan(rollout(basic, progressing(2)), {
      replicaSets: [rs(H1, 6), rs(H2, 4)],
      services: services(H2),
    });
    expect(done.status.currentStepIndex).toBe(3);
  });

  it("never shrinks stable for a canary that does not get ready", () => {
    const p = plan(rollout(basic, progressing(2)), {
      replicaSets: [rs(H1, 10), rs(H2, 3, 0)],
      services: services(),
    });
    expect(summary(p).filter((s) => s.startsWith(`scale web-${H1}`))).toEqual([]);
    expect(summary(p)).not.toContain(`switch web-canary → ${H2}`);
  });

  it("a timed pause waits for its end (requeue at start + duration), then moves on", () => {
    const start = iso(NOW - 4000);
    const ro = rollout(
      basic,
      progressing(1, {
        pauseConditions: [{ reason: "CanaryPauseStep", startTime: start }],
        controllerPause: true,
      }),
    );
    const fixture = { replicaSets: [rs(H1, 8), rs(H2, 2)], services: services(H2) };
    const waiting = plan(ro, fixture);
    expect(waiting.status.currentStepIndex).toBe(1);
    expect(waiting.requeueAfterMs).toBe(6000);
    expect(waiting.status.phase).toBe("Paused");
    const over = plan(ro, { ...fixture, now: NOW + 6000 });
    expect(over.status.currentStepIndex).toBe(2);
    expect(over.status.pauseConditions).toBeUndefined();
    expect(over.status.controllerPause).toBe(false);
  });

  it("an indefinite pause waits for promote (pauseConditions cleared by the user)", () => {
    const fixture = { replicaSets: [rs(H1, 6), rs(H2, 4)], services: services(H2) };
    const paused = plan(rollout(basic, progressing(3)), fixture);
    expect(paused.status.pauseConditions).toEqual([{ reason: "CanaryPauseStep", startTime: iso(NOW) }]);
    expect(paused.status.controllerPause).toBe(true);
    expect(paused.status.phase).toBe("Paused");
    expect(reasons(paused)).toContain("RolloutPaused");
    const still = plan(rollout(basic, paused.status), { ...fixture, now: NOW + 3_600_000 });
    expect(still.status.currentStepIndex).toBe(3);
    const promoted = plan(rollout(basic, { ...paused.status, pauseConditions: undefined }), fixture);
    expect(promoted.status.currentStepIndex).toBe(4);
    expect(promoted.status.phase).toBe("Progressing");
  });

  it("after the last step the canary goes to full size before stable is touched, then is promoted", () => {
    const growing = plan(rollout(basic, progressing(4)), {
      replicaSets: [rs(H1, 6), rs(H2, 4)],
      services: services(H2),
    });
    expect(summary(growing)).toEqual([`scale web-${H2} 10`]);
    const promoted = plan(rollout(basic, progressing(4)), {
      replicaSets: [rs(H1, 6), rs(H2, 10)],
      services: services(H2),
    });
    expect(promoted.status.stableRS).toBe(H2);
    expect(summary(promoted)[0]).toBe(`switch web-stable → ${H2}`);
    expect(summary(promoted)[1]).toMatch(new RegExp(`^patch web-${H1} .*scale-down-deadline`));
    expect(reasons(promoted)).toContain("RolloutCompleted");
  });

  it("the old stable set is scaled down at its deadline, not before", () => {
    const deadline = { "argo-rollouts.argoproj.io/scale-down-deadline": iso(NOW + 20_000) };
    const status: RolloutStatus = {
      currentPodHash: H2,
      stableRS: H2,
      currentStepIndex: 4,
      observedGeneration: 2,
    };
    const fixture = { replicaSets: [rs(H1, 6, 6, deadline), rs(H2, 10)], services: services(H2, H2) };
    const before = plan(rollout(basic, status), fixture);
    expect(summary(before)).toEqual([]);
    expect(before.requeueAfterMs).toBe(20_000);
    expect(before.status.phase).toBe("Progressing");
    const after = plan(rollout(basic, status), { ...fixture, now: NOW + 20_000 });
    expect(summary(after)).toEqual([`scale web-${H1} 0`]);
  });
});

describe("canary with a router", () => {
  it("scales the canary to ceil(41% of 10) = 5 and keeps stable at 10", () => {
    const p = plan(rollout(routed, progressing(0)), { replicaSets: [rs(H1, 10)], services: services() });
    expect(summary(p)).toEqual([`create web-${H2} 5`, "traffic 0"]);
  });

  it("orders the writes: canary Service on available pods, then the weight; the step waits for verify", () => {
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services() };
    const p = plan(rollout(routed, progressing(0)), fixture);
    expect(summary(p)).toEqual([`switch web-canary → ${H2}`, "traffic 41"]);
    expect(p.status.currentStepIndex).toBe(0);
    expect(p.status.canary?.weights).toMatchObject({
      canary: { weight: 41 },
      stable: { weight: 59 },
      verified: false,
    });
    const verified = plan(rollout(routed, progressing(0)), { ...fixture, verified: true });
    expect(verified.status.currentStepIndex).toBe(1);
    expect(verified.status.canary?.weights?.verified).toBe(true);
  });

  it("keeps the weight where it was while the canary is not ready for more", () => {
    const status = progressing(3, {
      canary: {
        weights: {
          canary: { weight: 41, podTemplateHash: H2 },
          stable: { weight: 59, podTemplateHash: H1 },
          verified: true,
        },
      },
    });
    const p = plan(rollout(routed, status), {
      replicaSets: [rs(H1, 10), rs(H2, 6, 5)],
      services: services(H2),
    });
    expect(summary(p)).toEqual(["traffic 41 +beta"]);
  });

  it("an analysis step creates one run with a deterministic name and moves on when it succeeds", () => {
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H2), verified: true };
    const created = plan(rollout(routed, progressing(1)), fixture);
    expect(summary(created)).toEqual(["traffic 41", `run web-${H2}-1`]);
    expect(created.status.canary?.currentStepAnalysisRunStatus).toEqual({
      name: `web-${H2}-1`,
      status: "Pending",
    });
    const running = plan(rollout(routed, progressing(1)), {
      ...fixture,
      runs: [run(`web-${H2}-1`, "Running")],
    });
    expect(summary(running)).toEqual(["traffic 41"]);
    expect(running.status.currentStepIndex).toBe(1);
    const ok = plan(rollout(routed, progressing(1)), {
      ...fixture,
      runs: [run(`web-${H2}-1`, "Successful")],
    });
    expect(ok.status.currentStepIndex).toBe(2);
  });

  it("a failed analysis aborts: traffic to stable first in one write, then the canary Service, Degraded", () => {
    const p = plan(rollout(routed, progressing(1)), {
      replicaSets: [rs(H1, 10), rs(H2, 5)],
      services: services(H2),
      runs: [run(`web-${H2}-1`, "Failed", "0.31")],
    });
    expect(summary(p)).toEqual(["traffic 0 (no gate)", `switch web-canary → ${H1}`]);
    expect(p.status).toMatchObject({ abort: true, abortedAt: iso(NOW), phase: "Degraded" });
    expect(p.status.message).toBe(
      `RolloutAborted: analysis run web-${H2}-1 failed: metric error-rate: result 0.31 >= 0.1`,
    );
    const event = p.events.find((e) => e.reason === "RolloutAborted")!;
    expect(event.type).toBe("Warning");
    expect(event.message).toBe(
      `Rollout aborted update to revision 2: analysis run web-${H2}-1 failed: metric error-rate: result 0.31 >= 0.1`,
    );
    expect(p.notes.has("aborted")).toBe(true);
  });

  it("an aborted canary is scaled down after abortScaleDownDelaySeconds, once nothing routes to it", () => {
    const status = progressing(1, { abort: true, abortedAt: iso(NOW - 10_000) });
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H1), verified: true };
    const early = plan(rollout(routed, status), fixture);
    expect(summary(early)).toEqual(["traffic 0 (no gate)"]);
    expect(early.requeueAfterMs).toBe(20_000);
    const due = plan(rollout(routed, status), { ...fixture, now: NOW + 20_000 });
    expect(summary(due)).toEqual(["traffic 0 (no gate)", `scale web-${H2} 0`]);
    expect(due.status.phase).toBe("Degraded");
  });

  it("an abort by the user (status.abort) says so", () => {
    const p = plan(rollout(routed, progressing(3, { abort: true })), {
      replicaSets: [rs(H1, 10), rs(H2, 6)],
      services: services(H2),
    });
    expect(p.events.find((e) => e.reason === "RolloutAborted")?.message).toBe(
      "Rollout aborted update to revision 2: aborted by user (status.abort)",
    );
  });

  it("retry starts the steps again under a new attempt whose runs get new names", () => {
    const status = progressing(1, {
      abortedAt: iso(NOW - 60_000),
      conditions: [{ type: "Progressing", status: "False", reason: "RolloutAborted", message: "x" }],
    });
    const p = plan(rollout(routed, status), {
      replicaSets: [rs(H1, 10), rs(H2, 0)],
      services: services(H1),
      runs: [run(`web-${H2}-1`, "Failed")],
    });
    expect(p.status.currentStepIndex).toBe(0);
    expect(p.status.abortedAt).toBeUndefined();
    expect(p.actions[0]).toMatchObject({
      type: "patchReplicaSet",
      name: `web-${H2}`,
      patch: { metadata: { annotations: { "slipway.dev/attempt": "1" } } },
    });
    expect(reasons(p)).toContain("RolloutRetried");
    expect(p.status.phase).toBe("Progressing");
    const attempt1 = rs(H2, 5, 5, {
      "slipway.dev/attempt": "1",
      "slipway.dev/attempt-retried-abort": iso(NOW - 60_000),
    });
    const next = plan(rollout(routed, progressing(1)), {
      replicaSets: [rs(H1, 10), attempt1],
      services: services(H2),
      runs: [run(`web-${H2}-1`, "Failed")],
      verified: true,
    });
    expect(summary(next)).toContain(`run web-${H2}-1.1`);
    expect(next.status.abort).toBeUndefined();
  });

  it("promote --full skips the remaining steps", () => {
    const p = plan(rollout(routed, progressing(1, { promoteFull: true })), {
      replicaSets: [rs(H1, 10), rs(H2, 5)],
      services: services(H2),
    });
    expect(p.status.currentStepIndex).toBe(4);
    // 100% is asked for, but the weight stays where it was until the canary has all its pods.
    expect(summary(p)).toEqual([`scale web-${H2} 10`, "traffic 0"]);
    expect(reasons(p)).toContain("RolloutPromoted");
  });

  it("an inconclusive analysis pauses; promote goes past it", () => {
    const fixture = {
      replicaSets: [rs(H1, 10), rs(H2, 5)],
      services: services(H2),
      verified: true,
      runs: [run(`web-${H2}-1`, "Inconclusive")],
    };
    const paused = plan(rollout(routed, progressing(1)), fixture);
    expect(paused.status.pauseConditions?.[0]?.reason).toBe("InconclusiveAnalysisRun");
    expect(paused.status.phase).toBe("Paused");
    const released = plan(rollout(routed, { ...paused.status, pauseConditions: undefined }), fixture);
    expect(released.status.currentStepIndex).toBe(2);
  });

  it("a header route is added once the canary serves, and counts only when verified", () => {
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H2) };
    const p = plan(rollout(routed, progressing(2)), fixture);
    expect(summary(p)).toEqual(["traffic 41 +beta"]);
    expect(p.status.currentStepIndex).toBe(2);
    expect(
      plan(rollout(routed, progressing(2)), { ...fixture, verified: true }).status.currentStepIndex,
    ).toBe(3);
  });

  it("a routing object that is missing is InvalidSpec, with a Warning", () => {
    const p = plan(rollout(routed, progressing(0)), {
      replicaSets: [rs(H1, 10), rs(H2, 5)],
      services: services(),
      routerError: 'route object "web" (HTTPRoute) not found in namespace "ns"',
    });
    expect(p.actions).toEqual([]);
    expect(p.status.phase).toBe("Degraded");
    expect(p.status.message).toBe(
      'InvalidSpec: trafficRouting: route object "web" (HTTPRoute) not found in namespace "ns"',
    );
    expect(p.events).toEqual([expect.objectContaining({ type: "Warning", reason: "InvalidSpec" })]);
  });

  it("dynamicStableScale on abort gives stable back only the traffic it has pods for", () => {
    const dyn: RolloutStrategy = { canary: { ...routed.canary!, dynamicStableScale: true } };
    const status = progressing(3, {
      abort: true,
      abortedAt: iso(NOW),
      canary: {
        weights: {
          canary: { weight: 60, podTemplateHash: H2 },
          stable: { weight: 40, podTemplateHash: H1 },
          verified: true,
        },
      },
    });
    const p = plan(rollout(dyn, status), { replicaSets: [rs(H1, 4), rs(H2, 6)], services: services(H2) });
    expect(summary(p)).toEqual(["traffic 60 (no gate)", `scale web-${H1} 10`]);
    const half = plan(rollout(dyn, status), {
      replicaSets: [rs(H1, 10, 7), rs(H2, 6)],
      services: services(H2),
    });
    expect(summary(half)[0]).toBe("traffic 30 (no gate)");
  });
});

describe("bad input: InvalidSpec, nothing moved", () => {
  it.each<[string, RolloutObject, Fixture, RegExp]>([
    [
      "a missing Service",
      rollout(basic, progressing(0)),
      { services: [svc("web-canary")] },
      /stableService: Service "web-stable" not found/,
    ],
    [
      "a selector that does not match the template",
      rollout(basic, progressing(0), "web:2", { selector: { matchLabels: { app: "other" } } }),
      { services: services() },
      /spec.selector does not match the template's labels/,
    ],
    [
      "an unknown analysis template",
      rollout(
        { canary: { steps: [{ analysis: { templates: [{ templateName: "nope" }] } }] } },
        progressing(0),
      ),
      {},
      /analysis: AnalysisTemplate "nope" not found/,
    ],
    [
      "a weight above maxTrafficWeight",
      rollout({ canary: { ...routed.canary!, steps: [{ setWeight: 120 }] } }, progressing(0)),
      { services: services() },
      /steps\[0\].setWeight 120 must be between 0 and 100/,
    ],
    [
      "a header route without managedRoutes",
      rollout(
        { canary: { ...routed.canary!, trafficRouting: { gatewayAPI: { httpRoute: "web" } } } },
        progressing(0),
      ),
      { services: services() },
      /setHeaderRoute "beta" must be listed in trafficRouting.managedRoutes/,
    ],
    [
      "setCanaryScale without a router",
      rollout({ canary: { steps: [{ setCanaryScale: { replicas: 2 } }] } }, progressing(0)),
      {},
      /setCanaryScale requires trafficRouting/,
    ],
    [
      "two actions in one step",
      rollout({ canary: { steps: [{ setWeight: 10, pause: {} }] } }, progressing(0)),
      {},
      /a step sets exactly one/,
    ],
  ])("%s", (_what, ro, fixture, message) => {
    const p = plan(ro, { replicaSets: [rs(H1, 10)], ...fixture });
    expect(p.actions).toEqual([]);
    expect(p.status.phase).toBe("Degraded");
    expect(p.status.conditions?.find((c) => c.type === "InvalidSpec")?.message).toMatch(message);
    expect(p.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "InvalidSpec"]]);
  });

  it("the Warning is not repeated while the problem stays the same", () => {
    const ro = rollout(basic, progressing(0));
    const first = plan(ro, { replicaSets: [rs(H1, 10)], services: [svc("web-canary")] });
    const again = plan(rollout(basic, first.status), {
      replicaSets: [rs(H1, 10)],
      services: [svc("web-canary")],
    });
    expect(again.events).toEqual([]);
    const fixed = plan(rollout(basic, first.status), { replicaSets: [rs(H1, 10)], services: services() });
    expect(fixed.status.conditions?.find((c) => c.type === "InvalidSpec")).toBeUndefined();
  });
});

describe("progress deadline", () => {
  const stuck = (since: number, abort = false): RolloutObject =>
    rollout(
      basic,
      progressing(0, {
        replicas: 12,
        updatedReplicas: 2,
        readyReplicas: 10,
        availableReplicas: 10,
        conditions: [
          {
            type: "Progressing",
            status: "True",
            reason: "ReplicaSetUpdated",
            message: "m",
            lastUpdateTime: iso(since),
          },
        ],
      }),
      "web:2",
      { progressDeadlineSeconds: 60, progressDeadlineAbort: abort },
    );
  const fixture = { replicaSets: [rs(H1, 10), rs(H2, 2, 0)], services: services() };

  it("a canary that never gets ready misses the deadline: Degraded, stable untouched", () => {
    const before = plan(stuck(NOW - 30_000), fixture);
    expect(before.status.phase).toBe("Progressing");
    expect(before.requeueAfterMs).toBe(30_000);
    const late = plan(stuck(NOW - 61_000), fixture);
    expect(late.status.phase).toBe("Degraded");
    expect(late.status.message).toBe(
      `ProgressDeadlineExceeded: ReplicaSet "web-${H2}" has timed out progressing.`,
    );
    expect(reasons(late)).toContain("ProgressDeadlineExceeded");
    expect(summary(late)).toEqual([]);
  });

  it("with progressDeadlineAbort the rollout is then aborted", () => {
    const late = plan(stuck(NOW - 61_000, true), fixture);
    const next = plan(
      rollout(basic, late.status, "web:2", { progressDeadlineSeconds: 60, progressDeadlineAbort: true }),
      fixture,
    );
    expect(next.status.abort).toBe(true);
    expect(next.events.find((e) => e.reason === "RolloutAborted")?.message).toContain(
      "progress deadline exceeded",
    );
  });

  it("is not counted while paused", () => {
    const ro = stuck(NOW - 600_000);
    ro.spec.paused = true;
    const p = plan(ro, fixture);
    expect(p.status.phase).toBe("Paused");
    expect(reasons(p)).not.toContain("ProgressDeadlineExceeded");
  });
});

describe("blue-green", () => {
  const bg: RolloutStrategy = {
    blueGreen: {
      activeService: "web-active",
      previewService: "web-preview",
      autoPromotionEnabled: false,
      postPromotionAnalysis: { templates: [{ templateName: "error-rate" }] },
    },
  };
  const bgServices = (active: string, preview: string) => [
    svc("web-active", active),
    svc("web-preview", preview),
  ];
  const st = (extra: RolloutStatus = {}): RolloutStatus => ({
    currentPodHash: H2,
    stableRS: H1,
    observedGeneration: 2,
    ...extra,
  });

  it("brings up the new set beside the active one; preview moves once it is ready; then pauses", () => {
    const creating = plan(rollout(bg, st()), { replicaSets: [rs(H1, 10)], services: bgServices(H1, H1) });
    expect(summary(creating)).toEqual([`create web-${H2} 10`]);
    const ready = plan(rollout(bg, st()), {
      replicaSets: [rs(H1, 10), rs(H2, 10)],
      services: bgServices(H1, H1),
    });
    expect(summary(ready)).toEqual([`switch web-preview → ${H2}`]);
    expect(ready.status.pauseConditions?.[0]?.reason).toBe("BlueGreenPause");
    expect(ready.status.phase).toBe("Paused");
  });

  it("promote flips the active Service in one write, only with every new pod available", () => {
    const released = st({ controllerPause: true });
    const notYet = plan(rollout(bg, released), {
      replicaSets: [rs(H1, 10), rs(H2, 10, 9)],
      services: bgServices(H1, H2),
    });
    expect(summary(notYet)).toEqual([]);
    const p = plan(rollout(bg, released), {
      replicaSets: [rs(H1, 10), rs(H2, 10)],
      services: bgServices(H1, H2),
    });
    expect(summary(p)).toEqual([`switch web-active → ${H2}`]);
    expect(p.status.blueGreen?.activeSelector).toBe(H2);
  });

  it("post-promotion analysis: success makes the new set stable; failure puts active back on the old one", () => {
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 10)], services: bgServices(H2, H2) };
    const created = plan(rollout(bg, st()), fixture);
    expect(summary(created)).toEqual([`run web-${H2}-post`]);
    expect(created.status.stableRS).toBe(H1);
    const ok = plan(rollout(bg, st()), { ...fixture, runs: [run(`web-${H2}-post`, "Successful")] });
    expect(ok.status.stableRS).toBe(H2);
    expect(summary(ok)[0]).toMatch(new RegExp(`^patch web-${H1} .*scale-down-deadline`));
    const failed = plan(rollout(bg, st()), { ...fixture, runs: [run(`web-${H2}-post`, "Failed", "0.5")] });
    expect(summary(failed)).toEqual([`switch web-active → ${H1}`]);
    expect(failed.status.phase).toBe("Degraded");
    expect(failed.status.stableRS).toBe(H1);
  });
});

describe("more analysis", () => {
  it("background analysis starts at startingStep and a failure aborts from any step", () => {
    const bg: RolloutStrategy = {
      canary: {
        ...routed.canary!,
        analysis: { startingStep: 1, templates: [{ templateName: "error-rate" }] },
      },
    };
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H2), verified: true };
    expect(summary(plan(rollout(bg, progressing(0)), fixture))).not.toContain(`run web-${H2}-bg`);
    const started = plan(rollout(bg, progressing(1)), fixture);
    expect(summary(started)).toEqual(["traffic 41", `run web-${H2}-bg`, `run web-${H2}-1`]);
    const failed = plan(rollout(bg, progressing(3)), { ...fixture, runs: [run(`web-${H2}-bg`, "Error")] });
    expect(failed.status.abort).toBe(true);
    expect(failed.status.message).toMatch(new RegExp(`^RolloutAborted: analysis run web-${H2}-bg errored`));
  });

  it("keeps the newest finished runs within the history limits", () => {
    const old = (i: number, phase: AnalysisPhase) => {
      const r = run(`old-${i}`, phase);
      r.metadata.creationTimestamp = new Date(NOW - (100 - i) * 1000);
      return r;
    };
    const runs = [
      ...[0, 1, 2, 3, 4, 5, 6].map((i) => old(i, "Successful")),
      old(7, "Failed"),
      old(8, "Failed"),
    ];
    const ro = rollout(basic, { stableRS: H2, currentPodHash: H2, currentStepIndex: 4 }, "web:2", {
      analysis: { successfulRunHistoryLimit: 3, unsuccessfulRunHistoryLimit: 1 },
    });
    const p = plan(ro, { replicaSets: [rs(H2, 10)], services: services(H2, H2), runs });
    expect(p.actions.filter((a) => a.type === "deleteAnalysisRun").map((a) => "name" in a && a.name)).toEqual(
      ["old-3", "old-2", "old-1", "old-0", "old-7"],
    );
  });

  it("blue-green: pre-promotion analysis gates promotion; autoPromotionSeconds promotes by itself", () => {
    const bg: RolloutStrategy = {
      blueGreen: {
        activeService: "web-active",
        autoPromotionSeconds: 30,
        prePromotionAnalysis: { templates: [{ templateName: "error-rate" }] },
      },
    };
    const st: RolloutStatus = { currentPodHash: H2, stableRS: H1, observedGeneration: 2 };
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 10)], services: [svc("web-active", H1)] };
    const first = plan(rollout(bg, st), fixture);
    expect(summary(first)).toEqual([`run web-${H2}-pre`]);
    expect(first.status.pauseConditions?.[0]?.reason).toBe("BlueGreenPause");
    expect(first.requeueAfterMs).toBe(30_000);
    const paused = first.status;
    const analysing = plan(rollout(bg, paused), {
      ...fixture,
      now: NOW + 31_000,
      runs: [run(`web-${H2}-pre`, "Running")],
    });
    expect(summary(analysing)).toEqual([]);
    const go = plan(rollout(bg, paused), {
      ...fixture,
      now: NOW + 31_000,
      runs: [run(`web-${H2}-pre`, "Successful")],
    });
    expect(summary(go)).toEqual([`switch web-active → ${H2}`]);
    const bad = plan(rollout(bg, paused), { ...fixture, runs: [run(`web-${H2}-pre`, "Failed")] });
    expect(bad.status.phase).toBe("Degraded");
    expect(summary(bad)).toEqual([]);
  });
});

describe("pause and recovery", () => {
  it("spec.paused holds the rollout where it is: no new set, no weight raised, no step taken", () => {
    const ro = rollout(routed, progressing(0), "web:2", { paused: true });
    const p = plan(ro, { replicaSets: [rs(H1, 10)], services: services() });
    expect(p.actions).toEqual([]);
    expect(p.status.phase).toBe("Paused");
    expect(p.status.message).toBe("manually paused");
  });

  it("an abort still works while paused", () => {
    const ro = rollout(routed, progressing(1, { abort: true }), "web:2", { paused: true });
    const p = plan(ro, { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H2) });
    expect(summary(p)[0]).toBe("traffic 0 (no gate)");
    expect(p.status.phase).toBe("Degraded");
  });

  it("a status that lost stableRS takes the running set as stable instead of promoting the new template", () => {
    const p = plan(rollout(basic, {}), { replicaSets: [rs(H1, 10)], services: services() });
    expect(p.status.stableRS).toBe(H1);
    expect(summary(p)).toEqual([`create web-${H2} 2`]);
  });
});

describe("a new revision in the middle of a canary", () => {
  const H3 = podTemplateHash(tpl("web:3"));
  const status: RolloutStatus = {
    currentPodHash: H2,
    stableRS: H1,
    currentStepIndex: 3,
    observedGeneration: 2,
    canary: {
      weights: {
        canary: { weight: 41, podTemplateHash: H2 },
        stable: { weight: 59, podTemplateHash: H1 },
        verified: true,
      },
    },
  };
  const h3 = () => {
    const x = rs(H3, 5);
    x.metadata!.name = `web-${H3}`;
    x.metadata!.labels!["rollouts-pod-template-hash"] = H3;
    return x;
  };

  it("takes the weight off the older canary before its Service moves, then scales the older canary down", () => {
    const fixture = { replicaSets: [rs(H1, 10), rs(H2, 6), h3()], services: services(H2) };
    const p = plan(rollout(routed, status, "web:3"), fixture);
    expect(p.status.currentStepIndex).toBe(0);
    expect(summary(p)).toEqual(["traffic 0"]);
    const zeroVerified = plan(rollout(routed, status, "web:3"), {
      ...fixture,
      verified: (s) => s.canaryWeight === 0,
    });
    expect(summary(zeroVerified)).toEqual([`switch web-canary → ${H3}`, "traffic 41"]);
    // Once the router shows the new state, nothing routes to the older canary: it goes.
    const settled = plan(rollout(routed, status, "web:3"), {
      replicaSets: fixture.replicaSets,
      services: services(H3),
      verified: true,
    });
    expect(summary(settled)).toEqual(["traffic 41", `scale web-${H2} 0`]);
  });
});

describe("an HPA scaling the Rollout during a canary (argo-rollouts #2857)", () => {
  const at41 = (extra: RolloutStatus = {}) =>
    progressing(1, {
      canary: {
        weights: {
          canary: { weight: 41, podTemplateHash: H2 },
          stable: { weight: 59, podTemplateHash: H1 },
          verified: true,
        },
      },
      ...extra,
    });
  const midCanary = { replicaSets: [rs(H1, 10), rs(H2, 5)], services: services(H2), verified: true };

  it("reports the stable set alone as status.HPAReplicas with a router, so an HPA adopting it is at rest", () => {
    const p = plan(rollout(routed, at41()), midCanary);
    expect(p.status.replicas).toBe(15);
    expect(p.status.HPAReplicas).toBe(10);
    expect(p.status.selector).toBe("app=web");
    // An HPA that takes status.replicas of the scale subresource as its desired count (an
    // AverageValue metric within tolerance) asks for spec.replicas again: nothing grows.
    const again = plan(rollout(routed, at41(), "web:2", { replicas: p.status.HPAReplicas! }), midCanary);
    expect(summary(again).filter((a) => a.startsWith("scale"))).toEqual([]);
  });

  it("scaled out mid-canary: stable first to the new count, then the canary to its share of it", () => {
    const p = plan(rollout(routed, at41(), "web:2", { replicas: 20 }), midCanary);
    const scales = summary(p).filter((a) => a.startsWith("scale"));
    expect(scales).toEqual([`scale web-${H1} 20`, `scale web-${H2} 9`]);
    expect(p.status.currentStepIndex).toBe(1);
  });

  it("scaled in mid-canary: the canary to its share, stable to the new count, after the traffic write", () => {
    const p = plan(rollout(routed, at41(), "web:2", { replicas: 4 }), midCanary);
    const s = summary(p);
    expect(s.filter((a) => a.startsWith("scale"))).toEqual([`scale web-${H2} 2`, `scale web-${H1} 4`]);
    expect(s.indexOf(`scale web-${H1} 4`)).toBeGreaterThan(s.indexOf("traffic 41"));
  });

  it("counts every set with dynamicStableScale or without a router (they share spec.replicas)", () => {
    const dyn: RolloutStrategy = { canary: { ...routed.canary!, dynamicStableScale: true } };
    expect(
      plan(rollout(dyn, at41()), { ...midCanary, replicaSets: [rs(H1, 6), rs(H2, 5)] }).status.HPAReplicas,
    ).toBe(11);
    const b = plan(rollout(basic, progressing(0)), {
      replicaSets: [rs(H1, 8), rs(H2, 2)],
      services: services(),
    });
    expect(b.status.HPAReplicas).toBe(10);
  });

  it("an aborted canary's stable set follows a scale-in only once the router sends it everything", () => {
    const aborted = at41({ abort: true, abortedAt: iso(NOW) });
    const moving = plan(rollout(routed, aborted, "web:2", { replicas: 6 }), {
      ...midCanary,
      verified: false,
    });
    expect(summary(moving).filter((a) => a.startsWith("scale"))).toEqual([]);
    const settled = plan(rollout(routed, aborted, "web:2", { replicas: 6 }), midCanary);
    expect(summary(settled)).toContain(`scale web-${H1} 6`);
  });

  it("blue-green reports the active set and its selector, and keeps it at spec.replicas", () => {
    const bg: RolloutStrategy = { blueGreen: { activeService: "web-active", autoPromotionEnabled: false } };
    const status: RolloutStatus = { currentPodHash: H2, stableRS: H1, observedGeneration: 2 };
    const p = plan(rollout(bg, status, "web:2", { replicas: 12 }), {
      replicaSets: [rs(H1, 10), rs(H2, 10)],
      services: [svc("web-active", H1)],
    });
    expect(p.status.HPAReplicas).toBe(10);
    expect(p.status.selector).toBe(`app=web,rollouts-pod-template-hash=${H1}`);
    expect(summary(p)).toContain(`scale web-${H1} 12`);
  });
});

describe("scaleDownDelayRevisionLimit, minPodsPerReplicaSet, rollbackWindow", () => {
  const H3 = podTemplateHash(tpl("web:3"));
  const rev = (n: number, extra: Record<string, string> = {}) => ({
    "rollout.argoproj.io/revision": String(n),
    ...extra,
  });
  const waiting = { "argo-rollouts.argoproj.io/scale-down-deadline": iso(NOW + 20_000) };
  const created = (set: V1ReplicaSet, ms: number): V1ReplicaSet => ({
    ...set,
    metadata: { ...set.metadata, creationTimestamp: new Date(ms) },
  });

  it("scaleDownDelayRevisionLimit: old sets past the limit (newest counted first) go without waiting", () => {
    const limited = (limit?: number): RolloutStrategy => ({
      canary: { ...routed.canary!, ...(limit !== undefined ? { scaleDownDelayRevisionLimit: limit } : {}) },
    });
    const fixture = {
      replicaSets: [rs(H1, 10, 10, rev(1, waiting)), rs(H2, 10, 10, rev(2, waiting)), rs(H3, 10, 10, rev(3))],
      services: services(H3, H3),
      verified: true,
    };
    const done = { currentPodHash: H3, stableRS: H3, currentStepIndex: 4, observedGeneration: 2 };
    const scaled = (limit?: number) =>
      summary(plan(rollout(limited(limit), done, "web:3"), fixture)).filter((a) => a.startsWith("scale"));
    expect(scaled()).toEqual([]);
    expect(scaled(1)).toEqual([`scale web-${H1} 0`]);
    expect(scaled(0)).toEqual([`scale web-${H1} 0`, `scale web-${H2} 0`]);
  });

  it("minPodsPerReplicaSet: a routed set that runs pods runs at least that many", () => {
    const min = (extra: Partial<RolloutStrategy["canary"]> = {}): RolloutStrategy => ({
      canary: { ...routed.canary!, minPodsPerReplicaSet: 3, ...extra },
    });
    const four = { replicas: 4 };
    // ceil(41% of 4) = 2 → 3.
    expect(
      summary(
        plan(rollout(min(), progressing(0), "web:2", four), {
          replicaSets: [rs(H1, 4)],
          services: services(),
        }),
      ),
    ).toContain(`create web-${H2} 3`);
    // dynamicStableScale: stable at 4 - 2 = 2 → 3 once the router sends the canary its share.
    const at41 = progressing(1, {
      canary: {
        weights: {
          canary: { weight: 41, podTemplateHash: H2 },
          stable: { weight: 59, podTemplateHash: H1 },
          verified: true,
        },
      },
    });
    const dyn = plan(rollout(min({ dynamicStableScale: true }), at41, "web:2", four), {
      replicaSets: [rs(H1, 4), rs(H2, 3)],
      services: services(H2),
      verified: true,
    });
    expect(summary(dyn)).toContain(`scale web-${H1} 3`);
    // Without a router the setting does not apply (Argo), nor to an explicit setCanaryScale.
    const basicMin: RolloutStrategy = { canary: { ...basic.canary!, minPodsPerReplicaSet: 3 } };
    expect(
      summary(
        plan(rollout(basicMin, progressing(0), "web:2", four), {
          replicaSets: [rs(H1, 4)],
          services: services(),
        }),
      ),
    ).toEqual([`create web-${H2} 1`]);
    const explicit = min({ steps: [{ setCanaryScale: { replicas: 1 } }, { setWeight: 41 }] });
    expect(
      summary(
        plan(rollout(explicit, progressing(0), "web:2", four), {
          replicaSets: [rs(H1, 4)],
          services: services(),
        }),
      ),
    ).toContain(`create web-${H2} 1`);
  });

  describe("rollbackWindow", () => {
    // Revisions 1 (H1), 2 (H2), 3 (H3, stable); the template goes back to web:1.
    const sets = [
      created(rs(H1, 0, 0, rev(1)), NOW - 30_000),
      created(rs(H2, 0, 0, rev(2)), NOW - 20_000),
      created(rs(H3, 10, 10, rev(3)), NOW - 10_000),
    ];
    const onH3 = { currentPodHash: H3, stableRS: H3, currentStepIndex: 4, observedGeneration: 2 };
    const back = (revisions: number, status: RolloutStatus = onH3) =>
      rollout(routed, status, "web:1", { rollbackWindow: { revisions } });

    it("a rollback within the window skips the steps and the analysis: the old revision at full size", () => {
      const p = plan(back(2), { replicaSets: sets, services: services(H3, H3) });
      expect(p.status.currentStepIndex).toBe(4);
      expect(reasons(p)).toEqual(expect.arrayContaining(["RolloutUpdated", "SkipSteps"]));
      expect(summary(p)).toContain(`scale web-${H1} 10`);
      expect(summary(p).filter((a) => a.startsWith("run"))).toEqual([]);
      // Once its pods are available and the router sends it everything, it is stable again.
      const up = [created(rs(H1, 10, 10, rev(4)), NOW - 30_000), sets[1]!, sets[2]!];
      const full = {
        currentPodHash: H1,
        stableRS: H3,
        currentStepIndex: 4,
        observedGeneration: 2,
        canary: {
          weights: {
            canary: { weight: 100, podTemplateHash: H1 },
            stable: { weight: 0, podTemplateHash: H3 },
            verified: true,
          },
        },
      };
      const done = plan(back(2, full), { replicaSets: up, services: services(H1, H3), verified: true });
      expect(done.status.stableRS).toBe(H1);
    });

    it("outside the window (or without one) the steps run as for any update", () => {
      for (const revisions of [1, 0]) {
        const p = plan(back(revisions), { replicaSets: sets, services: services(H3, H3) });
        expect(p.status.currentStepIndex).toBe(0);
        expect(reasons(p)).not.toContain("SkipSteps");
      }
    });

    it("blue-green: no pre-promotion analysis and no pause; the active Service flips once the pods are up", () => {
      const bg: RolloutStrategy = {
        blueGreen: {
          activeService: "web-active",
          autoPromotionEnabled: false,
          prePromotionAnalysis: { templates: [{ templateName: "error-rate" }] },
        },
      };
      const status: RolloutStatus = { currentPodHash: H1, stableRS: H3, observedGeneration: 2 };
      const up = [created(rs(H1, 10, 10, rev(4)), NOW - 30_000), sets[1]!, sets[2]!];
      const p = plan(rollout(bg, status, "web:1", { rollbackWindow: { revisions: 2 } }), {
        replicaSets: up,
        services: [svc("web-active", H3)],
      });
      expect(summary(p)).toEqual([`switch web-active → ${H1}`]);
      expect(p.status.pauseConditions).toBeUndefined();
    });
  });
});
