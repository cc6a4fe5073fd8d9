/**
 * Fleet benchmark (issue 8): 50 target clusters × 10 Applications of 10 ConfigMaps each, every
 * API server (hub and targets) answering 20 ms late, as remote clusters do. One ApplicationSet
 * (clusters × list) stamps the 500 Applications out; measured is the time from creating it to
 * every Application Synced and Healthy, for `slipway controller` with the in-memory queue (one
 * process) and with 1, 2 and 4 replicas sharing a Redis queue. Each replica is a real
 * `slipway controller --redis` process with the same `--workers`, so a replica adds workers the
 * way a real one would; the hub is fresh for each configuration and the targets get new
 * namespaces. After each run every target is checked: exactly the expected ConfigMaps exist.
 *
 * The baseline is the single replica on Redis measured in the same run; required: 2 replicas at
 * least 1.6× faster. Knobs (env): FLEET_CLUSTERS (50), FLEET_APPS (10), FLEET_RESOURCES (10),
 * FLEET_LATENCY_MS (20), FLEET_WORKERS (4), FLEET_REPLICAS ("mem,1,2,4"), SLIPWAY_TEST_REDIS_URL.
 *
 * Run: npm run build && node dist/bench/fleet.js
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { CLI, install, kubectl, makeRepo, processCpuMs, sleep, startSandbox } from "./common.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLUSTERS = env("FLEET_CLUSTERS", 50);
const APPS = env("FLEET_APPS", 10);
const RESOURCES = env("FLEET_RESOURCES", 10);
const LATENCY_MS = env("FLEET_LATENCY_MS", 20);
const WORKERS = env("FLEET_WORKERS", 4);
const CONFIGS = (process.env.FLEET_REPLICAS ?? "mem,1,2,4").split(",");
const REDIS_URL = process.env.SLIPWAY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const NS = "slipway-system";
/** Target clusters per hosting process (each process is one Node event loop). */
const PER_HOST = 13;
const TIMEOUT_MS = env("FLEET_TIMEOUT_S", 600) * 1000;

/** FLEET_CPU_PROF=DIR: every process started here writes a V8 CPU profile to DIR/ROLE when it exits. */
function profileArgs(role: string): string[] {
  const dir = process.env.FLEET_CPU_PROF;
  return dir ? ["--cpu-prof", "--cpu-prof-dir", join(dir, role)] : [];
}

interface Cluster {
  name: string;
  server: string;
  token: string;
  caData: string;
}

/** Processes of `fleet-clusters.js` hosting `count` target sandboxes between them. */
async function startTargets(count: number): Promise<{ clusters: Cluster[]; hosts: ChildProcess[] }> {
  const script = fileURLToPath(new URL("fleet-clusters.js", import.meta.url));
  const hosts: ChildProcess[] = [];
  const batches: Promise<Cluster[]>[] = [];
  for (let start = 0, h = 0; start < count; start += PER_HOST, h++) {
    const n = Math.min(PER_HOST, count - start);
    const child = spawn(
      process.execPath,
      [...profileArgs("targets"), script, String(n), String(LATENCY_MS), `target-${h}`],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    hosts.push(child);
    batches.push(
      new Promise((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          if (/^ready$/m.test(out)) {
            resolve(
              out
                .split("\n")
                .filter((l) => l.startsWith("{"))
                .map((l) => JSON.parse(l) as Cluster),
            );
          }
        });
        child.once("exit", (code) => reject(new Error(`fleet-clusters exited with ${code}`)));
      }),
    );
  }
  return { clusters: (await Promise.all(batches)).flat(), hosts };
}

function clusterSecret(c: Cluster): object {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `cluster-${c.name}`,
      namespace: NS,
      labels: { "slipway.dev/secret-type": "cluster", bench: "fleet" },
    },
    stringData: {
      name: c.name,
      server: c.server,
      config: JSON.stringify({ bearerToken: c.token, tlsClientConfig: { caData: c.caData } }),
    },
  };
}

function applicationSet(run: string, repoURL: string): object {
  return {
    apiVersion: "slipway.dev/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: "fleet", namespace: NS },
    spec: {
      generators: [
        {
          matrix: {
            generators: [
              { clusters: { selector: { matchLabels: { bench: "fleet" } } } },
              { list: { elements: Array.from({ length: APPS }, (_, i) => ({ app: `app-${i}` })) } },
            ],
          },
        },
      ],
      template: {
        // Names are new each run: the tracking label of an earlier run's app must not claim this one.
        metadata: { name: `${run}-{{name}}-{{app}}` },
        spec: {
          project: "default",
          source: { repoURL, path: "app", targetRevision: "main" },
          destination: { name: "{{name}}", namespace: `${run}-{{app}}` },
          syncPolicy: { automated: { prune: true }, syncOptions: ["CreateNamespace=true"] },
        },
      },
    },
  };
}

