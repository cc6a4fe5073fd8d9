/**
 * Writing Applications: status through the `/status` subresource, `operation`, annotations and
 * finalizers through the main resource, always as JSON merge patches carrying the
 * resourceVersion the change was computed from, so a concurrent write (a `slipway app sync`, a
 * terminate request) is never overwritten: the API server answers 409 and the reconcile runs again
 * on fresh data.
 *
 * It also keeps the informer cache from being read stale right after our own writes (client-go
 * controllers use "expectations" for the same reason). A reconcile that follows a write may start
 * before the watch delivers that write; `current()` then returns the object the write returned.
 * This memory only bridges that gap: a fresh process has none and needs none.
 */
import type { Application, ApplicationStatus } from "../../api/v1alpha1/application.js";
import type { DynamicClient } from "../kube/dynamic-client.js";
import { keyOf, splitKey } from "../kube/resource.js";
import { createMergePatch, jsonEqual } from "./merge-patch.js";
import type { ObjectCache } from "./object-cache.js";

interface Written {
  /** resourceVersions the cache may still show that are older than `latest`. */
  superseded: Set<string>;
  latest: Application;
}

export class AppWriter {
  private readonly written = new Map<string, Written>();
  /** Writes sent, for tests and benchmarks. */
  writes = 0;

  constructor(
    private readonly dynamic: DynamicClient,
    private readonly apps: ObjectCache<Application>,
  ) {}

  /** The newest known version of the app: the cache's, or our last write's if the cache lags behind it. */
  current(key: string): Application | undefined {
    const { namespace, name } = splitKey(key);
    const cached = this.apps.get(namespace, name);
    const mine = this.written.get(key);
    if (!mine) return cached;
    const rv = cached?.metadata?.resourceVersion;
    if (cached && rv !== undefined && mine.superseded.has(rv)) return mine.latest;
    // The cache caught up (or someone wrote after us): it is the truth again.
    this.written.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** Writes `status` if it differs from the app's; returns the app as stored. */
  async writeStatus(app: Application, status: ApplicationStatus): Promise<Application> {
    const patch = createMergePatch(app.status ?? {}, status);
    if (patch === undefined) return app;
    return this.send(
      app,
      { metadata: { resourceVersion: app.metadata.resourceVersion }, status: patch },
      "status",
    );
  }

  /** Merge-patches the main resource (operation, annotations, finalizers) with a resourceVersion precondition. */
  async patch(app: Application, patch: Record<string, unknown>): Promise<Application> {
    const meta = (patch.metadata ?? {}) as Record<string, unknown>;
    return this.send(app, { ...patch, metadata: { ...meta, resourceVersion: app.metadata.resourceVersion } });
  }

  private async send(
    app: Application,
    body: Record<string, unknown>,
    subresource?: string,
  ): Promise<Application> {
    this.writes += 1;
    const updated = (await this.dynamic.patch(
      {
        apiVersion: app.apiVersion,
        kind: app.kind,
        name: app.metadata.name!,
        namespace: app.metadata.namespace!,
      },
      body,
      "merge",
      subresource ? { subresource } : {},
    )) as unknown as Application;
    const key = keyOf(app.metadata.namespace, app.metadata.name!);
    const entry = this.written.get(key) ?? { superseded: new Set<string>(), latest: updated };
    const before = app.metadata.resourceVersion;
    if (before && before !== updated.metadata.resourceVersion) entry.superseded.add(before);
    entry.latest = updated;
    entry.superseded.delete(updated.metadata.resourceVersion ?? "");
    this.written.set(key, entry);
    return updated;
  }
}

/** Status equality that ignores `reconciledAt` (a timestamp alone is never worth a write). */
export function sameStatus(a: ApplicationStatus | undefined, b: ApplicationStatus | undefined): boolean {
  const { reconciledAt: _a, ...ra } = a ?? {};
  const { reconciledAt: _b, ...rb } = b ?? {};
  return jsonEqual(ra, rb);
}
