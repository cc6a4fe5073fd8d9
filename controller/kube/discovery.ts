/**
 * Kind → resource mapping from the API server's discovery documents, cached per group/version
 * like client-go's memory-cached discovery + `DeferredDiscoveryRESTMapper`: a kind that is not
 * in the cached document triggers one re-discovery of its group/version (a CRD may have been
 * installed since), at most once per `missTtlMs`, so an unknown kind does not cost a request on
 * every reconcile.
 */
import { type Clock, systemClock } from "../queue/clock.js";
import { isNotFound } from "./errors.js";
import type { KubeRequester } from "./requester.js";
import {
  apiVersionOf,
  type GroupVersionResource,
  groupVersionPath,
  type ResourceInfo,
  splitApiVersion,
} from "./resource.js";

/** No resource of this kind is served in this group/version (client-go's `NoKindMatchError`). */
export class UnknownKindError extends Error {
  override readonly name = "UnknownKindError";
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`no matches for kind "${kind}" in version "${apiVersion}"`);
  }
}

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
}

interface ApiResourceList {
  groupVersion?: string;
  resources?: ApiResource[];
}

interface CacheEntry {
  fetchedAt: number;
  /** Undefined when the group/version is not served at all (404). */
  resources: ResourceInfo[] | undefined;
}

export interface DiscoveryOptions {
  clock?: Clock;
  /** Minimum time between re-discoveries of one group/version caused by misses. Default 1000 ms. */
  missTtlMs?: number;
}

export class Discovery {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly clock: Clock;
  private readonly missTtlMs: number;

  constructor(
    private readonly requester: KubeRequester,
    options: DiscoveryOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.missTtlMs = options.missTtlMs ?? 1000;
  }

  /** The resource serving `kind` in `apiVersion`; throws `UnknownKindError` when none does. */
  async forKind(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const found = await this.find(apiVersion, (r) => r.kind === kind);
    if (!found) throw new UnknownKindError(apiVersion, kind);
    return found;
  }

  /** What discovery knows of a group/version/resource; throws `UnknownKindError` when not served. */
  async forResource(gvr: GroupVersionResource): Promise<ResourceInfo> {
    const apiVersion = apiVersionOf(gvr.group, gvr.version);
    const found = await this.find(apiVersion, (r) => r.resource === gvr.resource);
    if (!found) throw new UnknownKindError(apiVersion, gvr.resource);
    return found;
  }

  /** Every top-level resource of a group/version (empty when the group/version is not served). */
  async resources(apiVersion: string): Promise<ResourceInfo[]> {
    return (await this.entry(apiVersion, false)).resources ?? [];
  }

  /** Forgets one group/version, or everything. */
  invalidate(apiVersion?: string): void {
    if (apiVersion === undefined) this.cache.clear();
    else this.cache.delete(apiVersion);
  }

  private async find(
    apiVersion: string,
    match: (r: ResourceInfo) => boolean,
  ): Promise<ResourceInfo | undefined> {
    const cached = await this.entry(apiVersion, false);
    const hit = cached.resources?.find(match);
    if (hit) return hit;
    // A miss: the document may predate a CRD install; look again unless we just did.
    if (this.clock.now() - cached.fetchedAt < this.missTtlMs) return undefined;
    return (await this.entry(apiVersion, true)).resources?.find(match);
  }

  private async entry(apiVersion: string, refresh: boolean): Promise<CacheEntry> {
    const cached = this.cache.get(apiVersion);
    if (cached && !refresh) return cached;
    let pending = this.inflight.get(apiVersion);
    if (!pending) {
      pending = this.fetch(apiVersion).finally(() => this.inflight.delete(apiVersion));
      this.inflight.set(apiVersion, pending);
    }
    return pending;
  }

  private async fetch(apiVersion: string): Promise<CacheEntry> {
    const { group, version } = splitApiVersion(apiVersion);
    const fetchedAt = this.clock.now();
    let list: ApiResourceList;
    try {
      list = await this.requester.request<ApiResourceList>("GET", groupVersionPath(group, version));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const entry: CacheEntry = { fetchedAt, resources: undefined };
      this.cache.set(apiVersion, entry);
      return entry;
    }
    const subresources = new Map<string, string[]>();
    const resources: ResourceInfo[] = [];
    for (const r of list.resources ?? []) {
      const slash = r.name.indexOf("/");
      if (slash >= 0) {
        const parent = r.name.slice(0, slash);
        subresources.set(parent, [...(subresources.get(parent) ?? []), r.name.slice(slash + 1)]);
        continue;
      }
      resources.push({
        group,
        version,
        resource: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        subresources: [],
      });
    }
    for (const r of resources) r.subresources = subresources.get(r.resource) ?? [];
    const entry: CacheEntry = { fetchedAt, resources };
    this.cache.set(apiVersion, entry);
    return entry;
  }
}
