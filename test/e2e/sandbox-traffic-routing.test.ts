/**
 * Simulated traffic on the real sandbox (HTTPS, objects created with kubectl), judged from
 * `/sim/traffic` and `/sim/metrics`: each router splits 90/10 as its weights say, header matches
 * send exactly the matching cohort to the canary, mirrors copy the configured share and nobody sees
 * their answers, and pods answer with their annotated error rate and latency.
 *
 * Tolerances. Every request is routed with fresh draws from the seeded PRNG, so a count of n
 * requests that each go one way with probability p is Binomial(n, p). Shares are accepted within
 * 4σ = 4·√(p(1−p)/n) of p, with n the observed number of requests: per check a false alarm has
 * probability ≈ 6·10⁻⁵ (normal approximation; n ≥ 200 everywhere here), about 2·10⁻³ for the ~30
 * checks of this file together. Mean latencies are accepted within 4 standard errors of the
 * lognormal the simulator draws from (σ_log = 0.25, so sd = mean·√(e^0.0625 − 1)). Counts that are
 * not random (window totals, conservation, "never") are exact or ±1.
 */
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const RPS = 400;
/** Seconds of traffic each share is read over: n = 2,000 requests per route object. */
const WINDOW = 5;
// Latencies sit on histogram bucket bounds (0.025 s, 0.2 s), so the share below the mean is exact.
const STABLE = { errorRate: 0, latencyMs: 25 };
const CANARY = { errorRate: 0.3, latencyMs: 200 };
const HEADER_MIX = JSON.stringify([
  { name: "x-cohort", value: "beta", fraction: 0.2 },
  // Same header, another value: must not match, so the canary's share is 0.2, not 0.5.
  { name: "x-cohort", value: "gamma", fraction: 0.3 },
]);
const COHORT = 0.2;
const MIRROR_SHARE = 0.5;
/** sd / mean of the simulator's latency draw (lognormal with σ = 0.25 scaled to the mean). */
const LATENCY_CV = Math.sqrt(Math.exp(0.25 ** 2) - 1);

let env: TestSandbox;

// ---- HTTP, Prometheus text, statistics ----------------------------------------------------------

