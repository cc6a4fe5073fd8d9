/**
 * The AnalysisRun controller against a real sandbox over HTTPS, started in-process with the
 * controller runtime as `slipway controller` will: CRDs installed with `installManifests()`, runs
 * created through the API, and the outcome read back through the API (status, Events, Jobs) and
 * from the controller's /metrics registry.
 *
 * Web metrics call a node:http JSON endpoint served here; Job metrics use the sandbox's simulated
 * Jobs (`sim.slipway.dev/duration`, `sim.slipway.dev/exit-code`); Prometheus metrics use a real
 * Prometheus scraping the sandbox's `/sim/metrics` (skipped without the binary unless
 * REQUIRE_SERVICES=1).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type KubernetesObject, type V1Job } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOB_NAME_KEY, METRIC_LABEL, RUN_UID_LABEL } from "../../analysis/providers/job/index.js";
import { createAnalysisRunController } from "../../analysis/reconciler/controller.js";
import type { AnalysisRun, AnalysisRunSpec, Metric } from "../../api/v1alpha1/analysis.js";
import { API_VERSION } from "../../api/v1alpha1/common.js";
import { installManifests } from "../../api/v1alpha1/crds.js";
import { applyObjects } from "../../controller/kube/apply.js";
import { ClusterClient, type RequestRecord } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import type { Controller } from "../../controller/runtime/controller.js";
import { prometheusAvailable, type RunningPrometheus, startPrometheus } from "../helpers/prometheus.js";
import { startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const NS = "analysis";
const log = pino({ level: "silent" });

interface RunningController {
  controller: Controller;
  client: ClusterClient;
  recorder: EventRecorder;
  registry: Registry;
  requests: RequestRecord[];
  stop(): Promise<void>;
}

let sb: TestSandbox;
let kc: KubeConfig;
/** The test's own client: its requests are not the controller's. */
let api: ClusterClient;
let ctl: RunningController;
let web: Server;
let webUrl = "";
/** Requests the web endpoint answered, by `run` query parameter. */
const hits = new Map<string, number>();

/** Starts a controller as a fresh process would: its own client, informers, queue and recorder. */
async function startController(): Promise<RunningController> {
  const requests: RequestRecord[] = [];
  const registry = new Registry();
  const client = new ClusterClient(kc, { name: "sandbox", onRequest: (r) => requests.push(r) });
  const informers = new InformerFactory(client, { log, backoff: { initialMs: 20, maxMs: 500 } });
  const recorder = new EventRecorder(client, { log });
  const controller = createAnalysisRunController({
    client,
    informers,
    registry,
    log,
    recorder,
    concurrency: 8,
  });
  await controller.start();
  return {
    controller,
    client,
    recorder,
    registry,
    requests,
    async stop() {
      await controller.stop();
      await informers.stop();
      await recorder.flush();
      client.close();
    },
  };
}

async function createRun(name: string, spec: AnalysisRunSpec): Promise<void> {
  await api.dynamic.create({
    apiVersion: API_VERSION,
    kind: "AnalysisRun",
    metadata: { name, namespace: NS },
    spec,
  });
}

async function getRun(name: string): Promise<AnalysisRun> {
  const run = await api.dynamic.get<KubernetesObject>({
    apiVersion: API_VERSION,
    kind: "AnalysisRun",
    namespace: NS,
    name,
  });
  if (!run) throw new Error(`AnalysisRun ${name} not found`);
  return run as unknown as AnalysisRun;
}

