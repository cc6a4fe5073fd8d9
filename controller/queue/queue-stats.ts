/**
 * A snapshot of every `BullMQQueue` of one installation (one Redis prefix), read straight from
 * Redis, for `slipway queue stats` and for tests. Reading never changes the queues.
 */
import type { Redis } from "ioredis";
import { queueKeys, queuesSetKey } from "./redis-scripts.js";

export interface QueueStats {
  name: string;
  /** Keys waiting for a worker. */
  depth: number;
  /** Keys being processed now, by any replica. */
  inFlight: number;
  /** Keys scheduled for later (`addAfter`, backoff). */
  delayed: number;
  /** Keys with failures counted since their last success. */
  retrying: number;
  /** How long the oldest waiting key has waited, ms (0 when none waits). */
  oldestWaitMs: number;
  /** Keys in flight per concurrency group (see concurrency-limits.ts). */
  groups: Record<string, number>;
}

/** Every queue registered under `prefix`, sorted by name. */
export async function readQueueStats(redis: Redis, prefix: string): Promise<QueueStats[]> {
  const names = (await redis.smembers(queuesSetKey(prefix))).sort();
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  return Promise.all(
    names.map(async (name) => {
      const keys = queueKeys(prefix, name);
      const [depth, inFlight, delayed, retrying, first, running] = await Promise.all([
        redis.llen(keys.key("ready")),
        redis.hlen(keys.key("active")),
        redis.zcard(keys.key("delayed")),
        redis.hlen(keys.key("retries")),
        redis.lindex(keys.key("ready"), 0),
        redis.hgetall(keys.key("running")),
      ]);
      const queuedAt = first === null ? null : await redis.hget(keys.key("queued"), first);
      const groups: Record<string, number> = {};
      for (const group of Object.keys(running).sort()) groups[group] = Number(running[group]);
      return {
        name,
        depth,
        inFlight,
        delayed,
        retrying,
        oldestWaitMs: queuedAt === null ? 0 : Math.max(0, now - Number(queuedAt)),
        groups,
      };
    }),
  );
}
