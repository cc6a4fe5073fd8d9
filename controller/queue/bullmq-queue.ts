/**
 * The work queue shared by controller replicas through Redis (`--redis URL`), with the same
 * client-go semantics as `MemoryQueue` (see `work-queue.ts`), now across processes:
 *
 * - a key waiting is stored once (dedupe), FIFO;
 * - a key is processed by one worker of one replica at a time;
 * - a key added while it is processed is processed again afterwards (no lost update);
 * - `addAfter` keeps the earlier of two due times; `addRateLimited` backs off per key
 *   (exponential with jitter; the failure count lives in Redis, so `numRequeues` is shared);
 * - a worker that dies mid-key loses its lease after `lockDurationMs`; the key then goes back in
 *   line for another worker (BullMQ's stalled-job recovery);
 * - optional concurrency limits per key prefix (`cluster/*\/` → N), enforced across replicas;
 *   with `groupOf` the limits match the group it names for a key (e.g. the app's cluster) instead
 *   of the key, so a key keeps its name, and its one-worker guarantee, when its group changes;
 * - every Redis key lives under `prefix` (default `slipway`), so installations can share a Redis.
 *
 * **Why not BullMQ's Job model.** DESIGN.md names this the BullMQ queue, and BullMQ's design is
 * what it follows (Lua scripts over ioredis, worker tokens with lock renewal, a periodic stalled
 * check, a key prefix). Its jobs cannot give the contract exactly, though: `jobId` / `deduplication`
 * drop an add while the job is active (a lost update); `keepLastIfActive` keeps the *last* add, so
 * an event followed by `addAfter(key, resync)` during one reconcile postpones the event by the
 * whole resync; a waiting delayed job either swallows an immediate add or (`reschedule`) takes the
 * later time; and per-group concurrency is a BullMQ Pro feature. So the queue is ~150 lines of Lua
 * in `redis-scripts.ts`, each state change one atomic script.
 *
 * **Differences from `MemoryQueue`**, all forced by sharing: `shutdown` stops this replica taking
 * keys but leaves queued and delayed keys in Redis for the others, and until the keys it holds are
 * done it keeps renewing their leases and accepting adds (a reconcile finishing meanwhile may set
 * a timer or a retry the others must keep); time for leases and due times is Redis' clock
 * (replicas must agree), while `clock` times work and local timers.
 *
 * **Redis losing its data** (a restart without persistence, a flush) loses queued keys. Reconcile
 * is level-based, so nothing is lost for good: the queue notices (its `epoch` key is gone, or an
 * add failed while Redis was unreachable) and calls the `onRefill` listeners, which re-add every
 * key from the informers' caches. A key being processed at that moment may be handed to a second
 * worker while the first finishes — the same at-least-once window as a lease that expires while
 * its worker is paused longer than `lockDurationMs`. Reconciles are idempotent, so both are safe.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import type { Registry } from "prom-client";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { type ConcurrencyLimits, compileLimits, type LimitRule } from "./concurrency-limits.js";
import { noQueueMetrics, type QueueMetrics, queueMetrics } from "./metrics.js";
import { DEFAULT_BACKOFF } from "./rate-limiter.js";
import {
  ADD,
  ADD_MANY,
  DONE,
  EPOCH,
  LEAVE,
  MAINTAIN,
  type QueueKeys,
  queueKeys,
  queuesSetKey,
  RENEW,
  TAKE,
} from "./redis-scripts.js";
import type { QueueWorker, WorkQueue } from "./work-queue.js";

export const DEFAULT_REDIS_PREFIX = "slipway";

export interface RedisBackoffOptions {
  /** Delay after the first failure, ms. Default 5. */
  baseDelayMs?: number;
  /** Upper bound, ms. Default 300 000. */
  maxDelayMs?: number;
  /** A delay `d` becomes a value in `[d·(1-jitter), d]`. Default 0.2. */
  jitter?: number;
}

