/**
 * Read-your-writes over an informer cache. A reconcile that just wrote an object (scaled a
 * ReplicaSet, created an AnalysisRun, wrote the Rollout's status) may be followed by another
 * before the watch event of that write arrives; reading the stale cache then would redo work or,
 * worse, act on a state already left behind (a run that was replaced, a retry already counted).
 * Each write's response is kept here until the informer has caught up with it (an event at or
 * past its resourceVersion, or the delete of a deleted object), or for `ttlMs` at most, and reads
 * prefer it. Only an optimisation of freshness: an empty overlay (a new process) reads the cache.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { SharedInformer } from "../kube/informer.js";
import { keyOf, objectKey } from "../kube/resource.js";
import type { Clock } from "../queue/clock.js";

interface Entry<T> {
  object: T | undefined;
  /** resourceVersion of the write (undefined for a delete). */
  rv: string | undefined;
  at: number;
}

/** Whether resourceVersion `a` is at or past `b` (numeric when both are; otherwise only equal). */
function atOrPast(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (a === b) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b);
  return false;
}

export class RecentWrites<T extends KubernetesObject> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly informer: SharedInformer<T>,
    private readonly clock: Clock,
    private readonly ttlMs = 15_000,
  ) {
    informer.addHandler({
      onAdd: (o) => this.caughtUp(o),
      onUpdate: (_old, o) => this.caughtUp(o),
      onDelete: (o) => {
        const key = objectKey(o);
        if (this.entries.get(key)?.object === undefined) this.entries.delete(key);
      },
    });
  }

  private caughtUp(o: T): void {
    const key = objectKey(o);
    const e = this.entries.get(key);
    if (e?.object && atOrPast(o.metadata?.resourceVersion, e.rv)) this.entries.delete(key);
  }

  /** Remembers the object a write returned. */
  wrote(object: T): void {
    this.entries.set(objectKey(object), {
      object,
      rv: object.metadata?.resourceVersion,
      at: this.clock.now(),
    });
  }

  /** Remembers that an object was deleted. */
  deleted(namespace: string | undefined, name: string): void {
    this.entries.set(keyOf(namespace, name), { object: undefined, rv: undefined, at: this.clock.now() });
  }

  private entry(key: string): Entry<T> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.now() - e.at > this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    const cached = this.informer.getByKey(key);
    if (e.object && cached && atOrPast(cached.metadata?.resourceVersion, e.rv)) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    const key = keyOf(namespace, name);
    const e = this.entry(key);
    return e ? e.object : this.informer.getByKey(key);
  }

  /** `cached` (a list from the informer) with this overlay's writes applied; `accept` filters added objects. */
  overlay(cached: readonly T[], accept: (o: T) => boolean): T[] {
    const out = new Map<string, T>();
    for (const o of cached) out.set(objectKey(o), o);
    for (const key of [...this.entries.keys()]) {
      const e = this.entry(key);
      if (!e) continue;
      if (e.object === undefined) out.delete(key);
      else if (out.has(key) || accept(e.object)) out.set(key, e.object);
    }
    return [...out.values()];
  }
}