async function waitForPhase(name: string, phases: string[], timeoutMs = 20_000): Promise<AnalysisRun> {
  let last: AnalysisRun | undefined;
  try {
    return await waitFor(
      async () => {
        last = await getRun(name);
        return phases.includes(last.status?.phase ?? "") ? last : undefined;
      },
      { timeoutMs, intervalMs: 50, message: `${name} to reach ${phases.join("|")}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
}

async function eventsOf(name: string): Promise<{ type: string; reason: string; message: string }[]> {
  await ctl.recorder.flush();
  const list = await api.core.listNamespacedEvent({
    namespace: NS,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.map((e) => ({ type: e.type ?? "", reason: e.reason ?? "", message: e.message ?? "" }));
}

async function sampleOf(registry: Registry, metric: string, labels: Record<string, string>): Promise<number> {
  const found = (await registry.getSingleMetric(metric)?.get())?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return found?.value ?? 0;
}

const webMetric = (run: string, value: number, extra: Partial<Metric> = {}): Metric => ({
  name: "rate",
  successCondition: "result >= 0.9",
  provider: { web: { url: `${webUrl}/metric?run=${run}&value=${value}`, jsonPath: "{$.data.value}" } },
  ...extra,
});

const jobMetric = (exitCode: number, duration: string, extra: Partial<Metric> = {}): Metric => ({
  name: "smoke",
  provider: {
    job: {
      metadata: { labels: { team: "checkout" } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: {
            annotations: {
              "sim.slipway.dev/duration": duration,
              "sim.slipway.dev/exit-code": String(exitCode),
            },
          },
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "smoke", image: "registry.example/smoke:1" }],
          },
        },
      },
    },
  },
  ...extra,
});

async function jobsOf(uid: string): Promise<V1Job[]> {
  return api.dynamic.list<V1Job>("batch/v1", "Job", {
    namespace: NS,
    labelSelector: `${RUN_UID_LABEL}=${uid}`,
  });
}

beforeAll(async () => {
  sb = await startTestSandbox();
  kc = new KubeConfig();
  kc.loadFromFile(sb.kubeconfig);
  await applyObjects(kc, installManifests() as unknown as KubernetesObject[], {
    fieldManager: "slipway-test",
  });
  api = new ClusterClient(kc, { name: "test" });
  await api.core.createNamespace({ body: { metadata: { name: NS } } });

  web = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const run = url.searchParams.get("run") ?? "";
    hits.set(run, (hits.get(run) ?? 0) + 1);
    if (url.pathname === "/protected") {
      // Echoes what it was sent: the secret must still never reach the run's status.
      res.writeHead(403, { "content-type": "text/plain" });
      res.end(`forbidden for ${req.headers.authorization ?? "nobody"}`);
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ data: { value: Number(url.searchParams.get("value")) } }));
  });
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  ctl = await startController();
});

afterAll(async () => {
  await ctl?.stop();
  api?.close();
  if (web) await new Promise((r) => web.close(r));
  await sb?.stop();
});

describe("AnalysisRun controller against the sandbox", () => {
  it("a web metric succeeds after `count` measurements on a 1s interval, with Events and metrics", async () => {
    await createRun("web-ok", { metrics: [webMetric("web-ok", 0.99, { interval: "1s", count: 3 })] });
    const run = await waitForPhase("web-ok", ["Successful", "Failed", "Error", "Inconclusive"]);
    expect(run.status?.phase).toBe("Successful");
    const result = run.status!.metricResults![0]!;
    expect(result).toMatchObject({ name: "rate", phase: "Successful", count: 3, successful: 3, failed: 0 });
    const measurements = result.measurements!;
    expect(measurements.map((m) => [m.phase, m.value])).toEqual([
      ["Successful", "0.99"],
      ["Successful", "0.99"],
      ["Successful", "0.99"],
    ]);
    // Each measurement about one interval after the previous one finished.
    for (let i = 1; i < measurements.length; i++) {
      const gap = Date.parse(measurements[i]!.startedAt!) - Date.parse(measurements[i - 1]!.finishedAt!);
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThan(1500);
    }
    expect(hits.get("web-ok")).toBe(3);
    expect(run.status!.runSummary).toEqual({ count: 1, successful: 1, failed: 0, inconclusive: 0, error: 0 });

    const events = await eventsOf("web-ok");
    expect(events.map((e) => [e.type, e.reason]).sort()).toEqual([
      ["Normal", "AnalysisRunSuccessful"],
      ["Normal", "MetricSuccessful"],
    ]);
    expect(events.find((e) => e.reason === "MetricSuccessful")!.message).toBe(
      "Metric 'rate' Completed. Result: Successful",
    );
    expect(
      await sampleOf(ctl.registry, "slipway_analysis_measurements_total", {
        namespace: NS,
        metric: "rate",
        phase: "Successful",
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      await sampleOf(ctl.registry, "slipway_analysis_run_phase", {
        namespace: NS,
        name: "web-ok",
        phase: "Successful",
      }),
    ).toBe(1);
    const providerCalls = (
      await ctl.registry.getSingleMetric("slipway_analysis_provider_duration_seconds")?.get()
    )?.values.find(
      (v) => v.labels.provider === "web" && (v as { metricName?: string }).metricName?.endsWith("_count"),
    );
    expect(providerCalls?.value).toBeGreaterThanOrEqual(3);
  });

  it("a web metric fails after failureLimit+1 failures, with Warning Events", async () => {
    await createRun("web-bad", {
      metrics: [webMetric("web-bad", 0.5, { interval: "300ms", count: 10, failureLimit: 2 })],
    });
    const run = await waitForPhase("web-bad", ["Successful", "Failed", "Error", "Inconclusive"]);
    expect(run.status?.phase).toBe("Failed");
    expect(run.status?.message).toBe('Metric "rate" assessed Failed due to failed (3) > failureLimit (2)');
    const result = run.status!.metricResults![0]!;
    expect(result).toMatchObject({ phase: "Failed", count: 3, failed: 3 });
    expect(result.measurements!.map((m) => m.phase)).toEqual(["Failed", "Failed", "Failed"]);
    expect(hits.get("web-bad")).toBe(3);
    const events = await eventsOf("web-bad");
    expect(events.map((e) => [e.type, e.reason]).sort()).toEqual([
      ["Warning", "AnalysisRunFailed"],
      ["Warning", "MetricFailed"],
    ]);
    expect(events.find((e) => e.reason === "AnalysisRunFailed")!.message).toBe(
      `Analysis Completed. Result: Failed: ${run.status!.message}`,
    );
  });

  it("a condition that does not parse ends the run Error at once, with the position", async () => {
    await createRun("bad-condition", {
      metrics: [webMetric("bad-condition", 0.99, { successCondition: "result >= (0.9" })],
    });
    const run = await waitForPhase("bad-condition", ["Error", "Successful", "Failed"]);
    expect(run.status?.phase).toBe("Error");
    expect(run.status?.message).toMatch(
      /^Analysis spec invalid: metrics\[0\] "rate": successCondition .*column \d+/,
    );
    expect(hits.get("bad-condition")).toBeUndefined();
    expect((await eventsOf("bad-condition")).map((e) => e.reason)).toEqual(["AnalysisRunError"]);
  });

  it("a missing Secret ends the run Error naming it; a Secret's value never reaches status or Events", async () => {
    const secretArg = (name: string) => ({
      args: [{ name: "token", valueFrom: { secretKeyRef: { name, key: "token" } } }],
    });
    const protectedMetric = (run: string): Metric => ({
      name: "auth",
      consecutiveErrorLimit: 0,
      provider: {
        web: {
          url: `${webUrl}/protected?run=${run}`,
          headers: [{ key: "Authorization", value: "Bearer {{args.token}}" }],
        },
      },
    });
    await createRun("no-secret", {
      ...secretArg("api-token-missing"),
      metrics: [protectedMetric("no-secret")],
    });
    const missing = await waitForPhase("no-secret", ["Error", "Successful", "Failed"]);
    expect(missing.status?.phase).toBe("Error");
    expect(missing.status?.message).toBe(
      `Unable to resolve metric arguments: argument 'token': secret api-token-missing key token: not found in namespace "${NS}"`,
    );
    expect(hits.get("no-secret")).toBeUndefined();

    const value = "s3cr3t-value-42";
    await api.core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: "api-token" }, stringData: { token: value } },
    });
    await createRun("with-secret", { ...secretArg("api-token"), metrics: [protectedMetric("with-secret")] });
    const run = await waitForPhase("with-secret", ["Error", "Successful", "Failed"]);
    expect(run.status?.phase).toBe("Error");
    expect(hits.get("with-secret")).toBe(1);
    expect(run.status!.metricResults![0]!.measurements![0]!.message).toContain("forbidden for Bearer *****");
    const events = await eventsOf("with-secret");
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(run)).not.toContain(value);
    expect(JSON.stringify(events)).not.toContain(value);
  });

  it("Job metrics: exit code 0 is Successful, 1 is Failed; Jobs are owned and labelled, old ones deleted", async () => {
    await createRun("job-ok", {
      metrics: [jobMetric(0, "200ms", { interval: "200ms", count: 3 })],
      measurementRetention: [{ metricName: "smoke", limit: 1 }],
    });
    await createRun("job-fail", { metrics: [jobMetric(1, "100ms")] });
    const [ok, failed] = await Promise.all([
      waitForPhase("job-ok", ["Successful", "Failed", "Error"]),
      waitForPhase("job-fail", ["Successful", "Failed", "Error"]),
    ]);

    expect(ok.status?.phase).toBe("Successful");
    const okResult = ok.status!.metricResults![0]!;
    expect(okResult).toMatchObject({ count: 3, successful: 3 });
    expect(okResult.measurements).toHaveLength(1); // measurementRetention
    expect(okResult.measurements![0]).toMatchObject({
      phase: "Successful",
      metadata: { [JOB_NAME_KEY]: "job-ok-smoke-3", "job-namespace": NS },
    });
    // Older Jobs are deleted beyond the retention limit; the newest stays, owned by the run.
    const okJobs = await waitFor(
      async () => {
        const jobs = await jobsOf(ok.metadata.uid!);
        return jobs.length === 1 ? jobs : undefined;
      },
      { message: "old Jobs to be deleted" },
    );
    const job = okJobs[0]!;
    expect(job.metadata?.name).toBe("job-ok-smoke-3");
    expect(job.metadata?.labels).toMatchObject({ team: "checkout", [METRIC_LABEL]: "smoke" });
    expect(job.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "AnalysisRun",
        name: "job-ok",
        uid: ok.metadata.uid,
        controller: true,
      }),
    ]);

    expect(failed.status?.phase).toBe("Failed");
    const m = failed.status!.metricResults![0]!.measurements![0]!;
    expect(m.phase).toBe("Failed");
    expect(m.message).toMatch(/^job job-fail-smoke-1 failed/);
    expect(Date.parse(m.finishedAt!) - Date.parse(m.startedAt!)).toBeGreaterThanOrEqual(100);
    expect((await eventsOf("job-fail")).map((e) => e.reason).sort()).toEqual([
      "AnalysisRunFailed",
      "MetricFailed",
    ]);
  });

  it("terminate: true mid-run deletes the running Job and keeps the verdict so far", async () => {
    await createRun("stop-me", {
      metrics: [
        webMetric("stop-me", 0.95, { name: "rate", interval: "200ms" }),
        jobMetric(0, "60s", { name: "soak" }),
      ],
    });
    const running = await waitFor(
      async () => {
        const run = await getRun("stop-me");
        const rate = run.status?.metricResults?.find((r) => r.name === "rate");
        const soak = run.status?.metricResults?.find((r) => r.name === "soak");
        return (rate?.count ?? 0) >= 2 && soak?.measurements?.[0]?.phase === "Running" ? run : undefined;
      },
      { message: "two measurements and a running Job" },
    );
    expect(await jobsOf(running.metadata.uid!)).toHaveLength(1);
    await api.dynamic.patch(
      { apiVersion: API_VERSION, kind: "AnalysisRun", namespace: NS, name: "stop-me" },
      { spec: { terminate: true } },
      "merge",
    );
    const run = await waitForPhase("stop-me", ["Successful", "Failed", "Error", "Inconclusive"]);
    expect(run.status?.phase).toBe("Successful");
    expect(run.status?.message).toBe("Run Terminated");
    const rate = run.status!.metricResults!.find((r) => r.name === "rate")!;
    expect(rate.phase).toBe("Successful");
    expect(rate.count).toBeGreaterThanOrEqual(2);
    expect(rate.measurements!.every((x) => x.phase === "Successful")).toBe(true);
    const soak = run.status!.metricResults!.find((r) => r.name === "soak")!;
    expect(soak.measurements).toEqual([
      expect.objectContaining({
        phase: "Successful",
        message: "Metric Terminated",
        finishedAt: expect.any(String),
      }),
    ]);
    await waitFor(async () => (await jobsOf(run.metadata.uid!)).length === 0, { message: "the Job deleted" });
    // No measurement after the verdict.
    const count = hits.get("stop-me");
    await new Promise((r) => setTimeout(r, 500));
    expect(hits.get("stop-me")).toBe(count);
  });

  it("a controller killed mid-run and started again continues from status, without duplicate measurements", async () => {
    await createRun("restart", { metrics: [webMetric("restart", 0.97, { interval: "300ms", count: 6 })] });
    await waitFor(async () => ((await getRun("restart")).status?.metricResults?.[0]?.count ?? 0) >= 2, {
      message: "two measurements",
    });
    await ctl.stop();
    const before = (await getRun("restart")).status!;
    await new Promise((r) => setTimeout(r, 500));
    expect((await getRun("restart")).status).toEqual(before); // nobody is measuring
    ctl = await startController();

    const run = await waitForPhase("restart", ["Successful", "Failed", "Error"]);
    expect(run.status?.phase).toBe("Successful");
    const result = run.status!.metricResults![0]!;
    expect(result).toMatchObject({ count: 6, successful: 6, error: 0 });
    const measurements = result.measurements!;
    expect(measurements).toHaveLength(6);
    expect(measurements.slice(0, before.metricResults![0]!.measurements!.length)).toEqual(
      before.metricResults![0]!.measurements,
    );
    for (let i = 1; i < measurements.length; i++) {
      expect(Date.parse(measurements[i]!.startedAt!)).toBeGreaterThanOrEqual(
        Date.parse(measurements[i - 1]!.finishedAt!) + 300,
      );
    }
    // A measurement cut short by the stop is not stored, so the endpoint may have seen one more.
    expect(hits.get("restart")! - 6).toBeGreaterThanOrEqual(0);
    expect(hits.get("restart")! - 6).toBeLessThanOrEqual(1);
  });

  it("reconciling runs with nothing to do makes no API request", async () => {
    await createRun("idle", { metrics: [webMetric("idle", 0.99, { interval: "1h" })] });
    await waitFor(async () => ((await getRun("idle")).status?.metricResults?.[0]?.count ?? 0) === 1, {
      message: "the first measurement",
    });
    await waitFor(async () => (await ctl.controller.queue.len()) === 0, { message: "an idle queue" });
    await new Promise((r) => setTimeout(r, 200));
    const seen = ctl.requests.length;
    const revision = sb.sandbox.core.store.currentRevision;
    for (let i = 0; i < 3; i++) {
      for (const key of [`${NS}/idle`, `${NS}/web-ok`, `${NS}/web-bad`, `${NS}/stop-me`])
        ctl.controller.enqueue(key);
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor(async () => (await ctl.controller.queue.len()) === 0, { message: "an idle queue" });
    await new Promise((r) => setTimeout(r, 100));
    expect(ctl.requests.slice(seen).filter((r) => !r.watch)).toEqual([]);
    expect(sb.sandbox.core.store.currentRevision).toBe(revision);
    expect(hits.get("idle")).toBe(1);
  });
});

describe.skipIf(!prometheusAvailable())(
  "AnalysisRun controller with a real Prometheus scraping /sim/metrics",
  () => {
    let prometheus: RunningPrometheus | undefined;
    const PROM_NS = "prom";
    const errorRate = (service: string) =>
      `(sum(rate(http_requests_total{namespace="${PROM_NS}",service="${service}",code=~"5.."}[5s])) or vector(0))` +
      ` / sum(rate(http_requests_total{namespace="${PROM_NS}",service="${service}"}[5s]))`;
    const promMetric = (service: string, extra: Partial<Metric> = {}): Metric => ({
      name: "error-rate",
      interval: "1s",
      successCondition: "result[0] < 0.1",
      provider: { prometheus: { address: prometheus!.address, query: errorRate(service) } },
      ...extra,
    });
    const app = (name: string, rate: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${PROM_NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata:
      labels: {app: ${name}}
      annotations: {"sim.slipway.dev/error-rate": "${rate}"}
    spec: {containers: [{name: app, image: "registry.example/${name}:1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${PROM_NS}, annotations: {"sim.slipway.dev/rps": "200"}}
spec:
  selector: {app: ${name}}
  ports: [{port: 80}]
`;

    beforeAll(async () => {
      await sb.kubectlOk(["create", "namespace", PROM_NS]);
      await sb.kubectlOk(["apply", "-f", "-"], { input: `${app("good", "0")}---${app("bad", "0.3")}` });
      prometheus = await startPrometheus({
        targets: [new URL(sb.url).host],
        scheme: "https",
        metricsPath: "/sim/metrics",
        insecureSkipVerify: true,
        // Both services have answered for long enough that a 5 s rate has two samples.
        waitForQuery: `count by (service) (rate(http_requests_total{namespace="${PROM_NS}"}[5s]) > 0)`,
        minSeries: 2,
      });
    });

    afterAll(async () => {
      await prometheus?.stop();
    });

    it("0% errors is Successful; 30% errors fails after failureLimit+1 failures", async () => {
      await createRun("prom-good", { metrics: [promMetric("good", { count: 3 })] });
      await createRun("prom-bad", { metrics: [promMetric("bad", { count: 5, failureLimit: 1 })] });
      const [good, bad] = await Promise.all([
        waitForPhase("prom-good", ["Successful", "Failed", "Error", "Inconclusive"]),
        waitForPhase("prom-bad", ["Successful", "Failed", "Error", "Inconclusive"]),
      ]);
      expect(good.status?.phase).toBe("Successful");
      expect(good.status!.metricResults![0]!.measurements!.map((m) => m.value)).toEqual([
        "[0]",
        "[0]",
        "[0]",
      ]);
      expect(good.status!.metricResults![0]!.metadata?.ResolvedPrometheusQuery).toContain('service="good"');

      expect(bad.status?.phase).toBe("Failed");
      expect(bad.status?.message).toBe(
        'Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)',
      );
      const values = bad.status!.metricResults![0]!.measurements!.map((m) => Number(JSON.parse(m.value!)[0]));
      expect(values).toHaveLength(2);
      for (const v of values) expect(v).toBeGreaterThan(0.15);
    });

    it("Prometheus stopped mid-run: Error after consecutiveErrorLimit+1 errors", async () => {
      await createRun("prom-down", { metrics: [promMetric("good", { consecutiveErrorLimit: 1 })] });
      await waitFor(
        async () => ((await getRun("prom-down")).status?.metricResults?.[0]?.successful ?? 0) >= 1,
        {
          message: "a first measurement",
        },
      );
      await prometheus!.stop();
      // Errors are retried after 10 s (Argo's DefaultErrorRetryInterval), so the second one takes a while.
      const run = await waitForPhase("prom-down", ["Successful", "Failed", "Error", "Inconclusive"], 30_000);
      expect(run.status?.phase).toBe("Error");
      expect(run.status?.message).toMatch(
        /^Metric "error-rate" assessed Error due to consecutiveErrors \(2\) > consecutiveErrorLimit \(1\): "Error Message: prometheus query to http:\/\/127\.0\.0\.1:\d+ failed/,
      );
      const phases = run.status!.metricResults![0]!.measurements!.map((m) => m.phase);
      expect(phases.slice(-2)).toEqual(["Error", "Error"]);
      expect((await eventsOf("prom-down")).map((e) => [e.type, e.reason]).sort()).toEqual([
        ["Warning", "AnalysisRunError"],
        ["Warning", "MetricError"],
      ]);
    }, 60_000);
  },
);
