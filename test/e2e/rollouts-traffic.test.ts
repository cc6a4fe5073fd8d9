/**
 * The traffic routers against the sandbox over HTTPS, judged by the traffic it simulates through
 * the routing objects the routers write (`/sim/traffic`) and by kubectl. Four scenarios run side by
 * side, each with stable and canary Deployments and Services already serving, a Rollout (owner of
 * what slipway creates) and the user's routing object: Gateway API (HTTPRoute), Istio host level
 * (VirtualService), Istio subset level (VirtualService + DestinationRule) and NGINX (stable Ingress,
 * with maxTrafficWeight 1000 so `canary-weight-total` is exercised).
 *
 * Phases: weight 10% → share ≈ 0.10; weight 0 → share exactly 0 in a fresh window; a header route
 * with a 0.2 cohort (and a 0.3 cohort with another value of the same header) → share ≈ 0.2;
 * a 50% mirror (Gateway API, Istio) → mirrored copies ≈ half, primary traffic all stable;
 * removeManagedRoutes → the user's object as it was; hand edits → verify says what changed, apply
 * restores it; deleting the Rollout takes the NGINX canary Ingress with it.
 *
 * Tolerances as in sandbox-traffic-routing.test.ts: a share of n requests is Binomial(n, p) and is
 * accepted within 4σ = 4·√(p(1−p)/n) (false alarm ≈ 6·10⁻⁵ per check, n = 2,000 here); counts
 * that are not random (zero shares, window totals) are exact or ±1.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Rollout, RolloutTrafficRouting } from "../../api/v1alpha1/rollout.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { loadKubeConfig } from "../../controller/kube/kubeconfig.js";
import {
  type HeaderRoute,
  type MirrorRoute,
  type RouterDeps,
  routerFor,
  type TrafficRouter,
  type TrafficState,
  UnsupportedError,
} from "../../controller/rollouts/traffic/index.js";
import {
  type KubeJson,
  sandboxGet,
  startTestSandbox,
  type TestSandbox,
  waitFor,
} from "../helpers/sandbox.js";

const RPS = 400;
/** Seconds each phase's shares are read over: n = 2,000 requests per route object. */
const WINDOW = 5;
const HEADER_MIX = JSON.stringify([
  { name: "x-cohort", value: "beta", fraction: 0.2 },
  { name: "x-cohort", value: "gamma", fraction: 0.3 },
]);
const COHORT = 0.2;
const STABLE_HASH = "5f7d8c6b4";
const CANARY_HASH = "7b9c6d5f8";
const ROLLOUT_CRD = fileURLToPath(new URL("../../crds/rollouts.slipway.dev.yaml", import.meta.url));

const beta: HeaderRoute = {
  name: "beta",
  match: [{ headerName: "x-cohort", headerValue: { exact: "beta" } }],
};
const shadow: MirrorRoute = { name: "shadow", percentage: 50, match: [{ path: { prefix: "/" } }] };
const state = (canaryWeight: number, headerRoutes: HeaderRoute[] = [], mirrorRoutes: MirrorRoute[] = []) =>
  ({ canaryWeight, headerRoutes, mirrorRoutes }) satisfies TrafficState;

type Obj = Record<string, unknown>;

interface Scenario {
  namespace: string;
  /** The route object traffic enters through. */
  kind: "HTTPRoute" | "VirtualService" | "Ingress";
  routing: Omit<RolloutTrafficRouting, "managedRoutes">;
  /** The user's objects besides workloads, in apply order. */
  objects: Obj[];
  mirrors: boolean;
  /** canaryWeight for a 10% split. */
  tenPercent: number;
  deps?: Partial<RouterDeps>;
}

const routeAnnotations = { "sim.slipway.dev/rps": String(RPS), "sim.slipway.dev/headers": HEADER_MIX };

