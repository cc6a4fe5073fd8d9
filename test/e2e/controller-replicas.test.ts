/**
 * Two `slipway controller --redis` processes share one installation: the Application, Rollout
 * and AnalysisRun queues live in Redis and both replicas take keys from them, so both do
 * reconciles (their own /metrics say how many); only the Lease holder runs ApplicationSet
 * generators. One replica is then killed with SIGKILL while idle, and the survivor alone carries
 * the next change through. kubectl judges the Rollouts.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, deletePrefix, REDIS_URL, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const execFileAsync = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
const NS = "replicas";
const ROLLOUTS = 8;

const rollouts = (image: string) =>
  Array.from(
    { length: ROLLOUTS },
    (_, i) => `
apiVersion: slipway.dev/v1alpha1
kind: Rollout
metadata: {name: web-${i}, namespace: ${NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-${i}}}
  template:
    metadata: {labels: {app: web-${i}}}
    spec: {containers: [{name: web, image: "${image}"}]}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {duration: 1s}}]
`,
  ).join("---\n");

interface Replica {
  child: ChildProcess;
  /** Its stderr (JSON logs), for the failure message when it dies. */
  logs: string[];
  url: string;
  exited: Promise<number | null>;
}

describe.skipIf(!redisAvailable())("controller replicas sharing Redis", () => {
  const prefix = randomPrefix();
  let admin: Redis;
  let env: TestSandbox;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    admin = connectRedis();
    env = await startTestSandbox();
    await execFileAsync(process.execPath, [CLI, "install", "--kubeconfig", env.kubeconfig]);
    await env.kubectlOk(["create", "namespace", NS]);
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill("SIGKILL");
    await env?.stop();
    await deletePrefix(admin, prefix);
    await admin?.quit();
  });

  function startReplica(): Promise<Replica> {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "controller",
        "--kubeconfig",
        env.kubeconfig,
        "--http-addr",
        "127.0.0.1:0",
        "--redis",
        REDIS_URL,
        "--workers",
        "2",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLIPWAY_REDIS_PREFIX: prefix } },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const logs: string[] = [];
    child.stderr!.on("data", (c: Buffer) => logs.push(c.toString()));
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /^listening (http:\/\/\S+)$/m.exec(out);
        if (m && !replicas.some((r) => r.child === child)) {
          const replica = { child, url: m[1]!, exited, logs };
          replicas.push(replica);
          resolve(replica);
        }
      });
      void exited.then((code) => reject(new Error(`controller exited with ${code}: ${out}`)));
    });
  }

  const ready = (r: Replica) =>
    waitFor(async () => ((await fetch(`${r.url}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 30_000,
    });

  async function metricsOf(r: Replica): Promise<string> {
    if (r.child.exitCode !== null || r.child.signalCode !== null)
      throw new Error(
        `replica exited (${r.child.exitCode ?? r.child.signalCode}):\n${r.logs.join("").slice(-4000)}`,
      );
    return (await fetch(`${r.url}/metrics`)).text();
  }

  /** Successful reconciles of `controller` this replica has done, from its own /metrics. */
  async function reconciles(r: Replica, controller: string): Promise<number> {
    const text = await metricsOf(r);
    const pattern = new RegExp(
      `^slipway_reconcile_total\\{controller="${controller}",result="(?:success|requeue_after)"\\} (\\d+)$`,
      "gm",
    );
    return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  /** Every Rollout Healthy with `image` in its stable ReplicaSet. */
  async function allHealthyOn(image: string): Promise<true | undefined> {
    const list = await env.kubectlJson(["get", "rollouts", "-n", NS]);
    const done = list.items.filter(
      (ro: KubeJson) =>
        ro.status?.phase === "Healthy" &&
        ro.status.stableRS === ro.status.currentPodHash &&
        ro.spec.template.spec.containers[0].image === image,
    );
    return list.items.length === ROLLOUTS && done.length === ROLLOUTS ? true : undefined;
  }

  it("both replicas reconcile Rollouts; only one leads", async () => {
    const a = await startReplica();
    await ready(a);
    const b = await startReplica();
    await ready(b);

    await env.kubectlOk(["apply", "-f", "-"], { input: rollouts("web:1") });
    await waitFor(() => allHealthyOn("web:1"), { timeoutMs: 60_000 });
    await env.kubectlOk(["apply", "-f", "-"], { input: rollouts("web:2") });
    await waitFor(() => allHealthyOn("web:2"), { timeoutMs: 60_000 });

    const [doneA, doneB] = await Promise.all([reconciles(a, "rollouts"), reconciles(b, "rollouts")]);
    // Eight Rollouts, each through a first deploy and a two-step canary: dozens of reconciles, and
    // with keys handed out one at a time to whichever replica asks, neither gets them all.
    expect(doneA).toBeGreaterThan(0);
    expect(doneB).toBeGreaterThan(0);
    expect(doneA + doneB).toBeGreaterThanOrEqual(ROLLOUTS * 3);

    // The Lease names one of them; the other runs no generators.
    const lease = await env.kubectlJson(["get", "lease", "slipway-controller", "-n", "slipway-system"]);
    expect(lease.spec.holderIdentity).toBeTruthy();
    const leaders = await Promise.all(
      [a, b].map(async (r) => /^slipway_leader\{[^}]*\} 1$/m.test(await metricsOf(r))),
    );
    expect(leaders.filter(Boolean)).toHaveLength(1);
  }, 150_000);

  it("the survivor of a SIGKILL carries the next change alone", async () => {
    const [a, b] = replicas as [Replica, Replica];
    a.child.kill("SIGKILL");
    await a.exited;
    const before = await reconciles(b, "rollouts");
    await env.kubectlOk(["apply", "-f", "-"], { input: rollouts("web:3") });
    await waitFor(() => allHealthyOn("web:3"), { timeoutMs: 90_000 });
    expect(await reconciles(b, "rollouts")).toBeGreaterThanOrEqual(before + ROLLOUTS * 2);
    const exited = b.exited;
    b.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 150_000);
});
