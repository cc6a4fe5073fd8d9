/**
 * Two `slipway controller --redis` processes share one installation: the Application, Rollout
 * and AnalysisRun queues live in Redis and both replicas take keys from them, so both do
 * reconciles (their own /metrics say how many); only the Lease holder runs ApplicationSet
 * generators. One replica is then killed with SIGKILL while idle, and the survivor alone carries
 * the next change through. kubectl judges the Rollouts.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, deletePrefix, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import {
  CLI,
  isLeader,
  type Replica,
  waitReady as ready,
  reconciles,
  startReplica,
} from "./replicas-harness.js";

const execFileAsync = promisify(execFile);
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

  /** A replica on this sandbox and prefix, killed in afterAll. */
  async function launch(): Promise<Replica> {
    const replica = await startReplica(env.kubeconfig, prefix);
    replicas.push(replica);
    return replica;
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
    const a = await launch();
    await ready(a);
    const b = await launch();
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
    const leaders = await Promise.all([a, b].map(isLeader));
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
