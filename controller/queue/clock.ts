/**
 * Time, injected. Work queues, informer reconnects and leader election read the time and set
 * timers only through a `Clock`, so tests drive them with `FakeClock` instead of sleeping
 * (STYLE.md 7; client-go's `k8s.io/utils/clock` plays the same role for its workqueue).
 */

/** A scheduled callback that can be cancelled. Cancelling a fired or cancelled timer is a no-op. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `callback` once, `delayMs` from now (at once on the next turn when `delayMs` <= 0). */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
}

/** The wall clock, backed by `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * Resolves after `ms` on `clock`, or as soon as `signal` aborts (it never rejects: loops that
 * sleep between attempts check their own stop flag after waking).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
