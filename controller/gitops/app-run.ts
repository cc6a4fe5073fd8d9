/**
 * One reconcile of one Application (the "context object per reconcile" of STYLE.md 2): it reads
 * the app, its project and the live state from caches, resolves and renders the source (both
 * cached), compares, runs or starts an operation, and writes the status once at the end — only
 * when something other than `reconciledAt` changed. A resync of an unchanged app therefore makes
 * no API request and no write.
 *
 * `reconciledAt` moves only with a write: it says when the status last changed, or when a refresh
 * was asked for (the `refresh` annotation forces a write and is removed afterwards), not when the
 * controller last looked. Rewriting every status every resync just to move a timestamp would cost
 * one write per app per resync (and wake every watcher of Applications) for no information.
 */

import { performance } from "node:perf_hooks";
import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../api/json.js";
import type {
  Application,
  ApplicationCondition,
  ApplicationDestination,
  ApplicationSource,
  ApplicationStatus,
  OperationPhase,
} from "../../api/v1alpha1/application.js";
import type { AppProject } from "../../api/v1alpha1/appproject.js";
import { UnknownKindError } from "../kube/discovery.js";
import { keyOf } from "../kube/resource.js";
import type { ReconcileContext, ReconcileResult } from "../runtime/reconciler.js";
import type { AppDeps, AppMemo } from "./app-deps.js";
import { type CompareResult, compareAppState, type DesiredResource } from "./app-state.js";
import { sameStatus } from "./app-writer.js";
import { decideAutoSync } from "./auto-sync.js";
import type { Target, TargetResult } from "./cluster-targets.js";
import { buildDesiredState, type DesiredState } from "./desired-state.js";
import type { KubeObject } from "./diff/object.js";
import { resourceKey } from "./diff/object.js";
import { type KindRef, kindKey } from "./live-state.js";
import { type OperationHost, type OperationSettings, processOperation } from "./operation.js";
import { destinationViolation, resourceViolations, sourceViolation } from "./project.js";
import type { RenderResult } from "./render/types.js";
import { ANNOTATION_SPELLINGS, readAnnotation } from "./sync/annotations.js";
import { parseSyncOptions } from "./sync/options.js";
import { trackingAppOf } from "./sync/tracking.js";

/** A comparison that could not be made: the condition says why; the live state is left alone. */
export class ComparisonFailedError extends Error {
  override readonly name = "ComparisonFailedError";
}

type Comparison =
  | {
      ok: true;
      source: ApplicationSource;
      sha: string;
      desired: DesiredState;
      result: CompareResult;
      render: RenderResult;
    }
  | {
      ok: false;
      type: "InvalidSpecError" | "ComparisonError";
      message: string;
      source?: ApplicationSource;
      /** The destination cluster is unknown or unreachable: health is Unknown too. */
      clusterProblem?: boolean;
      /** Look again after this long instead of the queue's backoff (a cluster's check interval). */
      retryAfterMs?: number;
    };

/** How often an app whose comparison fails asks Git for refs again while it retries. */
const ERROR_REF_CHECK_MS = 5_000;

/** Desired states per render result and destination cluster + namespace (weak: they leave with the render cache). */
const desiredCache = new WeakMap<RenderResult, Map<string, Promise<DesiredState>>>();

function secondsTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}

function apiVersionOf(group: string | undefined, version: string | undefined): string | undefined {
  if (!version) return undefined;
  return group ? `${group}/${version}` : version;
}

export class AppRun implements OperationHost {
  app: Application;
  readonly status: ApplicationStatus;
  readonly name: string;
  readonly key: string;
  private readonly initial: ApplicationStatus | undefined;
  private readonly memo: AppMemo;
  /** Objects written during this reconcile (undefined: deleted), newer than the informers' copies. */
  private readonly overlay = new Map<string, KubeObject | undefined>();
  private desiredKinds: KindRef[] = [];
  /** This reconcile's comparison, and the overlay size it last reflected. */
  private cmp: Comparison | undefined;
  private resolved: TargetResult | undefined;
  private overlayVersion = 0;
  private comparedOverlay = 0;

  constructor(
    private readonly deps: AppDeps,
    app: Application,
    private readonly ctx: ReconcileContext,
  ) {
    this.app = app;
    this.name = app.metadata.name!;
    this.key = keyOf(app.metadata.namespace, this.name);
    this.initial = app.status;
    this.status = cloneJson(app.status ?? {});
    this.memo = deps.memo(this.key);
  }

  // ---- OperationHost -------------------------------------------------------------------------

  get dynamic() {
    return this.target.client.dynamic;
  }

