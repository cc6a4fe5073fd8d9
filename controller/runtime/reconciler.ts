/**
 * The one reconcile contract (STYLE.md 1; controller-runtime's `Reconciler`): level-based and
 * idempotent. Given a key, read desired and observed state (from informer caches), act, write
 * status once if it changed, and say when to look again. Throw to retry with backoff; throw
 * `TerminalError` when retrying will not help.
 */
import type { Logger } from "pino";
import type { Clock } from "../queue/clock.js";

export interface ReconcileResult {
  /** Reconcile this key again after this many ms (timers: pauses, analysis intervals, resync). */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** The controller's name. */
  readonly controller: string;
  /** A logger bound to the controller and the key. */
  readonly log: Logger;
  /** Aborted when the controller stops; long reconciles should give up promptly. */
  readonly signal: AbortSignal;
  /** The controller's clock: read the time from here, never from `Date`. */
  readonly clock: Clock;
  /** Consecutive failed attempts of this key before this one (0 on a first try). */
  readonly retries: number;
}

export interface Reconciler {
  readonly name: string;
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult>;
}
