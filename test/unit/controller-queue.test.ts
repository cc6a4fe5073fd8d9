/**
 * MemoryQueue against client-go's workqueue semantics, driven by a FakeClock: no test sleeps.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { sleep } from "../../controller/queue/clock.js";
import { FakeClock, flushPromises } from "../../controller/queue/fake-clock.js";
import { MemoryQueue } from "../../controller/queue/memory-queue.js";
import { ExponentialBackoff } from "../../controller/queue/rate-limiter.js";

function queue(clock = new FakeClock(), options: ConstructorParameters<typeof MemoryQueue>[0] = {}) {
  return new MemoryQueue({ clock, ...options });
}

/** A promise's state without awaiting it. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => {
    state = { done: true, value };
  });
  await flushPromises();
  return state;
}

describe("MemoryQueue", () => {
  it("hands keys out in FIFO order and stores a waiting key once", async () => {
    const q = queue();
    for (const k of ["a", "b", "a", "c", "b", "a"]) await q.add(k);
    expect(await q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(await q.len()).toBe(0);
  });

  it("never hands a key being processed to a second worker", async () => {
    const q = queue();
    await q.add("a");
    expect(await q.get()).toBe("a");
    await q.add("a");
    // "a" is processing: it is dirty but not handed out again.
    expect(await q.len()).toBe(0);
    const second = q.get();
    expect((await settled(second)).done).toBe(false);
    await q.add("b");
    expect(await second).toBe("b");
  });

  it("re-queues a key added during processing once processing ends (no lost update)", async () => {
    const q = queue();
    await q.add("a");
    const key = await q.get();
    await q.add("a");
    await q.add("a");
    await q.done(key!);
    expect(await q.len()).toBe(1);
    expect(await q.get()).toBe("a");
    await q.done("a");
    expect(await q.len()).toBe(0);
  });

  it("runs one key at a time across concurrent workers and processes every update", async () => {
    const q = queue();
    const running = new Set<string>();
    let overlaps = 0;
    const seen: string[] = [];
    const gates: (() => void)[] = [];
    const processing = q.process(async (key) => {
      if (running.has(key)) overlaps++;
      running.add(key);
      seen.push(key);
      await new Promise<void>((resolve) => gates.push(resolve));
      running.delete(key);
    }, 4);
    await q.add("x");
    await q.add("y");
    await flushPromises();
    expect(seen).toEqual(["x", "y"]);
    // Updates to x arrive while it is processing: the two idle workers must not take it.
    await q.add("x");
    await q.add("x");
    await flushPromises();
    expect(seen).toEqual(["x", "y"]);
    gates.shift()!(); // finish x
    await flushPromises();
    expect(seen).toEqual(["x", "y", "x"]);
    while (gates.length) {
      gates.shift()!();
      await flushPromises();
    }
    expect(overlaps).toBe(0);
    await q.shutdown();
    await processing;
  });

  it("re-queues with backoff when the worker throws", async () => {
    const clock = new FakeClock();
    const q = queue(clock, { backoff: { baseDelayMs: 100, jitter: 0 } });
    const calls: number[] = [];
    let fail = 2;
    const processing = q.process(async () => {
      calls.push(clock.now());
      if (fail-- > 0) throw new Error("boom");
    });
    const t0 = clock.now();
    await q.add("k");
    await flushPromises();
    await clock.advance(100);
    await clock.advance(200);
    expect(calls.map((t) => t - t0)).toEqual([0, 100, 300]);
    expect(await q.numRequeues("k")).toBe(2);
    await q.shutdown();
    await processing;
  });

  describe("addAfter", () => {
    it("adds keys when they fall due, in due order", async () => {
      const clock = new FakeClock();
      const q = queue(clock);
      await q.addAfter("late", 300);
      await q.addAfter("early", 100);
      await q.addAfter("middle", 200);
      await q.addAfter("now", 0);
      expect(await q.len()).toBe(1);
      expect(await q.get()).toBe("now");
      await clock.advance(99);
      expect(await q.len()).toBe(0);
      await clock.advance(1);
      expect(await q.len()).toBe(1);
      await clock.advance(1000);
      expect([await q.get(), await q.get(), await q.get()]).toEqual(["early", "middle", "late"]);
    });

    it("keeps the earlier time when one key is delayed twice", async () => {
      const clock = new FakeClock();
      const q = queue(clock);
      await q.addAfter("k", 500);
      await q.addAfter("k", 100);
      await q.addAfter("k", 800);
      await clock.advance(100);
      expect(await q.len()).toBe(1);
      expect(await q.get()).toBe("k");
      await q.done("k");
      await clock.advance(1000);
      // The 500 and 800 ms adds were folded into the 100 ms one.
      expect(await q.len()).toBe(0);
    });

    it("wakes a waiting worker when a delayed key falls due", async () => {
      const clock = new FakeClock();
      const q = queue(clock);
      const next = q.get();
      await q.addAfter("k", 1000);
      await clock.advance(999);
      expect((await settled(next)).done).toBe(false);
      await clock.advance(1);
      expect(await next).toBe("k");
    });

    it("dedupes a delayed key that is already waiting", async () => {
      const clock = new FakeClock();
      const q = queue(clock);
      await q.add("k");
      await q.addAfter("k", 50);
      await clock.advance(50);
      expect(await q.len()).toBe(1);
    });
  });

  describe("backoff", () => {
    it("doubles from the base per failure, caps at the max and resets on forget", async () => {
      const clock = new FakeClock();
      const q = queue(clock, { backoff: { baseDelayMs: 5, maxDelayMs: 1000, jitter: 0 } });
      const delays: number[] = [];
      for (let i = 0; i < 10; i++) {
        const before = clock.now();
        await q.addRateLimited("k");
        const due = clock.nextTimerAt()!;
        delays.push(due - before);
        await clock.advanceToNextTimer();
        expect(await q.get()).toBe("k");
        await q.done("k");
      }
      expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
      expect(await q.numRequeues("k")).toBe(10);
      await q.forget("k");
      expect(await q.numRequeues("k")).toBe(0);
      await q.addRateLimited("k");
      expect(clock.nextTimerAt()! - clock.now()).toBe(5);
    });

    it("counts failures per key", () => {
      const b = new ExponentialBackoff({ baseDelayMs: 10, jitter: 0 });
      expect([b.when("a"), b.when("a"), b.when("b"), b.when("a")]).toEqual([10, 20, 10, 40]);
      expect([b.retries("a"), b.retries("b"), b.retries("c")]).toEqual([3, 1, 0]);
    });

    it("jitter shortens each delay by at most the jitter fraction and never exceeds the cap", () => {
      let r = 0;
      const randoms = [0, 0.999999, 0.5];
      const b = new ExponentialBackoff({
        baseDelayMs: 100,
        maxDelayMs: 1000,
        jitter: 0.2,
        random: () => randoms[r++ % randoms.length]!,
      });
      const got = Array.from({ length: 9 }, () => b.when("k"));
      const nominal = [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000];
      got.forEach((d, i) => {
        expect(d).toBeLessThanOrEqual(nominal[i]!);
        expect(d).toBeGreaterThanOrEqual(nominal[i]! * 0.8);
      });
      expect(got[0]).toBe(100); // random 0: no jitter
      expect(got[1]).toBeCloseTo(160, 3); // random ~1: the full 20 % off
      expect(got[2]).toBe(360);
      // With the real Math.random, many draws stay inside the bounds too.
      const real = new ExponentialBackoff({ baseDelayMs: 1000, maxDelayMs: 1000, jitter: 0.3 });
      for (let i = 0; i < 1000; i++) {
        const d = real.when(`k${i}`);
        expect(d).toBeGreaterThanOrEqual(700);
        expect(d).toBeLessThanOrEqual(1000);
      }
    });

    it("rejects nonsensical options", () => {
      expect(() => new ExponentialBackoff({ baseDelayMs: 0 })).toThrow(/baseDelayMs/);
      expect(() => new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
      expect(() => new ExponentialBackoff({ jitter: 1 })).toThrow(/jitter/);
    });
  });

  describe("shutdown", () => {
    it("wakes waiting workers with undefined and ignores later adds", async () => {
      const q = queue();
      const waiting = [q.get(), q.get()];
      await q.shutdown();
      expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
      await q.add("a");
      expect(await q.get()).toBeUndefined();
      expect(q.shuttingDown).toBe(true);
    });

    it("waits for keys in process, drops queued and delayed keys, and stops its timer", async () => {
      const clock = new FakeClock();
      const q = queue(clock);
      await q.add("busy");
      await q.add("queued");
      await q.addAfter("later", 1000);
      expect(await q.get()).toBe("busy");
      const stopped = q.shutdown();
      expect((await settled(stopped)).done).toBe(false);
      expect(clock.pendingTimers()).toBe(0);
      await q.done("busy");
      expect((await settled(stopped)).done).toBe(true);
      expect(await q.len()).toBe(0);
      expect(await q.get()).toBeUndefined();
    });

    it("ends process() after the running workers finish", async () => {
      const q = queue();
      let release!: () => void;
      const finished: string[] = [];
      const processing = q.process(async (key) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finished.push(key);
      }, 2);
      await q.add("a");
      await flushPromises();
      const stopped = q.shutdown();
      expect((await settled(processing)).done).toBe(false);
      release();
      await stopped;
      await processing;
      expect(finished).toEqual(["a"]);
    });
  });

  it("exports depth, adds, latency, work duration and retries on the registry", async () => {
    const clock = new FakeClock();
    const registry = new Registry();
    const q = queue(clock, { name: "apps", registry, backoff: { jitter: 0 } });
    // A second queue on the same registry shares the metrics under its own label.
    const other = queue(clock, { name: "rollouts", registry });
    await q.add("a");
    await q.add("b");
    await q.add("a");
    await other.add("z");
    await clock.advance(2000);
    await q.get();
    await clock.advance(500);
    await q.done("a");
    await q.addRateLimited("a");
    const text = await registry.metrics();
    expect(text).toContain('slipway_workqueue_depth{controller="apps"} 1');
    expect(text).toContain('slipway_workqueue_depth{controller="rollouts"} 1');
    expect(text).toContain('slipway_workqueue_adds_total{controller="apps"} 2');
    expect(text).toContain('slipway_workqueue_retries_total{controller="apps"} 1');
    expect(text).toContain('slipway_workqueue_queue_duration_seconds_sum{controller="apps"} 2');
    expect(text).toContain('slipway_workqueue_work_duration_seconds_sum{controller="apps"} 0.5');
  });
});

describe("FakeClock", () => {
  it("fires timers in due order and lets async code chain the next timer", async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    clock.setTimer(() => log.push("b@200"), 200);
    clock.setTimer(() => log.push("a@100"), 100);
    const cancelled = clock.setTimer(() => log.push("never"), 150);
    cancelled.cancel();
    void (async () => {
      await sleep(clock, 50);
      log.push(`slept@${clock.now()}`);
      await sleep(clock, 100);
      log.push(`slept@${clock.now()}`);
    })();
    await clock.advance(250);
    expect(log).toEqual(["slept@50", "a@100", "slept@150", "b@200"]);
    expect(clock.now()).toBe(250);
  });

  it("sleep resolves early when its signal aborts", async () => {
    const clock = new FakeClock(0);
    const abort = new AbortController();
    const slept = sleep(clock, 10_000, abort.signal);
    abort.abort();
    await slept;
    expect(clock.pendingTimers()).toBe(0);
  });
});