  /** The destination cluster, resolved once per reconcile (a map read: never waits on the cluster). */
  targetResult(): TargetResult {
    this.resolved ??= this.deps.targets.resolve(this.app.spec.destination);
    return this.resolved;
  }

  destinationProblem(): string | undefined {
    const result = this.targetResult();
    return result.ok ? undefined : result.message;
  }

  /** The destination cluster; throws (naming the cluster and why) when it cannot be used. */
  get target(): Target {
    const result = this.targetResult();
    if (!result.ok) throw new Error(result.message);
    return result.target;
  }

  get settings(): OperationSettings {
    return this.deps.settings;
  }

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  get log() {
    return this.ctx.log;
  }

  now(): number {
    return this.ctx.clock.now();
  }

  async flush(force = false): Promise<void> {
    if (!force && sameStatus(this.app.status, this.status)) return;
    this.status.reconciledAt = secondsTimestamp(this.now());
    this.app = await this.deps.writer.writeStatus(this.app, this.status);
  }

  async patchApp(patch: Record<string, unknown>): Promise<void> {
    this.app = await this.deps.writer.patch(this.app, patch);
  }

  async resolve(source: ApplicationSource, revision: string | undefined): Promise<string> {
    // An operation syncs what the ref names now: a user who pushed and synced expects that commit.
    return (await this.deps.repoCache.resolve(source.repoURL, revision, { refresh: true })).sha;
  }

  async desiredAt(
    source: ApplicationSource,
    sha: string,
    options: { fresh?: boolean } = {},
  ): Promise<DesiredState> {
    const namespace = this.app.spec.destination.namespace ?? "";
    const render = await this.deps.renders.render({ source, sha, appName: this.name, namespace }, options);
    const target = this.target;
    let byNamespace = desiredCache.get(render);
    if (!byNamespace) {
      byNamespace = new Map();
      desiredCache.set(render, byNamespace);
    }
    // Scopes come from the destination's discovery: clusters may differ in their CRDs.
    const cacheKey = `${target.server} ${namespace}`;
    let state = byNamespace.get(cacheKey);
    if (!state) {
      const discovery = target.client.discovery;
      state = buildDesiredState(render, namespace || undefined, {
        namespaced: async (k) => (await discovery.forKind(k.apiVersion, k.kind)).namespaced,
      });
      byNamespace.set(cacheKey, state);
      state.catch(() => byNamespace.delete(cacheKey));
    }
    return state;
  }

  async liveObjects(desired: DesiredState): Promise<KubeObject[]> {
    const kinds = await this.kindsFor(desired);
    const live = this.target.live;
    await live.ensure(kinds, this.signal);
    const byKey = new Map<string, KubeObject>();
    for (const o of live.trackedBy(this.name, kinds)) byKey.set(resourceKey(o), o);
    for (const d of desired.resources) {
      if (byKey.has(d.key)) continue;
      const o = live.get(d.kind, d.object.metadata?.namespace, d.object.metadata?.name ?? "");
      if (o) byKey.set(d.key, o);
    }
    const ns = this.app.spec.destination.namespace;
    if (ns && this.createsNamespace()) {
      const o = live.get({ apiVersion: "v1", kind: "Namespace" }, undefined, ns);
      if (o) byKey.set(resourceKey(o), o);
    }
    for (const [key, o] of this.overlay) {
      if (o) byKey.set(key, o);
      else byKey.delete(key);
    }
    return [...byKey.values()];
  }

  inSyncAt(source: ApplicationSource, sha: string): Set<string> | undefined {
    const last = this.memo.lastCompare;
    return last && last.sha === sha && last.source === JSON.stringify(source) ? last.inSync : undefined;
  }

  applied(key: string, object: KubeObject | undefined): void {
    this.overlay.set(key, object);
    this.overlayVersion += 1;
  }

  async beforeFinalWrite(): Promise<void> {
    const cmp = this.cmp;
    if (!cmp?.ok || this.overlayVersion === this.comparedOverlay) return;
    this.cmp = { ...cmp, result: await this.compareLive(cmp.desired) };
    this.applyComparison(this.cmp);
    this.setConditions(this.cmp);
  }

  event(type: "Normal" | "Warning", reason: string, message: string): void {
    this.deps.recorder?.recordEvent(this.app as unknown as KubernetesObject, type, reason, message);
  }

  synced(phase: OperationPhase): void {
    this.deps.metrics.synced(this.app.metadata.namespace ?? "", this.name, phase);
  }

  // ---- the reconcile -------------------------------------------------------------------------

