/**
 * Runs one `Reconciler`: informer events → keys → work queue → `concurrency` workers calling
 * `reconcile`, as controller-runtime's `Controller` does:
 *
 * - success → `forget` the key's backoff, and `addAfter(requeueAfter)` when asked;
 * - an error → `addRateLimited` (exponential backoff with jitter, per key);
 * - a `TerminalError` → `forget` and log: retrying will not help, the next change will;
 * - the queue guarantees one key is never reconciled by two workers at once and that an event
 *   arriving during a reconcile triggers another one afterwards.
 *
 * Workers start once every watched informer has synced, so a reconcile never sees a half-filled
 * cache. `stop()` stops handing out keys, aborts `ctx.signal` and waits for running reconciles.
 *
 * Metrics: `slipway_reconcile_total{controller,result}`, `slipway_reconcile_duration_seconds{controller}`
 * and the queue's `slipway_workqueue_*{controller}`.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { Counter, Histogram, type Registry } from "prom-client";
import type { InformerHandlers } from "../kube/informer.js";
import { type Clock, systemClock } from "../queue/clock.js";
import { MemoryQueue } from "../queue/memory-queue.js";
import { DURATION_BUCKETS, registerOnce } from "../queue/metrics.js";
import type { BackoffOptions } from "../queue/rate-limiter.js";
import type { WorkQueue } from "../queue/work-queue.js";
import { type KeyMapper, ownKey } from "./key-mappers.js";
import type { ReconcileContext, Reconciler } from "./reconciler.js";
import { TerminalError } from "./terminal-error.js";

/** What `watch` needs of an informer (a `SharedInformer` is one). */
export interface EventSource<T extends KubernetesObject = KubernetesObject> {
  addHandler(handlers: InformerHandlers<T>): () => void;
  start(): void;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** What the source holds now; lets `requeueAll` refill a queue that lost its keys. */
  list?(): T[];
}

export type InformerEvent<T> =
  | { type: "add"; object: T }
  | { type: "update"; old: T; object: T }
  | { type: "delete"; object: T };

export interface WatchOptions<T extends KubernetesObject> {
  /** Keys to reconcile for an event's object. Default: the object's own key. */
  map?: KeyMapper<T>;
  /** Enqueue only events this accepts (controller-runtime's predicates). */
  filter?: (event: InformerEvent<T>) => boolean;
  /**
   * Reconcile this long after the event rather than at once, so a burst of events (hundreds of
   * child status writes) becomes one reconcile of their parent instead of one each.
   */
  delayMs?: number;
}

export interface ControllerOptions {
  reconciler: Reconciler;
  /** Names metrics and logs. Default: the reconciler's name. */
  name?: string;
  /** Keys reconciled at once (never the same key twice). Default 1. */
  concurrency?: number;
  /** Default: a `MemoryQueue` named after the controller, with `backoff`, `clock` and `registry`. */
  queue?: WorkQueue;
  backoff?: BackoffOptions;
  clock?: Clock;
  log?: Logger;
  registry?: Registry;
}