export interface BullMQQueueOptions {
  /** Names the queue in Redis, metrics and logs (the controller's name). */
  name: string;
  /**
   * A Redis URL (`redis://host:6379/0`; the queue connects and disconnects on its own), or an
   * ioredis client to share (the queue duplicates it for its subscription and leaves it open).
   */
  connection: string | Redis;
  /** Namespace of every Redis key of this installation. Default `slipway`. */
  prefix?: string;
  /** Key prefix → most keys of each matching group processed at once (see concurrency-limits.ts). */
  limits?: ConcurrencyLimits;
  /**
   * What `limits` match for a key instead of the key itself (e.g. `cluster/east/` for an app
   * deploying there), computed at every add; undefined leaves the key itself to match. The latest
   * add wins, so a key whose group changes is counted in its new group from its next take on.
   */
  groupOf?: (key: string) => string | undefined;
  /**
   * Divides keys between the live replicas: a key with shard s is handed only to the replica at
   * place s mod count among them (in token order), so each replica works on — and watches — only
   * its share of clusters, as Argo CD shards its application controller by cluster. Keys with no
   * shard go to any replica. A replica that stops leaves at once; one that dies is dropped once
   * its mark expires (`lockDurationMs`), and its shards pass to the others.
   */
  shardOf?: (key: string) => number | undefined;
  /** A worker's lease on a key; it expires this long after the worker stops renewing. Default 30 s. */
  lockDurationMs?: number;
  /** How often held leases are renewed. Default lockDurationMs / 3. */
  lockRenewMs?: number;
  /** How often this replica recovers expired leases and promotes due keys. Default 5 s. */
  stalledIntervalMs?: number;
  /** An idle worker looks again at least this often, even without a notification. Default 5 s. */
  pollIntervalMs?: number;
  /** Ready keys examined per take when looking for one whose group has room. Default 1000. */
  scanLimit?: number;
  backoff?: RedisBackoffOptions;
  /** Registers the `slipway_workqueue_*` metrics (the same as MemoryQueue's) here when given. */
  registry?: Registry;
  clock?: Clock;
  log?: Logger;
  /** Randomness for backoff jitter and tokens; injected for deterministic tests. */
  random?: () => number;
}

/** Why the queue asks to be refilled. */
export type RefillReason = "redis-lost-data" | "add-failed";

interface TakeResult {
  key: string | undefined;
  queuedAt: number;
  now: number;
  depth: number;
  nextDueInMs: number;
}

export class BullMQQueue implements WorkQueue {
  readonly name: string;
  readonly prefix: string;
  private readonly keys: QueueKeys;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly ownsConnection: boolean;
  private readonly rules: LimitRule[];
  private readonly groupOf: ((key: string) => string | undefined) | undefined;
  private readonly shardOf: ((key: string) => number | undefined) | undefined;
  private readonly ruleArgs: (string | number)[];
  private readonly token: string;
  private readonly lockDurationMs: number;
  private readonly lockRenewMs: number;
  private readonly stalledIntervalMs: number;
  private readonly pollIntervalMs: number;
  private readonly scanLimit: number;
  private readonly backoff: Required<RedisBackoffOptions>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly metrics: QueueMetrics;

  /** Keys handed to this replica's workers → when (local clock). */
  private readonly held = new Map<string, number>();
  private idle: (() => void)[] = [];
  private readonly waiters = new Set<() => void>();
  private wakeGeneration = 0;
  /** Set by `shutdown`: no more keys are taken. */
  private closed = false;
  /** Set once shutdown has drained the held keys: connections close, adds are ignored. */
  private disconnected = false;
  private closing: Promise<void> | undefined;
  private readonly timers: TimerHandle[] = [];
  private readonly refillListeners: ((reason: RefillReason) => void)[] = [];
  private epoch: string | undefined;
  private addFailed = false;
  private readonly started: Promise<void>;
  private readonly onReady = () => void this.checkEpoch();
  private readonly onError = (error: Error) => this.logRedisError(error);
  private lastRedisError = 0;

