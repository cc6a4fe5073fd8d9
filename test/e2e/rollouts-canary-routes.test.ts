/**
 * A/B and shadow steps through the Gateway API router, judged by the sandbox's simulated traffic:
 * `setCanaryScale` gives the canary a pod without any weight, `setHeaderRoute` sends only the
 * `x-cohort: beta` cohort (20% of requests) to it, `setMirrorRoute` copies the other requests to it
 * (counted as mirrored, answers discarded) while they are served by stable, and the routes slipway
 * added are gone once the rollout completes (the HTTPRoute has only the user's rule again). A hand
 * edit of the HTTPRoute mid-rollout is found by the router's verify and put right, with a Warning.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeJson } from "../helpers/sandbox.js";
import { RolloutsHarness, routeOf } from "./rollouts-harness.js";

const NS = "ab";
const RPS = 400;
const COHORT = 0.2;
let h: RolloutsHarness;

/** The HTTPRoute's traffic over `seconds` whole seconds that all start after this call. */
const freshWindow = async (seconds: number) =>
  routeOf(await h.freshTraffic(seconds), NS, "HTTPRoute", "shop");

/** Within 4σ of a Binomial(n, p) share. */
function expectShare(share: number, n: number, p: number): void {
  expect(Math.abs(share - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / n));
}

const rolloutYaml = (image: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: shop, namespace: ${NS}}
spec:
  replicas: 3
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: shop, image: "${image}"}]}
  strategy:
    canary:
      canaryService: shop-canary
      stableService: shop-stable
      scaleDownDelaySeconds: 1
      trafficRouting:
        gatewayAPI: {httpRoute: shop}
        managedRoutes: [{name: beta}, {name: shadow}]
      steps:
        - setCanaryScale: {replicas: 1}
        - setHeaderRoute: {name: beta, match: [{headerName: x-cohort, headerValue: {exact: beta}}]}
        - pause: {}
        - setMirrorRoute: {name: shadow, percentage: 100, match: [{path: {prefix: /}}]}
        - pause: {}
        - setHeaderRoute: {name: beta}
        - setMirrorRoute: {name: shadow}
`;

beforeAll(async () => {
  h = await RolloutsHarness.start();
  await h.namespace(NS);
  await h.apply(`
apiVersion: v1
kind: Service
metadata: {name: shop-stable, namespace: ${NS}}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop-canary, namespace: ${NS}}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
  namespace: ${NS}
  annotations:
    sim.slipway.dev/rps: "${RPS}"
    sim.slipway.dev/headers: '[{"name":"x-cohort","value":"beta","fraction":${COHORT}}]'
spec:
  parentRefs: [{name: gateway}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: shop-stable, port: 80}]
`);
  // Routing state is checked again every 500 ms (default 5 min), to show a hand edit put right.
  await h.startController({ analysis: false, rollout: { trafficResyncMs: 500 } });
  await h.apply(rolloutYaml("shop:1"));
  await h.waitRollout(NS, "shop", "first deploy Healthy", (r) => r.status?.phase === "Healthy");
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe("A/B and shadow steps through the Gateway API router", () => {
  it("sends only the header cohort, then mirrors the rest, and removes its routes at the end", async () => {
    const stable = (await h.get("rollout", NS, "shop")).status.stableRS as string;
    await h.apply(rolloutYaml("shop:2"));
    const ab = await h.waitRollout(
      NS,
      "shop",
      "A/B pause",
      (r) => r.status?.currentStepIndex === 2 && r.status.phase === "Paused" && r,
    );
    const canary = ab.status.currentPodHash as string;
    expect(ab.status.canary.weights).toMatchObject({ canary: { weight: 0 }, verified: true });
    const sets = await h.replicaSets(NS, "shop");
    expect(sets.find((s) => s.metadata.name === `shop-${canary}`)!.spec.replicas).toBe(1);
    const w1 = await freshWindow(3);
    expectShare(w1.byHash[canary] ?? 0, w1.total, COHORT);
    expect(w1.mirrored[canary] ?? 0).toBe(0);

    // A hand edit of the routing object mid-rollout is seen and put right, with a Warning.
    const edited = await h.get("httproute", NS, "shop");
    const user = edited.spec.rules.find((r: KubeJson) => r.name !== "slipway-beta");
    for (const b of user.backendRefs as KubeJson[]) b.weight = 50;
    await h.sb.kubectlOk(["replace", "-f", "-"], { input: JSON.stringify(edited) });
    await h.waitRollout(NS, "shop", "the edit undone", async () => {
      const r = await h.get("httproute", NS, "shop");
      const u = r.spec.rules.find((x: KubeJson) => x.name !== "slipway-beta");
      return (u.backendRefs as KubeJson[]).find((b) => b.name === "shop-canary")?.weight === 0;
    });
    await h.processes[0]!.recorder.flush();
    const drift = (await h.events(NS, "shop")).filter((e) => e.reason === "TrafficRoutingDrift");
    expect(drift).toHaveLength(1);
    expect(drift[0]!.type).toBe("Warning");

    await h.patchStatus(NS, "shop", { status: { pauseConditions: null } });
    await h.waitRollout(
      NS,
      "shop",
      "shadow pause",
      (r) => r.status?.currentStepIndex === 4 && r.status.phase === "Paused",
    );
    const w2 = await freshWindow(3);
    // The cohort still goes to the canary; every other request is served by stable and copied to the canary.
    expectShare(w2.byHash[canary] ?? 0, w2.total, COHORT);
    expect(w2.byHash[stable]! + (w2.byHash[canary] ?? 0)).toBeCloseTo(1, 10);
    const stableServed = Math.round((w2.byHash[stable] ?? 0) * w2.total);
    expect(Math.abs((w2.mirrored[canary] ?? 0) - stableServed)).toBeLessThanOrEqual(2);
    expect(w2.mirrored[stable] ?? 0).toBe(0);
    const route = await h.get("httproute", NS, "shop");
    expect(JSON.parse(route.metadata.annotations["slipway.dev/managed-routes"])).toEqual(["beta", "shadow"]);

    await h.patchStatus(NS, "shop", { status: { pauseConditions: null } });
    await h.waitRollout(
      NS,
      "shop",
      "Healthy on shop:2",
      (r) => r.status?.phase === "Healthy" && r.status.stableRS === canary,
    );
    const after = await h.get("httproute", NS, "shop");
    expect(after.metadata.annotations["slipway.dev/managed-routes"]).toBeUndefined();
    expect(after.spec.rules).toHaveLength(1);
    expect((after.spec.rules[0].backendRefs as KubeJson[]).map((b) => [b.name, b.weight])).toEqual([
      ["shop-stable", 100],
      ["shop-canary", 0],
    ]);
    const w3 = await freshWindow(2);
    expect(w3.byHash[canary]).toBe(1);
    expect(w3.mirrored).toEqual({});
  });
});
