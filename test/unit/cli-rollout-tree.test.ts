/**
 * `slipway rollout get`'s renderer: golden text for a canary paused at a pause step with traffic
 * weights read from its HTTPRoute and a background analysis run, a blue-green rollout waiting
 * for promotion, an aborted canary, and colour on/off. The renderer is a pure function of the
 * objects and the time, so each case is plain data in, exact lines out.
 */
import { describe, expect, it } from "vitest";
import type { AnalysisPhase, AnalysisRun } from "../../api/v1alpha1/analysis.js";
import type { Rollout } from "../../api/v1alpha1/rollout.js";
import {
  actualWeightOf,
  type JobJson,
  type PodJson,
  phaseOf,
  type ReplicaSetJson,
  type RolloutSnapshot,
  type RouteObjectJson,
  setWeightOf,
  stepText,
} from "../../cli/rollout-state.js";
import { renderRollout } from "../../cli/rollout-tree.js";

const NOW = new Date("2025-03-01T12:00:00Z");
/** A time `s` seconds before NOW. */
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString().replace(".000Z", "Z");

const UID = "6f1c1a52-0000-4000-8000-000000000001";
const owner = (kind: string, name: string, uid: string) => ({
  apiVersion: kind === "Rollout" || kind === "AnalysisRun" ? "slipway.dev/v1alpha1" : "apps/v1",
  kind,
  name,
  uid,
  controller: true,
});

function replicaSet(
  rollout: string,
  hash: string,
  revision: number,
  opts: {
    replicas: number;
    available?: number;
    image: string;
    created: number;
    annotations?: Record<string, string>;
  },
): ReplicaSetJson {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${rollout}-${hash}`,
      namespace: "shop",
      uid: `rs-${hash}`,
      creationTimestamp: ago(opts.created),
      labels: { app: rollout, "rollouts-pod-template-hash": hash },
      annotations: { "rollout.argoproj.io/revision": String(revision), ...opts.annotations },
      ownerReferences: [owner("Rollout", rollout, UID)],
    },
    spec: {
      replicas: opts.replicas,
      template: {
        metadata: { labels: { app: rollout, "rollouts-pod-template-hash": hash } },
        spec: { containers: [{ name: "app", image: opts.image }] },
      },
    },
    status: {
      replicas: opts.replicas,
      readyReplicas: opts.available ?? opts.replicas,
      availableReplicas: opts.available ?? opts.replicas,
    },
  };
}

function pod(
  rs: ReplicaSetJson,
  suffix: string,
  opts: { ready?: boolean; created: number; restarts?: number; waiting?: string },
): PodJson {
  const ready = opts.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${rs.metadata.name}-${suffix}`,
      namespace: "shop",
      creationTimestamp: ago(opts.created),
      ownerReferences: [owner("ReplicaSet", rs.metadata.name!, rs.metadata.uid!)],
    },
    spec: { containers: [{ name: "app" }] },
    status: {
      phase: opts.waiting ? "Pending" : "Running",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      containerStatuses: [
        {
          name: "app",
          ready,
          restartCount: opts.restarts ?? 0,
          state: opts.waiting ? { waiting: { reason: opts.waiting } } : { running: {} },
        },
      ],
    },
  };
}