  constructor(options: BullMQQueueOptions) {
    this.name = options.name;
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    if (!this.name) throw new RangeError("a queue needs a name");
    if (!/^[\w.:-]+$/.test(this.prefix))
      throw new RangeError(
        `Redis prefix "${this.prefix}" may only use letters, digits, "_", ".", ":" and "-"`,
      );
    this.keys = queueKeys(this.prefix, this.name);
    this.rules = compileLimits(options.limits);
    this.groupOf = options.groupOf;
    this.shardOf = options.shardOf;
    this.ruleArgs = [this.rules.length, ...this.rules.flatMap((r) => [r.luaPattern, r.limit])];
    this.lockDurationMs = positive("lockDurationMs", options.lockDurationMs ?? 30_000);
    this.lockRenewMs = positive("lockRenewMs", options.lockRenewMs ?? Math.floor(this.lockDurationMs / 3));
    if (this.lockRenewMs >= this.lockDurationMs)
      throw new RangeError("lockRenewMs must be shorter than lockDurationMs");
    this.stalledIntervalMs = positive("stalledIntervalMs", options.stalledIntervalMs ?? 5_000);
    this.pollIntervalMs = positive("pollIntervalMs", options.pollIntervalMs ?? 5_000);
    this.scanLimit = positive("scanLimit", options.scanLimit ?? 1000);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const { baseDelayMs, maxDelayMs, jitter } = this.backoff;
    if (!(baseDelayMs > 0)) throw new RangeError("backoff baseDelayMs must be > 0");
    if (!(maxDelayMs >= baseDelayMs)) throw new RangeError("backoff maxDelayMs must be >= baseDelayMs");
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError("backoff jitter must be in [0, 1)");
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? pino({ level: "silent" })).child({ queue: this.name });
    this.random = options.random ?? Math.random;
    this.metrics = options.registry ? queueMetrics(options.registry, this.name) : noQueueMetrics;
    this.token = `${hostname()}:${process.pid}:${randomBytes(6).toString("hex")}`;

