/**
 * The sandbox's storage: objects by collection, one monotonic resourceVersion, and a bounded
 * log of changes from which watches resume. Stored objects are never mutated in place: every
 * write stores a new object, so the log can hold references safely.
 */
import type { KubeObject, WatchEventType } from "./types.js";

export interface LoggedEvent {
  rv: number;
  /** Collection key: "<group>/<plural>". */
  collection: string;
  type: Exclude<WatchEventType, "BOOKMARK" | "ERROR">;
  object: KubeObject;
}

export type StoreListener = (event: LoggedEvent) => void;

export const collectionKey = (group: string, plural: string) => `${group}/${plural}`;
export const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

export class ObjectStore {
  private readonly collections = new Map<string, Map<string, KubeObject>>();
  /** Sorted keys per collection, rebuilt lazily after a change (lists are far more frequent than they look). */
  private readonly sortedKeys = new Map<string, string[]>();
  private readonly log: LoggedEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  /** owner uid → keys "<collection>|<objectKey>" of dependents, for garbage collection. */
  private readonly dependents = new Map<string, Set<string>>();
  private revision: number;

  constructor(
    private readonly logCapacity = 50_000,
    initialRevision = 1,
  ) {
    this.revision = initialRevision;
  }

  get currentRevision(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch can resume from without a 410. */
  get oldestResumableRevision(): number {
    return this.log.length > 0 ? this.log[0]!.rv - 1 : this.revision;
  }

  nextRevision(): number {
    this.revision += 1;
    return this.revision;
  }

  collection(key: string): Map<string, KubeObject> {
    let c = this.collections.get(key);
    if (!c) {
      c = new Map();
      this.collections.set(key, c);
    }
    return c;
  }

  get(collection: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.collections.get(collection)?.get(objectKey(namespace, name));
  }

  /** Objects of a collection, optionally in one namespace, sorted by namespace/name (stable paging). */
  list(collection: string, namespace?: string): KubeObject[] {
    const c = this.collections.get(collection);
    if (!c) return [];
    let keys = this.sortedKeys.get(collection);
    if (!keys) {
      keys = [...c.keys()].sort();
      this.sortedKeys.set(collection, keys);
    }
    const out: KubeObject[] = [];
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    for (const key of keys) {
      if (prefix === undefined || key.startsWith(prefix)) out.push(c.get(key)!);
    }
    return out;
  }

  collectionKeys(): string[] {
    return [...this.collections.keys()];
  }

  /** Stores a new version of an object (its metadata.resourceVersion already set) and logs the change. */
  put(collection: string, object: KubeObject, type: "ADDED" | "MODIFIED"): void {
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    const c = this.collection(collection);
    const previous = c.get(key);
    if (previous) this.unindexOwners(collection, key, previous);
    else this.sortedKeys.delete(collection);
    c.set(key, object);
    this.indexOwners(collection, key, object);
    this.append({ rv: Number(object.metadata.resourceVersion), collection, type, object });
  }

  remove(collection: string, object: KubeObject): void {
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    const c = this.collections.get(collection);
    const previous = c?.get(key);
    if (!c || !previous) return;
    c.delete(key);
    this.sortedKeys.delete(collection);
    this.unindexOwners(collection, key, previous);
    this.append({ rv: Number(object.metadata.resourceVersion), collection, type: "DELETED", object });
  }

  /** Drops a whole collection without logging (a CRD was deleted after its objects were). */
  dropCollection(collection: string): void {
    this.collections.delete(collection);
    this.sortedKeys.delete(collection);
  }

  /** Keys "<collection>|<ns>/<name>" of the objects that list `uid` among their owners. */
  dependentsOf(uid: string): { collection: string; object: KubeObject }[] {
    const keys = this.dependents.get(uid);
    if (!keys) return [];
    const out: { collection: string; object: KubeObject }[] = [];
    for (const k of keys) {
      const [collection, key] = k.split("|") as [string, string];
      const object = this.collections.get(collection)?.get(key);
      if (object) out.push({ collection, object });
    }
    return out;
  }

  /** Events after `rv` in one collection (or all), or undefined when the log no longer reaches back that far. */
  eventsSince(rv: number, collection?: string): LoggedEvent[] | undefined {
    if (rv < this.oldestResumableRevision) return undefined;
    // The log is ordered by rv: binary search for the first event after rv.
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const tail = this.log.slice(lo);
    return collection ? tail.filter((e) => e.collection === collection) : tail;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every stored object, for snapshots. */
  *all(): Generator<{ collection: string; object: KubeObject }> {
    for (const [collection, c] of this.collections) {
      for (const object of c.values()) yield { collection, object };
    }
  }

  /** Loads objects from a snapshot without logging events. */
  restore(collection: string, object: KubeObject): void {
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    this.collection(collection).set(key, object);
    this.sortedKeys.delete(collection);
    this.indexOwners(collection, key, object);
  }

  private append(event: LoggedEvent): void {
    this.log.push(event);
    if (this.log.length > this.logCapacity) {
      // Drop the oldest tenth at once so trimming stays amortised O(1).
      this.log.splice(0, Math.ceil(this.logCapacity / 10));
    }
    for (const listener of this.listeners) listener(event);
  }

  private indexOwners(collection: string, key: string, object: KubeObject): void {
    for (const ref of object.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(ref.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(ref.uid, set);
      }
      set.add(`${collection}|${key}`);
    }
  }

  private unindexOwners(collection: string, key: string, object: KubeObject): void {
    for (const ref of object.metadata.ownerReferences ?? []) {
      const set = this.dependents.get(ref.uid);
      set?.delete(`${collection}|${key}`);
      if (set?.size === 0) this.dependents.delete(ref.uid);
    }
  }
}
