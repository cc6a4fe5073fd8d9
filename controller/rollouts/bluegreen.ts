/**
 * The blue-green strategy (Argo's rollout/bluegreen.go): the new set comes up beside the active
 * one (at `previewReplicaCount`), the preview Service moves to it once its pods are available,
 * pre-promotion analysis and the `BlueGreenPause` (autoPromotionEnabled: false, or
 * autoPromotionSeconds) gate promotion, the new set is brought to full size and the active
 * Service flips to it in one write only when every pod is available, post-promotion analysis
 * runs while the old set stays at full size (so an abort flips the active Service straight back
 * to ready pods), and the old set is scaled down after `scaleDownDelaySeconds`.
 */
import type { V1ReplicaSet } from "@kubernetes/client-node";
import type { BlueGreenStrategy } from "../../api/v1alpha1/rollout.js";
import { type EnsuredRun, ensureRun, findRun, runName, runStatus, terminateRunsExcept } from "./analysis.js";
import { PAUSE } from "./constants.js";
import { hashOf, observedAvailable, type PlanBuilder, specReplicas } from "./context.js";
import { addPause, clearPauses, pauseCondition, releasedByUser } from "./pause.js";
import {
  ensureNewReplicaSet,
  markForScaleDown,
  type ReplicaSetRoles,
  reconcileRoleMetadata,
  revisionOf,
  scale,
  scaleDownOldSets,
} from "./replicaset.js";
import { currentSelector, switchService } from "./service.js";
import { abortScaleDownDelayMs, desiredReplicas, scaleDownDelayMs } from "./spec.js";

function strategy(b: PlanBuilder): BlueGreenStrategy {
  return b.rollout.spec.strategy.blueGreen!;
}

function unselected(b: PlanBuilder, rs: V1ReplicaSet): boolean {
  const bg = strategy(b);
  const hash = hashOf(rs);
  return hash !== b.selectorAfter(bg.activeService) && hash !== b.selectorAfter(bg.previewService);
}

function recordSelectors(b: PlanBuilder): void {
  const bg = strategy(b);
  const active = b.selectorAfter(bg.activeService);
  const preview = b.selectorAfter(bg.previewService);
  b.status.blueGreen = {
    ...(b.status.blueGreen ?? {}),
    ...(active ? { activeSelector: active } : {}),
    ...(preview ? { previewSelector: preview } : {}),
  };
}

export function planBlueGreenCompleted(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const bg = strategy(b);
  const R = desiredReplicas(b.rollout);
  const hash = b.ctx.podHash;
  if (b.old.abort || b.old.abortedAt)
    b.event("Normal", "RolloutCompleted", "Rollout is back on its stable revision; abort cleared");
  delete b.status.abort;
  delete b.status.abortedAt;
  delete b.status.promoteFull;
  clearPauses(b);
  if (b.status.blueGreen) {
    delete b.status.blueGreen.prePromotionAnalysisRunStatus;
    delete b.status.blueGreen.postPromotionAnalysisRunStatus;
  }
  ensureNewReplicaSet(b, roles.newRS, R, bg.activeMetadata);
  if (observedAvailable(roles.newRS) >= R) {
    switchService(b, bg.activeService, hash);
    switchService(b, bg.previewService, hash);
  }
  reconcileRoleMetadata(b, roles.newRS, bg.activeMetadata, [bg.activeMetadata, bg.previewMetadata]);
  scaleDownOldSets(b, roles.others, (rs) => unselected(b, rs));
  terminateRunsExcept(b, new Set());
  recordSelectors(b);
}

export function planBlueGreenAborted(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const bg = strategy(b);
  const R = desiredReplicas(b.rollout);
  const stableHash = b.status.stableRS ?? "";
  const { newRS, stableRS } = roles;
  if (stableRS && specReplicas(stableRS) < R) scale(b, stableRS, R);
  // The active Service goes back to the stable set, which was kept at full size.
  if (observedAvailable(stableRS) > 0 || R === 0) switchService(b, bg.activeService, stableHash);
  if (newRS && specReplicas(newRS) > 0) {
    const delay = abortScaleDownDelayMs(b.rollout);
    if (delay !== undefined) {
      const at = Date.parse(b.status.abortedAt ?? b.nowIso()) + delay;
      if (b.ctx.now >= at && b.selectorAfter(bg.activeService) !== b.ctx.podHash) scale(b, newRS, 0);
      else if (b.ctx.now < at) b.requeueAt(at);
    }
  }
  reconcileRoleMetadata(b, stableRS, bg.activeMetadata, [bg.activeMetadata, bg.previewMetadata]);
  scaleDownOldSets(b, roles.others, (rs) => unselected(b, rs));
  terminateRunsExcept(b, new Set());
  recordSelectors(b);
}

/** Runs whose failure aborts the rollout now: pre-promotion, then post-promotion analysis. */
export function blueGreenRunsToWatch(b: PlanBuilder): ReturnType<typeof findRun>[] {
  const bg = strategy(b);
  const hash = b.ctx.podHash;
  if (b.fastRollback) return [];
  const out = [];
  if (bg.prePromotionAnalysis) out.push(findRun(b.ctx, runName(b.name, hash, "pre", undefined, b.attempt)));
  if (bg.postPromotionAnalysis) out.push(findRun(b.ctx, runName(b.name, hash, "post", undefined, b.attempt)));
  return out.filter((r) => r !== undefined);
}

