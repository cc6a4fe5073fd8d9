/**
 * The Rollout's ReplicaSets (Argo's rollout/replicaset.go): names `<rollout>-<pod-template-hash>`,
 * created or adopted, never duplicated; revisions; scaling with `ScalingReplicaSet` events;
 * scale-down deadlines of old sets (persisted on the ReplicaSet, so a restarted controller keeps
 * them); revision history; and the canary/stable (active/preview) pod metadata.
 */

import type { V1ReplicaSet } from "@kubernetes/client-node";
import { cloneJson } from "../../api/json.js";
import type { PodTemplateMetadata } from "../../api/v1alpha1/common.js";
import {
  POD_HASH_LABEL,
  REVISION_ANNOTATION,
  ROLLOUT_API_VERSION,
  SCALE_DOWN_DEADLINE_ANNOTATION,
} from "./constants.js";
import { type Action, hashOf, type PlanBuilder, type RolloutContext, specReplicas } from "./context.js";
import { revisionHistoryLimit, scaleDownDelayRevisionLimit } from "./spec.js";

export function replicaSetName(rolloutName: string, hash: string): string {
  return `${rolloutName}-${hash}`;
}

export function revisionOf(rs: V1ReplicaSet | undefined): number {
  const v = Number(rs?.metadata?.annotations?.[REVISION_ANNOTATION]);
  return Number.isFinite(v) ? v : 0;
}

/** The sets by role: new (current template), stable (status.stableRS), and every other. */
export interface ReplicaSetRoles {
  newRS: V1ReplicaSet | undefined;
  stableRS: V1ReplicaSet | undefined;
  others: V1ReplicaSet[];
}

export function classify(ctx: RolloutContext, stableHash = ctx.rollout.status?.stableRS): ReplicaSetRoles {
  let newRS: V1ReplicaSet | undefined;
  let stableRS: V1ReplicaSet | undefined;
  const others: V1ReplicaSet[] = [];
  for (const rs of ctx.replicaSets) {
    const hash = hashOf(rs);
    if (hash === ctx.podHash && ctx.podHash !== "") newRS = rs;
    if (hash !== undefined && hash === stableHash) stableRS = rs;
    if (hash !== ctx.podHash && hash !== stableHash) others.push(rs);
  }
  others.sort((a, b) => revisionOf(a) - revisionOf(b));
  return { newRS, stableRS, others };
}

/**
 * `rollbackWindow` (Argo's isRollbackWithinWindow): the new set was created before the stable one
 * (the template went back to an older revision) and fewer than `revisions` sets were created in
 * between.
 */
export function rollbackWithinWindow(ctx: RolloutContext, roles: ReplicaSetRoles): boolean {
  const window = ctx.rollout.spec.rollbackWindow?.revisions ?? 0;
  const { newRS, stableRS } = roles;
  if (window <= 0 || !newRS || !stableRS || newRS === stableRS) return false;
  const created = (rs: V1ReplicaSet) => new Date(rs.metadata?.creationTimestamp as Date | string).getTime();
  const from = created(newRS);
  const to = created(stableRS);
  if (!(from < to)) return false;
  const between = ctx.replicaSets.filter((rs) => created(rs) > from && created(rs) < to).length;
  return between < window;
}

function maxRevision(ctx: RolloutContext): number {
  return ctx.replicaSets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** The revision the new set has, or will get when created. */
export function newRevision(ctx: RolloutContext, newRS: V1ReplicaSet | undefined): number {
  const max = maxRevision(ctx);
  if (!newRS) return max + 1;
  const own = revisionOf(newRS);
  return own === max && max > 0 ? own : max + 1;
}

function mergeMetadata(base: Record<string, string> | undefined, extra: Record<string, string> | undefined) {
  return { ...(base ?? {}), ...(extra ?? {}) };
}

/** The ReplicaSet object for the current template (created at `replicas`). */
export function newReplicaSetObject(
  ctx: RolloutContext,
  replicas: number,
  revision: number,
  role: PodTemplateMetadata | undefined,
): V1ReplicaSet {
  const ro = ctx.rollout;
  const hash = ctx.podHash;
  const template = cloneJson(ctx.template!);
  const tplLabels = { ...(template.metadata?.labels ?? {}), [POD_HASH_LABEL]: hash };
  const podLabels = { ...mergeMetadata(tplLabels, role?.labels), [POD_HASH_LABEL]: hash };
  const podAnnotations = mergeMetadata(template.metadata?.annotations, role?.annotations);
  const selector = ro.spec.selector ?? {};
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: replicaSetName(ro.metadata.name ?? "", hash),
      namespace: ro.metadata.namespace,
      labels: tplLabels,
      annotations: { [REVISION_ANNOTATION]: String(revision) },
      ownerReferences: [ownerReference(ctx)],
    },
    spec: {
      replicas,
      ...(ro.spec.minReadySeconds ? { minReadySeconds: ro.spec.minReadySeconds } : {}),
      selector: {
        ...(selector.matchExpressions ? { matchExpressions: cloneJson(selector.matchExpressions) } : {}),
        matchLabels: { ...(selector.matchLabels ?? {}), [POD_HASH_LABEL]: hash },
      },
      template: {
        ...template,
        metadata: {
          ...(template.metadata ?? {}),
          labels: podLabels,
          ...(Object.keys(podAnnotations).length ? { annotations: podAnnotations } : {}),
        },
      } as NonNullable<V1ReplicaSet["spec"]>["template"],
    },
  };
}