type Result = "success" | "requeue_after" | "error" | "terminal_error";

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly concurrency: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: { result(r: Result): void; duration(seconds: number): void };
  private readonly sources: EventSource<KubernetesObject>[] = [];
  /** Each watched source's objects mapped to keys, for `requeueAll`. */
  private readonly relisters: (() => string[])[] = [];
  private readonly unsubscribes: (() => void)[] = [];
  private readonly abort = new AbortController();
  private processing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;

  constructor(options: ControllerOptions) {
    this.reconciler = options.reconciler;
    this.name = options.name ?? options.reconciler.name;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? pino({ name: "slipway" })).child({ controller: this.name });
    this.queue =
      options.queue ??
      new MemoryQueue({
        name: this.name,
        clock: this.clock,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        ...(options.registry ? { registry: options.registry } : {}),
      });
    this.metrics = options.registry
      ? reconcileMetrics(options.registry, this.name)
      : { result: () => undefined, duration: () => undefined };
  }

  /**
   * Reconciles the keys `map` gives for every add, update and delete `source` reports. Call
   * before `start()`; objects the source already holds are enqueued at once.
   */
  watch<T extends KubernetesObject>(source: EventSource<T>, options: WatchOptions<T> = {}): this {
    const map = (options.map ?? ownKey) as KeyMapper<T>;
    const filter = options.filter;
    const delayMs = options.delayMs;
    const enqueue = (event: InformerEvent<T>) => {
      if (filter && !filter(event)) return;
      const keys = map(event.object);
      const oldKeys = event.type === "update" ? map(event.old) : undefined;
      for (const key of new Set([...asList(keys), ...asList(oldKeys)])) {
        if (delayMs) this.enqueueAfter(key, delayMs);
        else this.enqueue(key);
      }
    };
    this.unsubscribes.push(
      source.addHandler({
        onAdd: (object) => enqueue({ type: "add", object }),
        onUpdate: (old, object) => enqueue({ type: "update", old, object }),
        onDelete: (object) => enqueue({ type: "delete", object }),
      }),
    );
    this.sources.push(source as unknown as EventSource<KubernetesObject>);
    if (source.list) {
      const list = source.list.bind(source);
      this.relisters.push(() => list().flatMap((object) => asList(map(object))));
    }
    return this;
  }

  /**
   * Queues every key the watched sources map to, as if each object had just been added: how a
   * shared queue that lost its keys (Redis restarted without persistence) is refilled.
   */
  requeueAll(): number {
    const keys = new Set(this.relisters.flatMap((relist) => relist()));
    for (const key of keys) this.enqueue(key);
    return keys.size;
  }

  /** Queues a key from outside the informers (a webhook, a Git refresh). */
  enqueue(key: string): void {
    this.queue.add(key).catch((error: unknown) => this.log.error({ err: error, key }, "could not queue key"));
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue
      .addAfter(key, delayMs)
      .catch((error: unknown) => this.log.error({ err: error, key }, "could not queue key"));
  }

  /**
   * Starts the watched informers (shared ones that already run are left as they are), waits
   * until all have synced, then starts the workers. Resolves once the workers run.
   */
  start(): Promise<void> {
    this.starting ??= this.begin();
    return this.starting;
  }

  /** Stops handing out keys, aborts `ctx.signal`, and waits for running reconciles to return. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await this.queue.shutdown();
    await this.processing;
    await this.starting?.catch(() => undefined);
  }

  /** True once the workers run, until `stop()`. */
  get running(): boolean {
    return this.processing !== undefined && !this.abort.signal.aborted;
  }

  private async begin(): Promise<void> {
    for (const source of this.sources) source.start();
    const synced = await Promise.all(this.sources.map((s) => s.waitForSync(this.abort.signal)));
    if (this.abort.signal.aborted) return;
    if (!synced.every(Boolean))
      throw new Error(`controller ${this.name}: an informer stopped before it synced`);
    this.log.info({ concurrency: this.concurrency }, "starting workers");
    this.processing = this.queue.process((key) => this.reconcileKey(key), this.concurrency);
  }

  /** One attempt at one key; never throws (the queue's own retry is only a safety net). */
  private async reconcileKey(key: string): Promise<void> {
    const log = this.log.child({ key });
    const started = this.clock.now();
    let retries = 0;
    try {
      retries = await this.queue.numRequeues(key);
      const ctx: ReconcileContext = {
        controller: this.name,
        log,
        signal: this.abort.signal,
        clock: this.clock,
        retries,
      };
      const result = await this.reconciler.reconcile(key, ctx);
      await this.queue.forget(key);
      const after = result?.requeueAfter;
      if (after !== undefined && after > 0) {
        await this.queue.addAfter(key, after);
        this.metrics.result("requeue_after");
        log.debug({ requeueAfterMs: after, durationMs: this.clock.now() - started }, "reconciled");
      } else {
        this.metrics.result("success");
        log.debug({ durationMs: this.clock.now() - started }, "reconciled");
      }
    } catch (error) {
      if (TerminalError.is(error)) {
        await this.queue.forget(key).catch(() => undefined);
        this.metrics.result("terminal_error");
        log.error({ err: error }, "reconcile failed; not retrying (terminal error)");
      } else {
        await this.queue
          .addRateLimited(key)
          .catch((e: unknown) => log.error({ err: e }, "could not re-queue key after a failure"));
        this.metrics.result("error");
        log.warn({ err: error, retries: retries + 1 }, "reconcile failed; retrying with backoff");
      }
    } finally {
      this.metrics.duration((this.clock.now() - started) / 1000);
    }
  }
}

function asList(keys: string | readonly string[] | undefined): readonly string[] {
  if (keys === undefined) return [];
  return typeof keys === "string" ? [keys] : keys;
}

function reconcileMetrics(
  registry: Registry,
  controller: string,
): { result(r: Result): void; duration(seconds: number): void } {
  const total = registerOnce(
    registry,
    "slipway_reconcile_total",
    () =>
      new Counter({
        name: "slipway_reconcile_total",
        help: "Reconciles by controller and result (success, requeue_after, error, terminal_error)",
        labelNames: ["controller", "result"],
        registers: [registry],
      }),
  );
  const duration = registerOnce(
    registry,
    "slipway_reconcile_duration_seconds",
    () =>
      new Histogram({
        name: "slipway_reconcile_duration_seconds",
        help: "Time spent in reconcile, by controller",
        labelNames: ["controller"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  ).labels({ controller });
  // Export every result from the start, so rates and alerts work before the first error.
  for (const result of ["success", "requeue_after", "error", "terminal_error"] as const) {
    total.labels({ controller, result }).inc(0);
  }
  return {
    result: (result) => total.labels({ controller, result }).inc(),
    duration: (seconds) => duration.observe(seconds),
  };
}
