/**
 * Comparing an Application's desired manifests with the live cluster: the `status.resources`,
 * `status.sync`, `status.health` and `status.summary` a reconcile reports (gitops-engine's
 * `CompareAppState`). Pure over its inputs; the reconciler feeds it informer objects.
 *
 * - Each desired resource is compared with `diffResource` (server defaults, foreign managers,
 *   the rollout controller's and the HPA's fields and `ignoreDifferences` are never drift), so a
 *   resource is OutOfSync exactly when its shown diff is non-empty (argo-cd #15898).
 * - Live objects carrying this app's tracking id that are no longer rendered are listed with
 *   `requiresPruning`; they make the app OutOfSync but do not count in its health.
 * - Hooks are not compared; live hook objects are listed with `hook: true`.
 * - Health per resource with the per-kind rules; the app's is the worst (Missing when absent).
 * - Diff results are remembered per resource against the live resourceVersion and the desired
 *   object, so a resync of an unchanged app does not diff again.
 */
import type {
  ApplicationCondition,
  ResourceIgnoreDifferences,
  ResourceStatus,
  SyncStatusCode,
} from "../../api/v1alpha1/application.js";
import type { HealthStatusCode } from "../../api/v1alpha1/common.js";
import { diffResource } from "./diff/diff.js";
import { describeResource, groupOf, isPlainObject, type KubeObject, resourceKey } from "./diff/object.js";
import { aggregateHealth, healthOf } from "./health/index.js";
import type { HealthStatus } from "./health/types.js";
import type { KindRef } from "./live-state.js";
import type { ObjectOrigin } from "./render/manifests.js";
import { isHook } from "./sync/hooks.js";
import { waveOf } from "./sync/ordering.js";
import { trackingAppOf } from "./sync/tracking.js";

/** One rendered manifest, ready to compare and sync. */
export interface DesiredResource {
  /** The manifest with its namespace defaulted (and removed for cluster-scoped kinds). */
  object: KubeObject;
  /** `group/kind/namespace/name`. */
  key: string;
  kind: KindRef;
  namespaced: boolean;
  origin?: ObjectOrigin;
  hook: boolean;
  wave: number;
}

/** Remembered comparison of one resource. */
export interface DiffMemo {
  desired: KubeObject;
  liveVersion: string | undefined;
  ignore: string;
  modified: boolean;
}

export interface CompareInput {
  app: string;
  desired: readonly DesiredResource[];
  /** The live object for a desired resource (its namesake, tracked or not). */
  liveOf: (d: DesiredResource) => KubeObject | undefined;
  /** Live objects that carry this app's tracking id. */
  tracked: readonly KubeObject[];
  ignoreDifferences?: readonly ResourceIgnoreDifferences[];
  /** Per-app memo of diff results (mutated). */
  memo?: Map<string, DiffMemo>;
}

export interface CompareResult {
  resources: ResourceStatus[];
  syncStatus: SyncStatusCode;
  health: HealthStatusCode;
  images: string[];
  /** Keys of desired resources that are in sync (for ApplyOutOfSyncOnly). */
  inSync: Set<string>;
  /** Keys of desired resources that differ or are missing. */
  outOfSync: string[];
  /** Keys of tracked live resources that are no longer desired. */
  requiresPruning: string[];
  warnings: ApplicationCondition[];
  /** Desired resources that are not hooks. */
  resourceCount: number;
}

