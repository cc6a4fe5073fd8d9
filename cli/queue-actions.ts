/** `slipway queue stats`: a read-only snapshot of the Redis work queues (controller/queue/queue-stats.ts). */
import { Redis } from "ioredis";
import { readQueueStats } from "../controller/queue/queue-stats.js";
import { humanDuration } from "./age.js";
import type { GlobalOptions } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

export interface QueueStatsOptions {
  redis?: string;
  redisPrefix: string;
}

/** The URL without its password, for messages. */
function redactRedisURL(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export async function queueStats(options: QueueStatsOptions, globals: GlobalOptions): Promise<void> {
  const url = options.redis;
  if (!url) {
    throw new Error(
      "queue stats reads the shared Redis queue: pass --redis URL or set SLIPWAY_REDIS_URL (a controller without --redis keeps its queue in memory; see its /metrics)",
    );
  }
  const prefix = options.redisPrefix;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  // ioredis reports why the connection failed as an event, and rejects connect() with "Connection
  // is closed": keep the reason for the message (and keep ioredis from printing it).
  let reason: Error | undefined;
  redis.on("error", (error: Error) => {
    reason ??= error;
  });
  try {
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(
        `cannot reach Redis at ${redactRedisURL(url)}: ${(reason ?? (error as Error)).message}`,
      );
    }
    const stats = await readQueueStats(redis, prefix);
    if (printStructured(stats, globals.output)) return;
    if (stats.length === 0) {
      process.stderr.write(`no queues under prefix "${prefix}" in Redis at ${redactRedisURL(url)}\n`);
      return;
    }
    const rows = stats.map((s) => [
      s.name,
      String(s.depth),
      String(s.inFlight),
      String(s.delayed),
      String(s.retrying),
      s.depth > 0 ? humanDuration(s.oldestWaitMs) : "-",
    ]);
    process.stdout.write(
      `${formatTable(["QUEUE", "DEPTH", "IN-FLIGHT", "DELAYED", "RETRYING", "OLDEST"], rows)}\n`,
    );
  } finally {
    redis.disconnect();
  }
}
