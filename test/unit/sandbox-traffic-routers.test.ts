/**
 * The routers as pure functions over plain objects (the `shop` fixture: stable hash aaa111 with
 * three ready pods and one terminating, canary hash bbb222 with one ready pod and one unready).
 *
 * Statistical checks use a 4σ band of the binomial distribution: for n requests each going to the
 * canary with probability p, the count has σ = sqrt(n·p·(1−p)); |count − n·p| ≤ 4σ fails by chance
 * about once in 16,000 runs, and the PRNG is seeded, so each run here is in fact reproducible.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../sandbox/core/types.js";
import {
  ObjectIndex,
  Prng,
  podTemplateHash,
  type RouteContext,
  type RouteDecision,
  resolveRoute,
  type SimRequest,
} from "../../sandbox/traffic/index.js";

const N = 10_000;

function loadFixture(): KubeObject[] {
  const text = readFileSync(new URL("./fixtures/traffic/shop.yaml", import.meta.url), "utf8");
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
}

interface Harness {
  ctx: RouteContext;
  index: ObjectIndex;
  warnings: string[];
}

function harness(extra: KubeObject[] = [], seed = 42): Harness {
  const index = new ObjectIndex();
  for (const object of [...loadFixture(), ...extra]) index.upsert(object);
  const warnings: string[] = [];
  const ctx: RouteContext = {
    lookup: index,
    random: new Prng(seed),
    warn: (object, reason, message) => warnings.push(`${object.metadata.name}: ${reason}: ${message}`),
  };
  return { ctx, index, warnings };
}

const plain: SimRequest = { headers: {}, path: "/" };

/** Sends n requests and tallies where the primary copy and the mirrored copies landed. */
function run(route: KubeObject, ctx: RouteContext, n = N, request: SimRequest = plain) {
  const primaryHash = new Map<string, number>();
  const primaryPod = new Map<string, number>();
  const mirroredHash = new Map<string, number>();
  const codes = new Map<number, number>();
  const decisions: RouteDecision[] = [];
  for (let i = 0; i < n; i++) {
    const decision = resolveRoute(route, request, ctx);
    if (i < 5) decisions.push(decision);
    bump(primaryHash, podTemplateHash(decision.primary.pod));
    bump(primaryPod, decision.primary.pod?.metadata.name ?? "");
    if (decision.primary.code !== undefined) bump(codes, decision.primary.code);
    for (const mirror of decision.mirrors) bump(mirroredHash, podTemplateHash(mirror.pod));
  }
  return { primaryHash, primaryPod, mirroredHash, codes, decisions };
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function expectBinomial(count: number, n: number, p: number): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(4 * sigma);
}

function httpRoute(rules: unknown[]): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "shop", namespace: "shop", annotations: { "sim.slipway.dev/rps": "10" } },
    spec: { parentRefs: [{ name: "gateway" }], rules },
  };
}

function virtualService(http: unknown[], version = "v1beta1"): KubeObject {
  return {
    apiVersion: `networking.istio.io/${version}`,
    kind: "VirtualService",
    metadata: { name: "shop", namespace: "shop" },
    spec: { hosts: ["shop"], http },
  };
}