    if (typeof options.connection === "string") {
      this.redis = new Redis(options.connection, { lazyConnect: false });
      this.ownsConnection = true;
    } else {
      this.redis = options.connection;
      this.ownsConnection = false;
    }
    this.subscriber = this.redis.duplicate();
    this.redis.on("error", this.onError);
    this.subscriber.on("error", this.onError);
    this.redis.on("ready", this.onReady);
    this.subscriber.on("message", (channel: string) => {
      if (channel === this.keys.channel) this.wakeOne();
    });
    this.every(this.lockRenewMs, () => this.renew());
    this.every(this.stalledIntervalMs, () => this.maintain());
    this.started = this.start();
  }

  get shuttingDown(): boolean {
    return this.closed;
  }

  /**
   * Calls `listener` when keys may have been lost — Redis lost its data (restart, flush), or an add
   * failed while it was unreachable — once Redis answers again. The listener should re-add every
   * key its informers hold (`for (o of informer.list()) queue.add(key(o))`): reconcile is
   * level-based, so this restores everything the queue forgot. Returns a function removing it.
   */
  onRefill(listener: (reason: RefillReason) => void): () => void {
    this.refillListeners.push(listener);
    return () => {
      const i = this.refillListeners.indexOf(listener);
      if (i >= 0) this.refillListeners.splice(i, 1);
    };
  }

  async add(key: string): Promise<void> {
    await this.schedule(key, 0);
  }

  async addAfter(key: string, delayMs: number): Promise<void> {
    await this.schedule(key, delayMs > 0 ? Math.ceil(delayMs) : 0);
  }

  async addRateLimited(key: string): Promise<void> {
    if (this.disconnected) return;
    this.metrics.retried();
    const failures = await this.redis.hincrby(this.keys.key("retries"), key, 1);
    await this.schedule(key, Math.ceil(this.backoffDelay(failures - 1)));
  }

  async forget(key: string): Promise<void> {
    await this.redis.hdel(this.keys.key("retries"), key);
  }

  async numRequeues(key: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.key("retries"), key)) ?? 0);
  }

  async len(): Promise<number> {
    return this.redis.llen(this.keys.key("ready"));
  }

  async get(): Promise<string | undefined> {
    await this.started;
    let failures = 0;
    for (;;) {
      if (this.closed) return undefined;
      const generation = this.wakeGeneration;
      let result: TakeResult;
      try {
        result = await this.take();
        failures = 0;
      } catch (error) {
        failures++;
        this.log.warn({ err: error }, "could not take a key from Redis; retrying");
        await this.waitForWake(Math.min(this.pollIntervalMs, 100 * 2 ** Math.min(failures, 6)), -1);
        continue;
      }
      this.metrics.depth(result.depth);
      if (result.key !== undefined) {
        if (this.closed) {
          // Shut down while the take was in flight: the key goes back for another replica.
          await this.finish(result.key, true).catch(() => undefined);
          return undefined;
        }
        this.held.set(result.key, this.clock.now());
        this.metrics.waited(Math.max(0, result.now - result.queuedAt) / 1000);
        return result.key;
      }
      const wait =
        result.nextDueInMs >= 0 ? Math.min(result.nextDueInMs, this.pollIntervalMs) : this.pollIntervalMs;
      await this.waitForWake(wait, generation);
    }
  }

  async done(key: string): Promise<void> {
    const started = this.held.get(key);
    if (started === undefined) return;
    try {
      await this.finish(key, false);
    } finally {
      this.held.delete(key);
      this.metrics.worked((this.clock.now() - started) / 1000);
      if (this.held.size === 0) {
        const idle = this.idle;
        this.idle = [];
        for (const resolve of idle) resolve();
      }
    }
  }

  async process(worker: QueueWorker, concurrency = 1): Promise<void> {
    const loop = async (): Promise<void> => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await worker(key);
        } catch {
          await this.addRateLimited(key).catch((error: unknown) =>
            this.log.error({ err: error, key }, "could not re-queue a failed key"),
          );
        } finally {
          await this.done(key).catch((error: unknown) =>
            this.log.error({ err: error, key }, "could not mark a key done"),
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  }

  /**
   * Stops this replica taking keys and waits until its workers are done with the keys they hold,
   * then closes its connections. Queued and delayed keys stay in Redis for the other replicas.
   */
  shutdown(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    this.closed = true;
    this.wake();
    // Until the keys held here are done, leases are still renewed and adds still reach Redis:
    // a reconcile finishing during shutdown may set a timer or a retry the other replicas keep.
    if (this.held.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.shardOf) {
      await LEAVE.run(this.redis, this.keys.all, [this.token, this.keys.channel]).catch((error: unknown) =>
        this.log.warn(
          { err: error },
          "could not leave the shard members; they drop this replica when its mark expires",
        ),
      );
    }
    this.disconnected = true;
    for (const timer of this.timers.splice(0)) timer.cancel();
    this.redis.off("ready", this.onReady);
    this.subscriber.disconnect();
    if (this.ownsConnection) {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.off("error", this.onError);
    }
  }

  private async start(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.keys.channel);
      await this.checkEpoch();
    } catch (error) {
      this.log.warn({ err: error }, "Redis not reachable yet; the queue keeps trying");
    }
  }

  /** Runs `task` every `ms` (never two at once) until shutdown has closed the connections. */
  private every(ms: number, task: () => Promise<void>): void {
    const tick = () => {
      if (this.disconnected) return;
      task()
        .catch((error: unknown) => this.log.warn({ err: error }, "queue housekeeping failed"))
        .finally(() => {
          if (!this.disconnected) this.timers.push(this.clock.setTimer(tick, ms));
        });
    };
    this.timers.push(this.clock.setTimer(tick, ms));
  }

  /** Immediate adds waiting for this tick's batch; each caller's promise settles with it. */
  private pendingAdds: Map<string, { resolve: () => void; reject: (error: unknown) => void }[]> | undefined;

  /**
   * An immediate add joins the batch sent at the end of this tick (one script call for all of
   * them, each key once): watch events arrive in bursts, and a round trip per event would cost
   * more CPU than the reconcile it triggers.
   */
  private addNow(key: string): Promise<void> {
    if (this.disconnected) return Promise.resolve();
    if (!this.pendingAdds) {
      this.pendingAdds = new Map();
      setImmediate(() => void this.flushAdds());
    }
    const waiting = this.pendingAdds.get(key) ?? [];
    this.pendingAdds.set(key, waiting);
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  }

  private async flushAdds(): Promise<void> {
    const batch = this.pendingAdds;
    this.pendingAdds = undefined;
    if (!batch) return;
    const settle = (error?: unknown) => {
      for (const waiting of batch.values())
        for (const w of waiting) error === undefined ? w.resolve() : w.reject(error);
    };
    if (this.disconnected) return settle();
    const args: (string | number)[] = [this.keys.channel, ...this.placeFlags()];
    for (const key of batch.keys()) args.push(key, ...this.placeOf(key));
    let reply: unknown;
    try {
      reply = await ADD_MANY.run(this.redis, this.keys.all, args);
    } catch (error) {
      // The keys are gone until a refill brings them back; ask for one when Redis answers again.
      this.addFailed = true;
      return settle(error);
    }
    const [added, depth] = numbers(reply, 2);
    for (let i = 0; i < added; i++) {
      this.metrics.added();
      this.wakeOne();
    }
    this.metrics.depth(depth);
    settle();
  }

  /** Whether adds carry a label (`groupOf`) and a shard (`shardOf`), as the add scripts read them. */
  private placeFlags(): number[] {
    return [this.groupOf ? 1 : 0, this.shardOf ? 1 : 0];
  }

  /** A key's label and shard, as flagged by `placeFlags` ('' for none). */
  private placeOf(key: string): (string | number)[] {
    const place: (string | number)[] = [];
    if (this.groupOf) place.push(this.groupOf(key) ?? "");
    if (this.shardOf) place.push(this.shardOf(key) ?? "");
    return place;
  }

  private async schedule(key: string, delayMs: number): Promise<void> {
    if (this.disconnected) return;
    if (delayMs <= 0) return this.addNow(key);
    let reply: unknown;
    try {
      reply = await ADD.run(this.redis, this.keys.all, [
        this.keys.channel,
        key,
        delayMs,
        ...this.placeFlags(),
        ...this.placeOf(key),
      ]);
    } catch (error) {
      // The key is gone until a refill brings it back; ask for one when Redis answers again.
      this.addFailed = true;
      throw error;
    }
    // Scheduled, not queued: `added` counts when it falls due (take and maintain promote it).
    const [, depth] = numbers(reply, 2);
    this.metrics.depth(depth);
  }

  private async take(): Promise<TakeResult> {
    const reply = await TAKE.run(this.redis, this.keys.all, [
      this.keys.channel,
      this.token,
      this.lockDurationMs,
      this.scanLimit,
      this.shardOf ? 1 : 0,
      ...this.ruleArgs,
    ]);
    if (!Array.isArray(reply) || reply.length < 6)
      throw new Error(`unexpected reply from take: ${String(reply)}`);
    const key = String(reply[0]);
    const [queuedAt, now, depth, nextDueInMs, moved] = numbers(reply.slice(1), 5);
    for (let i = 0; i < moved; i++) this.metrics.added();
    return { key: key === "" ? undefined : key, queuedAt, now, depth, nextDueInMs };
  }

  private async finish(key: string, giveBack: boolean): Promise<void> {
    const reply = await DONE.run(this.redis, this.keys.all, [
      this.keys.channel,
      key,
      this.token,
      giveBack ? 1 : 0,
    ]);
    const [held, depth] = numbers(reply, 2);
    this.metrics.depth(depth);
    if (held === 0) {
      this.log.warn(
        { key },
        "finished a key whose lease had been lost (processing outlived lockDurationMs, or Redis lost its data)",
      );
    }
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const reply = await RENEW.run(this.redis, this.keys.all, [
      this.token,
      this.lockDurationMs,
      ...this.held.keys(),
    ]);
    if (Array.isArray(reply) && reply.length > 0) {
      this.log.warn({ keys: reply.map(String) }, "lost the lease on keys still being processed");
    }
  }

  private async maintain(): Promise<void> {
    await this.checkEpoch();
    const reply = await MAINTAIN.run(this.redis, this.keys.all, [
      this.keys.channel,
      ...(this.shardOf ? [this.token, this.lockDurationMs] : []),
    ]);
    const [moved, depth] = numbers(reply, 3);
    for (let i = 0; i < moved; i++) this.metrics.added();
    this.metrics.depth(depth);
  }

  /** Notices Redis losing the queue (its epoch changed) or adds that failed; asks for a refill. */
  private async checkEpoch(): Promise<void> {
    if (this.closed) return;
    const [epoch] = await Promise.all([
      EPOCH.run(this.redis, this.keys.all, [randomBytes(8).toString("hex")]),
      this.redis.sadd(queuesSetKey(this.prefix), this.name),
    ]);
    const current = String(epoch);
    const previous = this.epoch;
    this.epoch = current;
    if (previous !== undefined && previous !== current) {
      this.addFailed = false;
      this.refill("redis-lost-data");
    } else if (this.addFailed) {
      this.addFailed = false;
      this.refill("add-failed");
    }
  }

  private refill(reason: RefillReason): void {
    this.log.warn({ reason }, "the queue may have lost keys; refilling it from the informers");
    for (const listener of [...this.refillListeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.log.error({ err: error }, "queue refill listener failed");
      }
    }
    this.wake();
  }

  private backoffDelay(failuresBefore: number): number {
    const { baseDelayMs, maxDelayMs, jitter } = this.backoff;
    // 2^n overflows to Infinity for large n, which the cap absorbs.
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** failuresBefore);
    return delay - delay * jitter * this.random();
  }

  /**
   * One new key wakes one idle worker: waking them all made every worker of every replica run a
   * take script per add, all but one for nothing. Workers in the middle of a take see the
   * generation change and look again instead of sleeping.
   */
  private wakeOne(): void {
    this.wakeGeneration++;
    const first = this.waiters.values().next();
    if (!first.done) {
      this.waiters.delete(first.value);
      first.value();
    }
  }

  private wake(): void {
    this.wakeGeneration++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  /** Sleeps up to `ms`, or until woken; returns at once if woken since `generation` was read. */
  private waitForWake(ms: number, generation: number): Promise<void> {
    if (this.closed || (generation >= 0 && generation !== this.wakeGeneration)) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        timer.cancel();
        this.waiters.delete(finish);
        resolve();
      };
      const timer = this.clock.setTimer(finish, ms);
      this.waiters.add(finish);
    });
  }

  private logRedisError(error: Error): void {
    // ioredis reports every failed reconnect; one line per 5 s is enough to see the outage.
    const now = Date.now();
    if (now - this.lastRedisError < 5_000) return;
    this.lastRedisError = now;
    this.log.warn({ err: error }, "Redis connection error");
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}

function numbers(reply: unknown, count: number): number[] {
  if (!Array.isArray(reply) || reply.length < count)
    throw new Error(`unexpected reply from Redis: ${JSON.stringify(reply)}`);
  return reply.slice(0, count).map((v) => Number(v));
}
