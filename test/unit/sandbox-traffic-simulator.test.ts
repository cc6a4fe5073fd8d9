/**
 * The traffic simulator's tick logic: rates, metrics, the traffic report, Events on bad input, and
 * routing that follows live changes. Time is driven by calling tick() directly.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type {
  GroupVersionResource,
  KubeObject,
  ResourceType,
  SandboxApi,
  WatchEvent,
} from "../../sandbox/core/types.js";
import { handleSimEndpoint, TrafficSimulator } from "../../sandbox/traffic/index.js";

/**
 * Stands in for the sandbox's object store in these unit tests only: just enough of SandboxApi
 * (get/list/subscribe/recordEvent, plus write helpers that fire watch events) to drive the tick
 * logic. The real store gets its own end-to-end test of the simulator over HTTP.
 */
class FakeStore implements SandboxApi {
  readonly events: { object: string; type: string; reason: string; message: string }[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<(event: WatchEvent, type: ResourceType) => void>();
  private readonly served: Set<string>;

  constructor(
    served = ["services", "pods", "ingresses", "httproutes", "virtualservices", "destinationrules"],
  ) {
    this.served = new Set(served);
  }

  serve(resource: string): void {
    this.served.add(resource);
  }

  resolve(group: string, version: string, name: string): ResourceType | undefined {
    if (!this.served.has(name)) return undefined;
    return {
      group,
      version,
      kind: name,
      listKind: `${name}List`,
      plural: name,
      singular: name,
      namespaced: true,
      shortNames: [],
      categories: [],
      verbs: ["get", "list", "watch"],
      subresources: { status: true },
    };
  }

  get(_gvr: GroupVersionResource, namespace: string | undefined, name: string): KubeObject | undefined {
    return [...this.objects.values()].find(
      (o) => o.metadata.namespace === namespace && o.metadata.name === name,
    );
  }

  list(gvr: GroupVersionResource): KubeObject[] {
    return [...this.objects.values()].filter((o) => pluralOf(o) === gvr.resource);
  }

  subscribe(
    gvr: GroupVersionResource | "*",
    listener: (event: WatchEvent, type: ResourceType) => void,
  ): () => void {
    if (gvr !== "*" && !this.served.has(gvr.resource)) throw new Error(`${gvr.resource} is not served`);
    const filtered = (event: WatchEvent, type: ResourceType) => {
      if (gvr === "*" || pluralOf(event.object) === gvr.resource) listener(event, type);
    };
    this.listeners.add(filtered);
    return () => this.listeners.delete(filtered);
  }

  recordEvent(involved: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
    this.events.push({ object: `${involved.kind}/${involved.metadata.name}`, type, reason, message });
  }

  create(_gvr: GroupVersionResource, object: KubeObject): KubeObject {
    return this.put(object);
  }

  update(_gvr: GroupVersionResource, object: KubeObject): KubeObject {
    return this.put(object);
  }

  patch(): KubeObject {
    throw new Error("not used by the simulator");
  }

  delete(_gvr: GroupVersionResource, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = `${namespace}/${name}`;
    for (const [k, object] of this.objects) {
      if (k.endsWith(`|${key}`)) {
        this.objects.delete(k);
        this.emit({ type: "DELETED", object });
      }
    }
    return undefined;
  }

  /** Creates or replaces an object (a fresh copy, as the store hands out) and tells subscribers. */
  put(object: KubeObject): KubeObject {
    const stored = structuredClone(object);
    const key = `${pluralOf(stored)}|${stored.metadata.namespace}/${stored.metadata.name}`;
    const type = this.objects.has(key) ? "MODIFIED" : "ADDED";
    this.objects.set(key, stored);
    this.emit({ type, object: stored });
    return stored;
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  private emit(event: WatchEvent): void {
    const type = this.resolve("", "v1", pluralOf(event.object))!;
    for (const listener of this.listeners) listener(event, type);
  }
}

function pluralOf(object: KubeObject): string {
  return `${object.kind.toLowerCase()}${object.kind.endsWith("s") ? "es" : "s"}`;
}

function loadFixture(): KubeObject[] {
  const text = readFileSync(new URL("./fixtures/traffic/shop.yaml", import.meta.url), "utf8");
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
}

function store(extra: KubeObject[] = []): FakeStore {
  const fake = new FakeStore();
  for (const object of [...loadFixture(), ...extra]) fake.put(object);
  return fake;
}

function httpRoute(
  stableWeight: number,
  canaryWeight: number,
  annotations: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "shop", namespace: "shop", annotations },
    spec: {
      rules: [
        {
          matches: [{ headers: [{ name: "x-cohort", value: "beta" }] }],
          backendRefs: [{ name: "shop-canary", port: 80 }],
        },
        {
          filters: [
            { type: "RequestMirror", requestMirror: { backendRef: { name: "shop-canary" }, percent: 50 } },
          ],
          backendRefs: [
            { name: "shop-stable", port: 80, weight: stableWeight },
            { name: "shop-canary", port: 80, weight: canaryWeight },
          ],
        },
      ],
    },
  };
}