const SCENARIOS: Scenario[] = [
  {
    namespace: "t-gateway",
    kind: "HTTPRoute",
    routing: { gatewayAPI: { httpRoute: "shop" } },
    mirrors: true,
    tenPercent: 10,
    objects: [
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "shop", annotations: routeAnnotations },
        spec: {
          parentRefs: [{ name: "gateway" }],
          hostnames: ["shop.example.com"],
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              backendRefs: [{ name: "shop-stable", port: 80 }],
            },
          ],
        },
      },
    ],
  },
  {
    namespace: "t-istio-host",
    kind: "VirtualService",
    routing: { istio: { virtualService: { name: "shop", routes: ["primary"] } } },
    mirrors: true,
    tenPercent: 10,
    objects: [
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "shop", annotations: routeAnnotations },
        spec: {
          hosts: ["shop"],
          http: [
            {
              name: "primary",
              route: [
                { destination: { host: "shop-stable" }, weight: 100 },
                { destination: { host: "shop-canary" }, weight: 0 },
              ],
            },
          ],
        },
      },
    ],
  },
  {
    namespace: "t-istio-subset",
    kind: "VirtualService",
    routing: {
      istio: {
        virtualService: { name: "shop" },
        destinationRule: { name: "shop", stableSubsetName: "stable", canarySubsetName: "canary" },
      },
    },
    mirrors: true,
    tenPercent: 10,
    deps: { stableHash: STABLE_HASH, canaryHash: CANARY_HASH },
    objects: [
      service("shop", { app: "shop" }),
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "DestinationRule",
        metadata: { name: "shop" },
        spec: { host: "shop", subsets: [{ name: "stable" }, { name: "canary" }] },
      },
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "shop", annotations: routeAnnotations },
        spec: {
          hosts: ["shop"],
          http: [{ route: [{ destination: { host: "shop", subset: "stable" }, weight: 100 }] }],
        },
      },
    ],
  },
  {
    namespace: "t-nginx",
    kind: "Ingress",
    routing: { nginx: { stableIngress: "shop" }, maxTrafficWeight: 1000 },
    mirrors: false,
    tenPercent: 100,
    objects: [
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: "shop", annotations: routeAnnotations },
        spec: {
          ingressClassName: "nginx",
          rules: [
            {
              host: "shop.example.com",
              http: {
                paths: [
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: { service: { name: "shop-stable", port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
  },
];

function service(name: string, selector: Obj): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

function deployment(track: "stable" | "canary", replicas: number, hash: string): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `shop-${track}` },
    spec: {
      replicas,
      selector: { matchLabels: { app: "shop", track } },
      template: {
        metadata: { labels: { app: "shop", track, "rollouts-pod-template-hash": hash } },
        spec: { containers: [{ name: "shop", image: `registry.example/shop:${track}` }] },
      },
    },
  };
}

function rolloutObject(scenario: Scenario): Obj {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name: "shop", namespace: scenario.namespace },
    spec: {
      replicas: 0,
      strategy: {
        canary: {
          stableService: "shop-stable",
          canaryService: "shop-canary",
          trafficRouting: { ...scenario.routing, managedRoutes: [{ name: "beta" }, { name: "shadow" }] },
        },
      },
    },
  };
}

// ---- HTTP and statistics ------------------------------------------------------------------------

let env: TestSandbox;
let client: ClusterClient;

const get = (path: string): Promise<string> => sandboxGet(env, path);

interface RouteTraffic {
  kind: string;
  namespace: string;
  name: string;
  rps: number;
  total: number;
  byHash: Record<string, number>;
  byService: Record<string, number>;
  mirrored: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The traffic of a fresh window, per namespace: every request in it was routed at least 300 ms
 * after the writes before this call (the simulator routes at its 100 ms ticks).
 */
async function freshWindow(): Promise<Map<string, RouteTraffic>> {
  await sleep(300);
  await sleep(1000 - (Date.now() % 1000) + 50);
  // Past the window's last second by more than one tick, so the report ends exactly there.
  await sleep(WINDOW * 1000 + 250);
  const report = JSON.parse(await get(`/sim/traffic?window=${WINDOW}`)) as { routes: RouteTraffic[] };
  const byNamespace = new Map<string, RouteTraffic>();
  for (const scenario of SCENARIOS) {
    const route = report.routes.find(
      (r) => r.namespace === scenario.namespace && r.kind === scenario.kind && r.name === "shop",
    );
    if (!route) throw new Error(`no ${scenario.kind} shop in ${scenario.namespace} in /sim/traffic`);
    expect(Math.abs(route.total - RPS * WINDOW), `${scenario.namespace} total`).toBeLessThanOrEqual(1);
    byNamespace.set(scenario.namespace, route);
  }
  return byNamespace;
}

function expectBinomial(k: number, n: number, p: number, what: string): void {
  expect(n, `${what}: sample size`).toBeGreaterThanOrEqual(200);
  const sigma = Math.sqrt((p * (1 - p)) / n);
  const share = k / n;
  expect(
    Math.abs(share - p),
    `${what}: ${k}/${n} = ${share.toFixed(4)}, expected ${p} ± ${(4 * sigma).toFixed(4)} (4σ)`,
  ).toBeLessThanOrEqual(4 * sigma);
}

const canaryRequests = (route: RouteTraffic) => Math.round((route.byHash[CANARY_HASH] ?? 0) * route.total);

// ---- the run ------------------------------------------------------------------------------------

const routers = new Map<string, TrafficRouter>();
/** The user's routing objects as kubectl showed them before any router call. */
const originals = new Map<string, KubeJson>();

const list = (items: Obj[]) => items.map((item) => JSON.stringify(item)).join("\n");
const inNamespace = (namespace: string, object: Obj) => ({
  ...object,
  metadata: { ...(object.metadata as Obj), namespace },
});

const each = (fn: (scenario: Scenario, router: TrafficRouter) => Promise<void>) =>
  Promise.all(SCENARIOS.map((s) => fn(s, routers.get(s.namespace)!)));

async function routeObject(scenario: Scenario): Promise<KubeJson> {
  return env.kubectlJson(["get", "-n", scenario.namespace, `${scenario.kind.toLowerCase()}/shop`]);
}

beforeAll(async () => {
  env = await startTestSandbox({ simulation: { seed: 20250101 } });
  client = new ClusterClient(loadKubeConfig({ kubeconfig: env.kubeconfig }));
  await env.kubectlOk(["apply", "-f", ROLLOUT_CRD]);
  const workloads = SCENARIOS.flatMap((s) => [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: s.namespace } },
    ...[
      deployment("stable", 2, STABLE_HASH),
      deployment("canary", 1, CANARY_HASH),
      service("shop-stable", { app: "shop", track: "stable" }),
      service("shop-canary", { app: "shop", track: "canary" }),
    ].map((o) => inNamespace(s.namespace, o)),
  ]);
  await env.kubectlOk(["apply", "-f", "-"], { input: list(workloads) });
  await waitFor(
    async () => {
      const pods = (await env.kubectlJson(["get", "pods", "-A", "-l", "app=shop"])).items as KubeJson[];
      const ready = pods.filter((p) =>
        (p.status?.conditions as KubeJson[] | undefined)?.some(
          (c) => c.type === "Ready" && c.status === "True",
        ),
      );
      return ready.length === SCENARIOS.length * 3;
    },
    { timeoutMs: 30_000, message: "ready shop pods" },
  );
  // The Rollouts own what slipway creates; nothing reconciles them here.
  await waitFor(async () => (await env.kubectl(["get", "rollouts.slipway.dev", "-A"])).code === 0, {
    message: "the Rollout CRD to be served",
  });
  await env.kubectlOk(["apply", "-f", "-"], { input: list(SCENARIOS.map(rolloutObject)) });
  // Traffic starts as the route objects appear; routers act on them from here on.
  await env.kubectlOk(["apply", "-f", "-"], {
    input: list(SCENARIOS.flatMap((s) => s.objects.map((o) => inNamespace(s.namespace, o)))),
  });
  for (const scenario of SCENARIOS) {
    const rollout = (await env.kubectlJson([
      "get",
      "-n",
      scenario.namespace,
      "rollouts.slipway.dev/shop",
    ])) as Rollout;
    routers.set(scenario.namespace, routerFor(rollout, { client: client.dynamic, ...scenario.deps }));
    originals.set(scenario.namespace, await routeObject(scenario));
  }
}, 60_000);