  async run(): Promise<ReconcileResult> {
    const refresh = readAnnotation(this.app.metadata.annotations, "refresh");
    // Any refresh asks Git again (a moved ref is seen at once); a hard one also renders afresh.
    const t0 = performance.now();
    let cmp = await this.compare(refresh !== undefined, refresh === "hard");
    this.applyComparison(cmp);
    this.cmp = cmp;
    const t1 = performance.now();

    let requeue: number | undefined;
    const later = (ms: number | undefined) => {
      if (ms !== undefined && ms > 0) requeue = requeue === undefined ? ms : Math.min(requeue, ms);
    };
    let outcome = await processOperation(this);
    later(outcome.requeueAfterMs);
    let changed = outcome.changedCluster;
    if (!outcome.active && cmp.ok) {
      const decision = decideAutoSync({
        app: this.app,
        revision: cmp.sha,
        source: cmp.source,
        outOfSync: cmp.result.outOfSync.length,
        requiresPruning: cmp.result.requiresPruning.length,
        resourceCount: cmp.result.resourceCount,
        now: this.now(),
        selfHealTimeoutMs: this.deps.settings.selfHealTimeoutMs,
      });
      if (decision.sync) {
        this.cmp = cmp;
        this.ctx.log.info({ revision: cmp.sha, selfHeal: decision.selfHeal }, decision.message);
        await this.patchApp({ operation: decision.operation });
        outcome = await processOperation(this);
        later(outcome.requeueAfterMs);
        changed ||= outcome.changedCluster;
      } else {
        later(decision.retryAfterMs);
        if (decision.reason) this.ctx.log.debug({ revision: cmp.sha }, decision.reason);
      }
    }
    cmp = this.cmp ?? cmp;
    if (changed && cmp.ok && this.overlayVersion !== this.comparedOverlay) {
      // Report what the sync just did, not the state before it.
      cmp = { ...cmp, result: await this.compareLive(cmp.desired) };
      this.applyComparison(cmp);
    }
    this.setConditions(cmp);
    const t2 = performance.now();
    await this.flush(refresh !== undefined);
    if (refresh !== undefined) {
      const annotations: Record<string, null> = {};
      for (const key of ANNOTATION_SPELLINGS.refresh) {
        if (this.app.metadata.annotations?.[key] !== undefined) annotations[key] = null;
      }
      await this.patchApp({ metadata: { annotations } });
    }
    this.report();
    this.ctx.log.debug(
      {
        compareMs: Math.round(t1 - t0),
        operationMs: Math.round(t2 - t1),
        writeMs: Math.round(performance.now() - t2),
        sync: this.status.sync?.status,
        phase: this.status.operationState?.phase,
      },
      "application reconciled",
    );
    if (!cmp.ok && cmp.retryAfterMs !== undefined) later(cmp.retryAfterMs);
    else if (!cmp.ok && cmp.type === "ComparisonError") throw new ComparisonFailedError(cmp.message);
    const { resyncMs, resyncJitter } = this.deps.settings;
    if (resyncMs > 0) later(Math.max(1, Math.round(resyncMs * (1 - resyncJitter * this.deps.random()))));
    return requeue === undefined ? {} : { requeueAfter: requeue };
  }

  /** Events on sync/health transitions, and the info gauge. */
  private report(): void {
    const before = this.initial;
    const after = this.status;
    const syncBefore = before?.sync?.status;
    const syncAfter = after.sync?.status;
    if (syncBefore !== undefined && syncAfter !== undefined && syncBefore !== syncAfter) {
      this.event("Normal", "ResourceUpdated", `Updated sync status: ${syncBefore} -> ${syncAfter}`);
    }
    const healthBefore = before?.health?.status;
    const healthAfter = after.health?.status;
    if (healthBefore !== undefined && healthAfter !== undefined && healthBefore !== healthAfter) {
      this.event("Normal", "ResourceUpdated", `Updated health status: ${healthBefore} -> ${healthAfter}`);
    }
    this.deps.metrics.info({
      namespace: this.app.metadata.namespace ?? "",
      name: this.name,
      project: this.app.spec.project ?? "",
      sync_status: syncAfter ?? "Unknown",
      health_status: healthAfter ?? "Unknown",
    });
  }

  private createsNamespace(): boolean {
    return parseSyncOptions(this.app.spec.syncPolicy?.syncOptions).options.createNamespace === true;
  }

