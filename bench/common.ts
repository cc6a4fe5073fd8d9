/**
 * What the benchmarks share: sandboxes in their own processes (as users run them), kubectl and
 * git as child processes, a local bare repository, `slipway install`'s objects, and statistics.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { installManifests } from "../api/v1alpha1/crds.js";

const run = promisify(execFile);
export const root = new URL("../..", import.meta.url).pathname;
export const CLI = join(root, "dist/cli/main.js");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** CPU ms used so far by another process (Linux /proc; 0 elsewhere). */
export function processCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/**
 * `slipway sandbox up` in its own process with its own SLIPWAY_HOME under `dir`; resolves once it
 * prints "ready". `faults` is a fault-rules file (see sandbox/server/faults.ts).
 */
export async function startSandbox(
  dir: string,
  options: { faults?: string; nodeArgs?: string[] } = {},
): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const kubeconfig = join(dir, "kubeconfig");
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      CLI,
      "sandbox",
      "up",
      "--port",
      "0",
      "--kubeconfig",
      kubeconfig,
      ...(options.faults ? ["--faults", options.faults] : []),
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SLIPWAY_HOME: dir } },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      if (/^ready \S+$/m.test(out)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`sandbox exited with ${code} before ready`)));
  });
  return { child, kubeconfig };
}

/** kubectl with its own cache dir; rejects with kubectl's stderr unless it exits 0. */
export async function kubectl(
  kubeconfig: string,
  cacheDir: string,
  args: string[],
  input?: string,
): Promise<string> {
  const child = execFile("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${code}: ${stderr.trim()}`);
  return stdout;
}

/** git with no user or system configuration. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run("git", args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "bench",
      GIT_AUTHOR_EMAIL: "bench@slipway.invalid",
      GIT_COMMITTER_NAME: "bench",
      GIT_COMMITTER_EMAIL: "bench@slipway.invalid",
    },
  });
  return stdout.trim();
}

/** A bare repository `<name>.git` with one commit on main made of what `fill` writes; returns its file:// URL. */
export async function makeRepo(dir: string, name: string, fill: (work: string) => void): Promise<string> {
  const work = join(dir, `${name}-work`);
  const bare = join(dir, `${name}.git`);
  mkdirSync(work, { recursive: true });
  fill(work);
  await git(dir, ["init", "-q", "--bare", "--initial-branch=main", bare]);
  await git(work, ["init", "-q", "--initial-branch=main"]);
  await git(work, ["add", "-A"]);
  await git(work, ["commit", "-q", "-m", "bench"]);
  await git(work, ["push", "-q", bare, "main"]);
  return pathToFileURL(bare).href;
}

/** What `slipway install` applies, through kubectl: CRDs first, then the rest. */
export async function install(kubeconfig: string, cacheDir: string, namespace: string): Promise<void> {
  const manifests = installManifests(namespace);
  for (const items of [
    manifests.filter((m) => m.kind === "CustomResourceDefinition"),
    manifests.filter((m) => m.kind !== "CustomResourceDefinition"),
  ]) {
    // A CRD created a moment ago may not be in discovery yet: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await kubectl(
          kubeconfig,
          cacheDir,
          ["apply", "--server-side", "-f", "-"],
          JSON.stringify({ apiVersion: "v1", kind: "List", items }),
        );
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await sleep(250);
      }
    }
  }
}