interface Replica {
  child: ChildProcess;
  url: string;
}

function startController(
  hubKubeconfig: string,
  home: string,
  redisPrefix: string | undefined,
): Promise<Replica> {
  const args = [
    ...profileArgs("controller"),
    CLI,
    "controller",
    "--kubeconfig",
    hubKubeconfig,
    "--http-addr",
    "127.0.0.1:0",
    "--workers",
    String(WORKERS),
    "--app-resync",
    "1h",
    ...(redisPrefix ? ["--redis", REDIS_URL] : []),
  ];
  // Logs go to a file beside the replica's home, named in the error when a run times out.
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      SLIPWAY_HOME: home,
      ...(redisPrefix ? { SLIPWAY_REDIS_PREFIX: redisPrefix } : {}),
    },
  });
  const log = createWriteStream(join(home, "controller.log"));
  child.stderr!.pipe(log);
  return new Promise((resolve, reject) => {
    let out = "";
    let done = false;
    child.stdout!.on("data", (c: Buffer) => {
      log.write(c);
      if (done) return;
      out += c.toString();
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m && !done) {
        done = true;
        resolve({ child, url: m[1]! });
      }
    });
    child.once("exit", (code) => reject(new Error(`controller exited with ${code}: ${out}`)));
  });
}

async function ready(replica: Replica): Promise<void> {
  for (;;) {
    const res = await fetch(`${replica.url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(200);
  }
}

async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** CPU milliseconds so far of the hub, the target hosts together, and the Redis server. */
async function aroundCpuMs(
  hub: ChildProcess,
  hosts: ChildProcess[],
): Promise<{ hub: number; targets: number; redis: number }> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const info = await redis.info("cpu");
    const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? 0);
    return {
      hub: processCpuMs(hub.pid),
      targets: hosts.reduce((sum, h) => sum + processCpuMs(h.pid), 0),
      redis: (field("used_cpu_sys") + field("used_cpu_user")) * 1000,
    };
  } finally {
    redis.disconnect();
  }
}

interface Result {
  config: string;
  seconds: number;
  cpuMs: number[];
  /** API requests the replicas made (start-up included), by "hub|targets METHOD". */
  requests: Map<string, number>;
  /** Applications queue: keys handed out × mean wait, and × mean work. */
  queue: string;
  /** CPU seconds of what surrounds the controllers during the run: hub, target hosts, Redis. */
  aroundMs: { hub: number; targets: number; redis: number };
  /** CPU seconds the whole machine was busy during the run (every process, this one included). */
  machineMs: number;
}

/** Busy CPU milliseconds of the whole machine since boot (from /proc/stat; 0 where there is none). */
function machineBusyMs(): number {
  try {
    const fields = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const busy = fields.slice(0, 8).reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!;
    return (busy * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Sums `slipway_kube_requests_total` over the replicas' /metrics, hub and targets apart. */
async function requestCounts(replicas: Replica[], targets: Set<string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    for (const m of text.matchAll(/^slipway_kube_requests_total\{([^}]*)\} (\d+)$/gm)) {
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      const side = targets.has(labels.cluster ?? "") ? "targets" : "hub";
      const key = `${side} ${labels.method}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
    }
  }
  return counts;
}

/** Mean seconds of a histogram over the replicas' /metrics (queue wait, work) for the applications queue. */
async function histogramMeans(replicas: Replica[], names: string[]): Promise<string> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const r of replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    for (const name of names) {
      const entry = sums.get(name) ?? { sum: 0, count: 0 };
      for (const m of text.matchAll(
        new RegExp(`^${name}_(sum|count)\\{controller="applications"\\} (\\S+)$`, "gm"),
      ))
        entry[m[1] as "sum" | "count"] += Number(m[2]);
      sums.set(name, entry);
    }
  }
  return [...sums]
    .map(
      ([name, { sum, count }]) =>
        `${name.replace(/^slipway_workqueue_|_seconds$/g, "")} ${count} × ${((sum / Math.max(1, count)) * 1000).toFixed(0)} ms`,
    )
    .join(", ");
}

/**
 * Follows the hub's Applications with one `kubectl get --watch` (a list, then a line per change)
 * and resolves once `expected` of them are Synced and Healthy. Polling a full list of 500 apps
 * every 250 ms would itself cost the hub and kubectl a large share of the two cores measured.
 * A watch that ends early is opened again (its first lines list the current state).
 */
