/**
 * Simulated traffic on the real sandbox (HTTPS, kubectl), for bad input and counting:
 * - malformed `sim.slipway.dev/*` annotations (negative rps, error rate above 1, header mix that is
 *   not JSON) become Warning Events on the object and are ignored, while other routes keep flowing;
 * - requests that reach no ready pod are counted as 503 with pod="", and every request that entered
 *   a route object is counted exactly once in `http_requests_total` (nothing silently lost);
 * - `/sim/traffic?window=N` holds exactly rps × N requests, whenever it is read.
 */
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const NS = "traffic-input";
const WEB_RPS = 200;

let env: TestSandbox;

// ---- small HTTP and Prometheus-text helpers --------------------------------------------------

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

function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function metrics(): Promise<Sample[]> {
  return parseMetrics(await get("/sim/metrics"));
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
  const report = JSON.parse(await get(`/sim/traffic?window=${window}`)) as {
    windowSeconds: number;
    routes: RouteTraffic[];
  };
  expect(report.windowSeconds).toBe(window);
  return report.routes;
}

async function route(window: number, kind: string, name: string): Promise<RouteTraffic> {
  const found = (await traffic(window)).find((r) => r.kind === kind && r.namespace === NS && r.name === name);
  if (!found) throw new Error(`${kind} ${NS}/${name} is not in /sim/traffic`);
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sleeps until `ms` past the next whole second, so the report's last whole second is recent. */
async function untilPastSecond(ms: number): Promise<void> {
  const now = Date.now();
  await sleep(1000 - (now % 1000) + ms);
}

async function warnings(name: string): Promise<KubeJson[]> {
  const list = await env.kubectlJson([
    "get",
    "events",
    "-n",
    NS,
    "--field-selector",
    `involvedObject.name=${name},type=Warning`,
  ]);
  return list.items as KubeJson[];
}

// ---- the cluster ----------------------------------------------------------------------------

const deployment = (name: string, annotations: Record<string, string>, replicas = 2) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: ${JSON.stringify(annotations)}
    spec:
      containers: [{name: app, image: "registry.example/${name}:1"}]
`;

const service = (name: string, app: string, annotations: Record<string, string>) => `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${NS}
  annotations: ${JSON.stringify(annotations)}
spec:
  selector: {app: ${app}}
  ports: [{port: 80, targetPort: 8080}]
`;

const manifests = [
  `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`,
  // Pods whose error rate is out of range: they must answer as if it were unset (no errors).
  deployment("web", { "sim.slipway.dev/error-rate": "1.5" }),
  service("web", "web", {}),
  // Never ready within the test: its requests reach no pod.
  deployment("slow", { "sim.slipway.dev/ready-after": "1h" }, 1),
  service("slow", "slow", { "sim.slipway.dev/rps": "50" }),
  // Selects nothing at all.
  service("nopods", "nothing-has-this-label", { "sim.slipway.dev/rps": "50" }),
  // Negative rate: an Event, and no traffic.
  service("negative", "web", { "sim.slipway.dev/rps": "-5" }),
  // A header mix that is not JSON: an Event, and requests go out without extra headers, so the
  // header rule never matches and everything takes the catch-all rule.
  `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: badheaders
  namespace: ${NS}
  annotations: {"sim.slipway.dev/rps": "100", "sim.slipway.dev/headers": "not json"}
spec:
  parentRefs: [{name: gateway}]
  rules:
    - matches: [{headers: [{name: x-cohort, value: beta}]}]
      backendRefs: [{name: nopods, port: 80}]
    - backendRefs: [{name: web, port: 80}]
`,
].join("\n---\n");

beforeAll(async () => {
  env = await startTestSandbox({ simulation: { seed: 4 } });
  await env.kubectlOk(["apply", "-f", "-"], { input: manifests });
  await waitFor(
    async () => {
      const pods = await env.kubectlJson(["get", "pods", "-n", NS, "-l", "app=web"]);
      const items = pods.items as KubeJson[];
      return (
        items.length === 2 &&
        items.every((p) =>
          (p.status?.conditions as KubeJson[] | undefined)?.some(
            (c) => c.type === "Ready" && c.status === "True",
          ),
        )
      );
    },
    { message: "web pods ready" },
  );
  // Traffic on the healthy Service starts once its pods serve.
  await env.kubectlOk(["annotate", "-n", NS, "service/web", `sim.slipway.dev/rps=${WEB_RPS}`]);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe("sandbox traffic: bad input and counting", () => {
  it("window totals are rps × window, whenever /sim/traffic is read", async () => {
    // The first whole second after the annotation is the first full one; wait for 5 more.
    await untilPastSecond(50);
    await sleep(6000);
    // Reads at different offsets within the second (the bug: a partial extra second was included).
    for (const offset of [0, 130, 260, 390, 520, 650, 780, 910]) {
      await untilPastSecond(offset + 20);
      for (const window of [1, 2, 5]) {
        const web = await route(window, "Service", "web");
        expect(web.rps).toBe(WEB_RPS);
        // The simulator spreads rps × elapsed requests evenly over each tick and carries fractions,
        // so any interval of W seconds holds rps × W requests give or take one.
        expect(
          Math.abs(web.total - WEB_RPS * window),
          `window ${window} at +${offset} ms`,
        ).toBeLessThanOrEqual(1);
      }
    }
  });

  it("reports a negative rps as a Warning Event and sends no traffic for it", async () => {
    const events = await waitFor(async () => {
      const found = await warnings("negative");
      return found.length > 0 ? found : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: "InvalidSimAnnotation",
      involvedObject: { kind: "Service", name: "negative", namespace: NS },
    });
    expect(events[0]!.message).toContain("sim.slipway.dev/rps");
    expect(events[0]!.message).toContain("negative");
    const negative = await route(5, "Service", "negative");
    expect(negative).toMatchObject({ rps: 0, total: 0 });
    expect(sum(await metrics(), "http_requests_total", { namespace: NS, service: "negative" })).toBe(0);
  });

  it("reports an error rate above 1 on the pods, which answer with the default (no errors)", async () => {
    const pods = (await env.kubectlJson(["get", "pods", "-n", NS, "-l", "app=web"])).items as KubeJson[];
    for (const pod of pods) {
      const name = pod.metadata.name as string;
      const events = await waitFor(async () => {
        const found = await warnings(name);
        return found.length > 0 ? found : undefined;
      });
      expect(events.map((e) => e.reason)).toEqual(["InvalidSimAnnotation"]);
      expect(events[0]!.involvedObject).toMatchObject({ kind: "Pod", name, namespace: NS });
      expect(events[0]!.message).toContain("sim.slipway.dev/error-rate");
      expect(events[0]!.message).toContain("1.5");
    }
    const samples = await metrics();
    const served = sum(samples, "http_requests_total", { namespace: NS, service: "web", code: "200" });
    expect(served).toBeGreaterThan(1000);
    expect(sum(samples, "http_requests_total", { namespace: NS, service: "web", code: "500" })).toBe(0);
  });

  it("reports a header mix that is not JSON and sends the requests without headers", async () => {
    const events = await waitFor(async () => {
      const found = await warnings("badheaders");
      return found.length > 0 ? found : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: "InvalidSimAnnotation",
      involvedObject: { kind: "HTTPRoute", name: "badheaders", namespace: NS },
    });
    expect(events[0]!.message).toContain("sim.slipway.dev/headers");
    expect(events[0]!.message).toContain("not valid JSON");
    // Still 100 rps, all through the catch-all rule to the web pods.
    const badheaders = await route(5, "HTTPRoute", "badheaders");
    expect(badheaders.rps).toBe(100);
    expect(Math.abs(badheaders.total - 500)).toBeLessThanOrEqual(1);
    expect(badheaders.byService).toEqual({ web: 1 });
  });

  it('counts requests that reach no ready pod as 503 with pod=""', async () => {
    const samples = await metrics();
    for (const name of ["slow", "nopods"]) {
      const report = await route(5, "Service", name);
      expect(Math.abs(report.total - 250), name).toBeLessThanOrEqual(1);
      expect(report.byHash, name).toEqual({ "": 1 });
      const all = sum(samples, "http_requests_total", { namespace: NS, service: name });
      expect(all, name).toBeGreaterThan(0);
      expect(
        sum(samples, "http_requests_total", { namespace: NS, service: name, code: "503", pod: "" }),
      ).toBe(all);
      // The proxy answered, no pod: not a latency observation.
      expect(sum(samples, "http_request_duration_seconds_count", { namespace: NS, service: name })).toBe(0);
    }
    // The slow pod exists, it just is not ready.
    const slow = (await env.kubectlJson(["get", "pods", "-n", NS, "-l", "app=slow"])).items as KubeJson[];
    expect(slow).toHaveLength(1);
  });

  it("counts every request that entered a route object exactly once (nothing silently lost)", async () => {
    // Stop the traffic, let the last partial second complete, then compare the whole history.
    for (const target of ["service/web", "service/slow", "service/nopods", "httproute/badheaders"]) {
      await env.kubectlOk(["annotate", "--overwrite", "-n", NS, target, "sim.slipway.dev/rps=0"]);
    }
    await untilPastSecond(200);
    const history = (await traffic(899)).filter((r) => r.namespace === NS);
    const entered = history.reduce((total, r) => total + r.total, 0);
    const samples = await metrics();
    const counted = sum(samples, "http_requests_total", { namespace: NS, mirrored: "false" });
    expect(entered).toBeGreaterThan(2000);
    expect(counted).toBe(entered);
    expect(sum(samples, "http_requests_total", { namespace: NS, mirrored: "true" })).toBe(0);
    // Per backend: the web Service's own traffic plus the HTTPRoute's.
    const byRoute = (name: string) => history.find((r) => r.name === name)?.total ?? 0;
    expect(sum(samples, "http_requests_total", { namespace: NS, service: "web" })).toBe(
      byRoute("web") + byRoute("badheaders"),
    );
    // The sandbox is still healthy.
    expect(await env.kubectlOk(["get", "ns", NS, "-o", "name"])).toContain(NS);
  });
});
