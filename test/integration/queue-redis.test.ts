/**
 * BullMQQueue against a real Redis (STYLE.md 13): the client-go queue properties of
 * work-queue.ts, now between replicas — each `BullMQQueue` instance here is one replica with its
 * own connections and worker token — plus backoff shared through Redis, per-cluster concurrency
 * limits, key namespacing, metrics, and the refill from informers when Redis loses its data.
 * (Real processes, killed mid-key, are in queue-processes.test.ts.) Every test uses its own random
 * prefix and deletes it afterwards.
 */
import { execFileSync } from "node:child_process";
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { Redis } from "ioredis";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { objectKey } from "../../controller/kube/resource.js";
import { BullMQQueue, type BullMQQueueOptions } from "../../controller/queue/bullmq-queue.js";
import { ConcurrencyLimitError, compileLimits, groupOf } from "../../controller/queue/concurrency-limits.js";
import { flushPromises } from "../../controller/queue/fake-clock.js";
import { readQueueStats } from "../../controller/queue/queue-stats.js";
import { queueKeys } from "../../controller/queue/redis-scripts.js";
import { Controller } from "../../controller/runtime/controller.js";
import {
  connectRedis,
  deletePrefix,
  loseEverything,
  REDIS_URL,
  randomPrefix,
  redisAvailable,
} from "../helpers/redis.js";
import { delay, startCluster, type TestCluster, until } from "./controller-helpers.js";

const available = redisAvailable();

describe("concurrency limit rules", () => {
  it("match one or more non-slash characters per *, most specific rule first", () => {
    const rules = compileLimits({ "cluster/*/": 4, "cluster/prod.eu-1/": 1, "team-*/cluster/*/": 2 });
    expect(rules.map((r) => r.prefix)).toEqual(["cluster/prod.eu-1/", "team-*/cluster/*/", "cluster/*/"]);
    expect(groupOf(rules, "cluster/east/default/web")).toEqual({ group: "cluster/east/", limit: 4 });
    expect(groupOf(rules, "cluster/prod.eu-1/x")).toEqual({ group: "cluster/prod.eu-1/", limit: 1 });
    expect(groupOf(rules, "cluster/prodXeu-1/x")).toEqual({ group: "cluster/prodXeu-1/", limit: 4 });
    expect(groupOf(rules, "team-a/cluster/b/c")).toEqual({ group: "team-a/cluster/b/", limit: 2 });
    expect(groupOf(rules, "cluster//x")).toBeUndefined();
    expect(groupOf(rules, "default/web")).toBeUndefined();
    expect(rules[0]!.luaPattern).toBe("^(cluster/prod%.eu%-1/)");
  });

  it("refuse limits that are not positive integers", () => {
    expect(() => compileLimits({ "cluster/*/": 0 })).toThrow(ConcurrencyLimitError);
    expect(() => compileLimits({ "cluster/*/": 1.5 })).toThrow(/positive integer/);
    expect(() => compileLimits({ "": 1 })).toThrow(/non-empty/);
  });
});

/**
 * SHUTDOWN NOSAVE and start again with the CI machine's command (override with
 * SLIPWAY_TEST_REDIS_START), then wait for PING. Only run when nothing else uses this Redis.
 */
function restartRedis(): void {
  const url = new URL(REDIS_URL);
  const cli = ["-h", url.hostname, "-p", url.port || "6379"];
  execFileSync("redis-cli", [...cli, "SHUTDOWN", "NOSAVE"], { stdio: "ignore" });
  const start =
    process.env.SLIPWAY_TEST_REDIS_START ??
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';
  execFileSync("sh", ["-c", start], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      if (execFileSync("redis-cli", [...cli, "PING"], { encoding: "utf8" }).trim() === "PONG") return;
    } catch {
      // not up yet
    }
    execFileSync("sleep", ["0.1"]);
  }
  throw new Error("Redis did not come back after the restart");
}

/** A promise's state without awaiting it. */
async function settled<T>(p: Promise<T>, waitMs = 0): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => {
    state = { done: true, value };
  });
  if (waitMs > 0) await delay(waitMs);
  await flushPromises();
  return state;
}

interface Interval {
  key: string;
  replica: number;
  start: number;
  end: number;
}