afterAll(async () => {
  client?.close();
  await env?.stop();
});

describe("traffic routers move real (simulated) traffic", () => {
  it("setWeight(10%): a tenth of the requests reach the canary, verify agrees", async () => {
    await each((s, router) => router.setWeight(s.tenPercent));
    const window = await freshWindow();
    for (const scenario of SCENARIOS) {
      const route = window.get(scenario.namespace)!;
      // Only the two versions answered: nothing was routed to a missing backend.
      expect(Object.keys(route.byHash).sort(), scenario.namespace).toEqual([CANARY_HASH, STABLE_HASH].sort());
      expectBinomial(canaryRequests(route), route.total, 0.1, `${scenario.namespace} canary share`);
      expect(await routers.get(scenario.namespace)!.verify(state(scenario.tenPercent))).toEqual({ ok: true });
    }
    expect(routers.get("t-gateway")!.type).toBe("gatewayAPI");
    const canary = await env.kubectlJson(["get", "-n", "t-nginx", "ingress/shop-shop-canary"]);
    expect(canary.metadata.annotations).toMatchObject({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "100",
      "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
    });
  });

  it("setWeight(0): not one request reaches the canary in a fresh window", async () => {
    await each((_, router) => router.setWeight(0));
    const window = await freshWindow();
    for (const scenario of SCENARIOS) {
      expect(window.get(scenario.namespace)!.byHash, scenario.namespace).toEqual({ [STABLE_HASH]: 1 });
      expect(await routers.get(scenario.namespace)!.verify(state(0))).toEqual({ ok: true });
    }
  });

  it("setHeaderRoute: exactly the x-cohort=beta fifth reaches the canary", async () => {
    await each((_, router) => router.setHeaderRoute(beta));
    const window = await freshWindow();
    for (const scenario of SCENARIOS) {
      const route = window.get(scenario.namespace)!;
      expect(Object.keys(route.byHash).sort(), scenario.namespace).toEqual([CANARY_HASH, STABLE_HASH].sort());
      // 0.2, not 0.5: the gamma cohort carries the same header with another value and stays on stable.
      expectBinomial(canaryRequests(route), route.total, COHORT, `${scenario.namespace} cohort share`);
      expect(await routers.get(scenario.namespace)!.verify(state(0, [beta]))).toEqual({ ok: true });
    }
    const vs = await env.kubectlJson(["get", "-n", "t-istio-host", "virtualservice/shop"]);
    expect((vs.spec.http as KubeJson[]).map((h) => h.name)).toEqual(["beta", "primary"]);
  });

  it("setMirrorRoute: half the requests are copied to the canary, all are served by stable", async () => {
    await each(async (scenario, router) => {
      await router.setHeaderRoute({ name: "beta" });
      if (scenario.mirrors) await router.setMirrorRoute(shadow);
      else await expect(router.setMirrorRoute(shadow)).rejects.toBeInstanceOf(UnsupportedError);
    });
    const window = await freshWindow();
    for (const scenario of SCENARIOS) {
      const route = window.get(scenario.namespace)!;
      expect(route.byHash, scenario.namespace).toEqual({ [STABLE_HASH]: 1 });
      const router = routers.get(scenario.namespace)!;
      if (scenario.mirrors) {
        expect(Object.keys(route.mirrored), scenario.namespace).toEqual([CANARY_HASH]);
        expectBinomial(
          route.mirrored[CANARY_HASH]!,
          route.total,
          0.5,
          `${scenario.namespace} mirrored copies`,
        );
        expect(await router.verify(state(0, [], [shadow]))).toEqual({ ok: true });
      } else {
        expect(route.mirrored, scenario.namespace).toEqual({});
        expect(await router.verify(state(0, [], [shadow]))).toMatchObject({ ok: false });
        expect(await router.verify(state(0))).toEqual({ ok: true });
      }
    }
  });

  it("removeManagedRoutes gives the user's routing objects back", async () => {
    await each((_, router) => router.removeManagedRoutes());
    const specOf = async (s: Scenario) => (await routeObject(s)).spec as KubeJson;
    const annotationsOf = async (s: Scenario) => (await routeObject(s)).metadata.annotations as KubeJson;
    for (const scenario of SCENARIOS) {
      expect(await annotationsOf(scenario), scenario.namespace).toEqual(
        originals.get(scenario.namespace)!.metadata.annotations,
      );
      expect(await routers.get(scenario.namespace)!.verify(state(0))).toEqual({ ok: true });
    }
    const [gateway, istioHost, istioSubset, ingress] = SCENARIOS as [Scenario, Scenario, Scenario, Scenario];
    // Weights stay where the last setWeight put them (0); the canary backend slipway added stays.
    const gatewayOriginal = originals.get(gateway.namespace)!.spec as KubeJson;
    expect(await specOf(gateway)).toEqual({
      ...gatewayOriginal,
      rules: [
        {
          ...gatewayOriginal.rules[0],
          backendRefs: [
            { name: "shop-stable", port: 80, weight: 100 },
            { name: "shop-canary", port: 80, weight: 0 },
          ],
        },
      ],
    });
    expect(await specOf(istioHost)).toEqual(originals.get(istioHost.namespace)!.spec);
    expect((await specOf(istioSubset)).http).toEqual([
      {
        route: [
          { destination: { host: "shop", subset: "stable" }, weight: 100 },
          { destination: { host: "shop", subset: "canary" }, weight: 0 },
        ],
      },
    ]);
    expect(await specOf(ingress)).toEqual(originals.get(ingress.namespace)!.spec);
  });

  it("verify detects a hand edit with a reason, and apply restores the routing", async () => {
    await env.kubectlOk([
      "patch",
      "-n",
      "t-gateway",
      "httproute/shop",
      "--type=json",
      "-p",
      JSON.stringify([{ op: "replace", path: "/spec/rules/0/backendRefs/1/weight", value: 50 }]),
    ]);
    await env.kubectlOk([
      "patch",
      "-n",
      "t-istio-host",
      "virtualservice/shop",
      "--type=json",
      "-p",
      JSON.stringify([
        { op: "replace", path: "/spec/http/0/route/0/weight", value: 50 },
        { op: "replace", path: "/spec/http/0/route/1/weight", value: 50 },
      ]),
    ]);
    await env.kubectlOk([
      "patch",
      "-n",
      "t-istio-subset",
      "destinationrule/shop",
      "--type=json",
      "-p",
      JSON.stringify([
        { op: "replace", path: "/spec/subsets/1/labels/rollouts-pod-template-hash", value: STABLE_HASH },
      ]),
    ]);
    await env.kubectlOk([
      "annotate",
      "--overwrite",
      "-n",
      "t-nginx",
      "ingress/shop-shop-canary",
      "nginx.ingress.kubernetes.io/canary-weight=500",
    ]);
    const reasons = await Promise.all(SCENARIOS.map((s) => routers.get(s.namespace)!.verify(state(0))));
    expect(reasons).toEqual([
      {
        ok: false,
        reason:
          'HTTPRoute "shop" in namespace "t-gateway": spec.rules[0].backendRefs[1].weight is 50, expected 0',
      },
      {
        ok: false,
        reason:
          'VirtualService "shop" in namespace "t-istio-host": spec.http[0].route[0].weight is 50, expected 100',
      },
      {
        ok: false,
        reason: `DestinationRule "shop" in namespace "t-istio-subset": subset "canary" selects rollouts-pod-template-hash "${STABLE_HASH}", expected "${CANARY_HASH}"`,
      },
      {
        ok: false,
        reason:
          'Ingress "shop-shop-canary" in namespace "t-nginx": metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"] is "500", expected "0"',
      },
    ]);

    await each((_, router) => router.apply(state(0)));
    for (const scenario of SCENARIOS) {
      expect(await routers.get(scenario.namespace)!.verify(state(0))).toEqual({ ok: true });
    }
    const window = await freshWindow();
    for (const scenario of SCENARIOS) {
      expect(window.get(scenario.namespace)!.byHash, scenario.namespace).toEqual({ [STABLE_HASH]: 1 });
    }
  });

  it("the NGINX canary Ingress belongs to the Rollout and goes with it", async () => {
    const canary = await env.kubectlJson([
      "get",
      "--show-managed-fields",
      "-n",
      "t-nginx",
      "ingress/shop-shop-canary",
    ]);
    const rollout = await env.kubectlJson(["get", "-n", "t-nginx", "rollouts.slipway.dev/shop"]);
    expect(canary.metadata.ownerReferences).toEqual([
      {
        apiVersion: "slipway.dev/v1alpha1",
        kind: "Rollout",
        name: "shop",
        uid: rollout.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(canary.metadata.managedFields.map((f: KubeJson) => f.manager)).toContain("slipway-rollouts");
    await env.kubectlOk(["delete", "-n", "t-nginx", "rollouts.slipway.dev/shop"]);
    await waitFor(
      async () => (await env.kubectl(["get", "-n", "t-nginx", "ingress/shop-shop-canary"])).code !== 0,
      { message: "the canary Ingress to be garbage-collected" },
    );
    expect((await env.kubectl(["get", "-n", "t-nginx", "ingress/shop"])).code).toBe(0);
  });
});
