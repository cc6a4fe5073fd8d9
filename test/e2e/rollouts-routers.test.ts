/**
 * A canary through each of the other routers, driven by the Rollout controller and judged by the
 * traffic the sandbox routes through the objects they write: Istio host level (VirtualService
 * route weights between the stable and canary Services), Istio subset level (DestinationRule
 * subsets on pod hashes) and NGINX (a managed canary Ingress). Each
 * walks setWeight 30 → pause{} (≈30% of requests on the canary, within 4σ) → promote → stable,
 * after which every request reaches the new pods.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxGet } from "../helpers/sandbox.js";
import { RolloutsHarness, sleep } from "./rollouts-harness.js";

const RPS = 300;
const WINDOW = 3;
let h: RolloutsHarness;

interface RouteTraffic {
  kind: string;
  namespace: string;
  name: string;
  total: number;
  /** Share (0..1) of the requests each pod hash answered. */
  byHash: Record<string, number>;
}

interface Scenario {
  ns: string;
  kind: "VirtualService" | "Ingress";
  routing: string;
  objects: string;
}

const annotations = `{"sim.slipway.dev/rps": "${RPS}"}`;
const svc = (ns: string, name: string) => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---`;

const SCENARIOS: Scenario[] = [
  {
    ns: "r-istio-host",
    kind: "VirtualService",
    routing: "istio: {virtualService: {name: shop, routes: [primary]}}",
    objects: `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shop, namespace: r-istio-host, annotations: ${annotations}}
spec:
  hosts: [shop]
  http:
    - name: primary
      route:
        - {destination: {host: shop-stable}, weight: 100}
        - {destination: {host: shop-canary}, weight: 0}`,
  },
  {
    ns: "r-istio-subset",
    kind: "VirtualService",
    routing:
      "istio: {virtualService: {name: shop}, destinationRule: {name: shop, stableSubsetName: stable, canarySubsetName: canary}}",
    objects: `${svc("r-istio-subset", "shop")}
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: shop, namespace: r-istio-subset}
spec: {host: shop, subsets: [{name: stable}, {name: canary}]}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: shop, namespace: r-istio-subset, annotations: ${annotations}}
spec:
  hosts: [shop]
  http: [{route: [{destination: {host: shop, subset: stable}, weight: 100}]}]`,
  },
  {
    ns: "r-nginx",
    kind: "Ingress",
    routing: "nginx: {stableIngress: shop}",
    objects: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: r-nginx, annotations: ${annotations}}
spec:
  ingressClassName: nginx
  rules:
    - host: shop.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: shop-stable, port: {number: 80}}}}]`,
  },
];

const rolloutYaml = (s: Scenario, image: string) => `
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

const get = (path: string): Promise<string> => sandboxGet(h.sb, path);

/** Traffic per scenario over whole seconds that all start after this call. */
async function freshWindow(): Promise<Map<string, RouteTraffic>> {
  await sleep(300);
  await sleep(1000 - (Date.now() % 1000) + 50);
  await sleep(WINDOW * 1000 + 250);
  const report = JSON.parse(await get(`/sim/traffic?window=${WINDOW}`)) as { routes: RouteTraffic[] };
  const out = new Map<string, RouteTraffic>();
  for (const s of SCENARIOS) {
    const route = report.routes.find((r) => r.namespace === s.ns && r.kind === s.kind && r.name === "shop");
    if (!route) throw new Error(`no ${s.kind} shop in ${s.ns}`);
    out.set(s.ns, route);
  }
  return out;
}

beforeAll(async () => {
  h = await RolloutsHarness.start();
  for (const s of SCENARIOS) {
    await h.namespace(s.ns);
    await h.apply(`${svc(s.ns, "shop-stable")}${svc(s.ns, "shop-canary")}${s.objects}`);
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