function analysisRun(
  name: string,
  hash: string,
  opts: {
    phase: AnalysisPhase;
    created: number;
    values: [string, string[], number, number][];
    message?: string;
  },
): AnalysisRun {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "AnalysisRun",
    metadata: {
      name,
      namespace: "shop",
      uid: `ar-${name}`,
      creationTimestamp: ago(opts.created),
      labels: { "rollouts-pod-template-hash": hash },
      ownerReferences: [owner("Rollout", "web", UID)],
    },
    spec: {
      metrics: opts.values.map(([metric]) => ({ name: metric, provider: { prometheus: { query: "up" } } })),
    },
    status: {
      phase: opts.phase,
      ...(opts.message ? { message: opts.message } : {}),
      metricResults: opts.values.map(([metric, values, ok, failed]) => ({
        name: metric,
        phase: failed > 0 && opts.phase === "Failed" ? "Failed" : opts.phase,
        successful: ok,
        failed,
        count: ok + failed,
        measurements: values.map((value, i) => ({
          phase: "Successful" as const,
          value,
          startedAt: ago(60 * (values.length - i)),
          finishedAt: ago(60 * (values.length - i)),
        })),
      })),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Canary paused at steps[3] (Step 3/8), weight 20 through an HTTPRoute, background analysis.

const canarySteps: NonNullable<NonNullable<Rollout["spec"]["strategy"]["canary"]>["steps"]> = [
  { setWeight: 10 },
  { pause: { duration: "30s" } },
  { setWeight: 20 },
  { pause: {} },
  { analysis: { templates: [{ templateName: "success-rate" }] } },
  { setWeight: 50 },
  { pause: { duration: "5m" } },
  { setWeight: 80 },
];

function canaryRollout(status: NonNullable<Rollout["status"]>): Rollout {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web", namespace: "shop", uid: UID, generation: 4, creationTimestamp: ago(3 * 86400) },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "shop/web:1.27" }] },
      },
      strategy: {
        canary: {
          canaryService: "web-canary",
          stableService: "web-stable",
          trafficRouting: { gatewayAPI: { httpRoute: "web" } },
          analysis: { templates: [{ templateName: "error-rate" }], startingStep: 2 },
          steps: canarySteps,
        },
      },
    },
    status,
  };
}

const stableRS = replicaSet("web", "58b7d9c44f", 1, {
  replicas: 5,
  image: "shop/web:1.25",
  created: 3 * 86400,
});
const canaryRS = replicaSet("web", "6d9f7c8b5", 2, { replicas: 1, image: "shop/web:1.27", created: 300 });
const oldRS = replicaSet("web", "7c5f8d6b9", 3, { replicas: 0, image: "shop/web:1.26", created: 7200 });
oldRS.metadata.annotations!["rollout.argoproj.io/revision"] = "0";

const httpRoute = (stable: number, canary: number): RouteObjectJson => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "web", namespace: "shop" },
  spec: {
    rules: [
      {
        backendRefs: [
          { name: "web-stable", port: 80, weight: stable },
          { name: "web-canary", port: 80, weight: canary },
        ],
      },
    ],
  },
});

