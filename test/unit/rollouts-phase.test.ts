/** Argo's phase rules (reference §1: CalculateRolloutPhase) and the progress check. */
import { describe, expect, it } from "vitest";
import type { RolloutStatus } from "../../api/v1alpha1/rollout.js";
import { computePhase, madeProgress, setCondition } from "../../controller/rollouts/status.js";
import type { RolloutObject } from "../../controller/rollouts/types.js";

const canary = (steps = 2, paused = false): RolloutObject => ({
  apiVersion: "slipway.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "web", namespace: "ns", generation: 3 },
  spec: {
    replicas: 4,
    paused,
    strategy: { canary: { steps: Array.from({ length: steps }, () => ({ setWeight: 50 })) } },
  },
});
const blueGreen: RolloutObject = {
  apiVersion: "slipway.dev/v1alpha1",
  kind: "Rollout",
  metadata: { name: "web", namespace: "ns", generation: 3 },
  spec: { replicas: 4, strategy: { blueGreen: { activeService: "a" } } },
};
const healthy: RolloutStatus = {
  observedGeneration: 3,
  replicas: 4,
  updatedReplicas: 4,
  availableReplicas: 4,
  currentStepIndex: 2,
  currentPodHash: "h2",
  stableRS: "h2",
  blueGreen: { activeSelector: "h2" },
};
const cond = (type: string, status: "True" | "False" | "Unknown", reason: string, message = "m") => ({
  conditions: [{ type, status, reason, message }],
});

describe("computePhase", () => {
  it.each<[string, RolloutObject, RolloutStatus, string, string]>([
    ["all done", canary(), healthy, "Healthy", ""],
    [
      "spec not observed yet",
      canary(),
      { ...healthy, observedGeneration: 2 },
      "Progressing",
      "waiting for rollout spec update to be observed",
    ],
    [
      "InvalidSpec",
      canary(),
      { ...healthy, ...cond("InvalidSpec", "True", "InvalidSpec", "bad") },
      "Degraded",
      "InvalidSpec: bad",
    ],
    [
      "aborted",
      canary(),
      { ...healthy, ...cond("Progressing", "False", "RolloutAborted", "why") },
      "Degraded",
      "RolloutAborted: why",
    ],
    [
      "deadline",
      canary(),
      { ...healthy, ...cond("Progressing", "False", "ProgressDeadlineExceeded", "late") },
      "Degraded",
      "ProgressDeadlineExceeded: late",
    ],
    ["spec.paused", canary(2, true), healthy, "Paused", "manually paused"],
    [
      "pause condition",
      canary(),
      { ...healthy, pauseConditions: [{ reason: "CanaryPauseStep", startTime: "2026-01-01T00:00:00Z" }] },
      "Paused",
      "CanaryPauseStep",
    ],
    [
      "replicas to update",
      canary(),
      { ...healthy, updatedReplicas: 2 },
      "Progressing",
      "more replicas need to be updated",
    ],
    [
      "becoming available",
      canary(),
      { ...healthy, availableReplicas: 3 },
      "Progressing",
      "updated replicas are still becoming available",
    ],
    [
      "steps left",
      canary(),
      { ...healthy, currentStepIndex: 1 },
      "Progressing",
      "more steps need to be performed",
    ],
    [
      "not promoted yet",
      canary(),
      { ...healthy, stableRS: "h1" },
      "Progressing",
      "waiting for rollout to finish steps",
    ],
    [
      "old pods going",
      canary(),
      { ...healthy, replicas: 6 },
      "Progressing",
      "old replicas are pending termination",
    ],
    [
      "blue-green cutover",
      blueGreen,
      { ...healthy, blueGreen: { activeSelector: "h1" } },
      "Progressing",
      "active service cutover pending",
    ],
    [
      "blue-green post analysis",
      blueGreen,
      { ...healthy, stableRS: "h1" },
      "Progressing",
      "waiting for analysis to complete",
    ],
    ["blue-green done", blueGreen, healthy, "Healthy", ""],
  ])("%s → %s", (_what, rollout, status, phase, message) => {
    expect(computePhase(rollout, status)).toEqual({ phase, message });
  });

  it("InvalidSpec wins over abort, abort over pause", () => {
    const status: RolloutStatus = {
      ...healthy,
      pauseConditions: [{ reason: "CanaryPauseStep", startTime: "2026-01-01T00:00:00Z" }],
      conditions: [
        { type: "Progressing", status: "False", reason: "RolloutAborted", message: "a" },
        { type: "InvalidSpec", status: "True", reason: "InvalidSpec", message: "i" },
      ],
    };
    expect(computePhase(canary(), status).phase).toBe("Degraded");
    expect(computePhase(canary(), status).message).toBe("InvalidSpec: i");
  });
});

describe("madeProgress", () => {
  it.each<[string, RolloutStatus, boolean]>([
    ["nothing moved", healthy, false],
    ["a pod got ready", { ...healthy, availableReplicas: 5 }, true],
    ["a step done", { ...healthy, currentStepIndex: 3 }, true],
    ["new stable", { ...healthy, stableRS: "h3" }, true],
    ["an old pod gone", { ...healthy, replicas: 3 }, true],
    ["a pod lost", { ...healthy, availableReplicas: 3 }, false],
  ])("%s → %s", (_w, next, progressed) => {
    expect(madeProgress(healthy, next)).toBe(progressed);
  });
});

describe("setCondition", () => {
  it("keeps timestamps when nothing changed, moves them when something did", () => {
    const s: RolloutStatus = {};
    setCondition(s, { type: "Available", status: "True", reason: "r", message: "m" }, "t1");
    setCondition(s, { type: "Available", status: "True", reason: "r", message: "m" }, "t2");
    expect(s.conditions?.[0]).toMatchObject({ lastUpdateTime: "t1", lastTransitionTime: "t1" });
    setCondition(s, { type: "Available", status: "True", reason: "r", message: "m2" }, "t3");
    expect(s.conditions?.[0]).toMatchObject({ lastUpdateTime: "t3", lastTransitionTime: "t1" });
    setCondition(s, { type: "Available", status: "False", reason: "r", message: "m2" }, "t4");
    expect(s.conditions?.[0]).toMatchObject({ lastUpdateTime: "t4", lastTransitionTime: "t4" });
  });
});
