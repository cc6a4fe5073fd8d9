/**
 * A bad version aborted by real Prometheus analysis through each of the other routers (Istio host
 * level, Istio subset level, NGINX), side by side in one sandbox — what
 * rollouts-canary-gateway.test.ts shows for the Gateway API router. Each version answers half its
 * requests with errors (`sim.slipway.dev/error-rate: "0.5"`); its canary walks setWeight 30 →
 * pause 1s → analysis, the analysis fails, and with no human action: the routing object sends the
 * canary weight 0, a fresh `/sim/traffic` window shows no request on the bad pods and every one
 * on stable, the canary set is scaled to 0 after abortScaleDownDelaySeconds, the phase is
 * Degraded with the failing metric in the message and in one RolloutAborted Event.
 *
 * Skipped when Prometheus is not installed, unless REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusAvailable } from "../helpers/prometheus.js";
import type { KubeJson } from "../helpers/sandbox.js";
import { errorRateTemplate, RolloutsHarness, routeOf } from "./rollouts-harness.js";
import { type RouterScenario, routerScenarios } from "./rollouts-router-scenarios.js";

const RPS = 200;
const hasPrometheus = prometheusAvailable();
const SCENARIOS = routerScenarios("abort", RPS);
let h: RolloutsHarness;

const rolloutYaml = (s: RouterScenario, image: string, errorRate: string) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: shop, namespace: ${s.ns}}
spec:
  replicas: 3
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
      abortScaleDownDelaySeconds: 2
      trafficRouting: {${s.routing}}
      steps:
        - setWeight: 30
        - pause: {duration: 1s}
        - analysis:
            templates: [{templateName: error-rate}]
            args: [{name: hash, valueFrom: {podTemplateHashValue: Latest}}]
        - setWeight: 60
        - pause: {}
`;

beforeAll(async () => {
  if (!hasPrometheus) return;
  h = await RolloutsHarness.start();
  const prom = await h.startPrometheus();
  for (const s of SCENARIOS) {
    await h.namespace(s.ns);
    await h.apply(`${s.objects}\n---${errorRateTemplate(s.ns, prom.address)}`);
  }
  await h.startController();
  for (const s of SCENARIOS) await h.apply(rolloutYaml(s, "shop:1", "0"));
  for (const s of SCENARIOS)
    await h.waitRollout(s.ns, "shop", `${s.ns}: first deploy Healthy`, (r) => r.status?.phase === "Healthy");
}, 90_000);

afterAll(async () => {
  await h?.stop();
});

describe.skipIf(!hasPrometheus)(
  "a bad version aborted by Prometheus analysis through Istio and NGINX",
  () => {
    it("traffic back to stable in the routing object and on the wire, canary scaled down, Degraded", async () => {
      const stable = new Map<string, string>();
      for (const s of SCENARIOS) stable.set(s.ns, (await h.get("rollout", s.ns, "shop")).status.stableRS);
      for (const s of SCENARIOS) await h.apply(rolloutYaml(s, "shop:2", "0.5"));

      const bad = new Map<string, string>();
      for (const s of SCENARIOS) {
        const aborted = await h.waitRollout(
          s.ns,
          "shop",
          `${s.ns}: aborted`,
          (r) => r.status?.abort === true && r,
          45_000,
        );
        bad.set(s.ns, aborted.status.currentPodHash);
        expect(aborted.status.phase, s.ns).toBe("Degraded");
        expect(aborted.status.message, s.ns).toMatch(
          /^RolloutAborted: analysis run shop-.*-2 failed: metric error-rate: result 0\.\d+ >= 0\.1/,
        );
        // The canary had taken its 30% before the analysis failed: the abort moved real traffic.
        expect(aborted.status.currentStepIndex, s.ns).toBe(2);
        expect(await s.canaryWeight(h), `${s.ns}: canary weight in the routing object`).toBe(0);
        expect(aborted.status.canary.weights.canary.weight, s.ns).toBe(0);
      }
      for (const s of SCENARIOS) {
        await h.waitRollout(
          s.ns,
          "shop",
          `${s.ns}: canary scaled down`,
          async () => {
            const sets = await h.replicaSets(s.ns, "shop");
            return sets.find((x) => x.metadata.name === `shop-${bad.get(s.ns)}`)?.spec.replicas === 0;
          },
          15_000,
        );
      }
      const routes = await h.freshTraffic(2);
      for (const s of SCENARIOS) {
        const t = routeOf(routes, s.ns, s.kind, "shop");
        expect(t.total, s.ns).toBeGreaterThan(0);
        expect(t.byHash[bad.get(s.ns)!] ?? 0, `${s.ns}: share of the bad version`).toBe(0);
        expect(t.byHash[stable.get(s.ns)!], `${s.ns}: share of stable`).toBe(1);
        const after = await h.get("rollout", s.ns, "shop");
        expect(after.status.phase, s.ns).toBe("Degraded");
        expect(after.status.stableRS, s.ns).toBe(stable.get(s.ns));
        const aborts = (await h.events(s.ns, "shop")).filter((e: KubeJson) => e.reason === "RolloutAborted");
        expect(aborts, s.ns).toHaveLength(1);
        expect(aborts[0]!.type).toBe("Warning");
      }
    });
  },
);
