/**
 * Canary through the Gateway API router, gated by a real Prometheus analysis of the sandbox's
 * simulated traffic, end to end (the Rollout and AnalysisRun controllers in-process, kubectl and
 * `/sim/traffic` as judges):
 *
 * - a good version walks setWeight 20 → pause 1s → analysis (Successful) → setWeight 50 →
 *   pause{} (half the requests reach it, within 4σ) → promote → stable; afterwards every request
 *   reaches the new pods;
 * - a bad version (`sim.slipway.dev/error-rate: "0.5"`) fails its analysis and is aborted with no
 *   human action: the HTTPRoute sends it nothing (share exactly 0 in a fresh window), the canary
 *   is scaled to 0 after abortScaleDownDelaySeconds, phase Degraded, and the Event names the
 *   metric and its value; `retry` starts the steps again under a new AnalysisRun (and is aborted
 *   again); putting the stable template back makes the Rollout Healthy.
 *
 * Skipped when Prometheus is not installed, unless REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusAvailable } from "../helpers/prometheus.js";
import type { KubeJson } from "../helpers/sandbox.js";
import { errorRateTemplate, RolloutsHarness, routeOf } from "./rollouts-harness.js";

const NS = "gw";
const RPS = 200;
const hasPrometheus = prometheusAvailable();
let h: RolloutsHarness;

/** The HTTPRoute's traffic over `seconds` whole seconds that all start after this call. */
const freshWindow = async (seconds: number) =>
  routeOf(await h.freshTraffic(seconds), NS, "HTTPRoute", "shop");

const rolloutYaml = (image: string, errorRate: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: shop, namespace: ${NS}}
spec:
  replicas: 4
  selector: {matchLabels: {app: shop}}
  template:
    metadata:
      labels: {app: shop}
      annotations: {"sim.slipway.dev/error-rate": "${errorRate}"}
    spec: {containers: [{name: shop, image: "${image}"}]}
  strategy:
    canary:
      canaryService: shop-canary
      stableService: shop-stable
      scaleDownDelaySeconds: 2
      abortScaleDownDelaySeconds: 2
      trafficRouting:
        gatewayAPI: {httpRoute: shop}
      steps:
        - setWeight: 20
        - pause: {duration: 1s}
        - analysis:
            templates: [{templateName: error-rate}]
            args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
        - setWeight: 50
        - pause: {}
`;

beforeAll(async () => {
  if (!hasPrometheus) return;
  h = await RolloutsHarness.start();
  const prom = await h.startPrometheus();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: shop-stable, namespace: ${NS}}
spec: {selector: {app: shop}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop-canary, namespace: ${NS}}
spec: {selector: {app: shop}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: ${NS}
  annotations: {"sim.slipway.dev/rps": "${RPS}"}
spec:
  parentRefs: [{name: gateway}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: shop-stable, port: 80}]
---
${errorRateTemplate(NS, prom.address)}`);
  await h.startController();
  await h.apply(rolloutYaml("shop:1", "0"));
  await h.waitRollout(NS, "shop", "first deploy Healthy", (r) => r.status?.phase === "Healthy");
}, 90_000);

afterAll(async () => {
  await h?.stop();
});

const backendWeights = (route: KubeJson) =>
  Object.fromEntries(
    (route.spec.rules[0].backendRefs as KubeJson[]).map((b) => [b.name as string, (b.weight ?? 1) as number]),
  );