function ingress(
  name: string,
  service: string,
  annotations: Record<string, string> = {},
  host = "shop.example",
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "shop", annotations },
    spec: {
      ingressClassName: "nginx",
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: service, port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

describe("Service", () => {
  it("spreads requests evenly over ready pods, never unready or terminating ones", () => {
    const { ctx, index } = harness();
    const { primaryPod } = run(index.getService("shop", "shop")!, ctx);
    // Ready: aaa111-a, -b, -c and bbb222-a. Not: the terminating stable pod and the unready canary.
    expect([...primaryPod.keys()].sort()).toEqual([
      "shop-aaa111-a",
      "shop-aaa111-b",
      "shop-aaa111-c",
      "shop-bbb222-a",
    ]);
    for (const count of primaryPod.values()) expectBinomial(count, N, 1 / 4);
  });

  it("answers 503 with the service named when no pod is ready", () => {
    const { ctx, index } = harness();
    const decision = resolveRoute(index.getService("shop", "empty")!, plain, ctx);
    expect(decision.primary).toEqual({ namespace: "shop", service: "empty", code: 503 });
  });
});

describe("HTTPRoute", () => {
  const weighted = (stable: number | undefined, canary: number | undefined) =>
    httpRoute([
      {
        backendRefs: [
          { name: "shop-stable", port: 80, ...(stable === undefined ? {} : { weight: stable }) },
          { name: "shop-canary", port: 80, ...(canary === undefined ? {} : { weight: canary }) },
        ],
      },
    ]);

  it("splits 90/10 by backendRef weight", () => {
    const { ctx } = harness();
    const { primaryHash } = run(weighted(90, 10), ctx);
    expectBinomial(primaryHash.get("bbb222") ?? 0, N, 0.1);
    expect((primaryHash.get("aaa111") ?? 0) + (primaryHash.get("bbb222") ?? 0)).toBe(N);
  });

  it("never chooses a weight-0 backend, and defaults weights to 1", () => {
    const { ctx } = harness();
    expect(run(weighted(100, 0), ctx).primaryHash.get("bbb222")).toBeUndefined();
    expectBinomial(run(weighted(undefined, undefined), ctx).primaryHash.get("bbb222") ?? 0, N, 0.5);
  });

  it("answers 503 when every backend has weight 0", () => {
    const { ctx } = harness();
    expect(run(weighted(0, 0), ctx, 10).codes.get(503)).toBe(10);
  });

  it("sends exactly the header-matched cohort to the matching rule", () => {
    const { ctx } = harness();
    const route = httpRoute([
      {
        matches: [{ headers: [{ type: "Exact", name: "X-Cohort", value: "beta" }] }],
        backendRefs: [{ name: "shop-canary", port: 80 }],
      },
      { backendRefs: [{ name: "shop-stable", port: 80 }] },
    ]);
    const beta = run(route, ctx, 1000, { headers: { "x-cohort": "beta" }, path: "/" });
    expect(beta.primaryHash).toEqual(new Map([["bbb222", 1000]]));
    const other = run(route, ctx, 1000, { headers: { "x-cohort": "gamma" }, path: "/" });
    expect(other.primaryHash).toEqual(new Map([["aaa111", 1000]]));
    const none = run(route, ctx, 1000);
    expect(none.primaryHash).toEqual(new Map([["aaa111", 1000]]));
  });

  it("matches headers by regular expression (whole value) and paths by prefix or exact", () => {
    const { ctx } = harness();
    const route = httpRoute([
      { matches: [{ path: { type: "PathPrefix", value: "/api" } }], backendRefs: [{ name: "empty" }] },
      {
        matches: [{ headers: [{ type: "RegularExpression", name: "x-user", value: "tester-[0-9]+" }] }],
        backendRefs: [{ name: "shop-canary" }],
      },
      { matches: [{ path: { type: "Exact", value: "/" } }], backendRefs: [{ name: "shop-stable" }] },
    ]);
    expect(
      podTemplateHash(resolveRoute(route, { headers: { "x-user": "tester-7" }, path: "/" }, ctx).primary.pod),
    ).toBe("bbb222");
    expect(
      podTemplateHash(
        resolveRoute(route, { headers: { "x-user": "tester-7x" }, path: "/" }, ctx).primary.pod,
      ),
    ).toBe("aaa111");
    expect(resolveRoute(route, { headers: {}, path: "/api/v1" }, ctx).primary.service).toBe("empty");
    expect(resolveRoute(route, { headers: {}, path: "/apiary" }, ctx).primary.code).toBe(404);
  });

  it("answers 404 when no rule matches", () => {
    const { ctx } = harness();
    const route = httpRoute([
      {
        matches: [{ headers: [{ name: "x-cohort", value: "beta" }] }],
        backendRefs: [{ name: "shop-canary" }],
      },
    ]);
    expect(resolveRoute(route, plain, ctx).primary).toEqual({ namespace: "shop", service: "", code: 404 });
  });

  it("mirrors the configured percentage, and the mirrored copies are not the served response", () => {
    const { ctx } = harness();
    const route = httpRoute([
      {
        filters: [
          {
            type: "RequestMirror",
            requestMirror: { backendRef: { name: "shop-canary", port: 80 }, percent: 30 },
          },
        ],
        backendRefs: [{ name: "shop-stable", port: 80, weight: 100 }],
      },
    ]);
    const { primaryHash, mirroredHash } = run(route, ctx);
    expect(primaryHash).toEqual(new Map([["aaa111", N]]));
    expectBinomial(mirroredHash.get("bbb222") ?? 0, N, 0.3);
  });

  it("mirrors by fraction, and everything when no share is given", () => {
    const { ctx } = harness();
    const mirror = (requestMirror: Record<string, unknown>) =>
      httpRoute([
        {
          filters: [
            {
              type: "RequestMirror",
              requestMirror: { backendRef: { name: "shop-canary" }, ...requestMirror },
            },
          ],
          backendRefs: [{ name: "shop-stable" }],
        },
      ]);
    expectBinomial(
      run(mirror({ fraction: { numerator: 1, denominator: 8 } }), ctx).mirroredHash.get("bbb222") ?? 0,
      N,
      1 / 8,
    );
    expect(run(mirror({}), ctx, 100).mirroredHash.get("bbb222")).toBe(100);
  });

  it("warns about a regular expression that does not compile and does not match it", () => {
    const { ctx, warnings } = harness();
    const route = httpRoute([
      {
        matches: [{ headers: [{ type: "RegularExpression", name: "x", value: "([" }] }],
        backendRefs: [{ name: "shop-canary" }],
      },
      { backendRefs: [{ name: "shop-stable" }] },
    ]);
    expect(podTemplateHash(resolveRoute(route, { headers: { x: "([" }, path: "/" }, ctx).primary.pod)).toBe(
      "aaa111",
    );
    expect(warnings).toEqual([`shop: InvalidSimRoute: regular expression "([" does not compile`]);
  });
});

describe("VirtualService", () => {
  it("splits 90/10 across host destinations", () => {
    const { ctx } = harness();
    const vs = virtualService([
      {
        name: "primary",
        route: [
          { destination: { host: "shop-stable" }, weight: 90 },
          { destination: { host: "shop-canary.shop.svc.cluster.local" }, weight: 10 },
        ],
      },
    ]);
    const { primaryHash } = run(vs, ctx);
    expectBinomial(primaryHash.get("bbb222") ?? 0, N, 0.1);
    expect((primaryHash.get("aaa111") ?? 0) + (primaryHash.get("bbb222") ?? 0)).toBe(N);
  });

  it("resolves subsets through DestinationRule labels (v1 as well as v1beta1)", () => {
    const { ctx } = harness();
    for (const version of ["v1beta1", "v1"]) {
      const vs = virtualService(
        [
          {
            route: [
              { destination: { host: "shop", subset: "stable" }, weight: 75 },
              { destination: { host: "shop", subset: "canary" }, weight: 25 },
            ],
          },
        ],
        version,
      );
      const { primaryHash, primaryPod } = run(vs, ctx);
      expectBinomial(primaryHash.get("bbb222") ?? 0, N, 0.25);
      // The subset narrows the Service's ready pods: never the unready or terminating ones.
      expect(primaryPod.has("shop-bbb222-unready")).toBe(false);
      expect(primaryPod.has("shop-aaa111-terminating")).toBe(false);
    }
  });

  it("answers 503 and warns when a subset is not defined", () => {
    const { ctx, warnings } = harness();
    const vs = virtualService([{ route: [{ destination: { host: "shop", subset: "preview" } }] }]);
    expect(resolveRoute(vs, plain, ctx).primary).toEqual({ namespace: "shop", service: "shop", code: 503 });
    expect(warnings).toEqual(['shop: InvalidSimRoute: no DestinationRule defines subset "preview" of shop']);
  });

  it("takes http routes in order, matching headers exactly, by prefix or by regex, and uri", () => {
    const { ctx } = harness();
    const vs = virtualService([
      { match: [{ uri: { prefix: "/admin" } }], route: [{ destination: { host: "empty" } }] },
      {
        name: "canary-header",
        match: [
          { headers: { "x-cohort": { exact: "beta" } } },
          { headers: { "x-user": { regex: "qa-.*" } } },
        ],
        route: [{ destination: { host: "shop", subset: "canary" } }],
      },
      {
        match: [{ headers: { "x-region": { prefix: "eu-" } } }],
        route: [{ destination: { host: "shop-canary" } }],
      },
      { route: [{ destination: { host: "shop", subset: "stable" } }] },
    ]);
    const hashFor = (headers: Record<string, string>, path = "/") =>
      podTemplateHash(resolveRoute(vs, { headers, path }, ctx).primary.pod);
    expect(hashFor({ "x-cohort": "beta" })).toBe("bbb222");
    expect(hashFor({ "x-cohort": "betamax" })).toBe("aaa111");
    expect(hashFor({ "x-user": "qa-1" })).toBe("bbb222");
    expect(hashFor({ "x-region": "eu-west" })).toBe("bbb222");
    expect(hashFor({})).toBe("aaa111");
    expect(resolveRoute(vs, { headers: {}, path: "/admin/x" }, ctx).primary.service).toBe("empty");
    const cohort = run(vs, ctx, 1000, { headers: { "x-cohort": "beta" }, path: "/" });
    expect(cohort.primaryHash).toEqual(new Map([["bbb222", 1000]]));
  });

  it("mirrors mirrorPercentage of requests, 100% by default", () => {
    const { ctx } = harness();
    const mirrored = (extra: Record<string, unknown>) =>
      virtualService([
        {
          route: [{ destination: { host: "shop", subset: "stable" } }],
          mirror: { host: "shop", subset: "canary" },
          ...extra,
        },
      ]);
    const share = run(mirrored({ mirrorPercentage: { value: 25 } }), ctx);
    expect(share.primaryHash).toEqual(new Map([["aaa111", N]]));
    expectBinomial(share.mirroredHash.get("bbb222") ?? 0, N, 0.25);
    expect(run(mirrored({}), ctx, 100).mirroredHash.get("bbb222")).toBe(100);
  });
});

describe("NGINX canary Ingress", () => {
  it("sends canary-weight percent to the canary Ingress backend", () => {
    const { ctx } = harness([
      ingress("shop-canary", "shop-canary", {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "20",
      }),
    ]);
    const { primaryHash } = run(ingress("shop", "shop-stable"), ctx);
    expectBinomial(primaryHash.get("bbb222") ?? 0, N, 0.2);
  });

  it("honours canary-weight-total", () => {
    const { ctx } = harness([
      ingress("shop-canary", "shop-canary", {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "5",
        "nginx.ingress.kubernetes.io/canary-weight-total": "1000",
      }),
    ]);
    expectBinomial(run(ingress("shop", "shop-stable"), ctx).primaryHash.get("bbb222") ?? 0, N, 0.005);
  });

  it("routes by header: always, never, an exact value, else by weight", () => {
    const byHeader = (extra: Record<string, string>) =>
      harness([
        ingress("shop-canary", "shop-canary", {
          "nginx.ingress.kubernetes.io/canary": "true",
          "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
          "nginx.ingress.kubernetes.io/canary-weight": "50",
          ...extra,
        }),
      ]).ctx;
    const stable = ingress("shop", "shop-stable");
    const hashes = (ctx: RouteContext, headers: Record<string, string>) =>
      run(stable, ctx, 1000, { headers, path: "/" }).primaryHash;

    const ctx = byHeader({});
    expect(hashes(ctx, { "x-canary": "always" })).toEqual(new Map([["bbb222", 1000]]));
    expect(hashes(ctx, { "x-canary": "never" })).toEqual(new Map([["aaa111", 1000]]));
    // Any other value is ignored and the weight decides.
    expectBinomial(hashes(ctx, { "x-canary": "maybe" }).get("bbb222") ?? 0, 1000, 0.5);
    expectBinomial(hashes(ctx, {}).get("bbb222") ?? 0, 1000, 0.5);

    const withValue = byHeader({
      "nginx.ingress.kubernetes.io/canary-by-header-value": "beta",
      "nginx.ingress.kubernetes.io/canary-weight": "0",
    });
    expect(hashes(withValue, { "x-canary": "beta" })).toEqual(new Map([["bbb222", 1000]]));
    expect(hashes(withValue, { "x-canary": "gamma" })).toEqual(new Map([["aaa111", 1000]]));
    expect(hashes(withValue, {})).toEqual(new Map([["aaa111", 1000]]));
  });

  it("ignores canary Ingresses for another host, and non-canary Ingresses", () => {
    const { ctx } = harness([
      ingress(
        "other-host",
        "shop-canary",
        { "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "100" },
        "other.example",
      ),
      ingress("not-canary", "shop-canary", { "nginx.ingress.kubernetes.io/canary-weight": "100" }),
    ]);
    expect(run(ingress("shop", "shop-stable"), ctx, 1000).primaryHash).toEqual(new Map([["aaa111", 1000]]));
  });

  it("warns when the rps annotation sits on the canary Ingress itself", () => {
    const { ctx, warnings } = harness();
    const canary = ingress("shop-canary", "shop-canary", { "nginx.ingress.kubernetes.io/canary": "true" });
    expect(resolveRoute(canary, plain, ctx).primary.code).toBe(404);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("annotate the stable Ingress");
  });

  it("warns about a canary-weight that is not a number and sends nothing to the canary", () => {
    const { ctx, warnings } = harness([
      ingress("shop-canary", "shop-canary", {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "ten",
      }),
    ]);
    expect(run(ingress("shop", "shop-stable"), ctx, 100).primaryHash).toEqual(new Map([["aaa111", 100]]));
    expect(new Set(warnings).size).toBe(1);
  });
});

describe("determinism", () => {
  it("gives the same decisions for the same seed", () => {
    const route = httpRoute([
      {
        backendRefs: [
          { name: "shop-stable", weight: 50 },
          { name: "shop-canary", weight: 50 },
        ],
      },
    ]);
    const pods = (seed: number) =>
      run(route, harness([], seed).ctx, 200).decisions.map((d) => d.primary.pod?.metadata.name);
    expect(pods(7)).toEqual(pods(7));
    expect(run(route, harness([], 7).ctx).primaryPod).toEqual(run(route, harness([], 7).ctx).primaryPod);
    expect(run(route, harness([], 7).ctx).primaryPod).not.toEqual(run(route, harness([], 8).ctx).primaryPod);
  });
});