function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${env.url}${path}`, { ca: env.sandbox.caPem }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode} ${body}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

type Where = Record<string, string | ((value: string) => boolean)>;

function sum(samples: Sample[], name: string, where: Where = {}): number {
  return samples
    .filter(
      (s) =>
        s.name === name &&
        Object.entries(where).every(([k, v]) =>
          typeof v === "string" ? s.labels[k] === v : v(s.labels[k] ?? ""),
        ),
    )
    .reduce((total, s) => total + s.value, 0);
}

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

async function traffic(window: number): Promise<RouteTraffic[]> {
  return (JSON.parse(await get(`/sim/traffic?window=${window}`)) as { routes: RouteTraffic[] }).routes;
}

/** Asserts that `k` of `n` Bernoulli(p) trials is within 4σ of the expected share. */
function expectBinomial(k: number, n: number, p: number, what: string): void {
  expect(n, `${what}: sample size`).toBeGreaterThanOrEqual(200);
  const sigma = Math.sqrt((p * (1 - p)) / n);
  const share = k / n;
  expect(
    Math.abs(share - p),
    `${what}: ${k}/${n} = ${share.toFixed(4)}, expected ${p} ± ${(4 * sigma).toFixed(4)} (4σ)`,
  ).toBeLessThanOrEqual(4 * sigma);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sleeps until `ms` past the next whole second (the report's windows end on whole seconds). */
async function untilPastSecond(ms: number): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + ms);
}

// ---- the cluster: one namespace per scenario ----------------------------------------------------

type Obj = Record<string, unknown>;

const rpsAnnotations = (extra: Record<string, string> = {}) => ({
  "sim.slipway.dev/rps": String(RPS),
  ...extra,
});

function deployment(
  namespace: string,
  track: "stable" | "canary",
  replicas: number,
  behaviour: { errorRate: number; latencyMs: number },
): Obj {
  const labels = { app: "shop", track };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: track, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: {
            "sim.slipway.dev/error-rate": String(behaviour.errorRate),
            "sim.slipway.dev/latency-ms": String(behaviour.latencyMs),
          },
        },
        spec: { containers: [{ name: "shop", image: `registry.example/shop:${track}` }] },
      },
    },
  };
}

function service(namespace: string, name: string, selector: Obj, annotations?: Obj): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

/** Two Deployments with distinct templates (so distinct pod-template-hash) and three Services. */
function workloads(
  namespace: string,
  options: { stableReplicas?: number; canary?: { errorRate: number; latencyMs: number } } = {},
): Obj[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    deployment(namespace, "stable", options.stableReplicas ?? 2, STABLE),
    deployment(namespace, "canary", 1, options.canary ?? CANARY),
    service(namespace, "shop-stable", { app: "shop", track: "stable" }),
    service(namespace, "shop-canary", { app: "shop", track: "canary" }),
  ];
}

const backend = (name: string, weight?: number) => ({
  name,
  port: 80,
  ...(weight === undefined ? {} : { weight }),
});

function httpRoute(namespace: string, rules: Obj[], annotations: Obj): Obj {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "shop", namespace, annotations },
    spec: { parentRefs: [{ name: "gateway" }], hostnames: ["shop.example.com"], rules },
  };
}

function virtualService(namespace: string, version: "v1" | "v1beta1", http: Obj[], annotations: Obj): Obj {
  return {
    apiVersion: `networking.istio.io/${version}`,
    kind: "VirtualService",
    metadata: { name: "shop", namespace, annotations },
    spec: { hosts: ["shop"], http },
  };
}

function ingress(namespace: string, name: string, backendService: string, annotations: Obj): Obj {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace, annotations },
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
                backend: { service: { name: backendService, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

const dest = (host: string, weight?: number, subset?: string) => ({
  destination: { host, ...(subset ? { subset } : {}) },
  ...(weight === undefined ? {} : { weight }),
});

/** Scenario namespaces, and the route object that carries the traffic in each. */
const NS = {
  httpRoute: "w-httproute",
  vsHosts: "w-vs-hosts",
  vsSubsets: "w-vs-subsets",
  nginx: "w-nginx",
  service: "w-service",
  headerHttpRoute: "h-httproute",
  headerVs: "h-vs",
  headerNginx: "h-nginx",
  mirrorHttpRoute: "m-httproute",
  mirrorVs: "m-vs",
} as const;
const WEIGHTED: string[] = [NS.httpRoute, NS.vsHosts, NS.vsSubsets, NS.nginx, NS.service];
const MIRRORS: string[] = [NS.mirrorHttpRoute, NS.mirrorVs];
/** In the mirror scenarios the canary fails every request: its answers must never be seen. */
const MIRROR_CANARY = { errorRate: 1, latencyMs: 50 };
/** The plain Service spreads evenly over ready pods: 9 stable + 1 canary pods is a 90/10 split. */
const SERVICE_STABLE_REPLICAS = 9;

const ROUTE: Record<string, { kind: string; name: string }> = {
  [NS.httpRoute]: { kind: "HTTPRoute", name: "shop" },
  [NS.vsHosts]: { kind: "VirtualService", name: "shop" },
  [NS.vsSubsets]: { kind: "VirtualService", name: "shop" },
  [NS.nginx]: { kind: "Ingress", name: "shop" },
  [NS.service]: { kind: "Service", name: "shop" },
  [NS.headerHttpRoute]: { kind: "HTTPRoute", name: "shop" },
  [NS.headerVs]: { kind: "VirtualService", name: "shop" },
  [NS.headerNginx]: { kind: "Ingress", name: "shop" },
  [NS.mirrorHttpRoute]: { kind: "HTTPRoute", name: "shop" },
  [NS.mirrorVs]: { kind: "VirtualService", name: "shop" },
};

function workloadObjects(): Obj[] {
  return [
    ...workloads(NS.httpRoute),
    ...workloads(NS.vsHosts),
    ...workloads(NS.vsSubsets),
    service(NS.vsSubsets, "shop", { app: "shop" }),
    ...workloads(NS.nginx),
    ...workloads(NS.service, { stableReplicas: SERVICE_STABLE_REPLICAS }),
    ...workloads(NS.headerHttpRoute),
    ...workloads(NS.headerVs),
    ...workloads(NS.headerNginx),
    ...workloads(NS.mirrorHttpRoute, { canary: MIRROR_CANARY }),
    ...workloads(NS.mirrorVs, { canary: MIRROR_CANARY }),
  ];
}

/**
 * The routing objects, in apply order: whatever a route object refers to (canary Ingress,
 * DestinationRule) comes before it, so its first request already sees the whole configuration.
 */
function routeObjects(hashes: Hashes): Obj[] {
  const headers = { "sim.slipway.dev/headers": HEADER_MIX };
  const subsets = hashes.get(NS.vsSubsets)!;
  return [
    httpRoute(
      NS.httpRoute,
      [{ backendRefs: [backend("shop-stable", 90), backend("shop-canary", 10)] }],
      rpsAnnotations(),
    ),
    virtualService(
      NS.vsHosts,
      "v1beta1",
      [{ route: [dest("shop-stable", 90), dest("shop-canary", 10)] }],
      rpsAnnotations(),
    ),
    {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "shop", namespace: NS.vsSubsets },
      spec: {
        host: "shop",
        // As Argo Rollouts does it: subsets pinned to the pod-template-hash of each version.
        subsets: [
          { name: "stable", labels: { "pod-template-hash": subsets.stable } },
          { name: "canary", labels: { "pod-template-hash": subsets.canary } },
        ],
      },
    },
    virtualService(
      NS.vsSubsets,
      "v1",
      [{ route: [dest("shop", 90, "stable"), dest("shop", 10, "canary")] }],
      rpsAnnotations(),
    ),
    ingress(NS.nginx, "shop-canary", "shop-canary", {
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "10",
    }),
    ingress(NS.nginx, "shop", "shop-stable", rpsAnnotations()),
    service(NS.service, "shop", { app: "shop" }, rpsAnnotations()),

    httpRoute(
      NS.headerHttpRoute,
      [
        {
          matches: [{ headers: [{ name: "x-cohort", value: "beta" }] }],
          backendRefs: [backend("shop-canary")],
        },
        { backendRefs: [backend("shop-stable")] },
      ],
      rpsAnnotations(headers),
    ),
    virtualService(
      NS.headerVs,
      "v1beta1",
      [
        { match: [{ headers: { "x-cohort": { exact: "beta" } } }], route: [dest("shop-canary")] },
        { route: [dest("shop-stable")] },
      ],
      rpsAnnotations(headers),
    ),
    ingress(NS.headerNginx, "shop-canary", "shop-canary", {
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-by-header": "x-cohort",
      "nginx.ingress.kubernetes.io/canary-by-header-value": "beta",
    }),
    ingress(NS.headerNginx, "shop", "shop-stable", rpsAnnotations(headers)),

    httpRoute(
      NS.mirrorHttpRoute,
      [
        {
          backendRefs: [backend("shop-stable")],
          filters: [
            {
              type: "RequestMirror",
              requestMirror: { backendRef: backend("shop-canary"), percent: MIRROR_SHARE * 100 },
            },
          ],
        },
      ],
      rpsAnnotations(),
    ),
    virtualService(
      NS.mirrorVs,
      "v1",
      [
        {
          route: [dest("shop-stable")],
          mirror: { host: "shop-canary" },
          mirrorPercentage: { value: MIRROR_SHARE * 100 },
        },
      ],
      rpsAnnotations(),
    ),
  ];
}

/** A stream of JSON objects, which `kubectl apply -f -` reads one by one, in order. */
const list = (items: Obj[]) => items.map((item) => JSON.stringify(item)).join("\n");

/** Namespace → pod-template-hash of each track. */
type Hashes = Map<string, { stable: string; canary: string }>;

// ---- what the run observed ------------------------------------------------------------------

let hashes: Hashes;
/** The last WINDOW seconds while traffic ran, by namespace. */
let windowed: Map<string, RouteTraffic>;
/** Everything since the start, read after traffic stopped. */
let history: Map<string, RouteTraffic>;
let samples: Sample[];

function routeIn(report: Map<string, RouteTraffic>, namespace: string): RouteTraffic {
  const route = report.get(namespace);
  if (!route) throw new Error(`no ${ROUTE[namespace]!.kind} in ${namespace} in /sim/traffic`);
  return route;
}

function indexRoutes(routes: RouteTraffic[]): Map<string, RouteTraffic> {
  const byNamespace = new Map<string, RouteTraffic>();
  for (const route of routes) {
    const expected = ROUTE[route.namespace];
    if (expected && route.kind === expected.kind && route.name === expected.name) {
      byNamespace.set(route.namespace, route);
    }
  }
  return byNamespace;
}

const namespaces = Object.values(NS);

beforeAll(async () => {
  env = await startTestSandbox({ simulation: { seed: 20240611 } });
  await env.kubectlOk(["apply", "-f", "-"], { input: list(workloadObjects()) });
  const expectedPods = namespaces.length * 3 + (SERVICE_STABLE_REPLICAS - 2);
  hashes = await waitFor(
    async () => {
      const pods = (await env.kubectlJson(["get", "pods", "-A", "-l", "app=shop"])).items as KubeJson[];
      const ready = pods.filter((p) =>
        (p.status?.conditions as KubeJson[] | undefined)?.some(
          (c) => c.type === "Ready" && c.status === "True",
        ),
      );
      if (ready.length !== expectedPods) return undefined;
      const found: Hashes = new Map();
      for (const pod of ready) {
        const { namespace, labels } = pod.metadata as { namespace: string; labels: Record<string, string> };
        const entry = found.get(namespace) ?? { stable: "", canary: "" };
        entry[labels.track as "stable" | "canary"] = labels["pod-template-hash"]!;
        found.set(namespace, entry);
      }
      return found;
    },
    { timeoutMs: 30_000, message: `${expectedPods} ready shop pods` },
  );

  // Traffic starts as each route object is created; the window is read once a whole WINDOW of
  // seconds has passed after the last one.
  await env.kubectlOk(["apply", "-f", "-"], { input: list(routeObjects(hashes)) });
  await untilPastSecond(100);
  await sleep(WINDOW * 1000);
  windowed = indexRoutes(await traffic(WINDOW));

  // Stop the traffic, let its last second complete, then read the whole history and the metrics.
  await Promise.all(
    namespaces.map((namespace) => {
      const { kind, name } = ROUTE[namespace]!;
      return env.kubectlOk([
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        `${kind.toLowerCase()}/${name}`,
        "sim.slipway.dev/rps=0",
      ]);
    }),
  );
  await untilPastSecond(150);
  history = indexRoutes(await traffic(899));
  samples = parseMetrics(await get("/sim/metrics"));
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe("sandbox traffic: routers split, match and mirror as configured", () => {
  it("reads every window over rps × WINDOW requests, all after the route objects existed", () => {
    expect([...windowed.keys()].sort()).toEqual([...namespaces].sort());
    for (const [namespace, route] of windowed) {
      expect(route.rps, namespace).toBe(RPS);
      expect(Math.abs(route.total - RPS * WINDOW), `${namespace} total ${route.total}`).toBeLessThanOrEqual(
        1,
      );
    }
    // The two tracks have distinct templates, hence distinct hashes.
    for (const [namespace, { stable, canary }] of hashes) {
      expect(stable, namespace).toMatch(/^[a-z0-9]+$/);
      expect(canary, namespace).not.toBe(stable);
    }
  });

  it.each(WEIGHTED)("%s: weights 90/10 give a 90/10 split between the versions", (namespace) => {
    const route = routeIn(windowed, namespace);
    const { stable, canary } = hashes.get(namespace)!;
    // Only the two versions answered: no 404/503 share.
    expect(Object.keys(route.byHash).sort()).toEqual([stable, canary].sort());
    const canaryRequests = Math.round(route.byHash[canary]! * route.total);
    expectBinomial(canaryRequests, route.total, 0.1, `${namespace} canary share`);
    if (namespace === NS.vsSubsets || namespace === NS.service) {
      // One Service in front of both versions.
      expect(route.byService).toEqual({ shop: 1 });
    } else {
      expect(route.byService["shop-canary"]).toBe(route.byHash[canary]);
      expect(route.byService["shop-stable"]).toBe(route.byHash[stable]);
    }
  });

  it("plain Service: every ready pod gets an even share", () => {
    const total = routeIn(history, NS.service).total;
    const pods = new Map<string, number>();
    for (const s of samples) {
      if (s.name !== "http_requests_total" || s.labels.namespace !== NS.service) continue;
      pods.set(s.labels.pod!, (pods.get(s.labels.pod!) ?? 0) + s.value);
    }
    expect(pods.size).toBe(SERVICE_STABLE_REPLICAS + 1);
    expect(pods.has("")).toBe(false);
    for (const [pod, count] of pods) expectBinomial(count, total, 1 / pods.size, `pod ${pod}`);
  });

  it.each([NS.headerHttpRoute, NS.headerVs, NS.headerNginx])(
    "%s: the header match sends the x-cohort=beta cohort (a fifth) to the canary, everything else to stable",
    (namespace) => {
      const { stable, canary } = hashes.get(namespace)!;
      const route = routeIn(windowed, namespace);
      expect(Object.keys(route.byHash).sort()).toEqual([stable, canary].sort());
      expect(route.byService["shop-canary"]).toBe(route.byHash[canary]);
      expectBinomial(
        Math.round(route.byHash[canary]! * route.total),
        route.total,
        COHORT,
        `${namespace} window`,
      );

      // The metrics agree over the whole run: the split between the Services is the cohort's, and
      // each Service's requests were answered by its own version only.
      const served = (where: Where) =>
        sum(samples, "http_requests_total", { namespace, mirrored: "false", ...where });
      const all = served({});
      expect(all).toBe(routeIn(history, namespace).total);
      expect(served({ service: "shop-canary" }) + served({ service: "shop-stable" })).toBe(all);
      expect(served({ service: "shop-canary", rollouts_pod_template_hash: canary })).toBe(
        served({ service: "shop-canary" }),
      );
      expect(served({ service: "shop-stable", rollouts_pod_template_hash: stable })).toBe(
        served({ service: "shop-stable" }),
      );
      expectBinomial(served({ service: "shop-canary" }), all, COHORT, `${namespace} metrics`);
    },
  );

  it.each(MIRRORS)(
    "%s: the mirror copies half the requests to the canary, whose answers nobody sees",
    (namespace) => {
      const { stable, canary } = hashes.get(namespace)!;
      const route = routeIn(windowed, namespace);
      // Primary traffic is untouched: every request is served by stable.
      expect(route.byHash).toEqual({ [stable]: 1 });
      expect(route.byService).toEqual({ "shop-stable": 1 });
      expect(Object.keys(route.mirrored)).toEqual([canary]);
      expectBinomial(route.mirrored[canary]!, route.total, MIRROR_SHARE, `${namespace} mirrored copies`);

      const count = (where: Where) => sum(samples, "http_requests_total", { namespace, ...where });
      const whole = routeIn(history, namespace);
      // The mirrored copies are counted with mirrored="true", as many as the report says...
      expect(count({ mirrored: "true" })).toBe(whole.mirrored[canary]);
      expect(count({ mirrored: "true", service: "shop-canary", rollouts_pod_template_hash: canary })).toBe(
        count({ mirrored: "true" }),
      );
      expectBinomial(count({ mirrored: "true" }), whole.total, MIRROR_SHARE, `${namespace} mirrored metrics`);
      // ...and the canary failed every one of them (error rate 1), yet no served response is an
      // error and the canary served nothing: the mirror's answers were discarded.
      expect(count({ mirrored: "true", code: "500" })).toBe(count({ mirrored: "true" }));
      expect(count({ mirrored: "false", service: "shop-canary" })).toBe(0);
      expect(count({ mirrored: "false", code: (c) => c !== "200" })).toBe(0);
      // Primary counts are the requests that entered the route, one each.
      expect(count({ mirrored: "false", service: "shop-stable" })).toBe(whole.total);
    },
  );

  it("counts every request that entered a route object exactly once in its namespace", () => {
    for (const namespace of namespaces) {
      const served = sum(samples, "http_requests_total", { namespace, mirrored: "false" });
      expect(served, namespace).toBe(routeIn(history, namespace).total);
      expect(served, namespace).toBeGreaterThan(RPS * WINDOW);
    }
  });

  it("pods answer with their annotated error rate and latency", () => {
    const weighted = (ns: string) => WEIGHTED.includes(ns);
    // The templates are the same in every weighted namespace, so are the hashes.
    const { stable, canary } = hashes.get(NS.httpRoute)!;
    for (const namespace of WEIGHTED) expect(hashes.get(namespace)).toEqual({ stable, canary });
    const requests = (hash: string, code?: (c: string) => boolean) =>
      sum(samples, "http_requests_total", {
        namespace: weighted,
        mirrored: "false",
        rollouts_pod_template_hash: hash,
        ...(code ? { code } : {}),
      });
    const errors = (c: string) => c.startsWith("5");

    expect(requests(stable, errors)).toBe(0);
    expect(requests(stable)).toBeGreaterThan(5000);
    expectBinomial(requests(canary, errors), requests(canary), CANARY.errorRate, "canary error rate");
    // Errors are 500 (503 is kept for "no ready pod").
    expect(requests(canary, (c) => c === "500")).toBe(requests(canary, errors));

    for (const [hash, behaviour] of [
      [stable, STABLE],
      [canary, CANARY],
    ] as const) {
      const histogram = (suffix: string, extra: Where = {}) =>
        sum(samples, `http_request_duration_seconds_${suffix}`, {
          namespace: weighted,
          mirrored: "false",
          rollouts_pod_template_hash: hash,
          ...extra,
        });
      const n = histogram("count");
      // Every answer (errors included) is observed.
      expect(n).toBe(requests(hash));
      const meanSeconds = behaviour.latencyMs / 1000;
      const standardError = (LATENCY_CV * meanSeconds) / Math.sqrt(n);
      expect(Math.abs(histogram("sum") / n - meanSeconds), `mean latency of ${hash}`).toBeLessThanOrEqual(
        4 * standardError,
      );
      // The spread: P(X ≤ mean) = Φ(σ/2) for a lognormal with log-sd σ = 0.25 scaled to its mean.
      const le = String(meanSeconds);
      const belowMean = histogram("bucket", { le });
      expectBinomial(belowMean, n, standardNormalCdf(0.125), `share of ${hash} answers within ${le}s`);
    }
  });
});

/** Φ(x), by the Abramowitz–Stegun 7.1.26 erf approximation (error < 1.5·10⁻⁷). */
function standardNormalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
