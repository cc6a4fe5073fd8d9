/**
 * A clock for tests: time stands still until the test advances it, and timers fire in due order
 * as it does (like client-go's `clocktesting.FakeClock`). Between timers `advance` lets pending
 * promise callbacks run, so async code woken by one timer can set the next before it is due.
 */
import type { Clock, TimerHandle } from "./clock.js";

interface FakeTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** Lets every promise callback queued so far (and those they queue) run. */
export function flushPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  /** Starts at `startMs` (default 2026-01-01T00:00:00Z) so timestamps in tests are stable. */
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer: FakeTimer = {
      at: this.time + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  /** Timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** When the next timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    return this.next()?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in order (time is
   * set to each timer's due time as it fires), flushing promise callbacks after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + Math.max(0, ms);
    await flushPromises();
    for (;;) {
      const timer = this.next();
      if (!timer || timer.at > target) break;
      this.timers = this.timers.filter((t) => t !== timer);
      this.time = Math.max(this.time, timer.at);
      timer.callback();
      await flushPromises();
    }
    this.time = target;
    await flushPromises();
  }

  /** Advances exactly to the next pending timer and fires it (and any due at the same time). */
  async advanceToNextTimer(): Promise<void> {
    const at = this.nextTimerAt();
    if (at !== undefined) await this.advance(at - this.time);
  }

  private next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