function waitForSynced(
  kubeconfig: string,
  cacheDir: string,
  expected: number,
  timeoutMs: number,
): { done: Promise<void>; state: () => { total: number; synced: number }; stop: () => void } {
  const apps = new Map<string, boolean>();
  let child: ChildProcess | undefined;
  let stopped = false;
  const state = () => ({ total: apps.size, synced: [...apps.values()].filter(Boolean).length });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
    const open = () => {
      child = spawn(
        "kubectl",
        [
          "--kubeconfig",
          kubeconfig,
          "--cache-dir",
          cacheDir,
          "get",
          "applications",
          "-n",
          NS,
          "--watch",
          "-o",
          'jsonpath={.metadata.name} {.status.sync.status} {.status.health.status} {.metadata.deletionTimestamp}{"\\n"}',
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let buffer = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const [name, sync, health, deleting] = buffer.slice(0, nl).split(" ");
          buffer = buffer.slice(nl + 1);
          if (!name) continue;
          if (deleting) apps.delete(name);
          else apps.set(name, sync === "Synced" && health === "Healthy");
        }
        const now = state();
        if (now.total === expected && now.synced === expected) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", () => {
        if (!stopped) open();
      });
    };
    open();
  });
  return {
    done,
    state,
    stop: () => {
      stopped = true;
      child?.kill("SIGTERM");
    },
  };
}

/** Every target holds exactly APPS × RESOURCES ConfigMaps of this run. */
async function verifyTargets(clusters: Cluster[], dir: string, run: string): Promise<void> {
  const cache = join(dir, "verify-cache");
  await Promise.all(
    clusters.map(async (c, i) => {
      const kubeconfig = join(dir, `verify-${i}.kubeconfig`);
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [{ name: c.name, cluster: { server: c.server, "certificate-authority-data": c.caData } }],
          users: [{ name: "u", user: { token: c.token } }],
          contexts: [{ name: "c", context: { cluster: c.name, user: "u" } }],
          "current-context": "c",
        }),
      );
      const namespaces = (
        await kubectl(kubeconfig, `${cache}-${i}`, [
          "get",
          "configmaps",
          "-A",
          "-l",
          "bench=fleet",
          "-o",
          "custom-columns=NS:.metadata.namespace",
          "--no-headers",
        ])
      )
        .trim()
        .split("\n")
        .filter((ns) => ns.startsWith(`${run}-`));
      if (namespaces.length !== APPS * RESOURCES || new Set(namespaces).size !== APPS)
        throw new Error(
          `${c.name}: ${namespaces.length} ConfigMaps in ${new Set(namespaces).size} namespaces of run ${run}, ` +
            `expected ${APPS * RESOURCES} in ${APPS}`,
        );
    }),
  );
}

/**
 * One configuration on fresh clusters: targets left from an earlier run would hold that run's
 * ConfigMaps, whose tracking labels wake the controller for apps this hub does not have.
 */
async function runConfig(config: string, repoURL: string, dir: string, runIndex: number): Promise<Result> {
  const { clusters, hosts } = await startTargets(CLUSTERS);
  try {
    return await runOn(config, clusters, hosts, repoURL, dir, runIndex);
  } finally {
    for (const host of hosts) host.kill("SIGTERM");
  }
}

