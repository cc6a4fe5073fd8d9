/**
 * Redis for tests, as bullmq's own suite uses it (STYLE.md 13): the real server at
 * $SLIPWAY_TEST_REDIS_URL (default redis://127.0.0.1:6379), a random key prefix per test so tests
 * running at once never see each other's keys, and everything under that prefix deleted after.
 * Without Redis the tests are skipped with a message, except under REQUIRE_SERVICES=1 (CI).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { serviceAvailable } from "./services.js";

export const REDIS_URL = process.env.SLIPWAY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** PING over a plain socket in a child process (serviceAvailable's check is synchronous). */
const PING = `
const url = new URL(process.argv[1]);
const socket = require("node:net").connect(Number(url.port || 6379), url.hostname);
socket.setTimeout(3000, () => process.exit(1));
socket.on("error", () => process.exit(1));
socket.on("connect", () => socket.write("PING\\r\\n"));
socket.on("data", (d) => process.exit(/PONG|NOAUTH/.test(String(d)) ? 0 : 1));
`;

export function redisAvailable(): boolean {
  return serviceAvailable(
    `Redis at ${REDIS_URL}`,
    () => {
      execFileSync(process.execPath, ["-e", PING, REDIS_URL], { stdio: "ignore", timeout: 10_000 });
      return true;
    },
    "start redis-server on 127.0.0.1:6379, or point SLIPWAY_TEST_REDIS_URL at one",
  );
}

export function randomPrefix(): string {
  return `slipway-test-${randomBytes(5).toString("hex")}`;
}

/** Deletes every key under `prefix:` (SCAN, never KEYS, so a shared Redis is not blocked). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

/**
 * Deletes every key under `prefix:` in one atomic step and returns how many there were: what a
 * Redis restart without persistence does to one installation, with no worker able to write in
 * between. (KEYS inside the script is fine for the small test databases this runs against.)
 */
export async function loseEverything(redis: Redis, prefix: string): Promise<number> {
  const script = `local keys = redis.call('KEYS', ARGV[1]); for i = 1, #keys, 500 do redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys))) end; return #keys`;
  return Number(await redis.eval(script, 0, `${prefix}:*`));
}

export function connectRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
}
