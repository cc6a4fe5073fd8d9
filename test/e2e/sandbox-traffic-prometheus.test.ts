/**
 * The sandbox's simulated traffic judged by a real Prometheus (Debian's `prometheus` binary), as an
 * analysis would judge a canary: Prometheus scrapes `https://127.0.0.1:<port>/sim/metrics` every
 * second, verifying the sandbox's certificate with its CA, and the error-rate query by
 * pod-template-hash returns each version's configured error rate.
 *
 * Skipped with a message when `prometheus` is not installed, unless REQUIRE_SERVICES=1 (then it
 * fails). The starter lives in this file on purpose (see the brief); it is a few lines.
 *
 * Tolerance. Each canary request fails independently with p = 0.3 (a seeded PRNG draw), so the
 * 5xx count among the n canary requests in the query's 10 s range is Binomial(n, p). n is read from
 * the same range's raw samples, and the ratio is accepted within 4σ = 4·√(p(1−p)/n) of p (false
 * alarm ≈ 6·10⁻⁵). The stable version has error rate 0, so it must have no 5xx at all: exact.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import { commandWorks, serviceAvailable } from "../helpers/services.js";

const hasPrometheus = serviceAvailable(
  "prometheus",
  () => commandWorks("prometheus", ["--version"]),
  "apt-get install prometheus",
);

const NS = "prom";
const RPS = 800;
const CANARY_ERROR_RATE = 0.3;
/** The query of the issue, unchanged. */
const ERROR_RATE_QUERY =
  'sum by (rollouts_pod_template_hash) (rate(http_requests_total{code=~"5.."}[10s])) / ' +
  "sum by (rollouts_pod_template_hash) (rate(http_requests_total[10s]))";
/**
 * The same ratio for versions that never failed too: Prometheus has no 5xx series for them (a
 * counter exists once incremented), so the division above leaves them out; `or 0 * total` fills
 * them in with 0.
 */
const ERROR_RATE_QUERY_WITH_ZEROS =
  '(sum by (rollouts_pod_template_hash) (rate(http_requests_total{code=~"5.."}[10s])) ' +
  "or 0 * sum by (rollouts_pod_template_hash) (rate(http_requests_total[10s]))) / " +
  "sum by (rollouts_pod_template_hash) (rate(http_requests_total[10s]))";

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stable, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, track: stable}}
  template:
    metadata:
      labels: {app: shop, track: stable}
      annotations: {"sim.slipway.dev/error-rate": "0", "sim.slipway.dev/latency-ms": "20"}
    spec: {containers: [{name: shop, image: "registry.example/shop:1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: canary, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, track: canary}}
  template:
    metadata:
      labels: {app: shop, track: canary}
      annotations: {"sim.slipway.dev/error-rate": "${CANARY_ERROR_RATE}", "sim.slipway.dev/latency-ms": "80"}
    spec: {containers: [{name: shop, image: "registry.example/shop:2"}]}
---
# Both versions behind one Service: its ready pods share the traffic evenly (half each).
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: ${NS}}
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
`;

// ---- a Prometheus of our own -----------------------------------------------------------------

interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

let prometheus: ChildProcess | undefined;
let prometheusUrl = "";
let prometheusLog = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

/** Starts Prometheus scraping the sandbox's /sim/metrics over verified HTTPS every second. */
async function startPrometheus(env: TestSandbox): Promise<void> {
  const caFile = join(env.dir, "sandbox-ca.pem");
  writeFileSync(caFile, env.sandbox.caPem);
  const config = join(env.dir, "prometheus.yml");
  const target = new URL(env.url).host;
  writeFileSync(
    config,
    `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: sandbox
    scheme: https
    metrics_path: /sim/metrics
    tls_config: {ca_file: ${JSON.stringify(caFile)}}
    static_configs: [{targets: [${JSON.stringify(target)}]}]
`,
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(env.dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const collect = (chunk: Buffer) => {
    prometheusLog = (prometheusLog + chunk.toString()).slice(-20_000);
  };
  prometheus.stdout?.on("data", collect);
  prometheus.stderr?.on("data", collect);
  // Up, and the sandbox target scraped successfully (so TLS verification passed).
  await waitFor(
    async () => {
      if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusLog.slice(-2000)}`);
      const up = await query('up{job="sandbox"}');
      return up.length === 1 && up[0]!.value?.[1] === "1";
    },
    { timeoutMs: 30_000, intervalMs: 250, message: "Prometheus scraping the sandbox" },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${prometheusLog.slice(-2000)}`);
  });
}

async function stopPrometheus(): Promise<void> {
  const child = prometheus;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

async function query(promql: string, time?: number): Promise<PromSeries[]> {
  const params = new URLSearchParams({ query: promql, ...(time ? { time: String(time) } : {}) });
  const response = await fetch(`${prometheusUrl}/api/v1/query?${params}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { result: PromSeries[] };
  };
  if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
  return body.data!.result;
}

