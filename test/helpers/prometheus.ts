/**
 * A real Prometheus (Debian's `prometheus` binary) for tests: scrapes the given targets every
 * second and resolves once data has arrived, so a test's first query already sees samples.
 * Callers gate on `prometheusAvailable()` (skips with a message, or fails when REQUIRE_SERVICES=1).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceAvailable } from "./services.js";

/** Path of the prometheus binary, or "" when it is not installed. */
export const prometheusBinary = spawnSync("sh", ["-c", "command -v prometheus"], {
  encoding: "utf8",
}).stdout.trim();

/** Whether tests needing Prometheus can run; warns (or throws under REQUIRE_SERVICES=1) if not. */
export function prometheusAvailable(): boolean {
  return serviceAvailable("prometheus", () => prometheusBinary !== "", "apt-get install prometheus");
}

export interface PrometheusOptions {
  /** `host:port` of each scrape target. */
  targets: string[];
  metricsPath?: string;
  scheme?: "http" | "https";
  /** For HTTPS targets with a private CA (the sandbox's `/sim/metrics`). */
  insecureSkipVerify?: boolean;
  /** Resolve once this query returns at least `minSeries` series (default: `up == 1`, one per target). */
  waitForQuery?: string;
  minSeries?: number;
  timeoutMs?: number;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:PORT`, what a template's `address` takes. */
  address: string;
  /** stdout and stderr so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function seriesCount(address: string, query: string): Promise<number> {
  const url = `${address}/api/v1/query?query=${encodeURIComponent(query)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return 0;
  const body = (await res.json()) as { data?: { result?: unknown[] } };
  return body.data?.result?.length ?? 0;
}

/** Starts Prometheus on a free port with a 1 s scrape interval and waits for the first data. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  if (!prometheusBinary)
    throw new Error("the prometheus binary is not installed (apt-get install prometheus)");
  const dir = mkdtempSync(join(tmpdir(), "slipway-prom-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: slipway-test",
      `    metrics_path: ${options.metricsPath ?? "/metrics"}`,
      `    scheme: ${options.scheme ?? "http"}`,
      ...(options.insecureSkipVerify ? ["    tls_config:", "      insecure_skip_verify: true"] : []),
      "    static_configs:",
      `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(
    prometheusBinary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const query = options.waitForQuery ?? "up == 1";
  const minSeries = options.minSeries ?? (options.waitForQuery ? 1 : options.targets.length);
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited early:\n${output.slice(-2000)}`);
    }
    try {
      if ((await seriesCount(address, query)) >= minSeries) break;
    } catch {
      // not serving yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`no data from prometheus (${query}) in time:\n${output.slice(-2000)}`);
    }
    await sleep(250);
  }
  return { address, log: () => output, stop };
}
