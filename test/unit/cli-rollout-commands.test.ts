/**
 * What each `slipway rollout` command writes and says, decided from the Rollout alone: one
 * effect per command, refused with a clear message when it makes no sense (argo-rollouts#2897).
 * Also the router readings behind ActualWeight (Istio, NGINX) and the `status` progress line.
 */
import { describe, expect, it } from "vitest";
import type { Rollout, RolloutStatus } from "../../api/v1alpha1/rollout.js";
import { listRow, progressLine } from "../../cli/rollout-actions.js";
import {
  CommandRefused,
  planAbort,
  planPause,
  planPromote,
  planRestart,
  planResume,
  planRetry,
  planSetImage,
  planUndo,
} from "../../cli/rollout-commands.js";
import {
  actualWeightOf,
  isComplete,
  pauseReason,
  type ReplicaSetJson,
  type RolloutSnapshot,
  routerRefs,
} from "../../cli/rollout-state.js";

const NOW = new Date("2025-03-01T12:00:00Z");
const ctx = { cmd: "slipway", now: NOW };

function rollout(status: RolloutStatus | undefined, patch: Partial<Rollout["spec"]> = {}): Rollout {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web", namespace: "shop", uid: "u1", resourceVersion: "42", generation: 3 },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            { name: "app", image: "shop/web:1.27" },
            { name: "proxy", image: "envoy:1.30" },
          ],
          initContainers: [{ name: "migrate", image: "shop/migrate:1.27" }],
        },
      },
      strategy: {
        canary: {
          steps: [
            { setWeight: 20 },
            { pause: {} },
            { analysis: { templates: [{ templateName: "rate" }] } },
            { setWeight: 60 },
          ],
        },
      },
      ...patch,
    },
    ...(status ? { status } : {}),
  };
}

const progressing: RolloutStatus = {
  phase: "Progressing",
  observedGeneration: 3,
  currentStepIndex: 2,
  currentPodHash: "new",
  stableRS: "old",
};
const pausedAtStep: RolloutStatus = {
  ...progressing,
  phase: "Paused",
  message: "CanaryPauseStep",
  currentStepIndex: 1,
  controllerPause: true,
  pauseConditions: [{ reason: "CanaryPauseStep", startTime: "2025-03-01T11:58:00Z" }],
};
const healthy: RolloutStatus = {
  phase: "Healthy",
  observedGeneration: 3,
  currentStepIndex: 4,
  currentPodHash: "new",
  stableRS: "new",
};
const aborted: RolloutStatus = {
  ...progressing,
  phase: "Degraded",
  message: "RolloutAborted: analysis failed",
  abort: true,
  abortedAt: "2025-03-01T11:59:00Z",
};

const refused = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CommandRefused);
    return (err as Error).message;
  }
  throw new Error("expected the command to be refused");
};

