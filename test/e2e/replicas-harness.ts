/**
 * Real `slipway controller --redis` processes for the replica tests: each started from dist/ on
 * one key prefix, each with its own HTTP server, and read through its own /metrics (reconciles
 * done, whether it holds the Lease), as an operator would tell replicas apart.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { REDIS_URL } from "../helpers/redis.js";
import { waitFor } from "../helpers/sandbox.js";

export const CLI = join(process.cwd(), "dist/cli/main.js");

export interface Replica {
  child: ChildProcess;
  /** Its stderr (JSON logs), for the failure message when it dies. */
  logs: string[];
  url: string;
  exited: Promise<number | null>;
}

/**
 * Starts `slipway controller --redis` against the cluster in `kubeconfig`, its queues under
 * `prefix`; resolves once it prints its URL. `extraArgs` go after the common flags.
 */
export function startReplica(kubeconfig: string, prefix: string, extraArgs: string[] = []): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--http-addr",
      "127.0.0.1:0",
      "--redis",
      REDIS_URL,
      "--workers",
      "2",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLIPWAY_REDIS_PREFIX: prefix } },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs: string[] = [];
  child.stderr!.on("data", (c: Buffer) => logs.push(c.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    let started = false;
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m && !started) {
        started = true;
        resolve({ child, url: m[1]!, exited, logs });
      }
    });
    void exited.then((code) => reject(new Error(`controller exited with ${code}: ${out}`)));
  });
}

export const waitReady = (r: Replica) =>
  waitFor(async () => ((await fetch(`${r.url}/readyz`)).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
  });

/** The replica's /metrics text; throws with its last logs when it has died. */
export async function metricsOf(r: Replica): Promise<string> {
  if (r.child.exitCode !== null || r.child.signalCode !== null)
    throw new Error(
      `replica exited (${r.child.exitCode ?? r.child.signalCode}):\n${r.logs.join("").slice(-4000)}`,
    );
  return (await fetch(`${r.url}/metrics`)).text();
}

/** Successful reconciles of `controller` this replica has done, from its own /metrics. */
export async function reconciles(r: Replica, controller: string): Promise<number> {
  const text = await metricsOf(r);
  const pattern = new RegExp(
    `^slipway_reconcile_total\\{controller="${controller}",result="(?:success|requeue_after)"\\} (\\d+)$`,
    "gm",
  );
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Whether this replica holds the slipway-controller Lease, by its `slipway_leader` gauge. */
export async function isLeader(r: Replica): Promise<boolean> {
  return /^slipway_leader\{[^}]*\} 1$/m.test(await metricsOf(r));
}
