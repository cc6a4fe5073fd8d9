/**
 * The demo tour. Everything runs in this process except Prometheus (a real one, when installed):
 * the sandbox cluster, the controller, and a Git repository made from examples/demo. Each chapter
 * states what should happen, shows it happening, and checks it; the exit code says whether all did.
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { installManifests } from "../api/v1alpha1/index.js";
import { applyObjects } from "../controller/kube/apply.js";
import { loadKubeConfig } from "../controller/kube/kubeconfig.js";
import { ControllerManager } from "../controller/manager.js";
import { writeKubeconfig } from "../sandbox/kubeconfig.js";
import { Sandbox } from "../sandbox/sandbox.js";
import { startSimulation } from "../sandbox/simulation.js";
import { controllerFactories } from "./controller-actions.js";
import type { DemoOptions } from "./demo.js";

const run = promisify(execFile);
const EXAMPLES = fileURLToPath(new URL("../../examples/demo/", import.meta.url));
const NS = "demo";
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");

type Obj = KubernetesObject & Record<string, unknown> & { status?: Record<string, unknown> };

interface Check {
  what: string;
  ok: boolean;
}

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function chapter(n: number, title: string, story: string): void {
  say();
  say(bold(`${n}. ${title}`));
  say(dim(`   ${story}`));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, binary);
    try {
      readFileSync(candidate, { flag: "r" }).subarray(0, 0);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function getText(url: string, ca?: string): Promise<{ status: number; body: string }> {
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, ca ? { ca } : {}, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

/** A real Prometheus scraping the sandbox's /sim/metrics every second. */
async function startPrometheus(binary: string, dir: string, sandboxUrl: string, caPem: string) {
  const port = await freePort();
  const caFile = join(dir, "sandbox-ca.crt");
  writeFileSync(caFile, caPem);
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global: {scrape_interval: 1s, evaluation_interval: 1s}",
      "scrape_configs:",
      "  - job_name: sandbox",
      "    scheme: https",
      "    metrics_path: /sim/metrics",
      `    tls_config: {ca_file: ${caFile}}`,
      `    static_configs: [{targets: ["${new URL(sandboxUrl).host}"]}]`,
      "",
    ].join("\n"),
  );
  const child = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: "ignore" },
  );
  const address = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode} during start-up`);
    const ready = await getText(`${address}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) return { child, address };
    await sleep(200);
  }
  child.kill("SIGKILL");
  throw new Error("prometheus did not become ready within 30s");
}

async function git(repo: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", [
    "-C",
    repo,
    "-c",
    "user.name=slipway demo",
    "-c",
    "user.email=demo@slipway.invalid",
    ...args,
  ]);
  return stdout.trim();
}

/** Changes the Rollout in the repository and commits; returns the short SHA. */
async function commitRelease(
  repo: string,
  image: string,
  errorRate: string,
  message: string,
): Promise<string> {
  const file = join(repo, "shop", "rollout.yaml");
  const text = readFileSync(file, "utf8")
    .replace(/image: \S+/, `image: ${image}`)
    .replace(/sim\.slipway\.dev\/error-rate: "[^"]*"/, `sim.slipway.dev/error-rate: "${errorRate}"`);
  writeFileSync(file, text);
  await git(repo, "commit", "-qam", message);
  return git(repo, "rev-parse", "--short", "HEAD");
}