export function ownerReference(ctx: RolloutContext) {
  return {
    apiVersion: ROLLOUT_API_VERSION,
    kind: "Rollout",
    name: ctx.rollout.metadata.name ?? "",
    uid: ctx.rollout.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

function describeRS(rs: V1ReplicaSet): string {
  const rev = revisionOf(rs);
  return `ReplicaSet ${rs.metadata?.name}${rev ? ` (revision ${rev})` : ""}`;
}

/** Scales `rs` to `replicas` when it is not there already; a ScalingReplicaSet event on success. */
export function scale(
  b: PlanBuilder,
  rs: V1ReplicaSet,
  replicas: number,
  extra?: { annotations?: Record<string, string | null> },
): boolean {
  const current = specReplicas(rs);
  if (current === replicas && !extra) return false;
  const patch: Action = {
    type: "patchReplicaSet",
    name: rs.metadata?.name ?? "",
    patch: {
      ...(extra?.annotations ? { metadata: { annotations: extra.annotations } } : {}),
      ...(current !== replicas ? { spec: { replicas } } : {}),
    },
    ...(current !== replicas
      ? {
          event: {
            type: "Normal" as const,
            reason: "ScalingReplicaSet",
            message: `Scaled ${replicas > current ? "up" : "down"} ${describeRS(rs)} from ${current} to ${replicas}`,
          },
        }
      : {}),
  };
  b.act(patch);
  return current !== replicas;
}

/**
 * Makes sure the new set exists (create, or adopt an orphan of the same name) with `replicas`
 * (when `scaleExisting`), at the newest revision, without a scale-down deadline. Returns the
 * set as it will be after the plan runs.
 */
export function ensureNewReplicaSet(
  b: PlanBuilder,
  newRS: V1ReplicaSet | undefined,
  replicas: number,
  role: PodTemplateMetadata | undefined,
): V1ReplicaSet {
  const ctx = b.ctx;
  const revision = newRevision(ctx, newRS);
  if (!newRS) {
    const taken = ctx.nameTaken;
    if (taken) {
      // An orphan with our name (a Rollout deleted with orphan propagation, re-created): adopt it.
      b.act({
        type: "patchReplicaSet",
        name: taken.metadata?.name ?? "",
        patch: {
          metadata: {
            ownerReferences: [ownerReference(ctx)],
            annotations: { [REVISION_ANNOTATION]: String(revision), [SCALE_DOWN_DEADLINE_ANNOTATION]: null },
          },
          ...(specReplicas(taken) !== replicas ? { spec: { replicas } } : {}),
        },
        event: { type: "Normal", reason: "ScalingReplicaSet", message: `Adopted ${describeRS(taken)}` },
      });
      return { ...taken, spec: { ...taken.spec!, replicas } };
    }
    const rs = newReplicaSetObject(ctx, replicas, revision, role);
    b.act({
      type: "createReplicaSet",
      replicaSet: rs,
      event: {
        type: "Normal",
        reason: "NewReplicaSetCreated",
        message: `Created ReplicaSet ${rs.metadata?.name} (revision ${revision}) with ${replicas} replica${replicas === 1 ? "" : "s"}`,
      },
    });
    return rs;
  }
  const minReady = ctx.rollout.spec.minReadySeconds ?? 0;
  if ((newRS.spec?.minReadySeconds ?? 0) !== minReady) {
    b.act({
      type: "patchReplicaSet",
      name: newRS.metadata?.name ?? "",
      patch: { spec: { minReadySeconds: minReady } },
    });
  }
  const annotations: Record<string, string | null> = {};
  if (revisionOf(newRS) !== revision) annotations[REVISION_ANNOTATION] = String(revision);
  if (newRS.metadata?.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION] !== undefined)
    annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
  const hasAnnotations = Object.keys(annotations).length > 0;
  scale(b, newRS, replicas, hasAnnotations ? { annotations } : undefined);
  return { ...newRS, spec: { ...newRS.spec!, replicas } };
}

/** Ephemeral metadata keys of both roles: those not wanted now are removed. */
export function reconcileRoleMetadata(
  b: PlanBuilder,
  rs: V1ReplicaSet | undefined,
  desired: PodTemplateMetadata | undefined,
  roles: readonly (PodTemplateMetadata | undefined)[],
): void {
  if (!rs?.metadata?.name) return;
  const template = b.ctx.template?.metadata ?? {};
  const want = {
    labels: desired?.labels ?? {},
    annotations: desired?.annotations ?? {},
  };
  const diff = (kind: "labels" | "annotations", current: Record<string, string> | undefined) => {
    const out: Record<string, string | null> = {};
    const cur = current ?? {};
    for (const [k, v] of Object.entries(want[kind])) if (cur[k] !== v) out[k] = v;
    for (const role of roles) {
      for (const k of Object.keys(role?.[kind] ?? {})) {
        if (k in want[kind] || k === POD_HASH_LABEL) continue;
        const tv = (template[kind] as Record<string, string> | undefined)?.[k];
        if (tv !== undefined) {
          if (cur[k] !== tv) out[k] = tv;
        } else if (k in cur) out[k] = null;
      }
    }
    return Object.keys(out).length ? out : undefined;
  };
  const tplMeta = rs.spec?.template?.metadata;
  const labels = diff("labels", tplMeta?.labels);
  const annotations = diff("annotations", tplMeta?.annotations);
  if (labels || annotations) {
    b.act({
      type: "patchReplicaSet",
      name: rs.metadata.name,
      patch: {
        spec: {
          template: { metadata: { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } },
        },
      },
    });
  }
  const hash = hashOf(rs);
  for (const pod of b.ctx.pods) {
    if (pod.metadata?.labels?.[POD_HASH_LABEL] !== hash || pod.metadata?.deletionTimestamp) continue;
    const pl = diff("labels", pod.metadata?.labels);
    const pa = diff("annotations", pod.metadata?.annotations);
    if (pl || pa)
      b.act({
        type: "patchPod",
        name: pod.metadata?.name ?? "",
        metadata: { ...(pl ? { labels: pl } : {}), ...(pa ? { annotations: pa } : {}) },
      });
  }
}

function deadlineOf(rs: V1ReplicaSet): number | undefined {
  const v = rs.metadata?.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Puts a scale-down deadline on an old set that still runs pods (kept when already there, so a
 * restart does not push it back).
 */
export function markForScaleDown(b: PlanBuilder, rs: V1ReplicaSet, delayMs: number): void {
  if (specReplicas(rs) === 0 || deadlineOf(rs) !== undefined) return;
  b.act({
    type: "patchReplicaSet",
    name: rs.metadata?.name ?? "",
    patch: {
      metadata: {
        annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: new Date(b.ctx.now + delayMs).toISOString() },
      },
    },
  });
  b.requeueAfter(delayMs);
}

/**
 * The old sets waiting out a scale-down delay beyond `scaleDownDelayRevisionLimit`: counting the
 * newest first, as Argo does, those past the limit do not wait.
 */
function pastRevisionLimit(b: PlanBuilder, waiting: readonly V1ReplicaSet[]): Set<V1ReplicaSet> {
  const limit = scaleDownDelayRevisionLimit(b.rollout);
  if (limit === undefined) return new Set();
  const newestFirst = [...waiting].sort((x, y) => revisionOf(y) - revisionOf(x));
  return new Set(newestFirst.slice(limit));
}

/**
 * Scales old sets down once `safe` says nothing routes to them: at once, or at the deadline
 * put on them at promotion (sooner past `scaleDownDelayRevisionLimit`). Returns whether every
 * one of them is at 0.
 */
export function scaleDownOldSets(
  b: PlanBuilder,
  sets: readonly V1ReplicaSet[],
  safe: (rs: V1ReplicaSet) => boolean,
): boolean {
  let done = true;
  const running = sets.filter((rs) => specReplicas(rs) > 0);
  const overLimit = pastRevisionLimit(
    b,
    running.filter((rs) => safe(rs) && deadlineOf(rs) !== undefined),
  );
  for (const rs of running) {
    done = false;
    if (!safe(rs)) continue;
    const deadline = deadlineOf(rs);
    if (deadline !== undefined && deadline > b.ctx.now && !overLimit.has(rs)) {
      b.requeueAt(deadline);
      continue;
    }
    scale(
      b,
      rs,
      0,
      deadline !== undefined ? { annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } } : undefined,
    );
  }
  return done;
}

/**
 * Deletes the oldest scaled-down sets beyond `revisionHistoryLimit` (never the new or the
 * stable set, never one with pods).
 */
export function cleanUpHistory(b: PlanBuilder, others: readonly V1ReplicaSet[]): void {
  const limit = revisionHistoryLimit(b.rollout);
  const idle = others
    .filter(
      (rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata?.deletionTimestamp,
    )
    .sort((a, x) => revisionOf(a) - revisionOf(x));
  const excess = idle.length - limit;
  for (let i = 0; i < excess; i++) {
    const rs = idle[i]!;
    b.act({
      type: "deleteReplicaSet",
      name: rs.metadata?.name ?? "",
      ...(rs.metadata?.uid ? { uid: rs.metadata.uid } : {}),
    });
  }
}