describe.skipIf(!hasPrometheus)("canary through the Gateway API router, judged by Prometheus", () => {
  it("a good version walks every step, takes half the traffic at 50%, and becomes stable", async () => {
    const before = await h.get("rollout", NS, "shop");
    const stable = before.status.stableRS as string;
    await h.apply(rolloutYaml("shop:2", "0"));
    const paused = await h.waitRollout(
      NS,
      "shop",
      "pause{} after setWeight 50",
      (r) => r.status?.currentStepIndex === 4 && r.status.phase === "Paused" && r,
      45_000,
    );
    const canary = paused.status.currentPodHash as string;
    expect(paused.status.canary.weights).toMatchObject({
      canary: { weight: 50, podTemplateHash: canary, serviceName: "shop-canary" },
      stable: { weight: 50, podTemplateHash: stable, serviceName: "shop-stable" },
      verified: true,
    });
    expect(backendWeights(await h.get("httproute", NS, "shop"))).toEqual({
      "shop-stable": 50,
      "shop-canary": 50,
    });
    const run = await h.get("analysisrun", NS, `shop-${canary}-2`);
    expect(run.status.phase).toBe("Successful");
    const window = await freshWindow(3);
    const share = window.byHash[canary] ?? 0;
    expect(Math.abs(share - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / window.total));
    // The stable set stayed at full size the whole time (a router carries the weight).
    const sets = await h.replicaSets(NS, "shop");
    expect(sets.find((s) => s.metadata.name === `shop-${stable}`)!.spec.replicas).toBe(4);

    await h.patchStatus(NS, "shop", { status: { pauseConditions: null } });
    const done = await h.waitRollout(NS, "shop", "Healthy on the new version", (r) =>
      r.status?.phase === "Healthy" && r.status.stableRS === canary ? r : undefined,
    );
    expect(done.status.canary.weights.canary.weight).toBe(0);
    expect((await h.get("service", NS, "shop-stable")).spec.selector["rollouts-pod-template-hash"]).toBe(
      canary,
    );
    const after = await freshWindow(2);
    expect(after.byHash[canary]).toBe(1);
  });

  it("a bad version is aborted by its analysis: traffic back to stable, canary scaled down, Degraded", async () => {
    const stable = (await h.get("rollout", NS, "shop")).status.stableRS as string;
    await h.apply(rolloutYaml("shop:3", "0.5"));
    const aborted = await h.waitRollout(NS, "shop", "aborted", (r) => r.status?.abort === true && r, 45_000);
    const bad = aborted.status.currentPodHash as string;
    expect(aborted.status.phase).toBe("Degraded");
    expect(aborted.status.message).toMatch(
      /^RolloutAborted: analysis run shop-.*-2 failed: metric error-rate: result 0\.\d+ >= 0\.1/,
    );
    expect(aborted.status.abortedAt).toBeDefined();
    expect(aborted.status.conditions.find((c: KubeJson) => c.type === "Progressing")).toMatchObject({
      status: "False",
      reason: "RolloutAborted",
    });
    expect(backendWeights(await h.get("httproute", NS, "shop"))["shop-canary"]).toBe(0);
    expect((await h.get("service", NS, "shop-canary")).spec.selector["rollouts-pod-template-hash"]).toBe(
      stable,
    );
    // The canary keeps its pods for abortScaleDownDelaySeconds, then goes to 0.
    const canarySet = () =>
      h.replicaSets(NS, "shop").then((s) => s.find((x) => x.metadata.name === `shop-${bad}`)!);
    await h.waitRollout(
      NS,
      "shop",
      "canary scaled down",
      async () => (await canarySet()).spec.replicas === 0,
      15_000,
    );
    const window = await freshWindow(2);
    expect(window.byHash[bad] ?? 0).toBe(0);
    expect(window.byHash[stable]).toBe(1);
    const events = (await h.events(NS, "shop")).filter((e) => e.reason === "RolloutAborted");
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe("Warning");
    expect(events[0]!.message).toMatch(
      /analysis run shop-.*-2 failed: metric error-rate: result 0\.\d+ >= 0\.1/,
    );

    // retry: one clear effect — the steps start again, under a new AnalysisRun, and fail again.
    await h.patchStatus(NS, "shop", { status: { abort: false } });
    await h.waitRollout(
      NS,
      "shop",
      "retried",
      (r) => r.status?.abort !== true && r.status?.abortedAt === undefined,
    );
    const again = await h.waitRollout(
      NS,
      "shop",
      "aborted again",
      (r) => r.status?.abort === true && r,
      45_000,
    );
    expect(again.status.message).toContain(`analysis run shop-${bad}-2.1 failed`);
    const runs = (await h.list("analysisruns", NS, `rollouts-pod-template-hash=${bad}`)).map(
      (r) => r.metadata.name,
    );
    expect(runs.sort()).toEqual([`shop-${bad}-2`, `shop-${bad}-2.1`]);
    const reasons = (await h.events(NS, "shop")).map((e) => e.reason);
    expect(reasons).toContain("RolloutRetried");

    // undo: the stable template again → Healthy, abort cleared, nothing of the bad version left serving.
    const good = await h.get("rollout", NS, "shop");
    void good;
    await h.apply(rolloutYaml("shop:2", "0"));
    const healthy = await h.waitRollout(
      NS,
      "shop",
      "Healthy after undo",
      (r) => r.status?.phase === "Healthy" && r,
    );
    expect(healthy.status.stableRS).toBe(stable);
    expect(healthy.status.abort).toBeUndefined();
  });
});
