/**
 * A canary through each of the other routers, driven by the Rollout controller and judged by the
 * traffic the sandbox routes through the objects they write: Istio host level (VirtualService
 * route weights between the stable and canary Services), Istio subset level (DestinationRule
 * subsets on pod hashes) and NGINX (a managed canary Ingress). Each
 * walks setWeight 30 → pause{} (≈30% of requests on the canary, within 4σ) → promote → stable,
 * after which every request reaches the new pods.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RolloutsHarness, type RouteTraffic, routeOf } from "./rollouts-harness.js";
import { type RouterScenario, routerScenarios } from "./rollouts-router-scenarios.js";

const RPS = 300;
const WINDOW = 3;
let h: RolloutsHarness;
const SCENARIOS = routerScenarios("r", RPS);

const rolloutYaml = (s: RouterScenario, image: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: shop, namespace: ${s.ns}}
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
      trafficRouting: {${s.routing}}
      steps: [{setWeight: 30}, {pause: {}}]
`;

/** Traffic per scenario over whole seconds that all start after this call. */
async function freshWindow(): Promise<Map<string, RouteTraffic>> {
  const routes = await h.freshTraffic(WINDOW);
  return new Map(SCENARIOS.map((s) => [s.ns, routeOf(routes, s.ns, s.kind, "shop")]));
}

beforeAll(async () => {
  h = await RolloutsHarness.start();
  for (const s of SCENARIOS) {
    await h.namespace(s.ns);
    await h.apply(s.objects);
  }
  await h.startController({ analysis: false });
  for (const s of SCENARIOS) await h.apply(rolloutYaml(s, "shop:1"));
  for (const s of SCENARIOS)
    await h.waitRollout(s.ns, "shop", "first deploy Healthy", (r) => r.status?.phase === "Healthy");
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe("canary through Istio (host and subset level) and NGINX", () => {
  it("30% of the requests reach the canary at setWeight 30, all of them once it is stable", async () => {
    for (const s of SCENARIOS) await h.apply(rolloutYaml(s, "shop:2"));
    const canaries = new Map<string, string>();
    for (const s of SCENARIOS) {
      const ro = await h.waitRollout(s.ns, "shop", `${s.ns} paused at 30%`, (r) =>
        r.status?.currentStepIndex === 1 && r.status.phase === "Paused" && r.status.canary?.weights?.verified
          ? r
          : undefined,
      );
      canaries.set(s.ns, ro.status.currentPodHash);
      expect(await s.canaryWeight(h), `${s.ns}: weight in the routing object`).toBe(30);
    }
    const window = await freshWindow();
    for (const s of SCENARIOS) {
      const t = window.get(s.ns)!;
      const share = t.byHash[canaries.get(s.ns)!] ?? 0;
      expect(Math.abs(share - 0.3), `${s.ns}: canary share ${share}`).toBeLessThanOrEqual(
        4 * Math.sqrt(0.21 / t.total),
      );
      expect(t.byHash[""] ?? 0, `${s.ns}: requests without a ready pod`).toBe(0);
    }
    for (const s of SCENARIOS) await h.patchStatus(s.ns, "shop", { status: { pauseConditions: null } });
    for (const s of SCENARIOS)
      await h.waitRollout(
        s.ns,
        "shop",
        `${s.ns} Healthy`,
        (r) => r.status?.phase === "Healthy" && r.status.stableRS === canaries.get(s.ns),
      );
    const after = await freshWindow();
    for (const s of SCENARIOS) expect(after.get(s.ns)!.byHash[canaries.get(s.ns)!], s.ns).toBe(1);
  });
});