  /** Kinds whose live objects matter: rendered ones, and those status or the operation recorded. */
  private async kindsFor(desired: DesiredState | undefined): Promise<KindRef[]> {
    const kinds = new Map<string, KindRef>();
    for (const k of desired?.kinds ?? this.desiredKinds) kinds.set(kindKey(k), k);
    const recorded = [
      ...(this.status.resources ?? []),
      ...(this.status.operationState?.syncResult?.resources ?? []),
    ];
    const discovery = this.target.client.discovery;
    for (const r of recorded) {
      const apiVersion = apiVersionOf(r.group, r.version);
      if (!apiVersion) continue;
      const k = { apiVersion, kind: r.kind };
      if (kinds.has(kindKey(k))) continue;
      try {
        await discovery.forKind(apiVersion, r.kind);
        kinds.set(kindKey(k), k);
      } catch (error) {
        if (!(error instanceof UnknownKindError)) throw error;
      }
    }
    if (this.createsNamespace()) kinds.set("v1/Namespace", { apiVersion: "v1", kind: "Namespace" });
    return [...kinds.values()];
  }

  /** Every kind this app may have live objects of (for deletion). */
  async managedKinds(): Promise<KindRef[]> {
    return this.kindsFor(undefined);
  }

  private invalid(message: string, source?: ApplicationSource): Comparison {
    return { ok: false, type: "InvalidSpecError", message, ...(source ? { source } : {}) };
  }

  private failed(message: string, source?: ApplicationSource): Comparison {
    this.memo.failing ??= { refsCheckedAt: 0 };
    return { ok: false, type: "ComparisonError", message, ...(source ? { source } : {}) };
  }

  /** The destination with the cluster's server and name filled, or why it cannot be used. */
  private destination(): ApplicationDestination | string {
    const result = this.targetResult();
    if (!result.ok) return result.message;
    const d = this.app.spec.destination;
    return {
      server: result.target.server,
      name: result.target.name,
      ...(d.namespace ? { namespace: d.namespace } : {}),
    };
  }

  /** Why the destination cluster cannot be compared with now: unknown (spec error) or down (retried). */
  private clusterProblem(source: ApplicationSource): Comparison | undefined {
    const result = this.targetResult();
    if (result.ok) return undefined;
    return {
      ok: false,
      type: result.reason === "Unavailable" ? "ComparisonError" : "InvalidSpecError",
      message: result.message,
      source,
      clusterProblem: true,
      ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
    };
  }

  /** The project and destination the app may use, or why it may not sync `source` (and `desired`). */
  private rules(
    source: ApplicationSource,
    desired?: DesiredState,
  ): { project: AppProject; destination: ApplicationDestination } | string {
    const destination = this.destination();
    if (typeof destination === "string") return destination;
    const projectName = this.app.spec.project || "default";
    const project = this.deps.projects.get(this.app.metadata.namespace, projectName);
    if (!project) return `application references project '${projectName}', which does not exist`;
    const refused = sourceViolation(project, source.repoURL) ?? destinationViolation(project, destination);
    if (refused) return refused;
    if (desired) {
      const violations = this.projectViolations(project, destination, desired.resources);
      if (violations.length > 0) return violations.join("; ");
    }
    return { project, destination };
  }

  refusal(source: ApplicationSource, desired: DesiredState): string | undefined {
    const rules = this.rules(source, desired);
    return typeof rules === "string" ? rules : undefined;
  }

  private async compare(refs: boolean, hard: boolean): Promise<Comparison> {
    const spec = this.app.spec;
    if (!spec.source && (spec.sources?.length ?? 0) > 1) {
      return this.invalid("multiple sources (spec.sources) are not supported yet; use spec.source");
    }
    const source = spec.source ?? spec.sources?.[0];
    if (!source?.repoURL) return this.invalid("spec.source.repoURL is required");
    const down = this.clusterProblem(source);
    if (down) return down;
    const rules = this.rules(source);
    if (typeof rules === "string") return this.invalid(rules, source);
    const { project, destination } = rules;

    // An app in error re-checks Git refs as it retries (at most every few seconds), so the commit
    // that fixes it is seen without waiting for the shared ref check's interval.
    const failing = this.memo.failing;
    const recheck =
      refs || (failing !== undefined && this.now() - failing.refsCheckedAt >= ERROR_REF_CHECK_MS);
    if (failing && recheck) failing.refsCheckedAt = this.now();
    let sha: string;
    try {
      sha = (await this.deps.repoCache.resolve(source.repoURL, source.targetRevision, { refresh: recheck }))
        .sha;
    } catch (error) {
      return this.failed(errorMessage(error), source);
    }
    let desired: DesiredState;
    let render: RenderResult;
    try {
      render = await this.deps.renders.render(
        { source, sha, appName: this.name, namespace: spec.destination.namespace ?? "" },
        { fresh: hard },
      );
      desired = await this.desiredAt(source, sha);
    } catch (error) {
      return this.failed(`manifests at ${sha.slice(0, 7)}: ${errorMessage(error)}`, source);
    }
    const violations = this.projectViolations(project, destination, desired.resources);
    if (violations.length > 0) return this.invalid(violations.join("; "), source);
    this.desiredKinds = desired.kinds;
    let result: CompareResult;
    try {
      result = await this.compareLive(desired);
    } catch (error) {
      this.deps.targets.suspect(this.target, error);
      return this.failed(`cannot read the live state of ${this.target.name}: ${errorMessage(error)}`, source);
    }
    this.memo.lastCompare = { source: JSON.stringify(source), sha, inSync: result.inSync };
    delete this.memo.failing;
    return { ok: true, source, sha, desired, result, render };
  }