describe("promote", () => {
  it("ends a pause step: clears the pause conditions and leaves controllerPause for the controller", () => {
    const effect = planPromote(rollout(pausedAtStep), false, ctx);
    expect(effect.status).toEqual({ pauseConditions: null });
    expect(effect.spec).toBeUndefined();
    expect(effect.message).toBe(
      "rollout 'web' promoted: leaves the pause at steps[1], on to steps[2] (analysis rate)",
    );
    expect(effect.event.reason).toBe("PromoteRequested");
  });

  it("with no pause, skips the current step (a running analysis)", () => {
    const effect = planPromote(rollout(progressing), false, ctx);
    expect(effect.status).toEqual({ currentStepIndex: 3 });
    expect(effect.message).toBe(
      "rollout 'web' promoted: skips steps[2] (analysis rate), on to steps[3] (setWeight 60)",
    );
  });

  it("unpauses a rollout paused with `pause` (and ends its pause step too)", () => {
    const effect = planPromote(rollout(pausedAtStep, { paused: true }), false, ctx);
    expect(effect.spec).toEqual({ paused: false });
    expect(effect.status).toEqual({ pauseConditions: null });
    expect(effect.message).toBe(
      "rollout 'web' promoted: unpaused (spec.paused=false); leaves the pause at steps[1], on to steps[2] (analysis rate)",
    );
  });

  it("promotes past an inconclusive analysis and a blue-green pause", () => {
    const inconclusive = planPromote(
      rollout({
        ...progressing,
        controllerPause: true,
        pauseConditions: [{ reason: "InconclusiveAnalysisRun", startTime: "2025-03-01T11:58:00Z" }],
      }),
      false,
      ctx,
    );
    expect(inconclusive.status).toEqual({ pauseConditions: null });
    expect(inconclusive.message).toBe("rollout 'web' promoted: goes on past the inconclusive analysis");
    const bg = rollout(
      { ...progressing, pauseConditions: [{ reason: "BlueGreenPause", startTime: "2025-03-01T11:58:00Z" }] },
      { strategy: { blueGreen: { activeService: "web", previewService: "web-preview" } } },
    );
    expect(planPromote(bg, false, ctx).message).toBe("rollout 'web' promoted: the preview becomes active");
  });

  it("--full sets status.promoteFull only", () => {
    const effect = planPromote(rollout(pausedAtStep), true, ctx);
    expect(effect.status).toEqual({ promoteFull: true });
    expect(effect.message).toBe(
      "rollout 'web' fully promoted: the remaining steps, pauses and analysis are skipped and the update becomes stable",
    );
    expect(effect.event.reason).toBe("PromoteFullRequested");
  });

  it("refuses what would do nothing, or loop after an abort (#2897)", () => {
    expect(refused(() => planPromote(rollout(healthy), false, ctx))).toBe(
      "rollout 'web' is not paused (it has no update in progress)",
    );
    expect(refused(() => planPromote(rollout(healthy), true, ctx))).toBe(
      "rollout 'web' has no update in progress to promote (Healthy, its revision is stable)",
    );
    expect(refused(() => planPromote(rollout({ ...progressing, promoteFull: true }), true, ctx))).toBe(
      "rollout 'web' is already being promoted fully",
    );
    expect(refused(() => planPromote(rollout(aborted), false, ctx))).toBe(
      `rollout 'web' is aborted: "slipway rollout retry web" runs the update again (or "slipway rollout undo web" goes back to the previous revision)`,
    );
    expect(refused(() => planPromote(rollout(aborted), true, ctx))).toBe(
      `rollout 'web' is aborted: "slipway rollout retry web" runs the update again, then "slipway rollout promote web --full" skips its steps (or "slipway rollout undo web" goes back to the previous revision)`,
    );
  });
});

describe("abort and retry", () => {
  it("abort sets status.abort only (the controller records abortedAt)", () => {
    const effect = planAbort(rollout(pausedAtStep), ctx);
    expect(effect.status).toEqual({ abort: true });
    expect(effect.message).toBe(
      "rollout 'web' aborted: traffic returns to stable, then the canary scales down",
    );
    expect(refused(() => planAbort(rollout(aborted), ctx))).toBe("rollout 'web' is already aborted");
    expect(refused(() => planAbort(rollout(healthy), ctx))).toBe(
      "rollout 'web' has no update in progress to abort (its revision is stable)",
    );
  });

  it("retry clears status.abort and keeps abortedAt, which tells the controller it is a retry", () => {
    const effect = planRetry(rollout(aborted), ctx);
    expect(effect.status).toEqual({ abort: false });
    expect(effect.message).toBe("rollout 'web' retried: the update runs again from steps[0] (setWeight 20)");
    expect(refused(() => planRetry(rollout(progressing), ctx))).toBe("rollout 'web' is not aborted");
  });
});

describe("pause and resume", () => {
  it("pause sets spec.paused; resume clears it", () => {
    expect(planPause(rollout(progressing), ctx).spec).toEqual({ paused: true });
    expect(refused(() => planPause(rollout(progressing, { paused: true }), ctx))).toBe(
      "rollout 'web' is already paused",
    );
    const resumed = planResume(rollout(progressing, { paused: true }), ctx);
    expect(resumed.spec).toEqual({ paused: false });
    expect(resumed.message).toBe("rollout 'web' resumed");
  });

  it("resume does not end a pause step: that is promote's job, and it says so", () => {
    expect(refused(() => planResume(rollout(pausedAtStep), ctx))).toBe(
      `rollout 'web' is not paused by the user: it waits for promotion (CanaryPauseStep); "slipway rollout promote web" continues it`,
    );
    expect(refused(() => planResume(rollout(progressing), ctx))).toBe("rollout 'web' is not paused");
  });
});

function rs(revision: number, hash: string, image: string): ReplicaSetJson {
  return {
    metadata: {
      name: `web-${hash}`,
      annotations: { "rollout.argoproj.io/revision": String(revision) },
      labels: { app: "web", "rollouts-pod-template-hash": hash },
    },
    spec: {
      template: {
        metadata: { labels: { app: "web", "rollouts-pod-template-hash": hash } },
        spec: { containers: [{ name: "app", image }] },
      },
    },
  };
}

