/**
 * Rendered manifests, kept in memory per repository + commit + source parameters, so a resync of
 * an unchanged app neither checks out nor re-renders anything (Argo CD keeps the same cache in its
 * repo-server, for 24 h). A commit is immutable, so an entry never goes stale; entries leave by
 * least-recent use. Failures are cached briefly too (a broken commit stays broken, but a missing
 * tool may be installed), so an app in error retrying with backoff does not render again and again.
 *
 * Only Helm reads the app's name and destination namespace (release name, `--namespace`), so a
 * directory, Kustomize or Jsonnet render is also kept under a key without them and shared by every
 * app of the same source: an ApplicationSet's 500 apps of one path render once, not 500 times.
 * The duplicate check, which does depend on the destination namespace, runs again per request.
 */
import { createHash } from "node:crypto";
import type { ApplicationSource } from "../../api/v1alpha1/application.js";
import { assertNoDuplicates } from "./render/manifests.js";
import { render } from "./render/render.js";
import type { RenderOptions, RenderResult } from "./render/types.js";
import { normalizeRepoURL, type RepoCache } from "./source/repo-cache.js";

export interface RenderRequest {
  source: ApplicationSource;
  sha: string;
  /** Helm's release name default. */
  appName: string;
  /** The destination namespace (Helm's --namespace, duplicate checks). */
  namespace?: string;
}

interface Entry {
  result?: RenderResult;
  error?: unknown;
  at: number;
}

export interface RenderCacheOptions {
  repoCache: RepoCache;
  renderOptions?: Omit<RenderOptions, "appName" | "namespace">;
  /** Entries kept. Default 512. */
  maxEntries?: number;
  /** How long a failed render is remembered. Default 30 s. */
  errorTtlMs?: number;
  now?: () => number;
}

export class RenderCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<RenderResult>>();
  private readonly maxEntries: number;
  private readonly errorTtlMs: number;
  private readonly now: () => number;
  /** Renders actually run (cache misses), for tests and benchmarks. */
  renders = 0;

  constructor(private readonly options: RenderCacheOptions) {
    this.maxEntries = options.maxEntries ?? 512;
    this.errorTtlMs = options.errorTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** The cache key: everything that can change the output. */
  keyOf(req: RenderRequest): string {
    return this.key(req, [req.appName, req.namespace ?? ""]);
  }

  /** The key of a render that does not depend on the app's name and namespace (not Helm). */
  private sharedKeyOf(req: RenderRequest): string {
    return `${this.key(req, [])}:any-app`;
  }

  private key(req: RenderRequest, app: string[]): string {
    const { repoURL: _r, targetRevision: _t, ...params } = req.source;
    const hash = createHash("sha256")
      .update(JSON.stringify([params, ...app]))
      .digest("hex")
      .slice(0, 16);
    return `${normalizeRepoURL(req.source.repoURL)}@${req.sha}:${hash}`;
  }

  /** The rendered manifests (throws the render's typed error). `fresh` skips the cache (hard refresh). */
  async render(req: RenderRequest, options: { fresh?: boolean } = {}): Promise<RenderResult> {
    const sharedKey = this.sharedKeyOf(req);
    const shared = options.fresh ? undefined : this.entries.get(sharedKey)?.result;
    if (shared) {
      this.store(sharedKey, { result: shared, at: this.now() });
      assertNoDuplicates(
        shared.objects.map((object, i) => ({ object, origin: shared.origins[i]! })),
        req.namespace,
      );
      return shared;
    }
    const key = this.keyOf(req);
    const hit = options.fresh ? undefined : this.entries.get(key);
    if (hit) {
      if (hit.result) {
        this.entries.delete(key);
        this.entries.set(key, hit);
        return hit.result;
      }
      if (this.now() - hit.at < this.errorTtlMs) throw hit.error;
    }
    let job = this.inflight.get(key);
    if (!job) {
      job = this.run(req)
        .then(
          (result) => {
            this.store(key, { result, at: this.now() });
            if (result.type !== "Helm") this.store(sharedKey, { result, at: this.now() });
            return result;
          },
          (error: unknown) => {
            this.store(key, { error, at: this.now() });
            throw error;
          },
        )
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, job);
    }
    return job;
  }

  private async run(req: RenderRequest): Promise<RenderResult> {
    this.renders += 1;
    const dir = await this.options.repoCache.checkout(req.source.repoURL, req.sha);
    return render(req.source, dir, {
      ...this.options.renderOptions,
      appName: req.appName,
      ...(req.namespace ? { namespace: req.namespace } : {}),
    });
  }

  private store(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