export function planBlueGreenProgress(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ro = b.rollout;
  const bg = strategy(b);
  const R = desiredReplicas(ro);
  const hash = b.ctx.podHash;
  const stableHash = b.status.stableRS ?? "";
  const { newRS, stableRS } = roles;
  const activeNow = currentSelector(b, bg.activeService);
  const promoted = activeNow === hash;
  const previewCount = Math.min(bg.previewReplicaCount ?? R, R);
  const available = observedAvailable(newRS);
  const keep = new Set<string>();

  // Until promotion the stable set serves everything, at full size: spec.replicas, which an HPA
  // may move either way.
  if (stableRS && specReplicas(stableRS) !== R) scale(b, stableRS, R);

  let pre: EnsuredRun | undefined;
  let gatesOpen = promoted;
  const previewReady = available >= previewCount;
  if (!promoted) {
    const promoteFull = b.old.promoteFull === true || b.fastRollback;
    if (previewReady && previewCount > 0 && bg.previewService) switchService(b, bg.previewService, hash);
    if (previewReady && bg.prePromotionAnalysis && !promoteFull) {
      pre = ensureRun(b, {
        analysis: bg.prePromotionAnalysis,
        kind: "pre",
        hash,
        stableHash,
        attempt: b.attempt,
        revisionRS: newRS,
      });
      keep.add(pre.name);
      b.status.blueGreen = {
        ...(b.status.blueGreen ?? {}),
        prePromotionAnalysisRunStatus: runStatus(pre.name, pre.run),
      };
    }
    const analysisOk =
      !bg.prePromotionAnalysis ||
      promoteFull ||
      pre?.phase === "Successful" ||
      (pre?.phase === "Inconclusive" && releasedByUser(b));
    if (pre?.phase === "Inconclusive" && !releasedByUser(b))
      addPause(b, PAUSE.inconclusive, `pre-promotion analysis run ${pre.name} was inconclusive`);
    let pauseOk = true;
    if (previewReady && !promoteFull && !ro.spec.paused) {
      const manual = bg.autoPromotionEnabled === false;
      const seconds = bg.autoPromotionSeconds;
      if (manual || seconds !== undefined) {
        const existing = pauseCondition(b.old, PAUSE.blueGreen);
        if (!existing && releasedByUser(b)) pauseOk = true;
        else {
          const cond =
            existing ??
            addPause(b, PAUSE.blueGreen, manual ? "waiting for promote" : `auto-promotion in ${seconds}s`);
          pauseOk = false;
          if (!manual && seconds !== undefined) {
            const at = Date.parse(cond.startTime) + seconds * 1000;
            if (b.ctx.now >= at) pauseOk = true;
            else b.requeueAt(at);
          }
        }
      }
    }
    gatesOpen = previewReady && analysisOk && pauseOk && !ro.spec.paused;
    if (promoteFull && available >= previewCount) gatesOpen = true;
  }

  // Bring the new set to full size once promotion may happen, then flip the active Service.
  const newSize = gatesOpen || promoted ? R : previewCount;
  const rs = ensureNewReplicaSet(b, newRS, newSize, promoted ? bg.activeMetadata : bg.previewMetadata);
  if (!promoted && gatesOpen && available >= R && specReplicas(rs) >= R) {
    clearPauses(b);
    switchService(b, bg.activeService, hash);
    if (bg.previewService) switchService(b, bg.previewService, hash);
    b.event(
      "Normal",
      "RolloutPromoted",
      `Active service '${bg.activeService}' switched to revision ${revisionOf(rs) || "?"} (${hash})`,
    );
  }
  reconcileRoleMetadata(b, newRS, promoted ? bg.activeMetadata : bg.previewMetadata, [
    bg.activeMetadata,
    bg.previewMetadata,
  ]);
  reconcileRoleMetadata(b, stableRS, promoted ? undefined : bg.activeMetadata, [
    bg.activeMetadata,
    bg.previewMetadata,
  ]);

  // After the flip: post-promotion analysis, then the new set becomes stable.
  if (promoted) {
    let postOk = !bg.postPromotionAnalysis || b.fastRollback;
    if (bg.postPromotionAnalysis && !b.fastRollback) {
      const post = ensureRun(b, {
        analysis: bg.postPromotionAnalysis,
        kind: "post",
        hash,
        stableHash,
        attempt: b.attempt,
        revisionRS: newRS,
      });
      keep.add(post.name);
      b.status.blueGreen = {
        ...(b.status.blueGreen ?? {}),
        postPromotionAnalysisRunStatus: runStatus(post.name, post.run),
      };
      if (post.error) b.notes.add(`invalid:${post.error}`);
      postOk = post.phase === "Successful" || (post.phase === "Inconclusive" && releasedByUser(b));
      if (post.phase === "Inconclusive" && !releasedByUser(b))
        addPause(b, PAUSE.inconclusive, `post-promotion analysis run ${post.name} was inconclusive`);
    }
    if (postOk && available >= R) {
      if (stableRS) markForScaleDown(b, stableRS, scaleDownDelayMs(ro));
      b.status.stableRS = hash;
      delete b.status.promoteFull;
      clearPauses(b);
      b.notes.add("completed");
      b.event(
        "Normal",
        "RolloutCompleted",
        `Rollout completed update to revision ${revisionOf(rs) || "?"} (${hash})`,
      );
    }
  }
  if (pre?.error) b.notes.add(`invalid:${pre.error}`);
  scaleDownOldSets(b, roles.others, (x) => unselected(b, x));
  terminateRunsExcept(b, keep);
  recordSelectors(b);
}
