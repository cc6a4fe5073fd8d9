/**
 * The Controller runner with a FakeClock and an in-memory event source: results, backoff,
 * terminal errors, requeueAfter, key mapping, metrics and stop. No test sleeps.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { InformerHandlers } from "../../controller/kube/informer.js";
import { FakeClock, flushPromises } from "../../controller/queue/fake-clock.js";
import { Controller, type EventSource } from "../../controller/runtime/controller.js";
import { controllerOwnerKey } from "../../controller/runtime/key-mappers.js";
import type { ReconcileContext, ReconcileResult } from "../../controller/runtime/reconciler.js";
import { TerminalError } from "../../controller/runtime/terminal-error.js";

const silent = pino({ level: "silent" });

/** Stands in for an informer: the test fires events by hand. */
class FakeSource implements EventSource {
  handlers = new Set<InformerHandlers<KubernetesObject>>();
  synced = false;
  private waiters: ((v: boolean) => void)[] = [];
  addHandler(h: InformerHandlers<KubernetesObject>): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  start(): void {}
  waitForSync(): Promise<boolean> {
    return this.synced ? Promise.resolve(true) : new Promise((r) => this.waiters.push(r));
  }
  sync(): void {
    this.synced = true;
    for (const w of this.waiters.splice(0)) w(true);
  }
  add(o: KubernetesObject) {
    for (const h of this.handlers) h.onAdd?.(o);
  }
  update(old: KubernetesObject, now: KubernetesObject) {
    for (const h of this.handlers) h.onUpdate?.(old, now);
  }
  delete(o: KubernetesObject) {
    for (const h of this.handlers) h.onDelete?.(o);
  }
}

const cm = (name: string, extra: Partial<KubernetesObject["metadata"]> = {}): KubernetesObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", ...extra },
});

type Behaviour = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult> | ReconcileResult;