function service(name: string, annotations: Record<string, string>, selector = { app: "shop" }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "shop", annotations },
    spec: { selector },
  };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

/** Ticks every `stepMs` from the simulator's start (clock 0) to `untilMs`. */
function runFor(sim: TrafficSimulator, untilMs: number, stepMs = 100, fromMs = 0): void {
  for (let t = fromMs + stepMs; t <= untilMs; t += stepMs) sim.tick(t);
}

describe("TrafficSimulator", () => {
  it("sends rps × elapsed requests exactly, carrying fractions across ticks", async () => {
    const fake = store([service("shop", { "sim.slipway.dev/rps": "7.3" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0, seed: 1 });
    runFor(sim, 100_000, 100);
    const samples = parseMetrics(await sim.metricsText());
    expect(sum(samples, "http_requests_total", { service: "shop" })).toBe(730);

    // Irregular ticks: the count never drifts from floor(rps × elapsed).
    let now = 100_000;
    const steps = [1, 7, 33, 250, 999, 3, 1500, 42];
    for (let i = 0; i < 400; i++) {
      now += steps[i % steps.length]!;
      sim.tick(now);
    }
    const total = sum(parseMetrics(await sim.metricsText()), "http_requests_total", { service: "shop" });
    expect(total).toBe(Math.floor((7.3 * now) / 1000 + 1e-9));
  });

  it("exports the labelled series: pods, hashes, codes, mirrored copies and the histogram", async () => {
    const fake = store([
      httpRoute(80, 20, {
        "sim.slipway.dev/rps": "100",
        "sim.slipway.dev/headers": '[{"name":"x-cohort","value":"beta","fraction":0.1}]',
      }),
    ]);
    const sim = new TrafficSimulator(fake, { clock: () => 0, seed: 5 });
    runFor(sim, 60_000);
    const samples = parseMetrics(await sim.metricsText());
    const served = { namespace: "shop", mirrored: "false" };

    expect(sum(samples, "http_requests_total", served)).toBe(6000);
    // Canary: 10% header cohort + 20% of the other 90% = 28% of requests.
    const canary = sum(samples, "http_requests_total", { ...served, rollouts_pod_template_hash: "bbb222" });
    expect(Math.abs(canary - 6000 * 0.28)).toBeLessThanOrEqual(4 * Math.sqrt(6000 * 0.28 * 0.72));
    // Only the canary pod annotated with an error rate answers 500; the stable pods never do.
    expect(
      sum(samples, "http_requests_total", { ...served, rollouts_pod_template_hash: "aaa111", code: "500" }),
    ).toBe(0);
    const canaryErrors = sum(samples, "http_requests_total", {
      ...served,
      pod: "shop-bbb222-a",
      code: "500",
    });
    expect(canaryErrors / canary).toBeGreaterThan(0.15);
    expect(canaryErrors / canary).toBeLessThan(0.25);
    // Unready and terminating pods never appear.
    const pods = new Set(samples.filter((s) => s.name === "http_requests_total").map((s) => s.labels.pod));
    expect([...pods].sort()).toEqual(["shop-aaa111-a", "shop-aaa111-b", "shop-aaa111-c", "shop-bbb222-a"]);

    // Mirrored copies: half of the 90% that take the weighted rule, all counted on the canary.
    const mirrored = sum(samples, "http_requests_total", { mirrored: "true" });
    expect(Math.abs(mirrored - 6000 * 0.45)).toBeLessThanOrEqual(4 * Math.sqrt(6000 * 0.45 * 0.55));
    expect(sum(samples, "http_requests_total", { mirrored: "true", service: "shop-canary" })).toBe(mirrored);

    // Every sample of the counter carries exactly the six labels.
    for (const s of samples.filter((x) => x.name === "http_requests_total")) {
      expect(Object.keys(s.labels).sort()).toEqual(
        ["code", "mirrored", "namespace", "pod", "rollouts_pod_template_hash", "service"].sort(),
      );
    }
    // The histogram counts every pod answer, served and mirrored, without pod and code labels.
    const histogramCount = sum(samples, "http_request_duration_seconds_count");
    expect(histogramCount).toBe(6000 + mirrored);
    const canaryHist = samples.find(
      (s) =>
        s.name === "http_request_duration_seconds_count" &&
        s.labels.rollouts_pod_template_hash === "bbb222" &&
        s.labels.mirrored === "false",
    );
    expect(Object.keys(canaryHist!.labels).sort()).toEqual([
      "mirrored",
      "namespace",
      "rollouts_pod_template_hash",
      "service",
    ]);
    // Canary pod latency is annotated 200 ms; stable pods use the 10 ms default.
    const meanLatency = (hash: string) =>
      sum(samples, "http_request_duration_seconds_sum", {
        rollouts_pod_template_hash: hash,
        mirrored: "false",
      }) /
      sum(samples, "http_request_duration_seconds_count", {
        rollouts_pod_template_hash: hash,
        mirrored: "false",
      });
    expect(meanLatency("bbb222")).toBeGreaterThan(0.18);
    expect(meanLatency("bbb222")).toBeLessThan(0.22);
    expect(meanLatency("aaa111")).toBeLessThan(0.012);
  });

  it("counts requests with no ready destination as 503 with an empty pod", async () => {
    const fake = store([
      service("empty", { "sim.slipway.dev/rps": "10" }, { app: "nothing-here" } as { app: string }),
    ]);
    const sim = new TrafficSimulator(fake, { clock: () => 0 });
    runFor(sim, 10_000);
    const samples = parseMetrics(await sim.metricsText());
    expect(
      sum(samples, "http_requests_total", { service: "empty", pod: "", code: "503", mirrored: "false" }),
    ).toBe(100);
    expect(sim.trafficReport(60).routes[0]).toMatchObject({ name: "empty", total: 100, byHash: { "": 1 } });
  });

  it("reports per-route shares by hash and service over a window", () => {
    const fake = store([httpRoute(90, 10, { "sim.slipway.dev/rps": "200" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0, seed: 9 });
    runFor(sim, 30_000);
    const report = sim.trafficReport(10);
    expect(report.windowSeconds).toBe(10);
    expect(report.routes).toHaveLength(1);
    const route = report.routes[0]!;
    expect(route).toMatchObject({ kind: "HTTPRoute", namespace: "shop", name: "shop", rps: 200 });
    // The window holds exactly the last 10 seconds: 200 rps × 10 s.
    expect(route.total).toBe(2000);
    const canaryShare = route.byHash.bbb222!;
    const sigma = Math.sqrt((0.1 * 0.9) / route.total);
    expect(Math.abs(canaryShare - 0.1)).toBeLessThanOrEqual(4 * sigma);
    expect(route.byHash.aaa111! + canaryShare).toBeCloseTo(1, 3);
    expect(route.byService["shop-canary"]).toBe(canaryShare);
    // Stable never fails; the canary pod is annotated with a 0.2 error rate (4σ of its n requests).
    expect(route.errorRateByHash.aaa111).toBe(0);
    const canaryN = canaryShare * route.total;
    expect(Math.abs(route.errorRateByHash.bbb222! - 0.2)).toBeLessThanOrEqual(
      4 * Math.sqrt((0.2 * 0.8) / canaryN),
    );
    const mirroredCopies = route.mirrored.bbb222!;
    expect(Math.abs(mirroredCopies - route.total * 0.5)).toBeLessThanOrEqual(
      4 * Math.sqrt(route.total * 0.25),
    );
  });

  it("follows changes to the live route objects on the next request", () => {
    const fake = store([httpRoute(100, 0, { "sim.slipway.dev/rps": "100" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0 });
    runFor(sim, 10_000);
    expect(sim.trafficReport(5).routes[0]!.byHash).toEqual({ aaa111: 1 });

    fake.put(httpRoute(0, 100, { "sim.slipway.dev/rps": "100" }));
    runFor(sim, 20_000, 100, 10_000);
    expect(sim.trafficReport(5).routes[0]!.byHash).toEqual({ bbb222: 1 });

    // The canary pod stops being ready: its requests become 503s, none reach it.
    const [canaryPod] = fake
      .list({ group: "", version: "v1", resource: "pods" })
      .filter((p) => p.metadata.name === "shop-bbb222-a");
    fake.put({ ...canaryPod!, status: { conditions: [{ type: "Ready", status: "False" }] } });
    runFor(sim, 30_000, 100, 20_000);
    expect(sim.trafficReport(5).routes[0]!.byHash).toEqual({ "": 1 });

    // Deleted: no more traffic, and the route leaves the report once its window is empty.
    fake.delete(
      { group: "gateway.networking.k8s.io", version: "v1", resource: "httproutes" },
      "shop",
      "shop",
    );
    runFor(sim, 40_000, 100, 30_000);
    expect(sim.trafficReport(5).routes).toEqual([]);
  });

  it("reports bad annotations as Events once, ignores them, and keeps other traffic flowing", async () => {
    const fake = store([
      service("negative", { "sim.slipway.dev/rps": "-5" }),
      service("typo", { "sim.slipway.dev/rsp": "10" }),
      service("bad-json", { "sim.slipway.dev/rps": "10", "sim.slipway.dev/headers": "[{oops" }),
    ]);
    // A pod with bad behaviour annotations: defaults are used, one Event per value.
    const [pod] = loadFixture().filter((o) => o.metadata.name === "shop-aaa111-a");
    fake.put({
      ...pod!,
      metadata: { ...pod!.metadata, annotations: { "sim.slipway.dev/error-rate": "1.5" } },
    });

    const sim = new TrafficSimulator(fake, { clock: () => 0 });
    runFor(sim, 5_000);
    const warnings = fake.events.map((e) => `${e.object} ${e.reason}: ${e.message}`).sort();
    expect(warnings).toEqual([
      `Pod/shop-aaa111-a InvalidSimAnnotation: sim.slipway.dev/error-rate: "1.5" is outside [0, 1]; using 0`,
      `Service/bad-json InvalidSimAnnotation: sim.slipway.dev/headers is not valid JSON (${jsonError("[{oops")}); requests are sent without extra headers`,
      `Service/negative InvalidSimAnnotation: sim.slipway.dev/rps: "-5" is negative; no traffic sent`,
      "Service/typo UnknownSimAnnotation: unknown annotation sim.slipway.dev/rsp ignored; known: sim.slipway.dev/rps, sim.slipway.dev/headers",
    ]);
    expect(fake.events.every((e) => e.type === "Warning")).toBe(true);

    const samples = parseMetrics(await sim.metricsText());
    expect(sum(samples, "http_requests_total", { service: "bad-json" })).toBe(50);
    expect(sum(samples, "http_requests_total", { service: "negative" })).toBe(0);
    expect(sum(samples, "http_requests_total", { pod: "shop-aaa111-a", code: "500" })).toBe(0);

    // Fixing the value takes effect; a new bad value is a new Event.
    fake.put(service("negative", { "sim.slipway.dev/rps": "2" }));
    fake.put(service("typo", { "sim.slipway.dev/rps": "abc" }));
    runFor(sim, 10_000, 100, 5_000);
    expect(fake.events).toHaveLength(5);
    expect(fake.events[4]!.message).toContain('"abc" is not a number');
    const after = parseMetrics(await sim.metricsText());
    expect(sum(after, "http_requests_total", { service: "negative" })).toBe(10);
  });

  it("picks up route kinds whose CRDs are installed after it started", async () => {
    const fake = new FakeStore(["services", "pods", "ingresses"]);
    for (const object of loadFixture().filter((o) => o.kind !== "DestinationRule")) fake.put(object);
    const sim = new TrafficSimulator(fake, { clock: () => 0 });
    sim.tick(1000);
    fake.serve("httproutes");
    fake.put(httpRoute(100, 0, { "sim.slipway.dev/rps": "10" }));
    runFor(sim, 11_000, 1000, 1000);
    expect(
      sum(parseMetrics(await sim.metricsText()), "http_requests_total", { service: "shop-stable" }),
    ).toBe(100);
  });

  it("starts a route's traffic from when it was first seen", async () => {
    let now = 0;
    const fake = store();
    const sim = new TrafficSimulator(fake, { clock: () => now });
    sim.tick(1000);
    now = 1500;
    fake.put(service("shop", { "sim.slipway.dev/rps": "10" }));
    sim.tick(2000);
    expect(sum(parseMetrics(await sim.metricsText()), "http_requests_total", { service: "shop" })).toBe(5);
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    const text = async (seed: number) => {
      const fake = store([
        httpRoute(50, 50, {
          "sim.slipway.dev/rps": "50",
          "sim.slipway.dev/headers": '[{"name":"x-cohort","value":"beta","fraction":0.3}]',
        }),
      ]);
      const sim = new TrafficSimulator(fake, { clock: () => 0, seed });
      runFor(sim, 20_000);
      return sim.metricsText();
    };
    expect(await text(11)).toBe(await text(11));
    expect(await text(11)).not.toBe(await text(12));
  });

  it("catches up at most maxCatchUpMs after a stall", async () => {
    const fake = store([service("shop", { "sim.slipway.dev/rps": "10" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0, maxCatchUpMs: 5_000 });
    sim.tick(3_600_000);
    expect(sum(parseMetrics(await sim.metricsText()), "http_requests_total", { service: "shop" })).toBe(50);
  });

  it("uses the given registry, and stop() unsubscribes", async () => {
    const registry = new Registry();
    const fake = store([service("shop", { "sim.slipway.dev/rps": "10" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0, registry });
    sim.start();
    // One per collection: services, pods, ingresses, httproutes, virtualservices, destinationrules.
    expect(fake.listenerCount()).toBe(6);
    sim.tick(1000);
    expect(await registry.metrics()).toContain('http_requests_total{namespace="shop",service="shop"');
    sim.stop();
    expect(fake.listenerCount()).toBe(0);
  });

  it("serves /sim/metrics and /sim/traffic over HTTP", async () => {
    const fake = store([service("shop", { "sim.slipway.dev/rps": "10" })]);
    const sim = new TrafficSimulator(fake, { clock: () => 0 });
    runFor(sim, 5_000);
    const server = createServer((req, res) => {
      if (!handleSimEndpoint(sim, req, res)) {
        res.writeHead(401);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const metrics = await fetch(`${base}/sim/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toContain("text/plain");
      expect(sum(parseMetrics(await metrics.text()), "http_requests_total")).toBe(50);

      const traffic = await fetch(`${base}/sim/traffic?window=10`);
      expect(traffic.status).toBe(200);
      const report = (await traffic.json()) as {
        windowSeconds: number;
        routes: { name: string; total: number }[];
      };
      expect(report.windowSeconds).toBe(10);
      expect(report.routes).toMatchObject([{ name: "shop", total: 50 }]);

      expect((await fetch(`${base}/sim/traffic?window=abc`)).status).toBe(400);
      expect((await fetch(`${base}/sim/nope`)).status).toBe(404);
      expect((await fetch(`${base}/sim/metrics`, { method: "POST" })).status).toBe(405);
      expect((await fetch(`${base}/api/v1/pods`)).status).toBe(401);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

function jsonError(raw: string): string {
  try {
    JSON.parse(raw);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
}