// ---- the test -----------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasPrometheus)("sandbox traffic judged by a real Prometheus", () => {
  let env: TestSandbox;
  const hashes = { stable: "", canary: "" };
  let trafficStartedMs = 0;

  beforeAll(async () => {
    env = await startTestSandbox({ simulation: { seed: 31 } });
    await Promise.all([
      startPrometheus(env),
      (async () => {
        await env.kubectlOk(["apply", "-f", "-"], { input: manifests });
        await waitFor(
          async () => {
            const pods = (await env.kubectlJson(["get", "pods", "-n", NS])).items as KubeJson[];
            const ready = pods.filter((p) =>
              (p.status?.conditions as KubeJson[] | undefined)?.some(
                (c) => c.type === "Ready" && c.status === "True",
              ),
            );
            if (ready.length !== 4) return false;
            for (const pod of ready) {
              const labels = pod.metadata.labels as Record<string, string>;
              hashes[labels.track as "stable" | "canary"] = labels["pod-template-hash"]!;
            }
            return true;
          },
          { message: "4 ready pods" },
        );
      })(),
    ]);
    // Traffic only once both versions are ready, so every request in range reaches a pod.
    await env.kubectlOk(["annotate", "-n", NS, "service/shop", `sim.slipway.dev/rps=${RPS}`]);
    trafficStartedMs = Date.now();
  }, 60_000);

  afterAll(async () => {
    await stopPrometheus();
    await env?.stop();
  });

  it("the 5xx ratio by pod-template-hash is each version's configured error rate", async () => {
    expect(hashes.canary).not.toBe("");
    expect(hashes.canary).not.toBe(hashes.stable);
    // A full 10 s range after traffic started, plus two scrapes, so every series is older than the range.
    await sleep(Math.max(0, trafficStartedMs + 12_500 - Date.now()));
    const at = Date.now() / 1000;

    // n: requests each version answered during the range, from the raw samples of that range.
    const raw = await query(`http_requests_total{namespace="${NS}"}[10s]`, at);
    const answered = { total: new Map<string, number>(), errors: new Map<string, number>() };
    for (const series of raw) {
      const values = series.values ?? [];
      expect(values.length, "samples in the 10 s range").toBeGreaterThanOrEqual(8);
      const delta = Number(values.at(-1)![1]) - Number(values[0]![1]);
      const hash = series.metric.rollouts_pod_template_hash!;
      answered.total.set(hash, (answered.total.get(hash) ?? 0) + delta);
      if (/^5..$/.test(series.metric.code!))
        answered.errors.set(hash, (answered.errors.get(hash) ?? 0) + delta);
    }
    // Only the two versions answered: no 503s with an empty hash.
    expect([...answered.total.keys()].sort()).toEqual([hashes.stable, hashes.canary].sort());

    const result = await query(ERROR_RATE_QUERY, at);
    const byHash = new Map(result.map((s) => [s.metric.rollouts_pod_template_hash!, Number(s.value![1])]));

    // Canary: 0.3 within 4σ of the binomial with the observed n.
    const n = answered.total.get(hashes.canary)!;
    expect(n).toBeGreaterThan(2000);
    const observed = byHash.get(hashes.canary);
    expect(observed, `query result: ${JSON.stringify(result)}`).toBeDefined();
    const sigma = Math.sqrt((CANARY_ERROR_RATE * (1 - CANARY_ERROR_RATE)) / n);
    expect(
      Math.abs(observed! - CANARY_ERROR_RATE),
      `canary error rate ${observed} over n = ${n}, expected ${CANARY_ERROR_RATE} ± ${(4 * sigma).toFixed(4)}`,
    ).toBeLessThanOrEqual(4 * sigma);
    // rate() extrapolates every series of one scrape target alike, so the ratio is exactly the raw
    // one: the query measures what the pods answered, nothing else.
    expect(observed).toBeCloseTo(answered.errors.get(hashes.canary)! / n, 9);

    // Stable: never a 5xx, so no 5xx series at all; the query has nothing to divide...
    expect(answered.errors.has(hashes.stable)).toBe(false);
    expect(byHash.has(hashes.stable)).toBe(false);
    expect(answered.total.get(hashes.stable)).toBeGreaterThan(2000);
    // ...and the form that keeps error-free versions gives exactly 0.
    const withZeros = await query(ERROR_RATE_QUERY_WITH_ZEROS, at);
    const zeros = new Map(withZeros.map((s) => [s.metric.rollouts_pod_template_hash!, Number(s.value![1])]));
    expect(zeros.get(hashes.stable)).toBe(0);
    expect(zeros.get(hashes.canary)).toBeCloseTo(observed!, 12);
  });
});