const pausedCanary: RolloutSnapshot = {
  rollout: canaryRollout({
    phase: "Paused",
    message: "CanaryPauseStep",
    observedGeneration: 4,
    currentStepIndex: 3,
    currentPodHash: "6d9f7c8b5",
    stableRS: "58b7d9c44f",
    pauseConditions: [{ reason: "CanaryPauseStep", startTime: ago(130) }],
    controllerPause: true,
    replicas: 6,
    updatedReplicas: 1,
    readyReplicas: 6,
    availableReplicas: 6,
    canary: {
      currentBackgroundAnalysisRunStatus: { name: "web-6d9f7c8b5-2", status: "Running" },
      weights: { canary: { weight: 20 }, stable: { weight: 80 } },
    },
  }),
  replicaSets: [stableRS, canaryRS],
  pods: [
    pod(canaryRS, "x2kqn", { created: 290 }),
    ...["b9x4d", "2t2dk", "hwq8z", "m4l7p", "zr5cj"].map((s) =>
      pod(stableRS, s, { created: 3 * 86400 - 60 }),
    ),
  ],
  analysisRuns: [
    analysisRun("web-6d9f7c8b5-2", "6d9f7c8b5", {
      phase: "Running",
      created: 200,
      values: [
        ["error-rate", ["[0.004]", "[0.0062]", "[0.0031]"], 3, 0],
        ["p99-latency", ["[0.181]", "[0.2049999]"], 2, 0],
      ],
    }),
  ],
  jobs: [],
  routes: [
    {
      ref: {
        kind: "HTTPRoute",
        group: "gateway.networking.k8s.io",
        version: "v1",
        plural: "httproutes",
        namespace: "shop",
        name: "web",
      },
      object: httpRoute(80, 20),
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// Blue-green waiting for promotion: the preview is up, the active Service still on stable.

const bgStable = replicaSet("shop", "5d8c7b6a9f", 4, { replicas: 2, image: "shop/api:2.3", created: 86400 });
const bgPreview = replicaSet("shop", "7f9e8d7c6b", 5, {
  replicas: 2,
  available: 1,
  image: "shop/api:2.4",
  created: 600,
});
const bgOld = replicaSet("shop", "4c3b2a1f0e", 3, {
  replicas: 0,
  image: "shop/api:2.2",
  created: 3 * 86400,
});
const bgRollout: Rollout = {
  apiVersion: "slipway.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "shop", namespace: "shop", uid: UID, generation: 7, creationTimestamp: ago(10 * 86400) },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "shop" } },
    template: {
      metadata: { labels: { app: "shop" } },
      spec: { containers: [{ name: "api", image: "shop/api:2.4" }] },
    },
    strategy: {
      blueGreen: {
        activeService: "shop-active",
        previewService: "shop-preview",
        autoPromotionEnabled: true,
        autoPromotionSeconds: 300,
        prePromotionAnalysis: { templates: [{ templateName: "smoke" }] },
      },
    },
  },
  status: {
    phase: "Paused",
    message: "BlueGreenPause",
    observedGeneration: 7,
    currentPodHash: "7f9e8d7c6b",
    stableRS: "5d8c7b6a9f",
    pauseConditions: [{ reason: "BlueGreenPause", startTime: ago(75) }],
    controllerPause: true,
    replicas: 4,
    updatedReplicas: 2,
    readyReplicas: 4,
    availableReplicas: 2,
    blueGreen: {
      activeSelector: "5d8c7b6a9f",
      previewSelector: "7f9e8d7c6b",
      prePromotionAnalysisRunStatus: { name: "shop-7f9e8d7c6b-5-pre", status: "Successful" },
    },
  },
};
const smokeRun = analysisRun("shop-7f9e8d7c6b-5-pre", "7f9e8d7c6b", {
  phase: "Successful",
  created: 500,
  values: [["smoke", ["1"], 1, 0]],
});
smokeRun.metadata.ownerReferences = [owner("Rollout", "shop", UID)];
smokeRun.spec.metrics = [{ name: "smoke", provider: { job: { spec: {} } } }];
const smokeJob: JobJson = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: {
    name: "shop-7f9e8d7c6b-5-pre.smoke.1",
    namespace: "shop",
    creationTimestamp: ago(490),
    ownerReferences: [owner("AnalysisRun", "shop-7f9e8d7c6b-5-pre", "ar-shop-7f9e8d7c6b-5-pre")],
  },
  status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] },
};
for (const rs of [bgStable, bgPreview, bgOld]) rs.metadata.ownerReferences = [owner("Rollout", "shop", UID)];

const blueGreen: RolloutSnapshot = {
  rollout: bgRollout,
  replicaSets: [bgOld, bgPreview, bgStable],
  pods: [
    pod(bgPreview, "q7w2e", { created: 590 }),
    pod(bgPreview, "z9x8c", { created: 590, ready: false, waiting: "ContainerCreating" }),
    pod(bgStable, "a1s2d", { created: 86000 }),
    pod(bgStable, "f3g4h", { created: 86000, restarts: 2 }),
  ],
  analysisRuns: [smokeRun],
  jobs: [smokeJob],
  routes: [],
};

// ---------------------------------------------------------------------------------------------
// A canary aborted by its analysis step: traffic back on stable, the canary on its way down.

