/**
 * A shared, watch-backed cache of one resource (client-go's Reflector + SharedIndexInformer):
 * list once, then watch from the list's resourceVersion, resuming each new watch where the last
 * one ended; on 410 Gone relist, and tell subscribers what changed in between. Reconcilers read
 * live state from here, so a reconcile of an unchanged object makes no API request.
 *
 * Unlike client-node's `makeInformer`, which stops for good on the first error, this one never
 * gives up: errors and watches that end at once without news are retried with jittered
 * exponential backoff (client-go: 800 ms doubling to 30 s), and only `stop()` ends it.
 *
 * Objects handed out (to handlers, `get`, `list`) are the cache's own: treat them as read-only
 * and `cloneJson` (api/json.ts) before changing one.
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { type Clock, sleep, systemClock } from "../queue/clock.js";
import { registerOnce } from "../queue/metrics.js";
import type { Discovery } from "./discovery.js";
import { apiException, isGone } from "./errors.js";
import type { KubeRequester, WatchEvent } from "./requester.js";
import { apiVersionOf, type GroupVersionResource, keyOf, objectKey, resourcePath } from "./resource.js";

/** A resource named by group/version/resource, or by apiVersion + kind (resolved by discovery). */
export type ResourceTarget = GroupVersionResource | { apiVersion: string; kind: string };

export interface InformerScope {
  /** Only this namespace; all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerSettings {
  clock?: Clock;
  log?: Logger;
  /** Registers `slipway_informer_lists_total` / `slipway_informer_watches_total` here. */
  registry?: Registry;
  /** Cluster name for metrics labels. */
  cluster?: string;
  /** Reconnect backoff after errors and short empty watches. Default 800 ms → 30 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** List page size. Default 500. */
  pageSize?: number;
  /** Server-side watch timeout; randomised in [t, 2t) as client-go does. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Random source for the watch timeout and backoff jitter. */
  random?: () => number;
}

/** What an informer needs of a cluster: raw requests and discovery (a `ClusterClient` has both). */
export interface InformerClient extends KubeRequester {
  readonly discovery: Discovery;
  readonly name?: string;
}

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  /** Called only when the resourceVersion moved. */
  onUpdate?(oldObject: T, newObject: T): void;
  /** `object` is the last state seen (the final state when the watch delivered it). */
  onDelete?(object: T): void;
}

interface ListBody<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

/** Built in, so `list(namespace)` does not scan every object (client-go's `NamespaceIndex`). */
export const NAMESPACE_INDEX = "namespace";

/** A watch that ends sooner than this without delivering anything counts as a failure. */
const MIN_USEFUL_WATCH_MS = 1000;

export function describeTarget(target: ResourceTarget, scope: InformerScope = {}): string {
  const what =
    "resource" in target
      ? `${target.resource}${target.group ? `.${target.group}` : ""}/${target.version}`
      : `${target.kind}.${target.apiVersion}`;
  const parts = [what];
  if (scope.namespace) parts.push(`ns=${scope.namespace}`);
  if (scope.labelSelector) parts.push(`labels=${scope.labelSelector}`);
  if (scope.fieldSelector) parts.push(`fields=${scope.fieldSelector}`);
  return parts.join(" ");
}

export class SharedInformer<T extends KubernetesObject = KubernetesObject> {
  /** For logs and metrics: the resource and scope, e.g. "configmaps/v1 ns=apps". */
  readonly description: string;

  private readonly store = new Map<string, T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private readonly indexers = new Map<string, (object: T) => string[]>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;
  private readonly pageSize: number;
  private readonly watchTimeoutSeconds: number;
  private readonly metrics: { listed(): void; watched(): void };

  private resourceVersion = "";
  private synced = false;
  private syncWaiters: ((synced: boolean) => void)[] = [];
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private apiVersion = "";
  private kind = "";

  constructor(
    private readonly client: InformerClient,
    readonly target: ResourceTarget,
    readonly scope: InformerScope = {},
    settings: InformerSettings = {},
  ) {
    this.description = describeTarget(target, scope);
    this.clock = settings.clock ?? systemClock;
    this.log = (settings.log ?? pino({ level: "silent" })).child({ informer: this.description });
    this.random = settings.random ?? Math.random;
    this.backoffInitialMs = settings.backoff?.initialMs ?? 800;
    this.backoffMaxMs = Math.max(this.backoffInitialMs, settings.backoff?.maxMs ?? 30_000);
    this.pageSize = settings.pageSize ?? 500;
    this.watchTimeoutSeconds = settings.watchTimeoutSeconds ?? 300;
    this.metrics = settings.registry
      ? informerMetrics(settings.registry, settings.cluster ?? client.name ?? "", this.description)
      : { listed: () => undefined, watched: () => undefined };
    this.addIndex(NAMESPACE_INDEX, (object) => [object.metadata?.namespace ?? ""]);
    if ("kind" in target) {
      this.apiVersion = target.apiVersion;
      this.kind = target.kind;
    }
  }