/** Asserts that no two processing intervals of one key overlap. */
function expectNoOverlap(intervals: Interval[]): void {
  const byKey = new Map<string, Interval[]>();
  for (const i of intervals) byKey.set(i.key, [...(byKey.get(i.key) ?? []), i]);
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const [prev, next] = [list[i - 1]!, list[i]!];
      if (next.start < prev.end)
        throw new Error(`key ${key} overlapped: replica ${prev.replica} and ${next.replica}`);
    }
  }
}

describe.skipIf(!available)("BullMQQueue on Redis", () => {
  let admin: Redis;
  let prefix: string;
  let queues: BullMQQueue[] = [];

  beforeAll(() => {
    admin = connectRedis();
  });
  afterAll(async () => {
    await admin?.quit();
  });
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    // A failed test may leave keys held, and shutdown waits for them: do not hang on it.
    await Promise.race([Promise.all(queues.map((q) => q.shutdown())), delay(3_000)]);
    queues = [];
    await deletePrefix(admin, prefix);
  });

  /** One replica: its own connections and token. */
  function replica(options: Partial<BullMQQueueOptions> = {}): BullMQQueue {
    const q = new BullMQQueue({
      name: "apps",
      connection: REDIS_URL,
      prefix,
      lockDurationMs: 2_000,
      stalledIntervalMs: 100,
      pollIntervalMs: 250,
      ...options,
    });
    queues.push(q);
    return q;
  }

  /** Redis' clock, ms (the queue's due times and leases use it). */
  async function redisNow(): Promise<number> {
    const [s, us] = await admin.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  it("stores a waiting key once and hands keys out in FIFO order", async () => {
    const q = replica();
    for (const k of ["a", "b", "a", "c", "b", "a"]) await q.add(k);
    expect(await q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(await q.len()).toBe(0);
    for (const k of ["a", "b", "c"]) await q.done(k);
  });

  it("sends the adds of one tick to Redis as one script call, each key once and in order", async () => {
    const groupOf = (key: string) => (key === "c" ? "" : `cluster/${key}/`);
    const connection = connectRedis();
    const q = replica({ groupOf, connection });
    const ready = queueKeys(prefix, "apps").key("ready");
    // Script calls naming an added key (start-up's epoch check names none).
    let calls = 0;
    const evalsha = connection.evalsha.bind(connection);
    connection.evalsha = ((...args: (string | number)[]) => {
      if (args.some((a) => typeof a === "string" && /^[a-e]$/.test(a))) calls++;
      return evalsha(...(args as [string, number]));
    }) as typeof connection.evalsha;
    await Promise.all(["a", "b", "a", "c", "b"].map((k) => q.add(k)));
    expect(calls).toBe(1);
    await Promise.all([q.add("d"), q.addAfter("e", 60_000)]);
    expect(calls).toBe(3); // the delayed add is not batched
    expect(await q.len()).toBe(4);
    expect(await admin.lrange(ready, 0, -1)).toEqual(["a", "b", "c", "d"]);
    expect(await admin.hgetall(queueKeys(prefix, "apps").key("labels"))).toEqual({
      a: "cluster/a/",
      b: "cluster/b/",
      d: "cluster/d/",
      e: "cluster/e/",
    });
    await q.shutdown();
    connection.disconnect();
  });

  it("never hands a key being processed to another replica, and queues it again once done", async () => {
    const one = replica();
    const two = replica();
    await one.add("a");
    expect(await one.get()).toBe("a");
    await two.add("a");
    await one.add("a");
    // "a" is processing: marked for another round, not handed to the idle replica.
    expect(await two.len()).toBe(0);
    const waiting = two.get();
    expect((await settled(waiting, 400)).done).toBe(false);
    await one.add("b");
    expect(await waiting).toBe("b");
    await one.done("a");
    expect(await two.len()).toBe(1);
    expect(await two.get()).toBe("a");
    await two.done("a");
    await two.done("b");
    expect(await one.len()).toBe(0);
  });

  it("two replicas with concurrent workers never overlap on a key and process every update", async () => {
    const replicas = [replica(), replica()];
    const intervals: Interval[] = [];
    const lastAdd = new Map<string, number>();
    const processing = replicas.map((q, replicaIndex) =>
      q.process(async (key) => {
        const start = performance.now();
        await delay(1 + Math.random() * 8);
        intervals.push({ key, replica: replicaIndex, start, end: performance.now() });
      }, 4),
    );
    const keys = ["k0", "k1", "k2", "k3", "k4"];
    for (let i = 0; i < 300; i++) {
      const key = keys[i % keys.length]!;
      lastAdd.set(key, performance.now());
      await replicas[i % 2]!.add(key);
      if (i % 10 === 0) await delay(2);
    }
    // Every key is processed after its last add: no update is lost.
    await until(
      "every key processed after its last add",
      () => keys.every((k) => intervals.some((i) => i.key === k && i.start >= lastAdd.get(k)!)),
      15_000,
    );
    await Promise.all(replicas.map((q) => q.shutdown()));
    await Promise.all(processing);
    expectNoOverlap(intervals);
    expect(new Set(intervals.map((i) => i.replica))).toEqual(new Set([0, 1]));
    // Dedupe: far fewer runs than adds.
    expect(intervals.length).toBeLessThan(300);
  });

  describe("addAfter", () => {
    it("adds keys when they fall due, in due order, and keeps the earlier of two times", async () => {
      const q = replica();
      await q.addAfter("late", 600);
      await q.addAfter("early", 200);
      await q.addAfter("middle", 400);
      await q.addAfter("early", 900); // later: ignored
      await q.addAfter("middle", 300); // earlier: wins
      await q.addAfter("now", 0);
      expect(await q.len()).toBe(1);
      const started = Date.now();
      const order: string[] = [];
      const due: Record<string, number> = {};
      for (let i = 0; i < 4; i++) {
        const key = (await q.get())!;
        order.push(key);
        due[key] = Date.now() - started;
        await q.done(key);
      }
      expect(order).toEqual(["now", "early", "middle", "late"]);
      expect(due.early).toBeGreaterThanOrEqual(150);
      expect(due.middle).toBeGreaterThanOrEqual(250);
      expect(due.late).toBeGreaterThanOrEqual(550);
      // Nothing else was scheduled: the 900 ms "early" was folded into the 200 ms one.
      expect((await readQueueStats(admin, prefix))[0]?.delayed).toBe(0);
    });

    it("processes a key added now at once even though it is also scheduled for later", async () => {
      const q = replica();
      await q.addAfter("k", 60_000);
      await q.add("k");
      expect(await q.len()).toBe(1);
      expect(await q.get()).toBe("k");
      await q.done("k");
    });

    it("wakes an idle worker of another replica when a delayed key falls due", async () => {
      const idle = replica({ pollIntervalMs: 10_000 });
      const other = replica();
      const next = idle.get();
      await delay(50);
      await other.addAfter("k", 300);
      const started = Date.now();
      expect(await next).toBe("k");
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(2_000);
      await idle.done("k");
    });
  });

  describe("backoff", () => {
    it("doubles per failure, is counted once for all replicas, and resets on forget", async () => {
      const one = replica({ backoff: { baseDelayMs: 100, maxDelayMs: 400, jitter: 0 } });
      const two = replica({ backoff: { baseDelayMs: 100, maxDelayMs: 400, jitter: 0 } });
      const delayed = queueKeys(prefix, "apps").key("delayed");
      // Due time = Redis' clock when the add ran + the delay; bracket it by reading the clock around.
      for (const [i, nominal] of [100, 200, 400, 400].entries()) {
        const q = i % 2 === 0 ? one : two;
        const before = await redisNow();
        await q.addRateLimited("k");
        const after = await redisNow();
        const due = Number(await admin.zscore(delayed, "k"));
        expect(due - after).toBeLessThanOrEqual(nominal);
        expect(due - before).toBeGreaterThanOrEqual(nominal);
        await admin.zrem(delayed, "k");
      }
      expect(await one.numRequeues("k")).toBe(4);
      expect(await two.numRequeues("k")).toBe(4);
      await two.forget("k");
      expect(await one.numRequeues("k")).toBe(0);
    });

    it("jitter only shortens a delay, by at most the jitter fraction", async () => {
      const q = replica({ backoff: { baseDelayMs: 1000, jitter: 0.2 }, random: () => 0.5 });
      const delayed = queueKeys(prefix, "apps").key("delayed");
      const before = await redisNow();
      await q.addRateLimited("k");
      const after = await redisNow();
      const due = Number(await admin.zscore(delayed, "k"));
      // 1000 ms less 20 % · 0.5 = 900 ms.
      expect(due - after).toBeLessThanOrEqual(900);
      expect(due - before).toBeGreaterThanOrEqual(900);
    });

    it("process() re-queues a key whose worker throws, with growing delays", async () => {
      const q = replica({ backoff: { baseDelayMs: 100, jitter: 0 } });
      const calls: number[] = [];
      let fail = 2;
      const processing = q.process(async () => {
        calls.push(Date.now());
        if (fail-- > 0) throw new Error("boom");
      });
      await q.add("k");
      await until("three attempts", () => calls.length === 3, 5_000);
      expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(90);
      expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(190);
      expect(await q.numRequeues("k")).toBe(2);
      await q.shutdown();
      await processing;
    });
  });

  it("keeps per-cluster concurrency limits across replicas", async () => {
    const limits = { "cluster/*/": 2, "cluster/slow-eu.1/": 1 };
    const replicas = [replica({ limits }), replica({ limits })];
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const groupOf = (key: string) => key.split("/").slice(0, 2).join("/");
    const processing = replicas.map((q) =>
      q.process(async (key) => {
        const group = key.startsWith("cluster/") ? groupOf(key) : "free";
        const n = (running.get(group) ?? 0) + 1;
        running.set(group, n);
        peak.set(group, Math.max(peak.get(group) ?? 0, n));
        await delay(40);
        running.set(group, (running.get(group) ?? 1) - 1);
      }, 8),
    );
    const keys: string[] = [];
    for (let i = 0; i < 8; i++)
      keys.push(`cluster/east/app${i}`, `cluster/west/app${i}`, `cluster/slow-eu.1/app${i}`);
    for (let i = 0; i < 6; i++) keys.push(`free/app${i}`);
    for (const key of keys) await replicas[keys.indexOf(key) % 2]!.add(key);
    await until("all keys processed", async () => (await replicas[0]!.len()) === 0, 15_000);
    const stats = await readQueueStats(admin, prefix);
    expect(Object.values(stats[0]!.groups).every((n) => n <= 2)).toBe(true);
    await Promise.all(replicas.map((q) => q.shutdown()));
    await Promise.all(processing);
    expect(peak.get("cluster/east")).toBe(2);
    expect(peak.get("cluster/west")).toBe(2);
    expect(peak.get("cluster/slow-eu.1")).toBe(1);
    // Keys no limit matches are only bounded by the workers.
    expect(peak.get("free")).toBeGreaterThan(2);
    const after = await readQueueStats(admin, prefix);
    expect(after[0]!.groups).toEqual({});
    expect(after[0]!.inFlight).toBe(0);
  });

  it("limits keys by the group groupOf names, across replicas", async () => {
    // App keys `ns/name`; the destination cluster lives elsewhere (here: a map), as in the controller.
    const destination = new Map<string, string>();
    for (let i = 0; i < 6; i++) {
      destination.set(`slipway-system/east-${i}`, "east");
      destination.set(`slipway-system/west-${i}`, "west");
    }
    const groupOf = (key: string) => {
      const cluster = destination.get(key);
      return cluster ? `cluster/${cluster}/` : undefined;
    };
    const limits = { "cluster/*/": 2 };
    const replicas = [replica({ limits, groupOf }), replica({ limits, groupOf })];
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const processing = replicas.map((q) =>
      q.process(async (key) => {
        const group = destination.get(key) ?? "none";
        const n = (running.get(group) ?? 0) + 1;
        running.set(group, n);
        peak.set(group, Math.max(peak.get(group) ?? 0, n));
        await delay(40);
        running.set(group, (running.get(group) ?? 1) - 1);
      }, 8),
    );
    const keys = [...destination.keys(), "slipway-system/unplaced-0", "slipway-system/unplaced-1"];
    for (const [i, key] of keys.entries()) await replicas[i % 2]!.add(key);
    await until("all keys processed", async () => (await replicas[0]!.len()) === 0, 15_000);
    await Promise.all(replicas.map((q) => q.shutdown()));
    await Promise.all(processing);
    expect(peak.get("east")).toBe(2);
    expect(peak.get("west")).toBe(2);
    expect(peak.get("none")).toBeGreaterThanOrEqual(1);
    const stats = await readQueueStats(admin, prefix);
    expect(stats[0]!.groups).toEqual({});
    // Labels of keys that are done and not coming back are forgotten.
    expect(await admin.hlen(queueKeys(prefix, "apps").key("labels"))).toBe(0);
  });

  it("divides sharded keys between the live replicas, and hands a leaver's shards to the others", async () => {
    // Shard = the number after "s"; keys without one may go anywhere.
    const shardOf = (key: string) =>
      /^s(\d+)\//.test(key) ? Number(key.slice(1, key.indexOf("/"))) : undefined;
    const replicas = [replica({ shardOf }), replica({ shardOf })];
    const seen = replicas.map(() => new Set<number | undefined>());
    const run = (q: BullMQQueue, i: number) =>
      q.process(async (key) => {
        seen[i]!.add(shardOf(key));
        await delay(5);
      }, 2);
    // Both replicas are members before any key is added.
    const processing = replicas.map(run);
    await until(
      "both replicas joined",
      async () => (await admin.hlen(queueKeys(prefix, "apps").key("members"))) === 2,
      5_000,
    );
    const keys = [
      ...Array.from({ length: 20 }, (_, i) => `s${i % 4}/app-${i}`),
      ...Array.from({ length: 6 }, (_, i) => `free/app-${i}`),
    ];
    for (const [i, key] of keys.entries()) await replicas[i % 2]!.add(key);
    await until("all keys processed", async () => (await replicas[0]!.len()) === 0, 10_000);
    await delay(100);
    const sharded = seen.map((s) => [...s].filter((n) => n !== undefined).sort());
    // Shards 0..3 over two replicas: each takes two (s mod 2 == its place), none takes the other's.
    expect(sharded.map((s) => s.length)).toEqual([2, 2]);
    expect(new Set([...sharded[0]!, ...sharded[1]!]).size).toBe(4);
    expect(sharded[0]!.every((n) => n % 2 === sharded[0]![0]! % 2)).toBe(true);

    // One replica shuts down: the other now takes every shard at once (no expiry to wait for).
    await replicas[1]!.shutdown();
    await processing[1];
    seen[0]!.clear();
    for (let i = 0; i < 4; i++) await replicas[0]!.add(`s${i}/later`);
    await until("the survivor took every shard", async () => seen[0]!.size === 4, 5_000);
    expect(await admin.hlen(queueKeys(prefix, "apps").key("members"))).toBe(1);
    await replicas[0]!.shutdown();
    await processing[0];
  });

  it("gives a dead replica's shards to the others once its mark expires", async () => {
    const shardOf = (key: string) => Number(key.slice(1, key.indexOf("/")));
    const live = replica({ shardOf, lockDurationMs: 600, lockRenewMs: 200 });
    // A replica that joined and then died: its mark stays until it expires.
    const ghost = "~ghost"; // "~" sorts after any hostname, so the live replica is place 0
    await admin.hset(queueKeys(prefix, "apps").key("members"), ghost, Date.now() + 1_500);
    const taken: string[] = [];
    const processing = live.process(async (key) => {
      taken.push(key);
    }, 2);
    await live.add("s0/a");
    await live.add("s1/b");
    // The live replica sorts before the ghost: place 0 of 2, so shard 0 only, for now.
    await until("shard 0 taken", async () => taken.includes("s0/a"), 3_000);
    expect(taken).not.toContain("s1/b");
    await until("the ghost's shard passed on", async () => taken.includes("s1/b"), 5_000);
    expect(await admin.hexists(queueKeys(prefix, "apps").key("members"), ghost)).toBe(0);
    await live.shutdown();
    await processing;
  });

  it("a key whose group changes keeps one worker at a time and counts in its new group", async () => {
    let group = "cluster/east/";
    const q = replica({ limits: { "cluster/*/": 1 }, groupOf: () => group });
    await q.add("slipway-system/app");
    expect(await q.get()).toBe("slipway-system/app");
    // The destination moves while the key is being processed: the add is kept, not handed out.
    group = "cluster/west/";
    await q.add("slipway-system/app");
    expect(await q.len()).toBe(0);
    expect((await readQueueStats(admin, prefix))[0]!.groups).toEqual({ "cluster/east/": 1 });
    await q.done("slipway-system/app");
    // Processed again afterwards, now counted in its new group.
    expect(await q.get()).toBe("slipway-system/app");
    expect((await readQueueStats(admin, prefix))[0]!.groups).toEqual({ "cluster/west/": 1 });
    // A second key of the same new group waits for room; one of another group does not.
    let other = "cluster/west/";
    const q2 = replica({ limits: { "cluster/*/": 1 }, groupOf: () => other });
    await q2.add("slipway-system/second");
    other = "cluster/north/";
    await q2.add("slipway-system/third");
    expect(await q2.get()).toBe("slipway-system/third");
    await q2.done("slipway-system/third");
    await q.done("slipway-system/app");
    expect(await q2.get()).toBe("slipway-system/second");
    await q2.done("slipway-system/second");
  });

  it("keeps installations (prefixes) and queues (names) apart in one Redis", async () => {
    const mine = replica();
    const otherInstall = replica({ prefix: `${prefix}-other` });
    const otherQueue = replica({ name: "rollouts" });
    try {
      await mine.add("shared-key");
      expect(await otherInstall.len()).toBe(0);
      expect(await otherQueue.len()).toBe(0);
      const stolen = otherInstall.get();
      expect((await settled(stolen, 300)).done).toBe(false);
      await otherInstall.add("theirs");
      expect(await stolen).toBe("theirs");
      await otherInstall.done("theirs");
      expect(await mine.get()).toBe("shared-key");
      await mine.done("shared-key");
      const names = (await readQueueStats(admin, prefix)).map((s) => s.name);
      expect(names).toEqual(["apps", "rollouts"]);
      const keys = await admin.keys(`${prefix}-other:*`);
      expect(keys.every((k) => k.startsWith(`${prefix}-other:wq:`))).toBe(true);
    } finally {
      await otherInstall.shutdown();
      await deletePrefix(admin, `${prefix}-other`);
    }
  });

  it("exports depth, adds, latency, work duration and retries under MemoryQueue's names", async () => {
    const registry = new Registry();
    const q = replica({ registry, backoff: { jitter: 0 } });
    await q.add("a");
    await q.add("b");
    await q.add("a");
    await delay(200);
    expect(await q.get()).toBe("a");
    await delay(100);
    await q.done("a");
    await q.addRateLimited("a");
    const text = await registry.metrics();
    expect(text).toContain('slipway_workqueue_depth{controller="apps"} 1');
    expect(text).toContain('slipway_workqueue_adds_total{controller="apps"} 2');
    expect(text).toContain('slipway_workqueue_retries_total{controller="apps"} 1');
    const waited = Number(
      /slipway_workqueue_queue_duration_seconds_sum\{controller="apps"\} (\S+)/.exec(text)?.[1],
    );
    const worked = Number(
      /slipway_workqueue_work_duration_seconds_sum\{controller="apps"\} (\S+)/.exec(text)?.[1],
    );
    expect(waited).toBeGreaterThanOrEqual(0.15);
    expect(waited).toBeLessThan(2);
    expect(worked).toBeGreaterThanOrEqual(0.09);
    expect(worked).toBeLessThan(2);
  });

  describe("shutdown", () => {
    it("waits for held keys, renewing their leases, and leaves queued keys to the other replicas", async () => {
      const leaving = replica({ lockDurationMs: 300, lockRenewMs: 100 });
      const staying = replica();
      await leaving.add("busy");
      await leaving.add("queued");
      await leaving.addAfter("later", 300);
      expect(await leaving.get()).toBe("busy");
      const stopped = leaving.shutdown();
      expect(await leaving.get()).toBeUndefined();
      // Still draining: the lease on "busy" is renewed well past its 300 ms...
      expect((await settled(stopped, 700)).done).toBe(false);
      expect((await readQueueStats(admin, prefix))[0]?.inFlight).toBe(1);
      expect(await staying.get()).toBe("queued");
      expect(await staying.get()).toBe("later");
      // ...and what the finishing reconcile adds reaches the other replicas.
      await leaving.addAfter("busy", 50);
      await leaving.done("busy");
      await stopped;
      expect(await staying.get()).toBe("busy");
      for (const key of ["queued", "later", "busy"]) await staying.done(key);
      await leaving.add("after-shutdown");
      expect(await staying.len()).toBe(0);
    });

    it("wakes idle workers with undefined", async () => {
      const q = replica();
      const waiting = [q.get(), q.get()];
      await delay(50);
      await q.shutdown();
      expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
      expect(q.shuttingDown).toBe(true);
    });
  });

  it("reports depth, in-flight, delayed and retrying keys per queue", async () => {
    const apps = replica();
    const rollouts = replica({ name: "rollouts" });
    await apps.add("a");
    await apps.add("b");
    await apps.addAfter("c", 60_000);
    await rollouts.add("r");
    expect(await rollouts.get()).toBe("r");
    await rollouts.addRateLimited("r");
    const stats = await readQueueStats(admin, prefix);
    expect(stats.map(({ oldestWaitMs, ...s }) => s)).toEqual([
      { name: "apps", depth: 2, inFlight: 0, delayed: 1, retrying: 0, groups: {} },
      { name: "rollouts", depth: 0, inFlight: 1, delayed: 1, retrying: 1, groups: {} },
    ]);
    await rollouts.done("r");
  });
});