const abortedRS = replicaSet("web", "6d9f7c8b5", 2, {
  replicas: 1,
  available: 0,
  image: "shop/web:1.27",
  created: 900,
});
const failedRun = analysisRun("web-6d9f7c8b5-2-4", "6d9f7c8b5", {
  phase: "Failed",
  created: 400,
  message: 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
  values: [["success-rate", ["[0.97]", "[0.81]", "[0.62]"], 1, 2]],
});
const aborted: RolloutSnapshot = {
  rollout: canaryRollout({
    phase: "Degraded",
    message:
      'RolloutAborted: analysis run web-6d9f7c8b5-2-4 failed: metric "success-rate" = [0.62] (failed 2 > failureLimit 1)',
    observedGeneration: 4,
    currentStepIndex: 4,
    currentPodHash: "6d9f7c8b5",
    stableRS: "58b7d9c44f",
    abort: true,
    abortedAt: ago(20),
    replicas: 6,
    updatedReplicas: 1,
    readyReplicas: 6,
    availableReplicas: 6,
    canary: {
      currentStepAnalysisRunStatus: { name: "web-6d9f7c8b5-2-4", status: "Failed" },
      weights: { canary: { weight: 0 }, stable: { weight: 100 } },
    },
  }),
  replicaSets: [stableRS, abortedRS],
  pods: [
    pod(abortedRS, "x2kqn", { created: 890, ready: false, waiting: "CrashLoopBackOff", restarts: 5 }),
    pod(stableRS, "b9x4d", { created: 3 * 86400 - 60 }),
  ],
  analysisRuns: [failedRun],
  jobs: [],
  routes: [{ ...pausedCanary.routes[0]!, object: httpRoute(100, 0) }],
};

describe("rollout state", () => {
  it("reads step, set weight and actual weight like kubectl-argo-rollouts", () => {
    expect(stepText(pausedCanary.rollout)).toBe("3/8");
    expect(setWeightOf(pausedCanary.rollout)).toBe(20);
    expect(actualWeightOf(pausedCanary)).toEqual({
      weight: 20,
      source: "HTTPRoute shop/web",
      detail: "stable 80, canary 20",
    });
    expect(phaseOf(pausedCanary.rollout)).toEqual({ phase: "Paused", message: "CanaryPauseStep" });
    expect(setWeightOf(aborted.rollout)).toBe(0);
    expect(stepText(bgRollout)).toBe("-");
    expect(setWeightOf(bgRollout)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// A basic canary (no router) that just completed: the old stable waits out its scale-down delay.

const basicNew = replicaSet("api", "8a7b6c5d4e", 7, { replicas: 2, image: "shop/api:3.1", created: 240 });
const basicOld = replicaSet("api", "1f2e3d4c5b", 6, {
  replicas: 2,
  image: "shop/api:3.0",
  created: 7200,
  annotations: {
    "argo-rollouts.argoproj.io/scale-down-deadline": new Date(NOW.getTime() + 25_000).toISOString(),
  },
});
for (const rs of [basicNew, basicOld]) rs.metadata.ownerReferences = [owner("Rollout", "api", UID)];
const completed: RolloutSnapshot = {
  rollout: {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "api", namespace: "shop", uid: UID, generation: 9, creationTimestamp: ago(20 * 86400) },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "api" } },
      template: {
        metadata: { labels: { app: "api" } },
        spec: { containers: [{ name: "api", image: "shop/api:3.1" }] },
      },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: 60 } }] } },
    },
    status: {
      phase: "Healthy",
      observedGeneration: 9,
      currentStepIndex: 2,
      currentPodHash: "8a7b6c5d4e",
      stableRS: "8a7b6c5d4e",
      replicas: 4,
      updatedReplicas: 2,
      readyReplicas: 4,
      availableReplicas: 4,
    },
  },
  replicaSets: [basicOld, basicNew],
  pods: [pod(basicNew, "k2j3h", { created: 230 }), pod(basicNew, "p0o9i", { created: 200 })],
  analysisRuns: [],
  jobs: [],
  routes: [],
};

// ---------------------------------------------------------------------------------------------
// Golden text. Kept exactly as a terminal shows it (no colour), one constant per case.