export async function runDemo(options: DemoOptions): Promise<boolean> {
  const started = Date.now();
  const checks: Check[] = [];
  const check = (what: string, ok: boolean) => {
    checks.push({ what, ok });
    say(`   ${ok ? green("✔") : red("✖")} ${what}`);
    return ok;
  };
  const dir = options.keep
    ? join(process.env.SLIPWAY_HOME ?? join(homedir(), ".slipway"), "demo")
    : mkdtempSync(join(tmpdir(), "slipway-demo-"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, "kubeconfig");
  const stops: (() => Promise<void> | void)[] = [];

  say(bold("slipway demo"));
  say(dim("GitOps delivery and a progressive rollout, end to end, on a sandbox cluster on this machine."));

  try {
    // ---- the stage --------------------------------------------------------------------------
    chapter(1, "The stage", "a sandbox cluster, slipway installed in it, a Git repository, the controller");
    const sandbox = new Sandbox({ host: "127.0.0.1", port: 0 });
    startSimulation(sandbox, { seed: 7 });
    const url = await sandbox.start();
    stops.push(() => sandbox.stop());
    writeKubeconfig(kubeconfig, url, sandbox.caPem, sandbox.token);
    say(`   sandbox cluster    ${url}`);
    const kc = loadKubeConfig({ kubeconfig });
    await applyObjects(kc, installManifests() as unknown as KubernetesObject[], {
      fieldManager: "slipway-install",
    });
    say("   slipway installed  CRDs, namespace slipway-system, RBAC, the default AppProject");

    const prometheusBinary = options.prometheus ? onPath("prometheus") : undefined;
    let analysisFile: string;
    let analysisText: string;
    if (prometheusBinary) {
      const prometheus = await startPrometheus(prometheusBinary, dir, url, sandbox.caPem);
      stops.push(() => {
        prometheus.child.kill("SIGTERM");
      });
      say(`   prometheus         ${prometheus.address} (scraping the sandbox's /sim/metrics every second)`);
      analysisFile = "analysis-prometheus.yaml";
      analysisText = readFileSync(join(EXAMPLES, analysisFile), "utf8").replace(
        "PROMETHEUS_ADDRESS",
        prometheus.address,
      );
    } else {
      say(
        `   prometheus         ${options.prometheus ? "not installed" : "not used (--no-prometheus)"}: analysis reads the sandbox's /sim/traffic through the web provider`,
      );
      analysisFile = "analysis-web.yaml";
      analysisText = readFileSync(join(EXAMPLES, analysisFile), "utf8").replace("SANDBOX_URL", url);
    }

    const repo = join(dir, "repo");
    mkdirSync(join(repo, "shop"), { recursive: true });
    for (const f of ["services.yaml", "httproute.yaml", "rollout.yaml"])
      copyFileSync(join(EXAMPLES, f), join(repo, "shop", f));
    writeFileSync(join(repo, "shop", "analysis.yaml"), analysisText);
    await git(repo, "init", "-q", "-b", "main");
    await git(repo, "add", "-A");
    await git(repo, "commit", "-qm", "shop 1.0");
    const repoURL = `file://${repo}`;
    say(`   git repository     ${repoURL} (shop/: Services, HTTPRoute, Rollout, AnalysisTemplate)`);

    const manager = new ControllerManager({
      kubeConfig: kc,
      namespace: "slipway-system",
      httpAddr: "127.0.0.1:0",
      appResyncMs: 180_000,
      workers: 4,
      repoCacheDir: join(dir, "repos"),
      controllers: await controllerFactories({}),
      leaderElection: false,
      log: pino({ level: "error" }, pino.destination(2)),
    });
    const controllerUrl = await manager.start();
    stops.push(() => manager.stop());
    say(`   controller         ${controllerUrl} (/metrics, /healthz, /readyz, /api/webhook)`);
    const api = manager.client.dynamic;
    const get = (apiVersion: string, kind: string, name: string, namespace?: string) =>
      api.get<Obj>({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
    const rollout = () => get("slipway.dev/v1alpha1", "Rollout", "shop", NS);
    const application = () => get("slipway.dev/v1alpha1", "Application", "shop", "slipway-system");

    /** Polls `probe` every 500 ms until it returns a value, or gives up after `ms`. */
    async function until<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const v = await probe().catch(() => undefined);
        if (v !== undefined) return v;
        await sleep(500);
      }
      return undefined;
    }

    async function traffic(seconds: number) {
      const { body } = await getText(`${url}/sim/traffic?window=${seconds}`, sandbox.caPem);
      const report = JSON.parse(body) as {
        routes: { namespace: string; name: string; total: number; byHash: Record<string, number> }[];
      };
      return report.routes.find((r) => r.namespace === NS && r.name === "shop");
    }

    async function routeWeights(): Promise<{ stable: number; canary: number }> {
      const route = await get("gateway.networking.k8s.io/v1", "HTTPRoute", "shop", NS);
      const rules =
        (route?.spec as { rules?: { backendRefs?: { name: string; weight?: number }[] }[] })?.rules ?? [];
      const refs = rules[rules.length - 1]?.backendRefs ?? [];
      const weight = (name: string) => {
        const ref = refs.find((r) => r.name === name);
        return ref ? (ref.weight ?? 1) : 0;
      };
      return { stable: weight("shop-stable"), canary: weight("shop-canary") };
    }

    /** Follows the Rollout, printing a line whenever its step, weight or phase changes. */
    async function follow(
      ms: number,
      done: (ro: Obj) => boolean,
    ): Promise<{ ro?: Obj; weights: Set<number> }> {
      const seen = new Set<number>();
      let last = "";
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const ro = await rollout().catch(() => undefined);
        if (ro) {
          const status = ro.status ?? {};
          const steps = (
            (ro.spec as { strategy?: { canary?: { steps?: unknown[] } } }).strategy?.canary?.steps ?? []
          ).length;
          const step = Math.min(Number(status.currentStepIndex ?? 0), steps);
          const w = await routeWeights().catch(() => ({ stable: 0, canary: 0 }));
          seen.add(w.canary);
          const t = await traffic(2).catch(() => undefined);
          const canaryHash = String(status.currentPodHash ?? "");
          const share = t && t.total > 0 ? (t.byHash[canaryHash] ?? 0) : 0;
          const line = `step ${step}/${steps}  weight: canary ${w.canary}%  ${String(status.phase ?? "").padEnd(11)}${status.message ? ` ${status.message}` : ""}`;
          if (line !== last) {
            say(
              `   ${dim(new Date().toISOString().slice(11, 19))}  ${line}  ${dim(`(new pods answered ${(share * 100).toFixed(0)}% of the last 2s)`)}`,
            );
            last = line;
          }
          if (done(ro)) return { ro, weights: seen };
        }
        await sleep(700);
      }
      return { weights: seen };
    }

    async function refresh(): Promise<void> {
      // What `slipway app refresh --hard` does: Git is asked at once instead of at the next resync.
      await api.patch(
        {
          apiVersion: "slipway.dev/v1alpha1",
          kind: "Application",
          name: "shop",
          namespace: "slipway-system",
        },
        { metadata: { annotations: { "slipway.dev/refresh": "hard" } } },
        "merge",
      );
    }

    // ---- GitOps ------------------------------------------------------------------------------
    chapter(
      2,
      "GitOps",
      "an Application delivers shop/ from Git; the controller applies it and keeps it in sync",
    );
    await api.create({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "Application",
      metadata: { name: "shop", namespace: "slipway-system" },
      spec: {
        project: "default",
        source: { repoURL, path: "shop", targetRevision: "main" },
        destination: { server: "https://kubernetes.default.svc", namespace: NS },
        syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ["CreateNamespace=true"] },
      },
    } as KubernetesObject);
    const synced = await until(60_000, async () => {
      const app = await application();
      const s = app?.status as
        | { sync?: { status?: string; revision?: string }; health?: { status?: string } }
        | undefined;
      return s?.sync?.status === "Synced" && s.health?.status === "Healthy" ? app : undefined;
    });
    const resources = (
      (synced?.status as { resources?: { kind: string; name: string }[] } | undefined)?.resources ?? []
    ).map((r) => `${r.kind}/${r.name}`);
    if (resources.length) say(`   applied: ${resources.join(", ")}`);
    check("the Application is Synced and Healthy", synced !== undefined);
    const firstStable = await until(30_000, async () => {
      const ro = await rollout();
      return ro?.status?.phase === "Healthy" ? String(ro.status.stableRS ?? "") : undefined;
    });
    check(`shop 1.0 runs as the stable version (pods ${firstStable ?? "?"})`, firstStable !== undefined);

    // ---- a good release ----------------------------------------------------------------------
    chapter(3, "A release", "a commit ships shop 1.1; the Rollout walks its canary steps, gated on analysis");
    const good = await commitRelease(repo, "registry.example.com/shop:1.1", "0", "shop 1.1");
    say(`   committed ${good}: image shop:1.1`);
    await refresh();
    const release = await follow(120_000, (ro) => {
      const s = ro.status ?? {};
      return s.phase === "Healthy" && s.stableRS === s.currentPodHash && s.stableRS !== firstStable;
    });
    check(
      "the canary took 20% and then 50% of the route",
      release.weights.has(20) && release.weights.has(50),
    );
    check("analysis passed and shop 1.1 became the stable version", release.ro !== undefined);
    await sleep(3_500); // a window that starts after the promotion
    const after = await traffic(3);
    const newStable = String(release.ro?.status?.stableRS ?? "");
    check(
      `all traffic now reaches shop 1.1 (${((after?.byHash[newStable] ?? 0) * 100).toFixed(0)}% of the last 3s)`,
      (after?.byHash[newStable] ?? 0) > 0.99,
    );

    // ---- a bad release -----------------------------------------------------------------------
    chapter(
      4,
      "A bad release",
      "shop 1.2 answers 30% of requests with errors; analysis catches it and rolls back on its own",
    );
    const bad = await commitRelease(repo, "registry.example.com/shop:1.2", "0.3", "shop 1.2");
    say(`   committed ${bad}: image shop:1.2 (sim.slipway.dev/error-rate: "0.3")`);
    await refresh();
    const rollback = await follow(
      120_000,
      (ro) => ro.status?.phase === "Degraded" && ro.status?.abort === true,
    );
    check("the failed analysis aborted the release, with no human action", rollback.ro !== undefined);
    const events = await api
      .list<Obj>("v1", "Event", { namespace: NS, fieldSelector: "involvedObject.name=shop" })
      .catch(() => [] as Obj[]);
    const why = events.find((e) => e.reason === "RolloutAborted");
    if (why) say(`   event: ${String(why.message)}`);
    const weights = await routeWeights();
    check(`the route sends the canary nothing (weight ${weights.canary}%)`, weights.canary === 0);
    await sleep(3_500);
    const clean = await traffic(2);
    const badHash = String(rollback.ro?.status?.currentPodHash ?? "");
    check(
      `shop 1.1 answers every request again (${((clean?.byHash[newStable] ?? 0) * 100).toFixed(0)}% of the last 2s)`,
      (clean?.byHash[newStable] ?? 0) > 0.99 && (clean?.byHash[badHash] ?? 0) === 0,
    );

    // ---- the end -----------------------------------------------------------------------------
    const passed = checks.every((c) => c.ok);
    say();
    say(
      bold(passed ? green("All of it happened.") : red("Something did not happen as described (✖ above).")),
    );
    say(
      dim(
        `   ${checks.filter((c) => c.ok).length}/${checks.length} checks passed in ${((Date.now() - started) / 1000).toFixed(0)}s`,
      ),
    );
    say();
    say("Explore:");
    if (options.keep) {
      say(`   export KUBECONFIG=${kubeconfig}`);
      say("   slipway app get shop -N slipway-system");
      say(`   slipway rollout get shop -n ${NS} --watch`);
      say(`   kubectl get rollout,rs,pods,httproute -n ${NS}`);
      say(`   curl -sk ${url}/sim/traffic?window=5`);
      say("   (Ctrl-C stops everything)");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    } else {
      say("   slipway demo --keep            # leave it all running and poke around");
      say("   slipway rollout get shop -n demo --watch");
      say("   slipway app get shop");
    }
    return passed;
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}
