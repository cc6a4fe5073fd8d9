/**
 * The Application reconciler: `reconcile(namespace/name)` compares the app with Git and the
 * cluster, runs its operation or starts an automated one, and writes its status (see app-run.ts
 * for one reconcile, operation.ts for syncs, app-deletion.ts for deletion).
 */
import { performance } from "node:perf_hooks";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../runtime/reconciler.js";
import { deleteApplication } from "./app-deletion.js";
import type { AppDeps, AppMemo } from "./app-deps.js";
import { AppRun } from "./app-run.js";

export class ApplicationReconciler implements Reconciler {
  readonly name = "applications";
  /** Reconciles run (for tests and benchmarks). */
  reconciles = 0;
  private readonly listeners = new Set<(key: string, startedAt: number) => void>();

  constructor(private readonly deps: AppDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const started = performance.now();
    const startedAt = ctx.clock.now();
    try {
      const app = this.deps.writer.current(key);
      if (!app) {
        this.forget(key);
        return {};
      }
      const run = new AppRun(this.deps, app, ctx);
      if (app.metadata.deletionTimestamp) return await deleteApplication(this.deps, run);
      return await run.run();
    } finally {
      this.reconciles += 1;
      const namespace = key.includes("/") ? key.slice(0, key.indexOf("/")) : "";
      this.deps.metrics.reconciled(namespace, (performance.now() - started) / 1000);
      for (const listener of this.listeners) listener(key, startedAt);
    }
  }

  /** Calls `listener(key, startedAt)` after every reconcile; returns a function removing it. */
  onReconciled(listener: (key: string, startedAt: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forget(key: string): void {
    const name = key.slice(key.indexOf("/") + 1);
    this.deps.writer.forget(key);
    this.deps.targets.forgetDesired(name);
    this.deps.metrics.forget(key.includes("/") ? key.slice(0, key.indexOf("/")) : "", name);
    this.deps.forgetMemo(key);
  }
}

/** Per-app memory: created on first use, dropped when the app goes away. */
export function memoStore(): { memo(key: string): AppMemo; forgetMemo(key: string): void } {
  const memos = new Map<string, AppMemo>();
  return {
    memo(key) {
      let m = memos.get(key);
      if (!m) {
        m = { diffs: new Map() };
        memos.set(key, m);
      }
      return m;
    },
    forgetMemo(key) {
      memos.delete(key);
    },
  };
}