describe.skipIf(!available)("BullMQQueue when Redis loses its data", () => {
  let cluster: TestCluster;
  let client: ClusterClient;
  let admin: Redis;
  const prefix = randomPrefix();
  const NS = "refill";

  beforeAll(async () => {
    admin = connectRedis();
    cluster = await startCluster("queue-refill");
    client = new ClusterClient(cluster.kc);
    await client.core.createNamespace({ body: { metadata: { name: NS } } });
    for (let i = 0; i < 12; i++)
      await client.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `cm${i}` } } });
  });
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    await deletePrefix(admin, prefix);
    await admin?.quit();
  });

  /**
   * A Controller on the Redis queue, watching ConfigMaps through a real informer, with the refill
   * wired as `slipway controller --redis` wires it. Redis then loses everything while keys are
   * queued and in flight; the refill brings every object back and each is reconciled again.
   */
  async function run(loseData: () => Promise<void>): Promise<void> {
    const queue = new BullMQQueue({
      name: "copier",
      connection: REDIS_URL,
      prefix,
      lockDurationMs: 2_000,
      stalledIntervalMs: 100,
      pollIntervalMs: 250,
    });
    const informers = new InformerFactory(client);
    const configMaps = informers.forResource<V1ConfigMap>(
      { group: "", version: "v1", resource: "configmaps" },
      {
        namespace: NS,
      },
    );
    let gate: Promise<void> | undefined;
    let release = () => {};
    const reconciled: { key: string; at: number }[] = [];
    const controller = new Controller({
      name: "copier",
      queue,
      log: pino({ level: "silent" }),
      concurrency: 2,
      reconciler: {
        name: "copier",
        reconcile: async (key) => {
          await gate;
          reconciled.push({ key, at: Date.now() });
          await delay(5);
          return {};
        },
      },
    }).watch(configMaps);
    // The refill path: every object the informer holds goes back in the queue.
    queue.onRefill(() => {
      for (const object of configMaps.list()) controller.enqueue(objectKey(object));
    });
    try {
      await controller.start();
      await until("first pass", () => new Set(reconciled.map((r) => r.key)).size === 12, 20_000);
      // A resync queues everything again, but the workers are held up...
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      for (const object of configMaps.list()) controller.enqueue(objectKey(object));
      await until("keys queued", async () => (await queue.len()) >= 10, 15_000);
      // ...when Redis loses every key.
      await loseData();
      const lostAt = Date.now();
      release();
      gate = undefined;
      await until(
        "every object reconciled after the loss",
        () => new Set(reconciled.filter((r) => r.at >= lostAt).map((r) => r.key)).size === 12,
        20_000,
      );
    } finally {
      release(); // a failed wait must not leave workers blocked (stop waits for them)
      await controller.stop();
      await informers.stop();
    }
  }

  it("notices the lost queue and refills it from the informers", async () => {
    await run(async () => {
      // What a restart without persistence does to this installation's keys.
      // Atomic, so the live workers' lease renewals cannot slip in between; afterwards they may
      // write their leases again, which is what a restarted Redis sees too.
      const lost = await loseEverything(admin, prefix);
      expect(lost).toBeGreaterThanOrEqual(2); // at least the pending keys and the epoch
    });
  });

  it.skipIf(process.env.SLIPWAY_TEST_REDIS_RESTART !== "1")(
    "survives a real Redis restart (SLIPWAY_TEST_REDIS_RESTART=1: disrupts every other Redis user)",
    async () => {
      await run(async () => restartRedis());
    },
  );
});
