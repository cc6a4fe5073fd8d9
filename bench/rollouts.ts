import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import { installManifests } from "../api/v1alpha1/crds.js";
import { applyObjects } from "../controller/kube/apply.js";
import { ClusterClient } from "../controller/kube/cluster-client.js";
import { EventRecorder } from "../controller/kube/event-recorder.js";
import { InformerFactory } from "../controller/kube/informer-factory.js";
import { createRolloutController } from "../controller/rollouts/controller.js";
import type { RolloutObject } from "../controller/rollouts/types.js";
import { percentile, processCpuMs, sleep, startSandbox } from "./common.js";

const ABORTS = 30;
const FLEET = Number(process.env.BENCH_FLEET ?? 100);
const WEIGHTS = [10, 25, 50, 75];

type Obj = Record<string, unknown> & KubernetesObject;

const ms = (v: number) => `${v.toFixed(1)} ms`;

function canaryObjects(ns: string, name: string, steps: unknown[], image: string): Obj[] {
  return [
    ...["stable", "canary"].map(
      (role): Obj => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `${name}-${role}`, namespace: ns },
        spec: { selector: { app: name }, ports: [{ port: 80 }] },
      }),
    ),
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name, namespace: ns },
      spec: {
        parentRefs: [{ name: "gateway" }],
        rules: [{ backendRefs: [{ name: `${name}-stable`, port: 80 }] }],
      },
    },
    rollout(ns, name, steps, image),
  ];
}