const PAUSED = `
Name:            web
Namespace:       shop
Status:          ॥ Paused
Message:         CanaryPauseStep
Strategy:        Canary
  Step:          3/8
  SetWeight:     20
  ActualWeight:  20 (HTTPRoute shop/web: stable 80, canary 20)
Images:          shop/web:1.25 (stable)
                 shop/web:1.27 (canary)
Replicas:
  Desired:       5
  Current:       6
  Updated:       1
  Ready:         6
  Available:     6
Paused:          at pause step steps[3] for 2m10s: waits for "slipway rollout promote web"

NAME                             KIND         STATUS     AGE    INFO
⟳ web                            Rollout      ॥ Paused   3d
├──# revision:2
│  ├──⧉ web-6d9f7c8b5            ReplicaSet   ✔ Healthy  5m     canary
│  │  └──□ web-6d9f7c8b5-x2kqn   Pod          ✔ Running  4m50s  ready:1/1
│  └──α web-6d9f7c8b5-2          AnalysisRun  ◌ Running  3m20s  ✔ 5, ✖ 0  error-rate=0.0031 p99-latency=0.205
└──# revision:1
   └──⧉ web-58b7d9c44f           ReplicaSet   ✔ Healthy  3d     stable
      ├──□ web-58b7d9c44f-2t2dk  Pod          ✔ Running  2d23h  ready:1/1
      ├──□ web-58b7d9c44f-b9x4d  Pod          ✔ Running  2d23h  ready:1/1
      ├──□ web-58b7d9c44f-hwq8z  Pod          ✔ Running  2d23h  ready:1/1
      ├──□ web-58b7d9c44f-m4l7p  Pod          ✔ Running  2d23h  ready:1/1
      └──□ web-58b7d9c44f-zr5cj  Pod          ✔ Running  2d23h  ready:1/1
`;
const BLUE_GREEN = `
Name:            shop
Namespace:       shop
Status:          ॥ Paused
Message:         BlueGreenPause
Strategy:        BlueGreen
Images:          shop/api:2.3 (stable, active)
                 shop/api:2.4 (preview)
Replicas:
  Desired:       2
  Current:       4
  Updated:       2
  Ready:         4
  Available:     2
Paused:          preview waits for promotion for 1m15s: promoted automatically in 3m45s, or now with "slipway rollout promote shop"

NAME                                      KIND         STATUS               AGE    INFO
⟳ shop                                    Rollout      ॥ Paused             10d
├──# revision:5
│  ├──⧉ shop-7f9e8d7c6b                   ReplicaSet   ◌ Progressing        10m    preview
│  │  ├──□ shop-7f9e8d7c6b-q7w2e          Pod          ✔ Running            9m50s  ready:1/1
│  │  └──□ shop-7f9e8d7c6b-z9x8c          Pod          ◌ ContainerCreating  9m50s  ready:0/1
│  └──α shop-7f9e8d7c6b-5-pre             AnalysisRun  ✔ Successful         8m20s  ✔ 1, ✖ 0  smoke=1
│     └──⊞ shop-7f9e8d7c6b-5-pre.smoke.1  Job          ✔ Successful         8m10s
├──# revision:4
│  └──⧉ shop-5d8c7b6a9f                   ReplicaSet   ✔ Healthy            24h    stable,active
│     ├──□ shop-5d8c7b6a9f-a1s2d          Pod          ✔ Running            23h    ready:1/1
│     └──□ shop-5d8c7b6a9f-f3g4h          Pod          ✔ Running            23h    ready:1/1,restarts:2
└──# revision:3
   └──⧉ shop-4c3b2a1f0e                   ReplicaSet   • ScaledDown         3d
`;
const ABORTED = `
Name:            web
Namespace:       shop
Status:          ✖ Degraded
Message:         RolloutAborted: analysis run web-6d9f7c8b5-2-4 failed: metric "success-rate" = [0.62] (failed 2 > failureLimit 1)
Strategy:        Canary
  Step:          4/8
  SetWeight:     0
  ActualWeight:  0 (HTTPRoute shop/web: stable 100, canary 0)
Images:          shop/web:1.25 (stable)
                 shop/web:1.27 (canary)
Replicas:
  Desired:       5
  Current:       6
  Updated:       1
  Ready:         6
  Available:     6
Aborted:         analysis run web-6d9f7c8b5-2-4 failed: metric "success-rate" = [0.62] (failed 2 > failureLimit 1); aborted 20s ago, traffic is back on stable; "slipway rollout retry web" runs the update again

NAME                             KIND         STATUS              AGE    INFO
⟳ web                            Rollout      ✖ Degraded          3d
├──# revision:2
│  ├──⧉ web-6d9f7c8b5            ReplicaSet   ◌ Progressing       15m    canary
│  │  └──□ web-6d9f7c8b5-x2kqn   Pod          ✖ CrashLoopBackOff  14m    ready:0/1,restarts:5
│  └──α web-6d9f7c8b5-2-4        AnalysisRun  ✖ Failed            6m40s  ✔ 1, ✖ 2  success-rate=0.62
└──# revision:1
   └──⧉ web-58b7d9c44f           ReplicaSet   ✔ Healthy           3d     stable
      └──□ web-58b7d9c44f-b9x4d  Pod          ✔ Running           2d23h  ready:1/1
`;
const COMPLETED = `
Name:            api
Namespace:       shop
Status:          ✔ Healthy
Strategy:        Canary
  Step:          2/2
  SetWeight:     100
  ActualWeight:  100
Images:          shop/api:3.1 (stable)
Replicas:
  Desired:       2
  Current:       4
  Updated:       2
  Ready:         4
  Available:     4

NAME                             KIND        STATUS     AGE    INFO
⟳ api                            Rollout     ✔ Healthy  20d
├──# revision:7
│  └──⧉ api-8a7b6c5d4e           ReplicaSet  ✔ Healthy  4m     stable
│     ├──□ api-8a7b6c5d4e-k2j3h  Pod         ✔ Running  3m50s  ready:1/1
│     └──□ api-8a7b6c5d4e-p0o9i  Pod         ✔ Running  3m20s  ready:1/1
└──# revision:6
   └──⧉ api-1f2e3d4c5b           ReplicaSet  ✔ Healthy  120m   delay:25s
`;