describe("undo", () => {
  const sets = [rs(1, "a1", "shop/web:1.25"), rs(3, "c3", "shop/web:1.27"), rs(2, "b2", "shop/web:1.26")];

  it("goes back to the previous revision by default: the ReplicaSet's template without the hash label", () => {
    const effect = planUndo(rollout(healthy), sets, undefined, ctx);
    expect(effect.jsonPatch).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "42" },
      {
        op: "replace",
        path: "/spec/template",
        value: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "app", image: "shop/web:1.26" }] },
        },
      },
    ]);
    expect(effect.message).toBe(
      "rollout 'web' rolled back to revision 2 (shop/web:1.26): an update to it starts",
    );
  });

  it("--to-revision N, and a precise refusal for a revision that does not exist", () => {
    expect(planUndo(rollout(healthy), sets, 1, ctx).message).toContain("revision 1 (shop/web:1.25)");
    expect(refused(() => planUndo(rollout(healthy), sets, 7, ctx))).toBe("no revision 7; revisions: 1, 2, 3");
    expect(refused(() => planUndo(rollout(healthy), [sets[0]!], undefined, ctx))).toBe(
      "rollout 'web' has no previous revision (revisions: 1)",
    );
  });

  it("skips (writes nothing) when the template already is that revision's", () => {
    const ro = rollout(healthy, {
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "shop/web:1.26" }] },
      },
    });
    const effect = planUndo(ro, sets, 2, ctx);
    expect(effect.noop).toBe(true);
    expect(effect.message).toBe(
      "rollout 'web' unchanged: skipped rollback (the current template already matches revision 2)",
    );
  });

  it("refuses a rollout whose template comes from a Deployment", () => {
    const ro = rollout(healthy);
    delete ro.spec.template;
    ro.spec.workloadRef = { apiVersion: "apps/v1", kind: "Deployment", name: "web" };
    expect(refused(() => planUndo(ro, sets, undefined, ctx))).toBe(
      "rollout 'web' takes its pod template from Deployment 'web' (workloadRef): roll back the template there",
    );
  });
});

describe("set image", () => {
  it("patches the named container's image, with the resourceVersion it was decided on", () => {
    const effect = planSetImage(rollout(healthy), ["app=shop/web:1.28"], ctx);
    expect(effect.jsonPatch).toEqual([
      { op: "test", path: "/metadata/resourceVersion", value: "42" },
      { op: "replace", path: "/spec/template/spec/containers/0/image", value: "shop/web:1.28" },
    ]);
    expect(effect.message).toBe(
      "rollout 'web' image updated: app=shop/web:1.28 (was shop/web:1.27); an update starts",
    );
  });

  it("*=IMAGE sets every container, init containers included", () => {
    const effect = planSetImage(rollout(healthy), ["*=busybox:1"], ctx);
    expect(effect.jsonPatch?.slice(1).map((op) => ("path" in op ? op.path : ""))).toEqual([
      "/spec/template/spec/containers/0/image",
      "/spec/template/spec/containers/1/image",
      "/spec/template/spec/initContainers/0/image",
    ]);
  });

  it("refuses unknown containers and malformed assignments; an image already set is a no-op", () => {
    expect(refused(() => planSetImage(rollout(healthy), ["nope=x:1"], ctx))).toBe(
      "rollout 'web' has no container 'nope' (containers: app, proxy, migrate)",
    );
    expect(refused(() => planSetImage(rollout(healthy), ["app"], ctx))).toBe(
      'expected CONTAINER=IMAGE, got "app"',
    );
    const same = planSetImage(rollout(healthy), ["app=shop/web:1.27"], ctx);
    expect(same.noop).toBe(true);
    expect(same.message).toBe("rollout 'web' unchanged: container 'app' already runs shop/web:1.27");
  });
});

describe("restart", () => {
  it("sets spec.restartAt to now, or now + --in, in whole seconds", () => {
    expect(planRestart(rollout(healthy), 0, ctx).spec).toEqual({ restartAt: "2025-03-01T12:00:00Z" });
    const later = planRestart(rollout(healthy), 10_500, ctx);
    expect(later.spec).toEqual({ restartAt: "2025-03-01T12:00:11Z" });
    expect(later.message).toBe(
      "rollout 'web' restarts at 2025-03-01T12:00:11Z: pods created before then are replaced, a few at a time",
    );
  });
});

