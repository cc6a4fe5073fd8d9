/**
 * The work queue contract every slipway controller uses, with client-go's workqueue semantics
 * (https://pkg.go.dev/k8s.io/client-go/util/workqueue):
 *
 * - a key waiting in the queue is stored once, however often it is added (dedupe);
 * - a key handed to a worker is never handed to a second worker until `done(key)`;
 * - a key added while it is being processed is queued again when processing ends, so the
 *   change that caused the add is never lost;
 * - `addRateLimited` retries a key after a per-key exponential backoff; `forget` resets it.
 *
 * Every method returns a promise so a networked implementation (BullMQ on Redis, issue 8) fits
 * the same interface; `MemoryQueue` settles them at once.
 */

/** Handles one key. Throwing re-queues the key with backoff; returning marks it handled. */
export type QueueWorker = (key: string) => Promise<void>;

export interface WorkQueue {
  /** Names the queue in metrics and logs (the controller's name). */
  readonly name: string;
  /** Queues `key` unless it is already waiting. Ignored after shutdown. */
  add(key: string): Promise<void>;
  /** Queues `key` after `delayMs` (at once when <= 0). A key waiting twice keeps the earlier time. */
  addAfter(key: string, delayMs: number): Promise<void>;
  /** Queues `key` after its backoff delay and counts one more failure for it. */
  addRateLimited(key: string): Promise<void>;
  /** Resets the failure count of `key`. It does not remove the key from the queue. */
  forget(key: string): Promise<void>;
  /** Failures counted for `key` since it was last forgotten. */
  numRequeues(key: string): Promise<number>;
  /**
   * The next key to process, waiting for one if the queue is empty; undefined once the queue
   * shuts down. The caller must call `done(key)` when it has finished with it.
   */
  get(): Promise<string | undefined>;
  /** Marks `key` processed; if it was added meanwhile it goes back into the queue. */
  done(key: string): Promise<void>;
  /** Keys waiting to be handed out (not counting delayed or in-process keys). */
  len(): Promise<number>;
  /**
   * Runs `worker` on `concurrency` keys at a time until shutdown (a `get` / `done` loop).
   * A worker that throws has its key re-queued with `addRateLimited`.
   * Resolves when every loop has returned after shutdown.
   */
  process(worker: QueueWorker, concurrency?: number): Promise<void>;
  /**
   * Stops handing out keys (queued and delayed keys are dropped: reconcile is level-based and
   * the next process refills the queue from its informers) and resolves once every key handed
   * out so far is `done`.
   */
  shutdown(): Promise<void>;
  /** True once `shutdown` has been called. */
  readonly shuttingDown: boolean;
}