  private projectViolations(
    project: AppProject,
    destination: ApplicationDestination,
    resources: readonly DesiredResource[],
  ): string[] {
    const list = resources.map((r) => ({
      group: r.kind.apiVersion.includes("/")
        ? r.kind.apiVersion.slice(0, r.kind.apiVersion.lastIndexOf("/"))
        : "",
      kind: r.kind.kind,
      name: r.object.metadata?.name ?? "",
      namespace: r.object.metadata?.namespace ?? "",
      namespaced: r.namespaced,
    }));
    const ns = destination.namespace;
    if (ns && this.createsNamespace())
      list.push({ group: "", kind: "Namespace", name: ns, namespace: "", namespaced: false });
    return resourceViolations(project, destination, list);
  }

  private async compareLive(desired: DesiredState): Promise<CompareResult> {
    this.comparedOverlay = this.overlayVersion;
    const live = this.target.live;
    const kinds = await this.kindsFor(desired);
    await live.ensure(kinds, this.signal);
    live.setDesired(
      this.name,
      desired.resources.map((r) => r.key),
    );
    const tracked = live.trackedBy(this.name, kinds).filter((o) => !this.overlay.has(resourceKey(o)));
    for (const o of this.overlay.values()) if (o && trackingAppOf(o) === this.name) tracked.push(o);
    return compareAppState({
      app: this.name,
      desired: desired.resources,
      liveOf: (d) =>
        this.overlay.has(d.key)
          ? this.overlay.get(d.key)
          : live.get(d.kind, d.object.metadata?.namespace, d.object.metadata?.name ?? ""),
      tracked,
      ...(this.app.spec.ignoreDifferences ? { ignoreDifferences: this.app.spec.ignoreDifferences } : {}),
      memo: this.memo.diffs,
    });
  }

  private applyComparison(cmp: Comparison): void {
    const spec = this.app.spec;
    const status = this.status;
    const source = cmp.source ?? spec.source;
    const comparedTo = {
      ...(source ? { source } : {}),
      destination: spec.destination,
      ...(spec.ignoreDifferences?.length ? { ignoreDifferences: spec.ignoreDifferences } : {}),
    };
    if (cmp.ok) {
      status.sync = { status: cmp.result.syncStatus, comparedTo, revision: cmp.sha };
      status.resources = cmp.result.resources;
      status.health = { status: cmp.result.health };
      if (cmp.result.images.length > 0) status.summary = { images: cmp.result.images };
      else delete status.summary;
      status.sourceType = cmp.render.type;
    } else {
      status.sync = {
        status: "Unknown",
        comparedTo,
        ...(this.initial?.sync?.revision ? { revision: this.initial.sync.revision } : {}),
      };
      if (cmp.clusterProblem) status.health = { status: "Unknown" };
      else status.health ??= { status: "Unknown" };
    }
    status.controllerNamespace = this.deps.namespace;
  }

  /** Conditions from the comparison and the last operation; unchanged ones keep their transition time. */
  private setConditions(cmp: Comparison): void {
    const next: ApplicationCondition[] = [];
    if (!cmp.ok) next.push({ type: cmp.type, message: cmp.message });
    else next.push(...cmp.result.warnings);
    const op = this.status.operationState;
    if (op && (op.phase === "Failed" || op.phase === "Error") && op.message) {
      next.push({ type: "SyncError", message: op.message });
    }
    const previous = this.status.conditions ?? [];
    const now = secondsTimestamp(this.now());
    const conditions = next
      .map((c) => {
        const same = previous.find((p) => p.type === c.type && p.message === c.message);
        return { ...c, lastTransitionTime: same?.lastTransitionTime ?? now };
      })
      .sort((a, b) => a.type.localeCompare(b.type) || a.message.localeCompare(b.message));
    if (conditions.length > 0) this.status.conditions = conditions;
    else delete this.status.conditions;
  }
}
