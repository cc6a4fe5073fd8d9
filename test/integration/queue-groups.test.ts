/**
 * The Redis queue's `groupOf`: limits counted per group a function names for each key (an app's
 * destination cluster), while keys keep their names. Real Redis, a random prefix per test.
 */
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BullMQQueue, type BullMQQueueOptions } from "../../controller/queue/bullmq-queue.js";
import { readQueueStats } from "../../controller/queue/queue-stats.js";
import { queueKeys } from "../../controller/queue/redis-scripts.js";
import { connectRedis, deletePrefix, REDIS_URL, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { delay, until } from "./controller-helpers.js";

const available = redisAvailable();

describe.skipIf(!available)("BullMQQueue groupOf (per-cluster limits for stable keys)", () => {
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
    await Promise.race([Promise.all(queues.map((q) => q.shutdown())), delay(3_000)]);
    queues = [];
    await deletePrefix(admin, prefix);
  });

  function replica(options: Partial<BullMQQueueOptions> = {}): BullMQQueue {
    const q = new BullMQQueue({
      name: "applications",
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
    expect(await admin.hlen(queueKeys(prefix, "applications").key("labels"))).toBe(0);
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
});
