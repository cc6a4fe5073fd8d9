/**
 * `slipway queue stats` against a real Redis: it reads the queues a controller replica wrote
 * (here a BullMQQueue in the test process, under a random prefix) and prints them as a table or
 * JSON; without --redis, or with a Redis that does not answer, it says what to do in one line.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BullMQQueue } from "../../controller/queue/bullmq-queue.js";
import { connectRedis, deletePrefix, REDIS_URL, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const execFileAsync = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");

async function slipway(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      env: { ...process.env, SLIPWAY_REDIS_URL: "", ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("slipway queue stats", () => {
  it("needs --redis, and says so", async () => {
    const r = await slipway(["queue", "stats"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: queue stats reads the shared Redis queue: pass --redis URL or set SLIPWAY_REDIS_URL/,
    );
  });

  it("names the Redis it cannot reach, without its password", async () => {
    const r = await slipway(["queue", "stats", "--redis", "redis://:s3cret@127.0.0.1:1/0"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^error: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: .*ECONNREFUSED/,
    );
    expect(r.stderr).not.toContain("s3cret");
  });
});

describe.skipIf(!redisAvailable())("slipway queue stats on Redis", () => {
  const prefix = randomPrefix();
  let admin: Redis;
  let apps: BullMQQueue;
  let rollouts: BullMQQueue;

  beforeAll(async () => {
    admin = connectRedis();
    apps = new BullMQQueue({ name: "applications", connection: REDIS_URL, prefix });
    rollouts = new BullMQQueue({
      name: "rollouts",
      connection: REDIS_URL,
      prefix,
      limits: { "cluster/*/": 2 },
    });
    for (const key of ["slipway-system/a", "slipway-system/b", "slipway-system/c"]) await apps.add(key);
    await apps.addAfter("slipway-system/later", 600_000);
    await rollouts.add("cluster/east/shop/web");
    expect(await rollouts.get()).toBe("cluster/east/shop/web");
    await rollouts.addRateLimited("cluster/east/shop/web");
  });

  afterAll(async () => {
    await rollouts?.done("cluster/east/shop/web");
    await Promise.all([apps?.shutdown(), rollouts?.shutdown()]);
    await deletePrefix(admin, prefix);
    await admin?.quit();
  });

  it("prints depth, in-flight, delayed and retrying keys per queue", async () => {
    const r = await slipway(["queue", "stats", "--redis-prefix", prefix], { SLIPWAY_REDIS_URL: REDIS_URL });
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((line) => line.split(/\s{2,}/));
    expect(rows[0]).toEqual(["QUEUE", "DEPTH", "IN-FLIGHT", "DELAYED", "RETRYING", "OLDEST"]);
    expect(rows[1]!.slice(0, 5)).toEqual(["applications", "3", "0", "1", "0"]);
    expect(rows[1]![5]).toMatch(/^\d+s$/);
    expect(rows[2]).toEqual(["rollouts", "0", "1", "1", "1", "-"]);
  });

  it("prints the same as JSON, with in-flight keys per concurrency group", async () => {
    const r = await slipway(["queue", "stats", "--redis", REDIS_URL, "--redis-prefix", prefix, "-o", "json"]);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout) as { name: string; groups: Record<string, number> }[];
    expect(stats.map((s) => s.name)).toEqual(["applications", "rollouts"]);
    expect(stats[1]).toMatchObject({
      depth: 0,
      inFlight: 1,
      delayed: 1,
      retrying: 1,
      groups: { "cluster/east/": 1 },
    });
  });

  it("says so when an installation has no queues", async () => {
    const r = await slipway(["queue", "stats", "--redis", REDIS_URL, "--redis-prefix", `${prefix}-none`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`no queues under prefix "${prefix}-none" in Redis at ${REDIS_URL}\n`);
  });
});

describe.skipIf(!redisAvailable())("slipway controller --redis", () => {
  const prefix = randomPrefix();
  let admin: Redis;
  let env: TestSandbox;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    admin = connectRedis();
    env = await startTestSandbox({ simulation: false });
    await execFileAsync(process.execPath, [CLI, "install", "--kubeconfig", env.kubeconfig]);
  });

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await env?.stop();
    await deletePrefix(admin, prefix);
    await admin?.quit();
  });

  function startController(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(
      process.execPath,
      [CLI, "controller", "--kubeconfig", env.kubeconfig, "--http-addr", "127.0.0.1:0", "--redis", REDIS_URL],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SLIPWAY_REDIS_PREFIX: prefix } },
    );
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /^listening (http:\/\/\S+)$/m.exec(out);
        if (m) resolve({ child, url: m[1]! });
      });
      child.once("exit", (code) => reject(new Error(`controller exited with ${code}: ${out}`)));
    });
  }

  const exitCode = (child: ChildProcess) => new Promise((resolve) => child.once("exit", resolve));

  it("keeps the Application controller's queue in Redis, and leader and standby both stop on SIGTERM", async () => {
    const leader = await startController();
    await waitFor(async () => ((await fetch(`${leader.url}/readyz`)).status === 200 ? true : undefined));
    const standby = await startController();
    const stats = await waitFor(async () => {
      const r = await slipway([
        "queue",
        "stats",
        "--redis",
        REDIS_URL,
        "--redis-prefix",
        prefix,
        "-o",
        "json",
      ]);
      const list = JSON.parse(r.stdout || "[]") as { name: string }[];
      return list.length >= 3 ? list : undefined;
    });
    expect(stats.map((q) => q.name)).toEqual(["analysisruns", "applications", "rollouts"]);
    const metrics = await (await fetch(`${leader.url}/metrics`)).text();
    expect(metrics).toMatch(/^slipway_workqueue_depth\{controller="applications"\} \d+$/m);
    const stopped = [exitCode(standby.child), exitCode(leader.child)];
    standby.child.kill("SIGTERM");
    leader.child.kill("SIGTERM");
    expect(await Promise.all(stopped)).toEqual([0, 0]);
  });
});
