/**
 * Starts a whole sandbox (HTTPS API, simulated workloads and traffic) in the test process and
 * gives tests what a user would have: its URL, a kubeconfig file and the real `kubectl`.
 *
 *   const sb = await startTestSandbox();
 *   afterAll(() => sb.stop());
 *   await sb.kubectlOk(["apply", "-f", "-"], { input: yaml });
 *   const pods = await sb.kubectlJson(["get", "pods", "-l", "app=web"]);
 *   await waitFor(async () => (await sb.kubectl(["get", "ns", "x"])).code === 0);
 *
 * Every sandbox gets its own temporary directory (kubeconfig, kubectl discovery cache), listens on
 * a free port of 127.0.0.1, and is gone after stop(). kubectl runs with `--kubeconfig` and a fresh
 * `--cache-dir`, so nothing from ~/.kube or another sandbox leaks in.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKubeconfig } from "../../sandbox/kubeconfig.js";
import { Sandbox, type SandboxOptions } from "../../sandbox/sandbox.js";
import type { FaultRule } from "../../sandbox/server/faults.js";
import { type SimulationOptions, startSimulation } from "../../sandbox/simulation.js";

export interface KubectlResult {
  /** Exit code (non-zero on failure, 124 if killed by the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  input?: string;
  /** Kills kubectl after this long (default 60s). */
  timeoutMs?: number;
}

export interface TestSandbox {
  sandbox: Sandbox;
  /** https://127.0.0.1:<port> */
  url: string;
  /** Path of a kubeconfig with the sandbox as its current context (namespace "default"). */
  kubeconfig: string;
  /** The sandbox's temporary directory (removed by stop()). */
  dir: string;
  /** Runs `kubectl --kubeconfig <kubeconfig> --cache-dir <fresh dir> ...args`; never rejects on exit codes. */
  kubectl(args: string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** Like kubectl(), but rejects with kubectl's stderr unless it exits 0; resolves to stdout. */
  kubectlOk(args: string[], options?: KubectlOptions): Promise<string>;
  /** Runs kubectl with `-o json` appended and parses the output (rejects on failure). */
  kubectlJson<T = KubeJson>(args: string[], options?: KubectlOptions): Promise<T>;
  /** Stops the sandbox (simulators included) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A Kubernetes object or list as kubectl prints it: loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary object fields.
export type KubeJson = Record<string, any>;

export interface TestSandboxOptions {
  /** Passed to the Sandbox (host and port are fixed to 127.0.0.1:0). */
  sandbox?: Omit<SandboxOptions, "host" | "port">;
  /** Passed to startSimulation; `false` starts the API only. */
  simulation?: SimulationOptions | false;
}

function run(args: string[], options: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      args,
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        let code = 0;
        if (error) {
          const e = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          code = e.killed ? 124 : typeof e.code === "number" ? e.code : 1;
        }
        resolve({ code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
      },
    );
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input ?? "");
  });
}

export async function startTestSandbox(options: TestSandboxOptions = {}): Promise<TestSandbox> {
  const dir = mkdtempSync(join(tmpdir(), "slipway-sandbox-"));
  const kubeconfig = join(dir, "kubeconfig");
  const cacheDir = join(dir, "kube-cache");
  const sandbox = new Sandbox({ ...options.sandbox, host: "127.0.0.1", port: 0 });
  if (options.simulation !== false) startSimulation(sandbox, options.simulation ?? {});
  let url: string;
  try {
    url = await sandbox.start();
  } catch (error) {
    await sandbox.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  writeKubeconfig(kubeconfig, url, sandbox.caPem, sandbox.token);

  const kubectl = (args: string[], opts: KubectlOptions = {}) =>
    run(["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], opts);
  const kubectlOk = async (args: string[], opts: KubectlOptions = {}) => {
    const result = await kubectl(args, opts);
    if (result.code !== 0) {
      throw new Error(`kubectl ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
    }
    return result.stdout;
  };
  let stopped: Promise<void> | undefined;
  return {
    sandbox,
    url,
    kubeconfig,
    dir,
    kubectl,
    kubectlOk,
    kubectlJson: async <T>(args: string[], opts: KubectlOptions = {}) =>
      JSON.parse(await kubectlOk([...args, "-o", "json"], opts)) as T,
    stop() {
      stopped ??= sandbox.stop().finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

export interface WaitOptions {
  /** Give up after this long (default 20s). */
  timeoutMs?: number;
  /** Time between attempts (default 100ms). */
  intervalMs?: number;
  /** Included in the timeout error. */
  message?: string;
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false` and resolves to it.
 * Rejects after the timeout with the last error `check` threw, if any.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(
        `timed out after ${options.timeoutMs ?? 20_000}ms${options.message ? ` waiting for ${options.message}` : ""}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** PUT /sim/faults over HTTPS with the sandbox's CA: replaces the injected faults (see sandbox/server/faults.ts). */
export function setSandboxFaults(sandbox: Sandbox, rules: FaultRule[]): Promise<void> {
  const body = JSON.stringify(rules);
  return new Promise<void>((resolve, reject) => {
    const req = https.request(
      `${sandbox.url}/sim/faults`,
      {
        method: "PUT",
        ca: sandbox.caPem,
        headers: {
          Authorization: `Bearer ${sandbox.token}`,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`PUT /sim/faults: ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** GET a path of the sandbox over HTTPS with its CA, no token (e.g. `/sim/traffic?window=5`); rejects unless 200. */
export function sandboxGet(env: Pick<TestSandbox, "url" | "sandbox">, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${env.url}${path}`, { ca: env.sandbox.caPem }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
