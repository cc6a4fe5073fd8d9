/**
 * Sandbox API benchmark (issue: "the sandbox is never the bottleneck"): 1,000 ConfigMaps created
 * with client-node from concurrent clients and with kubectl, listed, and watched.
 *
 * The sandbox runs in its own process (`slipway sandbox up`), as users run it, so the client's
 * CPU does not count against it. Baseline, measured in the same run: a bare Node HTTPS server in
 * its own process that answers every request with a fixed 201 JSON body; the ratio
 * sandbox / baseline shows what the API semantics cost on top of the transport.
 *
 * Run: npm run bench (or: npm run build && node dist/bench/sandbox.js)
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig, Watch } from "@kubernetes/client-node";

const run = promisify(execFile);
const COUNT = 1000;
const CONCURRENCY = 32;
const root = new URL("../..", import.meta.url).pathname;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`process exited with ${code} before ready`)));
  });
  return { child, url };
}

/** Runs `task(i)` for i in [0, n) with `concurrency` in flight; returns per-call latencies (ms). */
async function drive(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies };
}

/**
 * A raw writer process: keep-alive HTTPS POSTs of small ConfigMaps, so the measured rate is the
 * server's capacity and not client-node's (which tops out well below the server).
 */
const RAW_WRITER = `
import https from "node:https";
const { URL_, TOKEN, CA, PREFIX, N, CONC } = process.env;
const agent = new https.Agent({ keepAlive: true, maxSockets: Number(CONC), ca: CA });
const url = new URL(URL_ + "/api/v1/namespaces/default/configmaps");
let next = 0, failed = 0;
const lat = [];
function post(i) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: PREFIX + i, labels: { bench: "raw" } }, data: { i: String(i) } });
    const t0 = performance.now();
    const req = https.request(url, { method: "POST", agent, headers: { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => { if (res.statusCode !== 201) failed++; lat.push(performance.now() - t0); resolve(); });
    });
    req.end(body);
  });
}
const start = performance.now();
await Promise.all(Array.from({ length: Number(CONC) }, async () => { while (next < Number(N)) await post(next++); }));
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, failed, lat }));
agent.destroy();
`;