function setup(behaviour: Behaviour, options: { registry?: Registry; concurrency?: number } = {}) {
  const clock = new FakeClock(0);
  const source = new FakeSource();
  const calls: { key: string; at: number; retries: number }[] = [];
  const controller = new Controller({
    reconciler: {
      name: "copier",
      reconcile: async (key, ctx) => {
        calls.push({ key, at: clock.now(), retries: ctx.retries });
        return behaviour(key, ctx);
      },
    },
    clock,
    log: silent,
    backoff: { baseDelayMs: 10, maxDelayMs: 80, jitter: 0 },
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  controller.watch(source);
  return { clock, source, calls, controller };
}

describe("Controller", () => {
  it("waits for the informers to sync, then reconciles what they hold", async () => {
    const { source, calls, controller } = setup(() => ({}));
    source.add(cm("a"));
    source.add(cm("b"));
    source.add(cm("a"));
    const started = controller.start();
    await flushPromises();
    expect(calls).toEqual([]);
    source.sync();
    await started;
    await flushPromises();
    expect(calls.map((c) => c.key)).toEqual(["ns/a", "ns/b"]);
    await controller.stop();
  });

  it("retries failures with growing, capped backoff and resets after a success", async () => {
    let failures = 6;
    const { clock, source, calls, controller } = setup(() => {
      if (failures-- > 0) throw new Error("API said no");
      return {};
    });
    source.sync();
    await controller.start();
    source.add(cm("a"));
    for (let i = 0; i < 10; i++) await clock.advanceToNextTimer();
    expect(calls.map((c) => c.at)).toEqual([0, 10, 30, 70, 150, 230, 310]);
    expect(calls.map((c) => c.retries)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await controller.queue.numRequeues("ns/a")).toBe(0);
    source.update(cm("a"), cm("a", { resourceVersion: "2" }));
    await flushPromises();
    expect(calls.at(-1)?.retries).toBe(0);
    await controller.stop();
  });

  it("does not retry a TerminalError", async () => {
    const registry = new Registry();
    const { clock, source, calls, controller } = setup(
      () => {
        throw new TerminalError("spec.destination is forbidden by the project");
      },
      { registry },
    );
    source.sync();
    await controller.start();
    source.add(cm("a"));
    await clock.advance(10_000);
    expect(calls.length).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
    expect(await registry.metrics()).toContain(
      'slipway_reconcile_total{controller="copier",result="terminal_error"} 1',
    );
    await controller.stop();
  });

  it("reconciles again after requeueAfter", async () => {
    const { clock, source, calls, controller } = setup(() => ({ requeueAfter: 1000 }));
    source.sync();
    await controller.start();
    source.add(cm("a"));
    await clock.advance(2500);
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 2000]);
    await controller.stop();
  });

  it("re-reconciles a key changed during its reconcile, never two at once", async () => {
    let release!: () => void;
    let running = 0;
    let overlap = false;
    const { source, calls, controller } = setup(
      async () => {
        running++;
        if (running > 1) overlap = true;
        await new Promise<void>((r) => {
          release = r;
        });
        running--;
        return {};
      },
      { concurrency: 4 },
    );
    source.sync();
    await controller.start();
    source.add(cm("a"));
    await flushPromises();
    source.update(cm("a"), cm("a", { resourceVersion: "2" }));
    source.update(cm("a", { resourceVersion: "2" }), cm("a", { resourceVersion: "3" }));
    await flushPromises();
    expect(calls.length).toBe(1);
    release();
    await flushPromises();
    expect(calls.length).toBe(2);
    release();
    await flushPromises();
    expect(calls.length).toBe(2);
    expect(overlap).toBe(false);
    await controller.stop();
  });

  it("maps owned objects to their controller owner and applies filters", async () => {
    const clock = new FakeClock(0);
    const owners = new FakeSource();
    const owned = new FakeSource();
    const keys: string[] = [];
    const controller = new Controller({
      reconciler: {
        name: "rollouts",
        reconcile: async (key) => {
          keys.push(key);
          return {};
        },
      },
      clock,
      log: silent,
    });
    controller
      .watch(owners, { filter: (e) => e.type !== "delete" })
      .watch(owned, { map: controllerOwnerKey("Rollout", "slipway.dev") });
    owners.sync();
    owned.sync();
    await controller.start();
    const rs = (ownerKind: string, apiVersion: string, controllerRef: boolean): KubernetesObject => ({
      ...cm("web-abc"),
      metadata: {
        name: "web-abc",
        namespace: "shop",
        ownerReferences: [{ apiVersion, kind: ownerKind, name: "web", uid: "1", controller: controllerRef }],
      },
    });
    owned.add(rs("Rollout", "slipway.dev/v1alpha1", true));
    await flushPromises();
    owned.add(rs("Rollout", "argoproj.io/v1alpha1", true));
    owned.add(rs("Rollout", "slipway.dev/v1alpha1", false));
    owned.add(rs("Deployment", "apps/v1", true));
    owners.delete(cm("gone"));
    owners.add(cm("kept"));
    await flushPromises();
    expect(keys).toEqual(["shop/web", "ns/kept"]);
    await controller.stop();
  });

  it("stop() aborts ctx.signal and waits for running reconciles", async () => {
    let sawAbort = false;
    const { source, controller } = setup(
      (_key, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            sawAbort = true;
            resolve({});
          });
        }),
    );
    source.sync();
    await controller.start();
    source.add(cm("a"));
    await flushPromises();
    expect(controller.running).toBe(true);
    await controller.stop();
    expect(sawAbort).toBe(true);
    expect(controller.running).toBe(false);
    // Events after stop are ignored.
    source.add(cm("b"));
    expect(await controller.queue.len()).toBe(0);
  });

  it("exports reconcile counts, durations and queue depth", async () => {
    const registry = new Registry();
    let n = 0;
    const { clock, source, controller } = setup(
      async () => {
        await new Promise<void>((resolve) => clock.setTimer(resolve, 250));
        if (n++ === 0) throw new Error("first try fails");
        return {};
      },
      { registry },
    );
    source.sync();
    await controller.start();
    source.add(cm("a"));
    source.add(cm("b"));
    await clock.advance(2000);
    const text = await registry.metrics();
    expect(text).toContain('slipway_reconcile_total{controller="copier",result="success"} 2');
    expect(text).toContain('slipway_reconcile_total{controller="copier",result="error"} 1');
    expect(text).toContain('slipway_reconcile_total{controller="copier",result="requeue_after"} 0');
    expect(text).toContain('slipway_reconcile_duration_seconds_count{controller="copier"} 3');
    expect(text).toContain('slipway_reconcile_duration_seconds_sum{controller="copier"} 0.75');
    expect(text).toContain('slipway_workqueue_depth{controller="copier"} 0');
    await controller.stop();
  });
});
