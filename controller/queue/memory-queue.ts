/**
 * The in-process work queue (the embedded default), a port of client-go's workqueue `Typed`
 * (dirty / processing sets), `delayingType` (a heap of due times) and `rateLimitingType`
 * (per-key backoff), with time taken from an injected clock. See `work-queue.ts` for the
 * contract; the one deliberate difference from client-go is that `shutdown` drops queued keys
 * instead of draining them (a stopping controller should stop promptly; reconcile is level-based).
 */
import type { Registry } from "prom-client";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { DelayHeap } from "./delay-heap.js";
import { noQueueMetrics, type QueueMetrics, queueMetrics } from "./metrics.js";
import { type BackoffOptions, ExponentialBackoff, type RateLimiter } from "./rate-limiter.js";
import type { QueueWorker, WorkQueue } from "./work-queue.js";

export interface MemoryQueueOptions {
  /** Names the queue in metrics (label `controller`). Default "default". */
  name?: string;
  clock?: Clock;
  /** Backoff for `addRateLimited`; ignored when `rateLimiter` is given. */
  backoff?: BackoffOptions;
  rateLimiter?: RateLimiter;
  /** Registers the `slipway_workqueue_*` metrics here when given. */
  registry?: Registry;
}

export class MemoryQueue implements WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly metrics: QueueMetrics;

  /** FIFO of keys ready to hand out; `head` indexes the first one. */
  private items: string[] = [];
  private head = 0;
  /** Keys that need processing: queued, or added again while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly queuedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();

  /** Delayed keys and when each is due (the earliest wins); the heap may hold stale entries. */
  private readonly waiting = new Map<string, number>();
  private readonly delays = new DelayHeap();
  private timer: TimerHandle | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  private getters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(options: MemoryQueueOptions = {}) {
    this.name = options.name ?? "default";
    this.clock = options.clock ?? systemClock;
    this.limiter = options.rateLimiter ?? new ExponentialBackoff(options.backoff);
    this.metrics = options.registry ? queueMetrics(options.registry, this.name) : noQueueMetrics;
  }

  get shuttingDown(): boolean {
    return this.closed;
  }

  async add(key: string): Promise<void> {
    this.addNow(key);
  }

  async addAfter(key: string, delayMs: number): Promise<void> {
    this.addAfterNow(key, delayMs);
  }

  async addRateLimited(key: string): Promise<void> {
    if (this.closed) return;
    this.metrics.retried();
    this.addAfterNow(key, this.limiter.when(key));
  }

  async forget(key: string): Promise<void> {
    this.limiter.forget(key);
  }

  async numRequeues(key: string): Promise<number> {
    return this.limiter.retries(key);
  }

  async len(): Promise<number> {
    return this.depth();
  }

  async get(): Promise<string | undefined> {
    for (;;) {
      if (this.closed) return undefined;
      if (this.head < this.items.length) return this.take();
      await new Promise<void>((resolve) => this.getters.push(resolve));
    }
  }

  async done(key: string): Promise<void> {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    this.startedAt.delete(key);
    if (started !== undefined) this.metrics.worked((this.clock.now() - started) / 1000);
    // Added while it was being processed: it goes back in now, never to a second worker before.
    if (!this.closed && this.dirty.has(key)) this.enqueue(key);
    if (this.processing.size === 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
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
          await this.addRateLimited(key);
        } finally {
          await this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  }

  async shutdown(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.delays.clear();
      this.waiting.clear();
      this.items = [];
      this.head = 0;
      this.dirty.clear();
      this.queuedAt.clear();
      this.metrics.depth(0);
      const getters = this.getters;
      this.getters = [];
      for (const wake of getters) wake();
    }
    if (this.processing.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private depth(): number {
    return this.items.length - this.head;
  }

  private addNow(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.metrics.added();
    this.dirty.add(key);
    // Being processed: `done` queues it again, so one key never reaches two workers.
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.items.push(key);
    this.queuedAt.set(key, this.clock.now());
    this.metrics.depth(this.depth());
    this.getters.shift()?.();
  }

  private take(): string {
    const key = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    const now = this.clock.now();
    const queued = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (queued !== undefined) this.metrics.waited((now - queued) / 1000);
    this.startedAt.set(key, now);
    this.metrics.depth(this.depth());
    return key;
  }

  private addAfterNow(key: string, delayMs: number): void {
    if (this.closed) return;
    if (!(delayMs > 0)) {
      this.addNow(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.waiting.get(key);
    // client-go keeps the earlier of two delayed adds of one key.
    if (existing !== undefined && existing <= at) return;
    this.waiting.set(key, at);
    this.delays.push(at, key);
    this.arm();
  }

  /** Keeps one timer set for the earliest live delayed key. */
  private arm(): void {
    let next = this.delays.peek();
    while (next && this.waiting.get(next.key) !== next.at) {
      this.delays.pop();
      next = this.delays.peek();
    }
    if (!next) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= next.at) return;
    this.timer?.cancel();
    this.timerAt = next.at;
    this.timer = this.clock.setTimer(() => this.fire(), next.at - this.clock.now());
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    const now = this.clock.now();
    for (let next = this.delays.peek(); next && next.at <= now; next = this.delays.peek()) {
      this.delays.pop();
      if (this.waiting.get(next.key) !== next.at) continue;
      this.waiting.delete(next.key);
      this.addNow(next.key);
    }
    this.arm();
  }
}