async function rawWriters(
  url: string,
  token: string,
  ca: string,
  processes: number,
  perProcess: number,
): Promise<{ rate: number; p99: number; failed: number }> {
  const t0 = performance.now();
  const outputs = await Promise.all(
    Array.from({ length: processes }, (_, p) =>
      run(process.execPath, ["--input-type=module", "-e", RAW_WRITER], {
        env: {
          ...process.env,
          URL_: url,
          TOKEN: token,
          CA: ca,
          PREFIX: `raw-${p}-`,
          N: String(perProcess),
          CONC: "16",
        },
        maxBuffer: 16 << 20,
      }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  const parsed = outputs.map((o) => JSON.parse(o.stdout) as { failed: number; lat: number[] });
  return {
    rate: (processes * perProcess) / seconds,
    p99: percentile(
      parsed.flatMap((p) => p.lat),
      99,
    ),
    failed: parsed.reduce((n, p) => n + p.failed, 0),
  };
}

const BASELINE_SERVER = `
import https from "node:https";
const [cert, key] = [process.env.CERT, process.env.KEY];
const body = JSON.stringify({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "x", namespace: "default", resourceVersion: "1" } });
const server = https.createServer({ cert, key }, (req, res) => {
  req.resume();
  req.on("end", () => { res.writeHead(201, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }); res.end(body); });
});
server.listen(0, "127.0.0.1", () => console.log("ready https://127.0.0.1:" + server.address().port));
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-bench-"));
  const kubeconfig = join(dir, "kubeconfig");
  const stateDir = join(dir, "state");
  const sandbox = await startProcess([
    join(root, "dist/cli/main.js"),
    "sandbox",
    "up",
    "--port",
    "0",
    "--kubeconfig",
    kubeconfig,
    "--state-dir",
    stateDir,
  ]);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const results: string[] = [];
  try {
    // Warm-up (JIT, TLS session setup).
    await drive(100, CONCURRENCY, (i) =>
      core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: `warm-${i}` }, data: { i: String(i) } },
      }),
    );

    // 1. client-node creates from concurrent clients.
    const created = await drive(COUNT, CONCURRENCY, (i) =>
      core.createNamespacedConfigMap({
        namespace: "default",
        body: {
          metadata: { name: `cm-${i}`, labels: { bench: "create" } },
          data: { index: String(i), payload: "x".repeat(200) },
        },
      }),
    );
    const createRate = COUNT / created.seconds;
    results.push(
      `client-node create x${COUNT} (concurrency ${CONCURRENCY}): ${createRate.toFixed(0)} writes/s, p50 ${percentile(created.latencies, 50).toFixed(1)} ms, p99 ${percentile(created.latencies, 99).toFixed(1)} ms`,
    );

    // 1b. Raw concurrent writers (3 processes x 16 connections): the server's write capacity.
    const kcUser = kc.getCurrentUser()!;
    const caPem = Buffer.from(kc.getCurrentCluster()!.caData!, "base64").toString();
    const raw = await rawWriters(sandbox.url, kcUser.token!, caPem, 3, 2000);
    results.push(
      `raw writers (3 processes x 16 keep-alive connections) create x6000: ${raw.rate.toFixed(0)} writes/s, p99 ${raw.p99.toFixed(1)} ms, ${raw.failed} failed (target >= 2,000 writes/s)`,
    );

    // 2. List 1,000 objects (label-selected), 20 times.
    const listLatencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const list = await core.listNamespacedConfigMap({
        namespace: "default",
        labelSelector: "bench=create",
      });
      listLatencies.push(performance.now() - t0);
      if (list.items.length !== COUNT)
        throw new Error(`list returned ${list.items.length} items, expected ${COUNT}`);
    }
    results.push(
      `client-node list of ${COUNT} (includes client-node's own decoding): p50 ${percentile(listLatencies, 50).toFixed(1)} ms, p99 ${percentile(listLatencies, 99).toFixed(1)} ms`,
    );
    const agent = new https.Agent({ keepAlive: true, ca: caPem });
    const rawList = async (): Promise<number> => {
      const t0 = performance.now();
      const bytes = await new Promise<number>((resolve, reject) => {
        https
          .get(
            `${sandbox.url}/api/v1/namespaces/default/configmaps?labelSelector=bench%3Dcreate`,
            { agent, headers: { Authorization: `Bearer ${kcUser.token}` } },
            (res) => {
              let n = 0;
              res.on("data", (c: Buffer) => {
                n += c.length;
              });
              res.on("end", () => resolve(n));
            },
          )
          .on("error", reject);
      });
      if (bytes < COUNT * 100) throw new Error(`list returned only ${bytes} bytes`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) await rawList();
    const rawLatencies: number[] = [];
    for (let i = 0; i < 50; i++) rawLatencies.push(await rawList());
    agent.destroy();
    results.push(
      `list of ${COUNT} over HTTPS (server time + transfer): p50 ${percentile(rawLatencies, 50).toFixed(1)} ms, p99 ${percentile(rawLatencies, 99).toFixed(1)} ms (target < 50 ms)`,
    );

    // 3. Watch: time from the first of 1,000 creates to the 1,000th ADDED event.
    let seen = 0;
    let done: () => void = () => undefined;
    const allSeen = new Promise<void>((r) => {
      done = r;
    });
    const watch = new Watch(kc);
    const listRv = (await core.listNamespacedConfigMap({ namespace: "default", limit: 1 })).metadata
      ?.resourceVersion;
    const request = await watch.watch(
      "/api/v1/namespaces/default/configmaps",
      { labelSelector: "bench=watch", resourceVersion: listRv },
      (type) => {
        if (type === "ADDED" && ++seen === COUNT) done();
      },
      () => undefined,
    );
    const t0 = performance.now();
    await drive(COUNT, CONCURRENCY, (i) =>
      core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: `w-${i}`, labels: { bench: "watch" } }, data: { i: String(i) } },
      }),
    );
    await allSeen;
    const watchSeconds = (performance.now() - t0) / 1000;
    request.abort();
    results.push(
      `watch: ${COUNT} ADDED events delivered in ${(watchSeconds * 1000).toFixed(0)} ms while being written (${(COUNT / watchSeconds).toFixed(0)} events/s)`,
    );

    // 4. kubectl create -f of 1,000 ConfigMaps in one file (one client, sequential requests).
    const manifest = Array.from(
      { length: COUNT },
      (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: k-${i}\ndata:\n  i: "${i}"\n`,
    ).join("---\n");
    writeFileSync(join(dir, "cms.yaml"), manifest);
    const k0 = performance.now();
    await run(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), "create", "-f", join(dir, "cms.yaml")],
      { maxBuffer: 64 << 20 },
    );
    const kubectlSeconds = (performance.now() - k0) / 1000;
    results.push(
      `kubectl create -f (${COUNT} ConfigMaps, one process): ${(COUNT / kubectlSeconds).toFixed(0)} objects/s (${kubectlSeconds.toFixed(2)} s)`,
    );
    const g0 = performance.now();
    await run(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), "get", "configmaps", "-o", "name"],
      { maxBuffer: 64 << 20 },
    );
    results.push(
      `kubectl get configmaps (${3 * COUNT + 100 + 6000} objects): ${(performance.now() - g0).toFixed(0)} ms including kubectl start-up`,
    );

    // Baseline: the same create load against a bare HTTPS server.
    const certs = await import("../sandbox/server/tls.js").then((m) => m.ensureCertificates(join(stateDir)));
    const baseline = await startProcess(["--input-type=module", "-e", BASELINE_SERVER], {
      CERT: certs.certPem,
      KEY: certs.keyPem,
    });
    try {
      const bkc = new KubeConfig();
      bkc.loadFromFile(kubeconfig);
      bkc.clusters[0] = { ...bkc.clusters[0]!, server: baseline.url };
      const bcore = bkc.makeApiClient(CoreV1Api);
      await drive(100, CONCURRENCY, (i) =>
        bcore.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `warm-${i}` } } }),
      );
      const base = await drive(COUNT, CONCURRENCY, (i) =>
        bcore.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: `cm-${i}` }, data: { index: String(i), payload: "x".repeat(200) } },
        }),
      );
      const baseRate = COUNT / base.seconds;
      const baseRaw = await rawWriters(baseline.url, kcUser.token!, caPem, 3, 2000);
      results.push(
        `baseline (bare HTTPS server): client-node ${baseRate.toFixed(0)} req/s; raw writers ${baseRaw.rate.toFixed(0)} req/s, p99 ${baseRaw.p99.toFixed(1)} ms`,
      );
      results.push(
        `ratio sandbox/baseline: client-node ${(createRate / baseRate).toFixed(2)}, raw writers ${(raw.rate / baseRaw.rate).toFixed(2)}`,
      );
    } finally {
      baseline.child.kill("SIGTERM");
    }
  } finally {
    sandbox.child.kill("SIGTERM");
    await new Promise((r) => sandbox.child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\nsandbox benchmark\n${results.map((r) => `  ${r}`).join("\n")}\n`);
}

await main();