async function runOn(
  config: string,
  clusters: Cluster[],
  hosts: ChildProcess[],
  repoURL: string,
  dir: string,
  runIndex: number,
): Promise<Result> {
  const runDir = mkdtempSync(join(dir, `run-${config}-`));
  const faults = join(runDir, "faults.json");
  writeFileSync(
    faults,
    JSON.stringify([
      { verbs: ["get", "list", "create", "update", "patch", "delete"], latencyMs: LATENCY_MS },
    ]),
  );
  const hub = await startSandbox(runDir, { faults, nodeArgs: profileArgs("hub") });
  const cache = join(runDir, "kube-cache");
  const run = `r${runIndex}`;
  const prefix = config === "mem" ? undefined : `slipway-bench-${randomBytes(4).toString("hex")}`;
  const replicas: Replica[] = [];
  try {
    await install(hub.kubeconfig, cache, NS);
    await kubectl(
      hub.kubeconfig,
      cache,
      ["apply", "-f", "-"],
      JSON.stringify({ apiVersion: "v1", kind: "List", items: clusters.map(clusterSecret) }),
    );
    const count = config === "mem" ? 1 : Number(config);
    for (let i = 0; i < count; i++) {
      const home = join(runDir, `home-${i}`);
      mkdirSync(home);
      replicas.push(await startController(hub.kubeconfig, home, prefix));
    }
    await Promise.all(replicas.map(ready));
    const cpu0 = replicas.map((r) => processCpuMs(r.child.pid));
    const around0 = await aroundCpuMs(hub.child, hosts);
    const machine0 = machineBusyMs();

    const started = performance.now();
    await kubectl(hub.kubeconfig, cache, ["apply", "-f", "-"], JSON.stringify(applicationSet(run, repoURL)));
    const expected = clusters.length * APPS;
    const watch = waitForSynced(hub.kubeconfig, cache, expected, TIMEOUT_MS);
    try {
      await watch.done;
    } catch {
      const last = watch.state();
      const apps = JSON.parse(
        await kubectl(hub.kubeconfig, cache, ["get", "applications", "-n", NS, "-o", "json"]),
      ) as { items: { status?: { sync?: { status?: string } } }[] };
      const stuck = apps.items.find((a) => a.status?.sync?.status !== "Synced") ?? apps.items[0];
      process.stderr.write(`an Application not synced:\n${JSON.stringify(stuck, null, 2)}\n`);
      throw new Error(
        `${config}: ${last.total} Applications, ${last.synced}/${expected} synced after ${TIMEOUT_MS / 1000} s; logs in ${runDir}/home-*/controller.log`,
      );
    } finally {
      watch.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = replicas.map((r, i) => processCpuMs(r.child.pid) - cpu0[i]!);
    const machineMs = machineBusyMs() - machine0;
    const around1 = await aroundCpuMs(hub.child, hosts);
    const aroundMs = {
      hub: around1.hub - around0.hub,
      targets: around1.targets - around0.targets,
      redis: around1.redis - around0.redis,
    };
    const requests = await requestCounts(replicas, new Set(clusters.map((c) => c.name)));
    const queue = await histogramMeans(replicas, [
      "slipway_workqueue_queue_duration_seconds",
      "slipway_workqueue_work_duration_seconds",
    ]);
    await verifyTargets(clusters, runDir, run);
    return { config, seconds, cpuMs, requests, queue, aroundMs, machineMs };
  } finally {
    await Promise.all(
      replicas.map(
        (r) =>
          new Promise<void>((resolve) => {
            r.child.once("exit", () => resolve());
            r.child.kill("SIGTERM");
          }),
      ),
    );
    hub.child.kill("SIGTERM");
    if (prefix) await deleteRedisPrefix(prefix);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-bench-fleet-"));
  const repoURL = await makeRepo(dir, "fleet", (work) => {
    mkdirSync(join(work, "app"));
    for (let i = 0; i < RESOURCES; i++) {
      writeFileSync(
        join(work, "app", `cm-${i}.yaml`),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  labels:\n    bench: fleet\ndata:\n  index: "${i}"\n`,
      );
    }
  });
  process.stdout.write(
    `${CLUSTERS} clusters × ${APPS} apps × ${RESOURCES} ConfigMaps, ${LATENCY_MS} ms API latency, ` +
      `--workers ${WORKERS} per replica\n`,
  );
  const results: Result[] = [];
  for (const [i, config] of CONFIGS.entries()) {
    const result = await runConfig(config, repoURL, dir, i);
    results.push(result);
    process.stdout.write(
      `  ${config === "mem" ? "in-memory queue, 1 process" : `Redis queue, ${config} replica(s)`}: ` +
        `${result.seconds.toFixed(1)} s (controller CPU ${result.cpuMs.map((c) => (c / 1000).toFixed(1)).join(" + ")} s; ` +
        `API requests per app: ${[...result.requests].map(([k, n]) => `${k} ${(n / (CLUSTERS * APPS)).toFixed(1)}`).join(", ")}; ` +
        `applications queue: ${result.queue}; ` +
        `CPU around: hub ${(result.aroundMs.hub / 1000).toFixed(1)} s, targets ${(result.aroundMs.targets / 1000).toFixed(1)} s, ` +
        `Redis ${(result.aroundMs.redis / 1000).toFixed(1)} s; ` +
        `machine busy ${(result.machineMs / 1000).toFixed(1)} s of ${(result.seconds * cpus().length).toFixed(1)} s)\n`,
    );
  }
  const one = results.find((r) => r.config === "1");
  const two = results.find((r) => r.config === "2");
  if (one) {
    process.stdout.write("\nconfiguration               time      speed-up vs 1 replica on Redis\n");
    for (const r of results) {
      const label = r.config === "mem" ? "in-memory, 1 process" : `Redis, ${r.config} replica(s)`;
      process.stdout.write(
        `${label.padEnd(26)}  ${`${r.seconds.toFixed(1)} s`.padEnd(8)}  ${(one.seconds / r.seconds).toFixed(2)}×\n`,
      );
    }
  }
  if (one && two) {
    const ratio = one.seconds / two.seconds;
    const ok = ratio >= 1.6;
    process.stdout.write(
      `2 replicas vs 1: ${ratio.toFixed(2)}× (required ≥ 1.6×): ${ok ? "PASS" : "FAIL"}\n`,
    );
    if (!ok) process.exitCode = 1;
  }
  // FLEET_KEEP=1 keeps the controllers' logs (SLIPWAY_LOG_LEVEL=debug: a line per reconcile).
  if (process.env.FLEET_KEEP) process.stdout.write(`logs kept in ${dir}/run-*/home-*/controller.log\n`);
  else rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