/** ANSI colour codes out, to compare a coloured drawing with the plain one. */
const plain = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");

const render = (snapshot: RolloutSnapshot, color = false) =>
  `\n${renderRollout(snapshot, NOW, { color }).join("\n")}\n`;

describe("rollout get tree", () => {
  it("canary paused at step 3/8: set and actual weight from the HTTPRoute, background analysis values", () => {
    expect(render(pausedCanary)).toBe(PAUSED);
  });

  it("blue-green waiting for promotion: active and preview sets, pre-promotion run and its Job", () => {
    expect(render(blueGreen)).toBe(BLUE_GREEN);
  });

  it("aborted canary: the reason line, failed run with its last value, traffic back on stable", () => {
    expect(render(aborted)).toBe(ABORTED);
  });

  it("completed basic canary: weight from replicas, old set waiting out its scale-down delay", () => {
    expect(render(completed)).toBe(COMPLETED);
  });

  it("colour: only status cells and the reason lines are coloured; the text is the same", () => {
    const coloured = render(aborted, true);
    expect(plain(coloured)).toBe(ABORTED);
    const lines = coloured.split("\n");
    const ESC = String.fromCharCode(27);
    expect(lines).toContain(`Status:          ${ESC}[31m✖ Degraded${ESC}[0m`);
    expect(lines).toContain(
      `│  ├──⧉ web-6d9f7c8b5            ReplicaSet   ${ESC}[33m◌ Progressing${ESC}[0m       15m    canary`,
    );
    expect(lines.find((l) => l.startsWith("Aborted:"))).toMatch(
      new RegExp(`^Aborted: +${ESC}\\[31m.*${ESC}\\[0m$`),
    );
    expect(render(pausedCanary, true)).toContain(`${ESC}[36m॥ Paused${ESC}[0m`);
    // Without colour there is no escape at all.
    for (const snap of [pausedCanary, blueGreen, aborted, completed]) expect(render(snap)).not.toContain(ESC);
  });

  it("is deterministic: input order does not change the output", () => {
    const shuffled: RolloutSnapshot = {
      ...pausedCanary,
      replicaSets: [...pausedCanary.replicaSets].reverse(),
      pods: [...pausedCanary.pods].reverse(),
    };
    expect(render(shuffled)).toBe(PAUSED);
  });
});