function versionOf(apiVersion: string | undefined): string {
  if (!apiVersion) return "";
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

function withHealth(entry: ResourceStatus, health: HealthStatus | undefined): ResourceStatus {
  if (health)
    entry.health = health.message
      ? { status: health.status, message: health.message }
      : { status: health.status };
  return entry;
}

function podSpecs(obj: KubeObject): unknown[] {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return [];
  if (obj.kind === "Pod") return [spec];
  const out: unknown[] = [];
  const template = spec.template;
  if (isPlainObject(template) && isPlainObject(template.spec)) out.push(template.spec);
  const jobTemplate = spec.jobTemplate;
  if (isPlainObject(jobTemplate) && isPlainObject(jobTemplate.spec)) {
    const t = jobTemplate.spec.template;
    if (isPlainObject(t) && isPlainObject(t.spec)) out.push(t.spec);
  }
  return out;
}

/** Container images of a workload or pod (Argo's `summary.images`). */
export function imagesOf(obj: KubeObject | undefined): string[] {
  if (!obj) return [];
  const out: string[] = [];
  for (const spec of podSpecs(obj)) {
    if (!isPlainObject(spec)) continue;
    for (const field of ["initContainers", "containers"]) {
      const list = spec[field];
      if (!Array.isArray(list)) continue;
      for (const c of list) if (isPlainObject(c) && typeof c.image === "string") out.push(c.image);
    }
  }
  return out;
}

function compareKey(a: ResourceStatus, b: ResourceStatus): number {
  return (
    (a.group ?? "").localeCompare(b.group ?? "") ||
    a.kind.localeCompare(b.kind) ||
    (a.namespace ?? "").localeCompare(b.namespace ?? "") ||
    a.name.localeCompare(b.name)
  );
}

/** True when the desired resource differs from live (memoised against live's resourceVersion). */
function isModified(d: DesiredResource, live: KubeObject, ignore: string, input: CompareInput): boolean {
  const memo = input.memo?.get(d.key);
  const liveVersion = live.metadata?.resourceVersion as string | undefined;
  if (
    memo &&
    memo.desired === d.object &&
    memo.ignore === ignore &&
    liveVersion !== undefined &&
    memo.liveVersion === liveVersion
  ) {
    return memo.modified;
  }
  const modified = diffResource(d.object, live, {
    ...(input.ignoreDifferences ? { ignoreDifferences: input.ignoreDifferences } : {}),
    lines: false,
  }).modified;
  input.memo?.set(d.key, { desired: d.object, liveVersion, ignore, modified });
  return modified;
}

export function compareAppState(input: CompareInput): CompareResult {
  const resources: ResourceStatus[] = [];
  const inSync = new Set<string>();
  const outOfSync: string[] = [];
  const requiresPruning: string[] = [];
  const healths: (HealthStatus | undefined)[] = [];
  const images = new Set<string>();
  const warnings: ApplicationCondition[] = [];
  const ignore = JSON.stringify(input.ignoreDifferences ?? []);
  const desiredKeys = new Set<string>();
  let resourceCount = 0;

  for (const d of input.desired) {
    desiredKeys.add(d.key);
    if (d.hook) continue;
    resourceCount++;
    const live = input.liveOf(d);
    const group = groupOf(d.object.apiVersion);
    const entry: ResourceStatus = {
      group,
      version: versionOf(d.object.apiVersion),
      kind: d.object.kind ?? "",
      namespace: d.object.metadata?.namespace ?? "",
      name: d.object.metadata?.name ?? "",
    };
    const modified = live === undefined || isModified(d, live, ignore, input);
    entry.status = modified ? "OutOfSync" : "Synced";
    if (modified) outOfSync.push(d.key);
    else inSync.add(d.key);
    const health = healthOf(live);
    healths.push(health);
    withHealth(entry, health);
    if (d.wave !== 0) entry.syncWave = d.wave;
    resources.push(entry);
    for (const image of imagesOf(live)) images.add(image);
    const owner = live ? trackingAppOf(live) : undefined;
    if (owner && owner !== input.app) {
      warnings.push({
        type: "SharedResourceWarning",
        message: `${describeResource(d.object)} is part of applications ${input.app} and ${owner}`,
      });
    }
  }

  for (const live of input.tracked) {
    const key = resourceKey(live);
    if (desiredKeys.has(key)) continue;
    if ((live.metadata?.ownerReferences ?? []).some((r) => r.controller === true)) continue;
    const entry: ResourceStatus = {
      group: groupOf(live.apiVersion),
      version: versionOf(live.apiVersion),
      kind: live.kind ?? "",
      namespace: live.metadata?.namespace ?? "",
      name: live.metadata?.name ?? "",
    };
    if (isHook(live)) {
      entry.hook = true;
      withHealth(entry, healthOf(live));
      resources.push(entry);
      continue;
    }
    entry.status = "OutOfSync";
    entry.requiresPruning = true;
    withHealth(entry, healthOf(live));
    const w = waveOf(live);
    if ("wave" in w && w.wave !== 0) entry.syncWave = w.wave;
    requiresPruning.push(key);
    resources.push(entry);
  }

  // Forget diffs of resources no longer rendered.
  if (input.memo && input.memo.size > desiredKeys.size) {
    for (const key of input.memo.keys()) if (!desiredKeys.has(key)) input.memo.delete(key);
  }
  resources.sort(compareKey);
  const syncStatus: SyncStatusCode =
    outOfSync.length > 0 || requiresPruning.length > 0 ? "OutOfSync" : "Synced";
  return {
    resources,
    syncStatus,
    health: aggregateHealth(healths),
    images: [...images].sort(),
    inSync,
    outOfSync,
    requiresPruning,
    warnings,
    resourceCount,
  };
}
