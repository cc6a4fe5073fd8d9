/**
 * `slipway sandbox up|down|status`: the local Kubernetes-API-compatible cluster.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";

/** Where `sandbox up --detach` keeps its pid, log and default state. */
export function slipwayHome(): string {
  return process.env.SLIPWAY_HOME ?? join(homedir(), ".slipway");
}

export function defaultKubeconfigPath(): string {
  const env = process.env.KUBECONFIG?.split(":").find((p) => p.length > 0);
  return env ?? join(homedir(), ".kube", "config");
}

interface UpOptions {
  port: string;
  host: string;
  stateDir?: string;
  detach?: boolean;
  faults?: string;
  seed?: string;
}

function pidFile(): string {
  return join(slipwayHome(), "sandbox.pid");
}

function readPid(): { pid: number; url: string } | undefined {
  if (!existsSync(pidFile())) return undefined;
  try {
    return JSON.parse(readFileSync(pidFile(), "utf8")) as { pid: number; url: string };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function up(options: UpOptions, kubeconfig: string): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, got "${options.port}"`);
  // Loaded on demand: the sandbox is large, and every other command should start fast.
  const [{ writeKubeconfig }, { Sandbox }, { parseFaultRules }, { startSimulation }] = await Promise.all([
    import("../sandbox/kubeconfig.js"),
    import("../sandbox/sandbox.js"),
    import("../sandbox/server/faults.js"),
    import("../sandbox/simulation.js"),
  ]);
  const faults = options.faults
    ? parseFaultRules(parseYaml(readFileSync(options.faults, "utf8")))
    : undefined;
  const running = readPid();
  if (options.detach) {
    if (running && alive(running.pid))
      throw new Error(
        `a sandbox is already running (pid ${running.pid}, ${running.url}); run "slipway sandbox down" first`,
      );
    return detach(kubeconfig);
  }
  const sandbox = new Sandbox({
    host: options.host,
    port,
    ...(options.stateDir ? { stateDir: resolve(options.stateDir) } : {}),
    ...(faults ? { faults } : {}),
    ...(options.seed ? { seed: Number(options.seed) } : {}),
  });
  startSimulation(sandbox, options.seed ? { seed: Number(options.seed) } : {});
  const url = await sandbox.start();
  writeKubeconfig(kubeconfig, url, sandbox.caPem, sandbox.token);
  mkdirSync(slipwayHome(), { recursive: true });
  writeFileSync(pidFile(), JSON.stringify({ pid: process.pid, url, kubeconfig }));
  process.stdout.write(`ready ${url}\n`);
  process.stdout.write(`kubeconfig ${kubeconfig} (context slipway-sandbox)\n`);
  await new Promise<void>((done) => {
    const shutdown = () => {
      process.off("SIGINT", shutdown);
      process.off("SIGTERM", shutdown);
      sandbox
        .stop()
        .catch(() => undefined)
        .finally(() => {
          const current = readPid();
          if (current?.pid === process.pid) rmSync(pidFile(), { force: true });
          done();
        });
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  });
}

/** Re-runs `sandbox up` in the background and returns once it printed `ready`. */
async function detach(kubeconfig: string): Promise<void> {
  mkdirSync(slipwayHome(), { recursive: true });
  const logPath = join(slipwayHome(), "sandbox.log");
  const args = process.argv.slice(2).filter((a) => a !== "--detach");
  if (!args.includes("--kubeconfig")) args.push("--kubeconfig", kubeconfig);
  const log = openSync(logPath, "w");
  const child = spawn(process.execPath, [process.argv[1]!, ...args], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
    const ready = /^ready (\S+)$/m.exec(text);
    if (ready) {
      process.stdout.write(`ready ${ready[1]}\n`);
      process.stdout.write(
        `kubeconfig ${kubeconfig} (context slipway-sandbox); stop it with "slipway sandbox down"\n`,
      );
      return;
    }
    if (child.exitCode !== null || !alive(child.pid!)) {
      throw new Error(
        `the sandbox exited during start-up: ${text.trim().split("\n").pop() ?? "no output"} (log: ${logPath})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the sandbox did not become ready within 30s (log: ${logPath})`);
}

async function down(): Promise<void> {
  const running = readPid();
  if (!running || !alive(running.pid)) {
    rmSync(pidFile(), { force: true });
    process.stdout.write("no sandbox is running\n");
    return;
  }
  process.kill(running.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive(running.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(running.pid)) throw new Error(`sandbox (pid ${running.pid}) did not stop within 10s`);
  rmSync(pidFile(), { force: true });
  process.stdout.write(`stopped sandbox at ${running.url}\n`);
}

async function status(): Promise<void> {
  const running = readPid();
  if (!running || !alive(running.pid)) {
    process.stdout.write("not running\n");
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`running ${running.url} (pid ${running.pid})\n`);
}

export function registerSandbox(program: Command): void {
  const sandbox = program.command("sandbox").description("run a local Kubernetes-API-compatible cluster");
  sandbox
    .command("up")
    .description("start the sandbox; serves until interrupted (prints `ready <url>`)")
    .option("--port <n>", "port to listen on (0 picks a free one)", "0")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--state-dir <dir>", "keep objects, CA and token here so they survive a restart")
    .option("--detach", "run in the background and return once ready")
    .option("--faults <file>", "YAML/JSON list of fault rules to inject (see README)")
    .option("--seed <n>", "seed for simulated traffic and pod behaviour")
    .action(async (options: UpOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { kubeconfig?: string };
      await up(options, resolve(globals.kubeconfig ?? defaultKubeconfigPath()));
    });
  sandbox.command("down").description("stop a sandbox started with --detach").action(down);
  sandbox.command("status").description("tell whether a detached sandbox is running").action(status);
}