  /** Starts listing and watching in the background. Calling it again does nothing. */
  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
  }

  /** Stops watching; the cache keeps its last contents. Waiters for sync get `false`. */
  async stop(): Promise<void> {
    this.abort?.abort();
    const running = this.running;
    this.running = undefined;
    await running;
    this.resolveSync(false);
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  /** True once the first list has been stored (client-go's `HasSynced`). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true when synced, false if the informer stops or `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      const waiter = (synced: boolean) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(synced);
      };
      this.syncWaiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The resourceVersion the next watch resumes from ("" before the first list). */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  /**
   * Subscribes to changes. Objects already cached are delivered to the new handler as adds
   * first, as client-go's `AddEventHandler` does, so late subscribers miss nothing.
   */
  addHandler(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    if (handlers.onAdd) for (const object of this.store.values()) this.call(() => handlers.onAdd?.(object));
    return () => this.handlers.delete(handlers);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(keyOf(namespace, name));
  }

  /** By `namespace/name` key (or `name` for cluster-scoped objects). */
  getByKey(key: string): T | undefined {
    return this.store.get(key);
  }

  /** Cached objects, of one namespace when given, in key order. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.byIndex(NAMESPACE_INDEX, namespace);
    return this.keys().map((key) => this.store.get(key)!);
  }

  keys(): string[] {
    return [...this.store.keys()].sort();
  }

  get size(): number {
    return this.store.size;
  }

  /**
   * Adds a secondary index (client-go's `Indexers`): `byIndex(name, value)` then returns the
   * objects for which `indexer` yields `value`, e.g. ReplicaSets by owner uid.
   */
  addIndex(name: string, indexer: (object: T) => string[]): void {
    this.indexers.set(name, indexer);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [key, object] of this.store) for (const value of indexer(object)) addTo(index, value, key);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`informer ${this.description} has no index "${name}"`);
    const keys = [...(index.get(value) ?? [])].sort();
    return keys.map((k) => this.store.get(k)!).filter(Boolean);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let delayMs = 0;
    let failures = 0;
    while (!signal.aborted) {
      if (delayMs > 0) await sleep(this.clock, delayMs, signal);
      if (signal.aborted) break;
      let useful = false;
      let delivered = 0;
      const started = this.clock.now();
      try {
        const path = await this.collectionPath();
        if (!this.resourceVersion) await this.relist(path, signal);
        await this.watch(path, signal, () => delivered++);
        useful = delivered > 0 || this.clock.now() - started >= MIN_USEFUL_WATCH_MS;
        if (!useful) this.log.debug("watch ended at once without events");
      } catch (error) {
        if (signal.aborted) break;
        useful = delivered > 0;
        if (isGone(error)) {
          this.log.info(
            { resourceVersion: this.resourceVersion },
            "resourceVersion expired (410 Gone); relisting",
          );
          this.resourceVersion = "";
        } else {
          this.log.warn({ err: error, resourceVersion: this.resourceVersion }, "list/watch failed; retrying");
        }
      }
      failures = useful ? 0 : failures + 1;
      // The first failure after a good run retries at once (a routine 410 or a closed stream);
      // from the second on, waits grow from `initialMs` to `maxMs`.
      delayMs = failures <= 1 ? 0 : this.backoffDelay(failures - 1);
    }
  }

  /** initial · 2^(n-1), capped, minus up to half at random so informers do not reconnect in step. */
  private backoffDelay(n: number): number {
    const delay = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** (n - 1));
    return delay - delay * 0.5 * this.random();
  }

  private async collectionPath(): Promise<string> {
    const target = this.target;
    if ("resource" in target) {
      if (!this.apiVersion) this.apiVersion = apiVersionOf(target.group, target.version);
      return resourcePath(target, this.scope.namespace);
    }
    const info = await this.client.discovery.forKind(target.apiVersion, target.kind);
    return resourcePath(info, this.scope.namespace);
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.scope.labelSelector, fieldSelector: this.scope.fieldSelector };
  }

  /** Lists page by page and replaces the cache, telling handlers what changed. */
  private async relist(path: string, signal: AbortSignal): Promise<void> {
    this.metrics.listed();
    let items: T[] = [];
    let resourceVersion = "";
    let token: string | undefined;
    let paginate = true;
    for (;;) {
      let page: ListBody<T>;
      try {
        page = await this.client.request<ListBody<T>>("GET", path, {
          query: { ...this.selectors(), ...(paginate ? { limit: this.pageSize, continue: token } : {}) },
          signal,
        });
      } catch (error) {
        // An expired continue token: list again in one piece, as client-go's pager falls back to.
        if (token && isGone(error)) {
          items = [];
          token = undefined;
          paginate = false;
          continue;
        }
        throw error;
      }
      if (!this.kind && page.kind) this.kind = page.kind.replace(/List$/, "");
      if (page.apiVersion) this.apiVersion ||= page.apiVersion;
      for (const item of page.items ?? []) items.push(this.typed(item));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      token = page.metadata?.continue || undefined;
      if (!token) break;
    }
    this.replace(items);
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.log.debug({ objects: this.store.size, resourceVersion }, "synced");
      this.resolveSync(true);
    }
  }

  private replace(items: T[]): void {
    const fresh = new Map<string, T>();
    for (const item of items) fresh.set(objectKey(item), item);
    for (const [key, old] of [...this.store]) {
      if (fresh.has(key)) continue;
      this.remove(key);
      this.emit((h) => h.onDelete?.(old));
    }
    for (const [key, object] of fresh) {
      const old = this.store.get(key);
      this.put(key, object, old);
      if (!old) this.emit((h) => h.onAdd?.(object));
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        this.emit((h) => h.onUpdate?.(old, object));
      }
    }
  }

  private async watch(path: string, signal: AbortSignal, delivered: () => void): Promise<void> {
    this.metrics.watched();
    const timeout = Math.floor(this.watchTimeoutSeconds * (1 + this.random()));
    await this.client.watch(
      path,
      {
        ...this.selectors(),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: timeout,
      },
      (event) => {
        this.onEvent(event as WatchEvent<T>, path);
        delivered();
      },
      signal,
    );
  }

  private onEvent(event: WatchEvent<T>, path: string): void {
    if (event.type === "ERROR") {
      const status = event.object as { code?: number };
      throw apiException("WATCH", path, status.code ?? 500, event.object);
    }
    const object = this.typed(event.object);
    const resourceVersion = object.metadata?.resourceVersion;
    if (event.type === "BOOKMARK") {
      if (resourceVersion) this.resourceVersion = resourceVersion;
      return;
    }
    const key = objectKey(object);
    const old = this.store.get(key);
    if (event.type === "DELETED") {
      if (old) {
        this.remove(key);
        this.emit((h) => h.onDelete?.(object));
      }
    } else {
      this.put(key, object, old);
      if (!old) this.emit((h) => h.onAdd?.(object));
      else if (old.metadata?.resourceVersion !== resourceVersion) this.emit((h) => h.onUpdate?.(old, object));
    }
    if (resourceVersion) this.resourceVersion = resourceVersion;
  }

  /** List items come without apiVersion and kind; give them the collection's. */
  private typed(object: T): T {
    if (object.apiVersion && object.kind) {
      this.kind ||= object.kind;
      return object;
    }
    const apiVersion = object.apiVersion || this.apiVersion || undefined;
    const kind = object.kind || this.kind || undefined;
    return { ...object, ...(apiVersion ? { apiVersion } : {}), ...(kind ? { kind } : {}) };
  }

  private put(key: string, object: T, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.store.set(key, object);
    for (const [name, indexer] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const value of indexer(object)) addTo(index, value, key);
    }
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.delete(key);
  }

  private unindex(key: string, object: T): void {
    for (const [name, indexer] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const value of indexer(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private emit(deliver: (handlers: InformerHandlers<T>) => void): void {
    for (const handlers of this.handlers) this.call(() => deliver(handlers));
  }

  /** A throwing handler is logged; it must not break the cache or the other handlers. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, "informer event handler threw");
    }
  }

  private resolveSync(synced: boolean): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const waiter of waiters) waiter(synced);
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) {
    keys = new Set();
    index.set(value, keys);
  }
  keys.add(key);
}

function informerMetrics(
  registry: Registry,
  cluster: string,
  resource: string,
): { listed(): void; watched(): void } {
  const lists = registerOnce(
    registry,
    "slipway_informer_lists_total",
    () =>
      new Counter({
        name: "slipway_informer_lists_total",
        help: "Full lists by informers (the first one, then one per 410 Gone)",
        labelNames: ["cluster", "resource"],
        registers: [registry],
      }),
  ).labels({ cluster, resource });
  const watches = registerOnce(
    registry,
    "slipway_informer_watches_total",
    () =>
      new Counter({
        name: "slipway_informer_watches_total",
        help: "Watch streams opened by informers",
        labelNames: ["cluster", "resource"],
        registers: [registry],
      }),
  ).labels({ cluster, resource });
  return { listed: () => lists.inc(), watched: () => watches.inc() };
}
