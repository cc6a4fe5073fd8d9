/**
 * BullMQQueue across real processes: worker processes (the built `dist/` queue, as
 * `slipway controller --redis` runs it) share one Redis; they never process one key at the same
 * time, lose no update, and when one is killed with SIGKILL mid-key another takes the key over
 * once the dead worker's lease expires. Needs `npm run build` (as the e2e tests do).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BullMQQueue } from "../../controller/queue/bullmq-queue.js";
import { connectRedis, deletePrefix, REDIS_URL, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { delay, until } from "./controller-helpers.js";

const available = redisAvailable();
const QUEUE_MODULE = join(process.cwd(), "dist/controller/queue/bullmq-queue.js");
const LOCK_MS = 1_000;

/**
 * A worker process: logs `start` / `end` of every key as JSON lines, in milliseconds of the
 * system's monotonic clock, which every process reads alike (`performance.timeOrigin` is fixed per
 * process at start-up and can differ between two processes by a millisecond or more).
 */
const WORKER = `
const { BullMQQueue } = await import(process.env.QUEUE_MODULE);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const out = (event) => process.stdout.write(JSON.stringify({ ...event, pid: process.pid }) + "\\n");
const queue = new BullMQQueue({
  name: "apps",
  connection: process.env.REDIS_URL,
  prefix: process.env.PREFIX,
  lockDurationMs: Number(process.env.LOCK_MS),
  stalledIntervalMs: 100,
  pollIntervalMs: 200,
});
process.on("SIGTERM", () => queue.shutdown().then(() => process.exit(0)));
const processing = queue.process(async (key) => {
  const start = now();
  out({ ev: "start", key, t: start });
  const ms = key.startsWith("slow/") ? Number(process.env.SLOW_MS) : 1 + Math.random() * 6;
  await new Promise((resolve) => setTimeout(resolve, ms));
  out({ ev: "end", key, t: now(), start });
}, Number(process.env.CONCURRENCY));
out({ ev: "ready" });
await processing;
`;

interface WorkerEvent {
  ev: "ready" | "start" | "end";
  pid: number;
  key?: string;
  t?: number;
  start?: number;
}

interface Worker {
  child: ChildProcess;
  pid: number;
  events: WorkerEvent[];
  exited: Promise<number | null>;
}

/** The workers' clock (see WORKER). */
const now = () => Number(process.hrtime.bigint()) / 1e6;

describe.skipIf(!available)("BullMQQueue shared by worker processes", () => {
  let admin: Redis;
  let prefix: string;
  let workers: Worker[] = [];
  let producer: BullMQQueue;

  beforeAll(() => {
    const source = join(process.cwd(), "controller/queue/redis-scripts.ts");
    if (!existsSync(QUEUE_MODULE) || statSync(QUEUE_MODULE).mtimeMs < statSync(source).mtimeMs)
      throw new Error(`${QUEUE_MODULE} is missing or older than its source: run "npm run build" first`);
    admin = connectRedis();
  });
  afterAll(async () => {
    await admin?.quit();
  });
  beforeEach(() => {
    prefix = randomPrefix();
    // The test's own replica only adds keys; it never takes one.
    producer = new BullMQQueue({ name: "apps", connection: REDIS_URL, prefix });
  });
  afterEach(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    workers = [];
    await producer.shutdown();
    await deletePrefix(admin, prefix);
  });

  async function startWorker(options: { concurrency?: number; slowMs?: number } = {}): Promise<Worker> {
    const child = spawn(process.execPath, ["--input-type=module", "-e", WORKER], {
      env: {
        ...process.env,
        QUEUE_MODULE: pathToFileURL(QUEUE_MODULE).href,
        REDIS_URL,
        PREFIX: prefix,
        LOCK_MS: String(LOCK_MS),
        SLOW_MS: String(options.slowMs ?? 60_000),
        CONCURRENCY: String(options.concurrency ?? 3),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const events: WorkerEvent[] = [];
    let buffer = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        events.push(JSON.parse(buffer.slice(0, nl)) as WorkerEvent);
        buffer = buffer.slice(nl + 1);
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const worker = { child, pid: child.pid!, events, exited };
    workers.push(worker);
    await Promise.race([
      until("worker ready", () => events.some((e) => e.ev === "ready"), 10_000),
      exited.then((code) => {
        throw new Error(`worker exited with ${code}: ${stderr}`);
      }),
    ]);
    return worker;
  }

  /** Processing intervals per key from every worker; one still running ends at `openUntil`. */
  function intervals(openUntil: number): { key: string; pid: number; start: number; end: number }[] {
    const out: { key: string; pid: number; start: number; end: number }[] = [];
    for (const w of workers) {
      for (const e of w.events) {
        if (e.ev !== "start") continue;
        const end = w.events.find((x) => x.ev === "end" && x.key === e.key && x.start === e.t);
        out.push({ key: e.key!, pid: w.pid, start: e.t!, end: end?.t ?? openUntil });
      }
    }
    return out;
  }

  function expectNoOverlap(list: { key: string; pid: number; start: number; end: number }[]): void {
    const byKey = new Map<string, typeof list>();
    for (const i of list) byKey.set(i.key, [...(byKey.get(i.key) ?? []), i]);
    for (const [key, runs] of byKey) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) {
        const [prev, next] = [runs[i - 1]!, runs[i]!];
        expect(
          next.start,
          `${key}: pid ${next.pid} started before pid ${prev.pid} ended`,
        ).toBeGreaterThanOrEqual(prev.end);
      }
    }
  }

  it("never processes one key in two processes at once, and loses no update", async () => {
    await Promise.all([startWorker(), startWorker()]);
    const keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
    const lastAdd = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const key = keys[i % keys.length]!;
      lastAdd.set(key, now());
      await producer.add(key);
      if (i % 20 === 0) await delay(3);
    }
    await until(
      "every key processed after its last add",
      () => keys.every((k) => intervals(now()).some((i) => i.key === k && i.start >= lastAdd.get(k)!)),
      15_000,
    );
    for (const w of workers) w.child.kill("SIGTERM");
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0]);
    const runs = intervals(Number.POSITIVE_INFINITY);
    expect(runs.every((r) => Number.isFinite(r.end))).toBe(true);
    expectNoOverlap(runs);
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2);
  });

  it("hands a key to another process when its worker is killed mid-key (after the lease expires)", async () => {
    const doomed = await startWorker({ slowMs: 60_000 });
    await producer.add("slow/app");
    await until("the doomed worker takes the key", () => doomed.events.some((e) => e.ev === "start"), 5_000);
    const survivor = await startWorker({ slowMs: 100 });
    // An update arrives while the key is being processed.
    await producer.add("slow/app");
    // While the doomed worker lives, it renews its lease: the survivor must not take the key.
    await delay(2 * LOCK_MS);
    expect(survivor.events.some((e) => e.ev === "start")).toBe(false);
    const killedAt = now();
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    const takeover = await until(
      "the survivor takes the key over",
      () => survivor.events.find((e) => e.ev === "start" && e.key === "slow/app"),
      10_000,
    );
    expect(takeover.t!).toBeGreaterThanOrEqual(killedAt);
    // Within one lease plus the stalled-check interval (and slack for a busy machine).
    expect(takeover.t! - killedAt).toBeLessThan(LOCK_MS + 4_000);
    await until("survivor done", () => survivor.events.some((e) => e.ev === "end"), 5_000);
    // The update and the unfinished run are one key: processed once more, not twice.
    await delay(500);
    expect(survivor.events.filter((e) => e.ev === "start")).toHaveLength(1);
    expect(await producer.len()).toBe(0);
  });
});
