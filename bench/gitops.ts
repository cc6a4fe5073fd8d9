/**
 * GitOps benchmark (issue 5), measured against a named baseline in the same run:
 *
 * (a) 1,000 ConfigMaps in one Git directory: an Application is created and the time until it is
 *     Synced (operation Succeeded, every resource compared Synced) is measured, against
 *     `kubectl apply --server-side -f <dir>` of the same files into an identical fresh sandbox.
 *     Three rounds (each into a new namespace, each app from its own repository so no checkout
 *     is reused), alternating which side goes first; the medians are compared, which keeps the
 *     ratio stable on a busy machine. Required ratio ≤ 0.8, aim ≤ 0.3.
 * (b) 200 Applications × 20 ConfigMaps, steady state: a resync of every app with nothing changed
 *     must make zero write requests (we report every API request) and finish in < 2 s; the
 *     controller's RSS is reported.
 *
 * Each sandbox runs in its own process (`slipway sandbox up`), as users run it; the controller
 * runs in this process, so `process.memoryUsage().rss` is the controller's (plus this driver's
 * few objects). The repository is a local bare repo read through `file://` (the controller's
 * isomorphic-git path, no Git server in the measurement; kubectl reads local files too).
 *
 * Run: npm run build && node dist/bench/gitops.js
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import type { Application } from "../api/v1alpha1/application.js";
import { createApplicationController } from "../controller/gitops/app-controller.js";
import { ClusterClient, type RequestRecord } from "../controller/kube/cluster-client.js";
import { InformerFactory } from "../controller/kube/informer-factory.js";
import { install, kubectl, makeRepo, median, startSandbox } from "./common.js";

const NS = "slipway-system";
const CONFIGMAPS = 1000;
const APPS = 200;
const PER_APP = 20;
const ROUNDS = 3;

function configMapYaml(name: string, i: number): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels:\n    bench: gitops\ndata:\n  index: "${i}"\n  payload: "${"x".repeat(64)}"\n`;
}

function application(name: string, repoURL: string, path: string, namespace: string): Application {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: NS },
    spec: {
      project: "default",
      source: { repoURL, path, targetRevision: "main" },
      destination: { server: "https://kubernetes.default.svc", namespace },
      syncPolicy: { automated: { prune: true } },
    },
  };
}

const isSynced = (app: Application | undefined) =>
  app?.status?.sync?.status === "Synced" && app.status.operationState?.phase === "Succeeded";

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-bench-gitops-"));
  const children: ChildProcess[] = [];
  const report: string[] = [];
  try {
    // Two repositories: 1,000 ConfigMaps in one directory (a), and 200 app directories of 20 (b).
    // One repository per round (same files, distinct commits), so no round reuses a checkout.
    const thousandRepos: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      thousandRepos.push(
        await makeRepo(dir, `thousand-${round}`, (work) => {
          mkdirSync(join(work, "thousand"), { recursive: true });
          for (let i = 0; i < CONFIGMAPS; i++)
            writeFileSync(join(work, "thousand", `cm-${i}.yaml`), configMapYaml(`cm-${i}`, i));
          writeFileSync(join(work, "ROUND"), String(round));
        }),
      );
    }
    const appsRepo = await makeRepo(dir, "apps", (work) => {
      for (let a = 0; a < APPS; a++) {
        mkdirSync(join(work, "apps", `app-${a}`), { recursive: true });
        for (let i = 0; i < PER_APP; i++) {
          writeFileSync(join(work, "apps", `app-${a}`, `cm-${i}.yaml`), configMapYaml(`app-${a}-cm-${i}`, i));
        }
      }
    });
    const thousandDir = join(dir, "thousand-0-work", "thousand");

    // Two identical fresh sandboxes.
    const [a, b] = await Promise.all([
      startSandbox(mkdtempSync(join(dir, "a-"))),
      startSandbox(mkdtempSync(join(dir, "b-"))),
    ]);
    children.push(a.child, b.child);
    const cacheA = join(dir, "kubectl-cache-a");
    const cacheB = join(dir, "kubectl-cache-b");
    await kubectl(a.kubeconfig, cacheA, ["create", "namespace", "bench"]);
    await install(a.kubeconfig, cacheA, NS);
    for (let round = 0; round < ROUNDS; round++) {
      await kubectl(a.kubeconfig, cacheA, ["create", "namespace", `round-${round}`]);
      await kubectl(b.kubeconfig, cacheB, ["create", "namespace", `round-${round}`]);
    }

    // The controller, in this process, against sandbox A.
    const kc = new KubeConfig();
    kc.loadFromFile(a.kubeconfig);
    const requests: RequestRecord[] = [];
    const client = new ClusterClient(kc, { onRequest: (r) => requests.push(r) });
    const informers = new InformerFactory(client, {});
    const log = pino({ level: process.env.SLIPWAY_BENCH_LOG ?? "silent" });
    const controller = createApplicationController({
      client,
      informers,
      namespace: NS,
      repoCacheDir: join(dir, "repo-cache"),
      log,
      resyncMs: 3_600_000,
    });
    informers.start();
    await controller.start();
    const appCache = informers.forResource(
      { apiVersion: "slipway.dev/v1alpha1", kind: "Application" },
      { namespace: NS },
    );
    const getApp = (name: string) => appCache.get(NS, name) as unknown as Application | undefined;
    const waitUntil = async (what: string, check: () => boolean, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (!check()) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    // (a) rounds, alternating which side goes first: kubectl apply into sandbox B, the
    // Application (created → Synced) into sandbox A. The medians are compared.
    const kubectlTimes: number[] = [];
    const appTimes: number[] = [];
    const runKubectl = async (round: number) => {
      const k0 = performance.now();
      await kubectl(b.kubeconfig, cacheB, [
        "apply",
        "--server-side",
        "-n",
        `round-${round}`,
        "-f",
        thousandDir,
      ]);
      kubectlTimes.push((performance.now() - k0) / 1000);
    };
    const runApp = async (round: number) => {
      const name = `thousand-${round}`;
      const c0 = performance.now();
      await client.dynamic.create(
        application(name, thousandRepos[round]!, "thousand", `round-${round}`) as never,
      );
      await waitUntil(`${name} to be Synced`, () => isSynced(getApp(name)), 300_000);
      appTimes.push((performance.now() - c0) / 1000);
      const app = getApp(name)!;
      if (app.status?.resources?.length !== CONFIGMAPS)
        throw new Error(`${name} has ${app.status?.resources?.length} resources`);
    };
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        await runKubectl(round);
        await runApp(round);
      } else {
        await runApp(round);
        await runKubectl(round);
      }
    }
    const applied = (
      await kubectl(b.kubeconfig, cacheB, ["get", "configmaps", "-A", "-l", "bench=gitops", "-o", "name"])
    )
      .trim()
      .split("\n").length;
    const kubectlSeconds = median(kubectlTimes);
    const appSeconds = median(appTimes);
    const ratio = appSeconds / kubectlSeconds;
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
    report.push(
      `(a) 1,000 ConfigMaps, ${ROUNDS} rounds: kubectl apply --server-side median ${kubectlSeconds.toFixed(2)} s [${fmt(kubectlTimes)}] ` +
        `(${applied} applied); Application created → Synced median ${appSeconds.toFixed(2)} s [${fmt(appTimes)}]`,
    );
    report.push(
      `    ratio controller / kubectl = ${ratio.toFixed(2)} (required ≤ 0.8, aim ≤ 0.3) ${ratio <= 0.8 ? "PASS" : "FAIL"}`,
    );

    if (process.env.SLIPWAY_BENCH_ONLY === "a") {
      await controller.stop();
      await informers.stop();
      client.close();
      process.exitCode = ratio <= 0.8 ? 0 : 1;
      return;
    }

    // (b) 200 apps × 20 ConfigMaps.
    const s0 = performance.now();
    await Promise.all(
      Array.from({ length: APPS }, (_, i) =>
        client.dynamic.create(application(`app-${i}`, appsRepo, `apps/app-${i}`, "bench") as never),
      ),
    );
    await waitUntil(
      "200 apps to be Synced",
      () => Array.from({ length: APPS }, (_, i) => getApp(`app-${i}`)).every(isSynced),
      600_000,
    );
    const initialSeconds = (performance.now() - s0) / 1000;
    // Let the last watch events and status writes settle.
    let seen = requests.length;
    let quietSince = performance.now();
    await waitUntil(
      "the controller to go quiet",
      () => {
        if (requests.length !== seen) {
          seen = requests.length;
          quietSince = performance.now();
        }
        return performance.now() - quietSince > 2000;
      },
      120_000,
    );
    const before = requests.length;
    const reconcilesBefore = controller.reconciler.reconciles;
    const r0 = performance.now();
    await controller.resyncAll();
    const resyncSeconds = (performance.now() - r0) / 1000;
    const during = requests.slice(before);
    const writes = during.filter((r) => r.method !== "GET" && r.method !== "WATCH");
    global.gc?.();
    const memory = process.memoryUsage();
    const rssMiB = memory.rss / 1024 / 1024;
    const heapMiB = memory.heapUsed / 1024 / 1024;
    report.push(
      `(b) ${APPS} apps × ${PER_APP} ConfigMaps: initial sync of all ${initialSeconds.toFixed(2)} s; ` +
        `resync of all (${controller.reconciler.reconciles - reconcilesBefore} reconciles) ${resyncSeconds.toFixed(3)} s ` +
        `(required < 2 s) ${resyncSeconds < 2 ? "PASS" : "FAIL"}`,
    );
    report.push(
      `    API requests during the resync: ${during.length} (writes: ${writes.length}, required 0) ${writes.length === 0 ? "PASS" : "FAIL"}; ` +
        `Git ref checks: ${controller.repoCache.lsRemoteCount}, renders run: ${controller.renders.renders}`,
    );
    report.push(
      `    controller process RSS: ${rssMiB.toFixed(0)} MiB, JS heap used ${heapMiB.toFixed(0)} MiB (${APPS + ROUNDS} apps, ${CONFIGMAPS * ROUNDS + APPS * PER_APP} managed objects)`,
    );
    process.exitCode = ratio <= 0.8 && resyncSeconds < 2 && writes.length === 0 ? 0 : 1;

    await controller.stop();
    await informers.stop();
    client.close();
  } finally {
    for (const child of children) child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`${report.join("\n")}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
