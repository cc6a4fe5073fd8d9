/**
 * A canary without a traffic router, end to end: the first deploy goes straight to stable; a new
 * version walks setWeight 20 → pause 1s → setWeight 60 → pause{} → promote (pauseConditions
 * cleared, as `slipway rollout promote` does) → 100% and becomes stable; the old ReplicaSet is
 * scaled down after scaleDownDelaySeconds. kubectl judges ReplicaSets, Services, status and Events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness } from "./rollouts-harness.js";

const NS = "basic";
let h: RolloutsHarness;

const rolloutYaml = (image: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "${image}"}]}
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      scaleDownDelaySeconds: 2
      canaryMetadata: {labels: {role: canary}}
      stableMetadata: {labels: {role: stable}}
      steps:
        - setWeight: 20
        - pause: {duration: 1s}
        - setWeight: 60
        - pause: {}
`;

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: web-stable, namespace: ${NS}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-canary, namespace: ${NS}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`);
  await h.startController();
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

const counts = (sets: KubeJson[]) =>
  Object.fromEntries(sets.map((rs) => [rs.metadata.labels["rollouts-pod-template-hash"], rs.spec.replicas]));

describe("canary without a router", () => {
  let stable = "";
  it("the first deploy goes straight to stable", async () => {
    await h.apply(rolloutYaml("web:1"));
    const ro = await h.waitRollout(NS, "web", "Healthy", (r) => r.status?.phase === "Healthy" && r);
    stable = ro.status.stableRS;
    expect(ro.status.currentPodHash).toBe(stable);
    expect(ro.status.currentStepIndex).toBe(4);
    expect(ro.status.availableReplicas).toBe(5);
    expect(ro.status.selector).toBe("app=web");
    const sets = await h.replicaSets(NS, "web");
    expect(sets.map((s) => s.metadata.name)).toEqual([`web-${stable}`]);
    expect(sets[0]!.spec.selector.matchLabels).toEqual({ app: "web", "rollouts-pod-template-hash": stable });
    for (const svc of ["web-stable", "web-canary"]) {
      const s = await h.get("service", NS, svc);
      expect(s.spec.selector["rollouts-pod-template-hash"]).toBe(stable);
      expect(s.metadata.annotations["argo-rollouts.argoproj.io/managed-by-rollouts"]).toBe("web");
    }
  });

  it("a new version walks the steps, waits for promote, becomes stable", async () => {
    await h.apply(rolloutYaml("web:2"));
    const paused = await h.waitRollout(
      NS,
      "web",
      "the indefinite pause at step 4",
      (r) => r.status?.currentStepIndex === 3 && r.status?.phase === "Paused" && r,
    );
    const canary = paused.status.currentPodHash as string;
    expect(canary).not.toBe(stable);
    expect(paused.status.pauseConditions).toEqual([
      { reason: "CanaryPauseStep", startTime: expect.any(String) },
    ]);
    expect(paused.status.message).toBe("CanaryPauseStep");
    // 60% of 5 → 3 canary / 2 stable, and the canary Service on the canary pods.
    expect(counts(await h.replicaSets(NS, "web"))).toEqual({ [stable]: 2, [canary]: 3 });
    expect((await h.get("service", NS, "web-canary")).spec.selector["rollouts-pod-template-hash"]).toBe(
      canary,
    );
    expect((await h.get("service", NS, "web-stable")).spec.selector["rollouts-pod-template-hash"]).toBe(
      stable,
    );
    const pods = await h.list("pods", NS, `rollouts-pod-template-hash=${canary}`);
    expect(pods.every((p) => p.metadata.labels.role === "canary")).toBe(true);

    // promote: clear the pause conditions
    await h.patchStatus(NS, "web", { status: { pauseConditions: null } });
    await h.waitRollout(NS, "web", "the canary promoted to stable", (r) => r.status?.stableRS === canary);
    const promotedAt = Date.now();
    // The old stable set keeps its pods for scaleDownDelaySeconds (2 s) after the promotion.
    expect(counts(await h.replicaSets(NS, "web"))[stable]).toBeGreaterThan(0);
    await h.waitRollout(
      NS,
      "web",
      "old set scaled down",
      async () => counts(await h.replicaSets(NS, "web"))[stable] === 0,
    );
    expect(Date.now() - promotedAt).toBeGreaterThan(1500);
    const done = await h.waitRollout(NS, "web", "Healthy on the new version", (r) =>
      r.status?.phase === "Healthy" && r.status.stableRS === canary ? r : undefined,
    );
    expect(done.status.currentStepIndex).toBe(4);
    const sets = await h.replicaSets(NS, "web");
    expect(counts(sets)).toEqual({ [stable]: 0, [canary]: 5 });
    expect((await h.get("service", NS, "web-stable")).spec.selector["rollouts-pod-template-hash"]).toBe(
      canary,
    );
    const reasons = (await h.events(NS, "web")).map((e) => `${e.reason}: ${e.message}`);
    expect(reasons.filter((r) => r.startsWith("RolloutStepCompleted"))).toHaveLength(4);
    expect(reasons.some((r) => r.startsWith("RolloutCompleted"))).toBe(true);
  });
});
