/**
 * The live side of every Application: one shared, watch-backed informer per kind that some app
 * renders or once managed (created lazily, the first time a reconcile needs the kind), each with
 * an index by the app named in the object's `slipway.dev/tracking-id`. Reconciles read live state
 * from here only, so comparing an unchanged app costs no API request; and every change of a
 * managed object enqueues its app at once, which is what makes self-heal react to a
 * `kubectl edit` without waiting for the resync.
 *
 * Objects that an app renders but that do not carry its tracking id yet (created by hand, or
 * managed by someone else) are mapped to the app through the desired-key index the reconciler
 * keeps up to date with `setDesired`.
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { SharedInformer } from "../kube/informer.js";
import type { InformerFactory } from "../kube/informer-factory.js";
import { groupOf, type KubeObject, resourceKey } from "./diff/object.js";
import { trackingAppOf } from "./sync/tracking.js";

/** Index of live objects by the app their tracking id names. */
export const TRACKING_INDEX = "slipway.dev/tracking-app";

export interface KindRef {
  apiVersion: string;
  kind: string;
}

export function kindKey(k: KindRef): string {
  return `${k.apiVersion}/${k.kind}`;
}

/** `group/kind` of a kind reference (versions of one group share objects). */
export function groupKindOf(k: KindRef): string {
  return `${groupOf(k.apiVersion)}/${k.kind}`;
}

export interface LiveStateOptions {
  /** Called with the names of the apps an object change concerns. */
  onChange: (apps: readonly string[]) => void;
  log?: Logger;
  /** Longest wait for a new informer's first list. Default 60 s. */
  syncTimeoutMs?: number;
}

export class LiveStateCache {
  private readonly informers = new Map<string, SharedInformer<KubernetesObject>>();
  private readonly unsubscribes: (() => void)[] = [];
  /** resourceKey → apps that render it (so untracked namesakes still wake their app). */
  private readonly desiredBy = new Map<string, Set<string>>();
  private readonly desiredOf = new Map<string, string[]>();
  private readonly syncTimeoutMs: number;
  private readonly timedOut = new WeakSet<SharedInformer<KubernetesObject>>();

  constructor(
    private readonly factory: InformerFactory,
    private readonly options: LiveStateOptions,
  ) {
    this.syncTimeoutMs = options.syncTimeoutMs ?? 60_000;
  }

  /** The informer for a kind, created (and started, when the factory runs) on first use. */
  informer(kind: KindRef): SharedInformer<KubernetesObject> {
    const key = kindKey(kind);
    let informer = this.informers.get(key);
    if (informer) return informer;
    informer = this.factory.forResource({ apiVersion: kind.apiVersion, kind: kind.kind });
    informer.addIndex(TRACKING_INDEX, (o) => {
      const app = trackingAppOf(o as KubeObject);
      return app ? [app] : [];
    });
    const notify = (...objects: KubernetesObject[]) => {
      const apps = new Set<string>();
      for (const o of objects) {
        const app = trackingAppOf(o as KubeObject);
        if (app) apps.add(app);
        for (const a of this.desiredBy.get(resourceKey(o as KubeObject)) ?? []) apps.add(a);
      }
      if (apps.size > 0) this.options.onChange([...apps]);
    };
    this.unsubscribes.push(
      informer.addHandler({
        onAdd: (o) => notify(o),
        onUpdate: (old, o) => notify(old, o),
        onDelete: (o) => notify(o),
      }),
    );
    // The factory starts informers made after its start(); start it here too in case it has not.
    informer.start();
    this.informers.set(key, informer);
    return informer;
  }

  /** Makes sure informers for `kinds` exist and have listed once (bounded wait). */
  async ensure(kinds: readonly KindRef[], signal?: AbortSignal): Promise<void> {
    const pending = kinds.map((k) => this.informer(k)).filter((i) => !i.hasSynced());
    if (pending.length === 0) return;
    // An informer that already made a reconcile wait in vain (no RBAC, an API error) fails fast
    // afterwards; it keeps retrying in the background and its first list wakes the apps.
    const fresh = pending.filter((i) => !this.timedOut.has(i));
    if (fresh.length > 0) {
      const timeout = AbortSignal.timeout(this.syncTimeoutMs);
      const wait = signal ? AbortSignal.any([signal, timeout]) : timeout;
      await Promise.all(fresh.map((i) => i.waitForSync(wait)));
      if (!signal?.aborted) for (const i of fresh) if (!i.hasSynced()) this.timedOut.add(i);
    }
    const missing = pending.filter((i) => !i.hasSynced()).map((i) => i.description);
    if (missing.length > 0) {
      throw new Error(
        `live state of ${missing.join(", ")} is not available yet (its informer has not listed)`,
      );
    }
  }

  synced(kind: KindRef): boolean {
    return this.informers.get(kindKey(kind))?.hasSynced() ?? false;
  }

  /** The live object, when its kind's informer exists. */
  get(kind: KindRef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.informers.get(kindKey(kind))?.get(namespace || undefined, name) as KubeObject | undefined;
  }

  /** Every live object of `kinds` whose tracking id names `app`, one per resource key. */
  trackedBy(app: string, kinds: readonly KindRef[]): KubeObject[] {
    const out = new Map<string, KubeObject>();
    for (const k of kinds) {
      const informer = this.informers.get(kindKey(k));
      if (!informer) continue;
      for (const o of informer.byIndex(TRACKING_INDEX, app) as KubeObject[]) {
        const key = resourceKey(o);
        if (!out.has(key)) out.set(key, o);
      }
    }
    return [...out.values()];
  }

  /** Records which resource keys `app` renders, so changes to them wake the app even untracked. */
  setDesired(app: string, keys: readonly string[]): void {
    const previous = this.desiredOf.get(app);
    if (previous && previous.length === keys.length && previous.every((k, i) => k === keys[i])) return;
    this.forgetDesired(app);
    this.desiredOf.set(app, [...keys]);
    for (const key of keys) {
      let apps = this.desiredBy.get(key);
      if (!apps) {
        apps = new Set();
        this.desiredBy.set(key, apps);
      }
      apps.add(app);
    }
  }

  forgetDesired(app: string): void {
    for (const key of this.desiredOf.get(app) ?? []) {
      const apps = this.desiredBy.get(key);
      apps?.delete(app);
      if (apps?.size === 0) this.desiredBy.delete(key);
    }
    this.desiredOf.delete(app);
  }

  kinds(): KindRef[] {
    return [...this.informers.values()].map((i) => i.target as KindRef);
  }

  /** Detaches the handlers (the informers themselves belong to the shared factory). */
  close(): void {
    for (const u of this.unsubscribes.splice(0)) u();
  }
}