describe("list row, status line, completion", () => {
  it("shows kubectl-argo-rollouts' columns", () => {
    const ro = rollout({
      ...pausedAtStep,
      replicas: 5,
      readyReplicas: 5,
      updatedReplicas: 1,
      availableReplicas: 5,
    });
    expect(listRow(ro, false, false)).toEqual(["web", "Canary", "Paused", "1/4", "20", "5/5", "4", "1", "5"]);
    expect(listRow(ro, true, true)[0]).toBe("shop");
    expect(listRow(ro, true, true).at(-1)).toBe("CanaryPauseStep");
  });

  it("prints progress without times, and completes only when Healthy with the update stable", () => {
    const ro = rollout({ ...pausedAtStep, updatedReplicas: 1, availableReplicas: 5 });
    expect(progressLine(ro)).toBe("Paused - CanaryPauseStep: step 1/4, weight 20, updated 1/4, available 5");
    expect(isComplete(ro)).toBe(false);
    expect(isComplete(rollout(healthy))).toBe(true);
    // A spec change the controller has not seen yet is not "done", whatever the old phase says.
    const stale = rollout(healthy);
    stale.metadata.generation = 4;
    expect(isComplete(stale)).toBe(false);
    expect(progressLine(stale)).toMatch(/^Progressing - waiting for rollout spec update to be observed: /);
  });

  it("says how a pause ends: promote, or the time left of a timed pause", () => {
    const timed = rollout(
      {
        ...pausedAtStep,
        pauseConditions: [{ reason: "CanaryPauseStep", startTime: "2025-03-01T11:59:20Z" }],
      },
      { strategy: { canary: { steps: [{ setWeight: 20 }, { pause: { duration: "1m" } }] } } },
    );
    expect(pauseReason(timed, NOW)).toBe(
      'at pause step steps[1] (1m): resumes in 20s, or now with "slipway rollout promote web"',
    );
    expect(pauseReason(rollout(pausedAtStep), NOW, "kubectl slipway")).toBe(
      'at pause step steps[1] for 2m: waits for "kubectl slipway rollout promote web"',
    );
  });
});

describe("actual weight from the routers", () => {
  const routed = (
    trafficRouting: NonNullable<NonNullable<Rollout["spec"]["strategy"]["canary"]>["trafficRouting"]>,
  ) =>
    rollout(pausedAtStep, {
      strategy: {
        canary: { canaryService: "web-canary", stableService: "web-stable", trafficRouting, steps: [] },
      },
    });
  const snapshot = (ro: Rollout, object: Record<string, unknown>): RolloutSnapshot => ({
    rollout: ro,
    replicaSets: [],
    pods: [],
    analysisRuns: [],
    jobs: [],
    routes: routerRefs(ro).map((ref) => ({
      ref,
      object: { metadata: { name: ref.name, namespace: ref.namespace }, ...object },
    })),
  });

  it("Istio: the weights of the managed route's destinations (managed header routes skipped)", () => {
    const ro = routed({ istio: { virtualService: { name: "web-vs" } }, managedRoutes: [{ name: "beta" }] });
    expect(routerRefs(ro)[0]).toMatchObject({ kind: "VirtualService", name: "web-vs", namespace: "shop" });
    const vs = {
      spec: {
        http: [
          { name: "beta", route: [{ destination: { host: "web-canary" }, weight: 100 }] },
          {
            name: "primary",
            route: [
              { destination: { host: "web-stable.shop.svc.cluster.local" }, weight: 70 },
              { destination: { host: "web-canary.shop.svc.cluster.local" }, weight: 30 },
            ],
          },
        ],
      },
    };
    expect(actualWeightOf(snapshot(ro, vs))).toEqual({
      weight: 30,
      source: "VirtualService shop/web-vs",
      detail: "stable 70, canary 30",
    });
  });

  it("NGINX: the canary Ingress's canary-weight (over canary-weight-total)", () => {
    const ro = routed({ nginx: { stableIngress: "web" }, maxTrafficWeight: 1000 });
    expect(routerRefs(ro)[0]).toMatchObject({ kind: "Ingress", name: "web-web-canary" });
    const ingress = {
      metadata: {
        name: "web-web-canary",
        namespace: "shop",
        annotations: {
          "nginx.ingress.kubernetes.io/canary": "true",
          "nginx.ingress.kubernetes.io/canary-weight": "250",
          "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
        },
      },
    };
    expect(actualWeightOf(snapshot(ro, ingress))).toEqual({
      weight: 250,
      source: "Ingress shop/web-web-canary",
      detail: "stable 750, canary 250",
    });
  });

  it("a router object that is missing falls back to the weights in status, saying so", () => {
    const ro = routed({ gatewayAPI: { httpRoute: "web" } });
    ro.status!.canary = { weights: { canary: { weight: 20 }, stable: { weight: 80 } } };
    const snap: RolloutSnapshot = {
      ...snapshot(ro, {}),
      routes: [{ ref: routerRefs(ro)[0]!, error: "not found" }],
    };
    expect(actualWeightOf(snap)).toEqual({
      weight: 20,
      source: "status",
      detail: "router not readable (not found)",
    });
  });
});