function rollout(ns: string, name: string, steps: unknown[], image: string): Obj {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Rollout",
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
      strategy: {
        canary: {
          canaryService: `${name}-canary`,
          stableService: `${name}-stable`,
          scaleDownDelaySeconds: 0,
          abortScaleDownDelaySeconds: 30,
          trafficRouting: { gatewayAPI: { httpRoute: name } },
          steps,
        },
      },
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-bench-rollouts-"));
  const rssBefore = process.memoryUsage().rss;
  const { child, kubeconfig } = await startSandbox(dir);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await applyObjects(kc, installManifests() as unknown as KubernetesObject[], { fieldManager: "bench" });

  // The controller, as `slipway controller` runs it.
  const log = pino({ level: "silent" });
  const client = new ClusterClient(kc, { name: "sandbox" });
  let requests = 0;
  const durations: { method: string; path: string; ms: number }[] = [];
  client.onRequest((r) => {
    requests++;
    if (process.env.BENCH_DEBUG && !r.watch)
      durations.push({ method: r.method, path: r.path.replace(/\/[^/]+$/, "/x"), ms: r.durationMs });
  });
  const informers = new InformerFactory(client, { log });
  const recorder = new EventRecorder(client, { log });
  const registry = new Registry();
  const controller = createRolloutController({
    client,
    informers,
    recorder,
    log,
    registry,
    concurrency: Number(process.env.BENCH_WORKERS ?? 10),
  });
  const cache = informers.forResource<RolloutObject>({ apiVersion: "slipway.dev/v1alpha1", kind: "Rollout" });
  informers.start();
  await controller.start();
  const rssController = process.memoryUsage().rss;

  // The bench's own client (writes and the route watch).
  const bench = new ClusterClient(kc, { name: "bench" });
  const apply = async (objects: Obj[]) => {
    for (const o of objects) await bench.dynamic.apply(o, { fieldManager: "bench", force: true });
  };
  const ns = async (name: string) => apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name } }]);
  const status = (namespace: string, name: string) => cache.get(namespace, name)?.status;
  const waitAllObjects = async (
    keys: [string, string][],
    check: (ro: RolloutObject | undefined) => boolean,
    timeoutMs: number,
  ) => {
    const deadline = Date.now() + timeoutMs;
    while (!keys.every(([n, k]) => check(cache.get(n, k)))) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the update to be observed");
      await sleep(20);
    }
  };
  const waitAll = async (
    keys: [string, string][],
    check: (s: RolloutObject["status"]) => boolean,
    timeoutMs = 120_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    while (!keys.every(([n, k]) => check(status(n, k)))) {
      if (Date.now() > deadline) {
        const bad = keys.filter(([n, k]) => !check(status(n, k))).slice(0, 3);
        if (process.env.BENCH_DEBUG) {
          const [n, k] = bad[0]!;
          const sets = await bench.dynamic.list<Obj>("apps/v1", "ReplicaSet", { namespace: n });
          process.stderr.write(`${JSON.stringify(cache.get(n, k), null, 1)}\n`);
          for (const rs of sets.filter((x) => String(x.metadata?.name).startsWith(`${k}-`)))
            process.stderr.write(
              `${rs.metadata?.name} ${JSON.stringify(rs.spec && (rs.spec as { replicas?: number }).replicas)} ${JSON.stringify(rs.status)}\n`,
            );
        }
        throw new Error(
          `timed out; e.g. ${JSON.stringify(bad.map(([n, k]) => [k, status(n, k)?.message, status(n, k)?.currentStepIndex]))}`,
        );
      }
      await sleep(20);
    }
  };
  // ---- 1. abort latency ------------------------------------------------------------------------
  const A = "bench-abort";
  await ns(A);
  await apply([
    {
      apiVersion: "slipway.dev/v1alpha1",
      kind: "AnalysisTemplate",
      metadata: { name: "gate", namespace: A },
      spec: {
        metrics: [
          {
            name: "error-rate",
            successCondition: "result[0] < 0.1",
            provider: { prometheus: { address: "http://127.0.0.1:1", query: "vector(1)" } },
          },
        ],
      },
    },
  ]);
  const abortSteps = [{ setWeight: 50 }, { analysis: { templates: [{ templateName: "gate" }] } }];
  const names = Array.from({ length: ABORTS }, (_, i) => `a${i}`);
  for (const n of names) await apply(canaryObjects(A, n, abortSteps, "app:1"));
  const keysA = names.map((n): [string, string] => [A, n]);
  await waitAll(keysA, (s) => s?.phase === "Healthy");
  for (const n of names) await apply([rollout(A, n, abortSteps, "app:2")]);
  await waitAll(
    keysA,
    (s) =>
      s?.currentStepIndex === 1 &&
      s.canary?.weights?.verified === true &&
      s.canary.weights.canary.weight === 50,
  );

  // Watch the HTTPRoutes: when does each canary backendRef reach weight 0?
  const zeroAt = new Map<string, number>();
  const watchAbort = new AbortController();
  const routes = await bench.dynamic.list<Obj>("gateway.networking.k8s.io/v1", "HTTPRoute", { namespace: A });
  const rv = String((routes[0]?.metadata as { resourceVersion?: string })?.resourceVersion ?? "");
  let lastEvent = 0;
  const watching = bench
    .watch(
      `/apis/gateway.networking.k8s.io/v1/namespaces/${A}/httproutes`,
      { resourceVersion: rv },
      (event) => {
        const now = performance.now();
        lastEvent = now;
        const o = event.object as {
          metadata?: { name?: string };
          spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
        };
        const name = o.metadata?.name ?? "";
        const canary = o.spec?.rules?.[0]?.backendRefs?.find((b) => b.name === `${name}-canary`);
        if (canary && (canary.weight ?? 1) === 0 && !zeroAt.has(name)) zeroAt.set(name, now);
      },
      watchAbort.signal,
    )
    .catch(() => undefined);
  await sleep(300);
  const latencies: number[] = [];
  for (const n of names) {
    const hash = status(A, n)?.currentPodHash;
    const run = `${n}-${hash}-1`;
    const t0 = performance.now();
    await bench.dynamic.patch(
      { apiVersion: "slipway.dev/v1alpha1", kind: "AnalysisRun", name: run, namespace: A },
      {
        status: {
          phase: "Failed",
          metricResults: [
            { name: "error-rate", phase: "Failed", measurements: [{ phase: "Failed", value: "[0.31]" }] },
          ],
        },
      },
      "merge",
      { subresource: "status" },
    );
    const deadline = Date.now() + 5000;
    while (!zeroAt.has(n) && Date.now() < deadline) await sleep(1);
    if (!zeroAt.has(n)) throw new Error(`no weight 0 on ${n} within 5 s`);
    latencies.push(zeroAt.get(n)! - t0);
    await sleep(50);
  }
  // Baseline: a write of a route by the bench until its watch sees it.
  const floor: number[] = [];
  for (let i = 0; i < ABORTS; i++) {
    const t0 = performance.now();
    const before = lastEvent;
    await bench.dynamic.patch(
      { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", name: names[i]!, namespace: A },
      { metadata: { annotations: { "bench/probe": String(i) } } },
      "merge",
    );
    while (lastEvent === before) await sleep(0);
    floor.push(lastEvent - t0);
  }
  watchAbort.abort();
  await watching;
  await waitAll(keysA, (s) => s?.phase === "Degraded");

  // ---- 2. scale ----------------------------------------------------------------------------------
  const steps = WEIGHTS.map((w) => ({ setWeight: w }));
  const stepCount = steps.length + 1; // + promotion
  // Ten namespaces of ten, as teams spread them (the sandbox recomputes endpoints per namespace).
  const S = (i: number) => `bench-scale-${i % 10}`;
  const B = "bench-solo";
  for (let i = 0; i < 10; i++) await ns(S(i));
  await ns(B);
  const fleet = Array.from({ length: FLEET }, (_, i) => `r${i}`);
  for (const [i, n] of fleet.entries()) await apply(canaryObjects(S(i), n, steps, "app:1"));
  await apply(canaryObjects(B, "solo", steps, "app:1"));
  const keysS = fleet.map((n, i): [string, string] => [S(i), n]);
  await waitAll([...keysS, [B, "solo"]], (s) => s?.phase === "Healthy", 180_000);
  await sleep(1000);

  // Idle: 100 healthy rollouts, nothing changing.
  const idleReq0 = requests;
  const idleCpu0 = process.cpuUsage();
  await sleep(5000);
  const idleCpu = process.cpuUsage(idleCpu0);
  const idleRequests = requests - idleReq0;
  const rssIdle = process.memoryUsage().rss;

  // Baseline: one rollout alone.
  const measure = async (keys: [string, string][], update: () => Promise<void>) => {
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    const req0 = requests;
    const sandboxCpu0 = processCpuMs(child.pid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await update();
    await waitAllObjects(
      keys,
      (ro) =>
        ro?.status?.observedGeneration === ro?.metadata.generation && (ro?.metadata.generation ?? 0) > 1,
      300_000,
    );
    await waitAll(
      keys,
      (s) =>
        s?.phase === "Healthy" &&
        s.stableRS === s.currentPodHash &&
        (s.currentStepIndex ?? 0) === WEIGHTS.length &&
        s.message === undefined,
      300_000,
    );
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    const sandboxCpuMs = processCpuMs(child.pid) - sandboxCpu0;
    return { wall, cpuMs: (cpu.user + cpu.system) / 1000, requests: requests - req0, peak, sandboxCpuMs };
  };
  const soloHash = status(B, "solo")?.currentPodHash;
  const solo = await measure([[B, "solo"]], () => apply([rollout(B, "solo", steps, "app:2")]));
  if (status(B, "solo")?.stableRS === soloHash) throw new Error("solo did not move");
  const many = await measure(keysS, async () => {
    await Promise.all(
      fleet.map((n, i) =>
        bench.dynamic.apply(rollout(S(i), n, steps, "app:2"), { fieldManager: "bench", force: true }),
      ),
    );
  });

  if (process.env.BENCH_DEBUG) {
    const by = new Map<string, number[]>();
    for (const d of durations) {
      const k = `${d.method} ${d.path.replace(/namespaces\/[^/]+/, "namespaces/-")}`;
      by.set(k, [...(by.get(k) ?? []), d.ms]);
    }
    for (const [k, v] of [...by].sort((a, b) => b[1].length - a[1].length).slice(0, 12))
      process.stderr.write(
        `${k}: n=${v.length} p50=${percentile(v, 50).toFixed(1)} p99=${percentile(v, 99).toFixed(1)}\n`,
      );
    const text = await registry.metrics();
    process.stderr.write(
      `${text
        .split("\n")
        .filter((l) =>
          /^slipway_(workqueue_(queue|work)_duration_seconds_(sum|count)|reconcile_total|kube_request_duration_seconds_(sum|count))/.test(
            l,
          ),
        )
        .join("\n")}\n`,
    );
  }
  await controller.stop();
  await recorder.flush().catch(() => undefined);
  await informers.stop();
  client.close();
  bench.close();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });

  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
  const p = (v: number[], q: number) => percentile(v, q);
  process.stdout.write(
    [
      `1. Abort latency: AnalysisRun Failed (status write sent) → HTTPRoute canary weight 0 seen by a watch, ${ABORTS} aborts`,
      `   p50 ${ms(p(latencies, 50))}  p90 ${ms(p(latencies, 90))}  p99 ${ms(p(latencies, 99))}  max ${ms(Math.max(...latencies))}` +
        `  (required p99 < 1000 ms, aim < 200 ms: ${p(latencies, 99) < 200 ? "met" : p(latencies, 99) < 1000 ? "required met" : "MISSED"})`,
      `   baseline (route write → watch, the floor): p50 ${ms(p(floor, 50))}  p99 ${ms(p(floor, 99))}; abort p50 / floor p50 = ${(p(latencies, 50) / p(floor, 50)).toFixed(1)}x`,
      `2. ${FLEET} rollouts at once, ${stepCount} steps each (setWeight ${WEIGHTS.join(" → ")}, promotion), one controller (10 workers)`,
      `   baseline, 1 rollout alone: ${ms(solo.wall)} wall (${ms(solo.wall / stepCount)} per step), ${ms(solo.cpuMs)} CPU (${ms(solo.cpuMs / stepCount)} per step), ${solo.requests} requests (${(solo.requests / stepCount).toFixed(1)} per step)`,
      `   ${FLEET} at once: ${ms(many.wall)} wall (${ms(many.wall / stepCount)} per step for all), ${ms(many.cpuMs)} CPU = ${ms(many.cpuMs / (FLEET * stepCount))} per step per rollout (${(many.cpuMs / FLEET / solo.cpuMs).toFixed(2)}x the solo cost), ` +
        `${(many.requests / (FLEET * stepCount)).toFixed(1)} requests per step per rollout, controller CPU ${((many.cpuMs / many.wall) * 100).toFixed(0)}% of a core while progressing (sandbox process: ${((many.sandboxCpuMs / many.wall) * 100).toFixed(0)}%)`,
      `   idle with ${FLEET + 1 + ABORTS} rollouts (5 s): ${ms((idleCpu.user + idleCpu.system) / 1000)} CPU, ${idleRequests} API requests`,
      `   RSS: process before controller ${mb(rssBefore)}, controller started ${mb(rssController)}, idle with the fleet ${mb(rssIdle)}, peak while progressing ${mb(many.peak)}`,
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
