/**
 * The canary strategy (Argo's rollout/canary.go), as a plan over the rollout context:
 *
 * - completed (the new set is the stable set, first deploy included): full size, both Services
 *   on it, router weight 0, older sets scaled down once nothing routes to them;
 * - aborted: all traffic to stable in one router write, then the canary Service back on the
 *   stable hash, stable restored, the canary scaled down after `abortScaleDownDelaySeconds`;
 * - progressing: the current step's replica counts, Service selectors switched only to available
 *   pods, the router's state (weight, header and mirror routes) raised only once the canary can
 *   take it and verified before the step counts as done, analysis runs, pauses, then promotion.
 *
 * Actions are ordered so no request is sent to a set that is not ready (#1826, #2064): scale up,
 * switch Services, move traffic, and only then scale down.
 */
import type { V1ReplicaSet } from "@kubernetes/client-node";
import type { CanaryStrategy } from "../../api/v1alpha1/rollout.js";
import {
  type EnsuredRun,
  ensureRun,
  findRun,
  phaseOf,
  runName,
  runStatus,
  terminateRunsExcept,
} from "./analysis.js";
import { PAUSE } from "./constants.js";
import {
  type DesiredTraffic,
  hashOf,
  observedAvailable,
  type PlanBuilder,
  readyReplicas,
  specReplicas,
} from "./context.js";
import { addPause, clearPauses, releasedByUser, timedPause } from "./pause.js";
import {
  abortCanaryWeight,
  basicCanaryCounts,
  replicaWeight,
  rollBasicCanary,
  routedCanaryReplicas,
} from "./replica-math.js";
import {
  ensureNewReplicaSet,
  markForScaleDown,
  type ReplicaSetRoles,
  reconcileRoleMetadata,
  revisionOf,
  scale,
  scaleDownOldSets,
} from "./replicaset.js";
import { switchService } from "./service.js";
import {
  abortScaleDownDelayMs,
  canaryScaleAt,
  describeStep,
  desiredReplicas,
  maxTrafficWeight,
  pauseDurationMs,
  scaleDownDelayMs,
  setWeightAt,
  stepIndex,
  steps,
  surgeAndUnavailable,
} from "./spec.js";
import { managedRoutesAt } from "./trafficrouting.js";

/** How soon to look again while waiting for the router or pods that report no event of their own. */
export const SETTLE_REQUEUE_MS = 1000;

function strategy(b: PlanBuilder): CanaryStrategy {
  return b.rollout.spec.strategy.canary!;
}

function setWeights(
  b: PlanBuilder,
  state: DesiredTraffic | undefined,
  canaryRS: V1ReplicaSet | undefined,
  stableRS: V1ReplicaSet | undefined,
): void {
  const c = strategy(b);
  const maxW = maxTrafficWeight(b.rollout);
  const canaryHash = state?.canaryHash ?? hashOf(canaryRS) ?? b.ctx.podHash;
  const stableHash = state?.stableHash ?? b.status.stableRS ?? "";
  const weight = state
    ? state.canaryWeight
    : canaryHash === stableHash
      ? 0
      : replicaWeight(readyReplicas(canaryRS), readyReplicas(stableRS), maxW);
  b.status.canary = {
    ...(b.status.canary ?? {}),
    weights: {
      canary: {
        weight,
        podTemplateHash: canaryHash,
        ...(c.canaryService ? { serviceName: c.canaryService } : {}),
      },
      stable: {
        weight: maxW - weight,
        podTemplateHash: stableHash,
        ...(c.stableService ? { serviceName: c.stableService } : {}),
      },
      ...(state ? { verified: b.ctx.traffic.verified(state) } : {}),
    },
  };
}

function routeTraffic(b: PlanBuilder, state: DesiredTraffic, gate: boolean): boolean {
  b.traffic = state;
  const before = b.old.canary?.weights;
  const changed =
    before?.canary.weight !== state.canaryWeight || before?.canary.podTemplateHash !== state.canaryHash;
  b.act({
    type: "traffic",
    state,
    gate,
    ...(changed
      ? {
          event: {
            type: "Normal" as const,
            reason: "TrafficWeightUpdated",
            message: `Traffic weight updated from ${before?.canary.weight ?? 0} to ${state.canaryWeight} (canary ${state.canaryHash}, stable ${state.stableHash})`,
          },
        }
      : {}),
  });
  const verified = b.ctx.traffic.verified(state);
  if (!verified) b.requeueAfter(SETTLE_REQUEUE_MS);
  return verified;
}

/** Whether old sets may go: no Service selects them and the router sends them nothing. */
function unrouted(b: PlanBuilder, rs: V1ReplicaSet, settled: boolean): boolean {
  const c = strategy(b);
  const hash = hashOf(rs);
  if (hash === b.selectorAfter(c.canaryService) || hash === b.selectorAfter(c.stableService)) return false;
  return !b.ctx.routed || settled;
}

export function planCanaryCompleted(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ro = b.rollout;
  const c = strategy(b);
  const R = desiredReplicas(ro);
  const hash = b.ctx.podHash;
  if (b.old.abort || b.old.abortedAt) {
    b.event("Normal", "RolloutCompleted", "Rollout is back on its stable revision; abort cleared");
  }
  delete b.status.abort;
  delete b.status.abortedAt;
  delete b.status.promoteFull;
  clearPauses(b);
  b.status.currentStepIndex = steps(ro).length;
  if (b.status.canary) {
    delete b.status.canary.currentStepAnalysisRunStatus;
    delete b.status.canary.currentBackgroundAnalysisRunStatus;
  }
  const rs = ensureNewReplicaSet(b, roles.newRS, R, c.stableMetadata);
  const ready = observedAvailable(roles.newRS) >= R;
  if (ready) switchService(b, c.stableService, hash);
  let settled = true;
  let state: DesiredTraffic | undefined;
  if (b.ctx.routed) {
    state = { canaryWeight: 0, headerRoutes: [], mirrorRoutes: [], canaryHash: hash, stableHash: hash };
    settled =
      !c.stableService || b.selectorAfter(c.stableService) === hash ? routeTraffic(b, state, false) : false;
  }
  if (ready && (settled || !b.ctx.routed)) switchService(b, c.canaryService, hash);
  reconcileRoleMetadata(b, roles.newRS, c.stableMetadata, [c.canaryMetadata, c.stableMetadata]);
  const done = scaleDownOldSets(b, roles.others, (x) => unrouted(b, x, settled));
  if (!done && !settled) b.requeueAfter(SETTLE_REQUEUE_MS);
  terminateRunsExcept(b, new Set());
  setWeights(b, state, rs, rs);
}

export function planCanaryAborted(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ro = b.rollout;
  const c = strategy(b);
  const R = desiredReplicas(ro);
  const hash = b.ctx.podHash;
  const stableHash = b.status.stableRS ?? "";
  const { newRS, stableRS } = roles;
  const maxW = maxTrafficWeight(ro);
  let state: DesiredTraffic | undefined;
  let settled = true;
  if (b.ctx.routed) {
    // First, in one router write: all traffic back to stable, no header or mirror routes.
    const current =
      b.old.canary?.weights?.canary.podTemplateHash === hash ? b.old.canary.weights.canary.weight : 0;
    const weight = c.dynamicStableScale
      ? abortCanaryWeight(R, observedAvailable(stableRS), current, maxW)
      : 0;
    state = { canaryWeight: weight, headerRoutes: [], mirrorRoutes: [], canaryHash: hash, stableHash };
    settled = routeTraffic(b, state, false) && weight === 0;
  }
  // Stable back to spec.replicas: up at once; down (an HPA scaled in) once it takes all traffic.
  if (stableRS && (specReplicas(stableRS) < R || (specReplicas(stableRS) > R && settled)))
    scale(b, stableRS, R);
  if (observedAvailable(stableRS) > 0 || R === 0) {
    // The canary Service moves only once the router sends it nothing (it was written just above).
    if (!state || state.canaryWeight === 0) switchService(b, c.canaryService, stableHash);
    switchService(b, c.stableService, stableHash);
  }
  if (newRS && specReplicas(newRS) > 0) {
    const delay = b.ctx.routed ? abortScaleDownDelayMs(ro) : 0;
    const stableBack = observedAvailable(stableRS) >= R;
    const canGo =
      settled && b.selectorAfter(c.canaryService) !== hash && b.selectorAfter(c.stableService) !== hash;
    if (delay !== undefined) {
      const at = Date.parse(b.status.abortedAt ?? b.nowIso()) + delay;
      if (b.ctx.now >= at && canGo && (b.ctx.routed || stableBack)) scale(b, newRS, 0);
      else if (b.ctx.now < at) b.requeueAt(at);
      else b.requeueAfter(SETTLE_REQUEUE_MS);
    }
  }
  reconcileRoleMetadata(b, stableRS, c.stableMetadata, [c.canaryMetadata, c.stableMetadata]);
  scaleDownOldSets(b, roles.others, (x) => unrouted(b, x, settled));
  terminateRunsExcept(b, new Set());
  setWeights(b, state, newRS, stableRS);
}

interface StepTargets {
  canary: number;
  stable: number;
}

function targets(b: PlanBuilder, index: number, stableRS: V1ReplicaSet | undefined): StepTargets {
  const ro = b.rollout;
  const R = desiredReplicas(ro);
  const maxW = maxTrafficWeight(ro);
  const n = steps(ro).length;
  const weight = setWeightAt(ro, index);
  if (!b.ctx.routed) {
    if (index >= n) return { canary: R, stable: Math.max(specReplicas(stableRS), 0) };
    return basicCanaryCounts(R, weight, maxW);
  }
  let canary = routedCanaryReplicas(R, weight, maxW);
  const override = canaryScaleAt(ro, index);
  if (override?.replicas !== undefined) canary = override.replicas;
  else if (override?.weight !== undefined)
    canary = atLeastMinPods(b, routedCanaryReplicas(R, override.weight, 100));
  else canary = atLeastMinPods(b, canary);
  if (index >= n) canary = R;
  const stable = strategy(b).dynamicStableScale
    ? atLeastMinPods(b, Math.max(0, R - routedCanaryReplicas(R, weight, maxW)))
    : R;
  return { canary, stable };
}

/**
 * `minPodsPerReplicaSet` (routed canary, Argo's CheckMinPodsPerReplicaSet): a set that runs
 * pods at all runs at least that many, for availability; an explicit `setCanaryScale.replicas`
 * is taken as written.
 */
function atLeastMinPods(b: PlanBuilder, count: number): number {
  const min = strategy(b).minPodsPerReplicaSet;
  return min === undefined || count === 0 ? count : Math.max(count, min);
}

export function planCanaryProgress(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ro = b.rollout;
  const c = strategy(b);
  const ctx = b.ctx;
  const R = desiredReplicas(ro);
  const maxW = maxTrafficWeight(ro);
  const all = steps(ro);
  const hash = ctx.podHash;
  const stableHash = b.status.stableRS ?? "";
  const { newRS, stableRS } = roles;

  let index = stepIndex(ro, b.status.currentStepIndex);
  if ((b.old.promoteFull || b.fastRollback) && index < all.length) {
    if (b.old.promoteFull)
      b.event("Normal", "RolloutPromoted", `Full promotion: skipping steps ${index + 1}..${all.length}`);
    index = all.length;
    clearPauses(b);
  }
  b.status.currentStepIndex = index;
  const step = all[index];
  const t = targets(b, index, stableRS);
  const weightTarget = setWeightAt(ro, index);

  // 1. Scale up: the stable set first (it must always be able to take the traffic back), then
  //    the canary. With a router the stable set follows spec.replicas (an HPA) both ways: it
  //    stays able to take all the traffic, and grows no further than that.
  let canaryNext = t.canary;
  let stableNext =
    ctx.routed && !c.dynamicStableScale ? t.stable : Math.max(specReplicas(stableRS), t.stable);
  const currentWeight =
    b.old.canary?.weights?.canary.podTemplateHash === hash ? b.old.canary.weights.canary.weight : 0;
  if (!ctx.routed) {
    const { maxSurge, maxUnavailable } = surgeAndUnavailable(ro);
    const othersSpec = roles.others.reduce((n, rs) => n + specReplicas(rs), 0);
    const next =
      index >= all.length
        ? { canary: R, stable: specReplicas(stableRS) }
        : rollBasicCanary({
            replicas: R,
            maxSurge,
            maxUnavailable,
            canary: { spec: specReplicas(newRS), available: observedAvailable(newRS), target: t.canary },
            stable: {
              spec: specReplicas(stableRS),
              available: observedAvailable(stableRS),
              target: t.stable,
            },
            othersSpec,
          });
    canaryNext = next.canary;
    stableNext = next.stable;
  } else if (c.dynamicStableScale && t.stable < specReplicas(stableRS)) {
    // Shrink stable only once the router already sends the canary its share.
    const verifiedShare = b.old.canary?.weights?.verified === true ? currentWeight : 0;
    stableNext = verifiedShare >= weightTarget ? t.stable : specReplicas(stableRS);
  }
  if (stableRS && stableNext > specReplicas(stableRS)) scale(b, stableRS, stableNext);
  const canaryRS = ensureNewReplicaSet(b, newRS, Math.max(canaryNext, 0), c.canaryMetadata);

  // 2. Services: the stable Service on stable; the canary Service on the canary once its pods
  //    are available (until then it stays where it was, or goes back to stable).
  const canaryAvailable = observedAvailable(newRS);
  if (observedAvailable(stableRS) > 0) switchService(b, c.stableService, stableHash);
  const canaryReady = canaryAvailable > 0 && canaryAvailable >= t.canary;
  // A canary Service still on an older canary (a new revision mid-rollout) moves only once the
  // router sends it nothing, so no request meets a version before its step.
  const canaryNow = b.selectorAfter(c.canaryService);
  const zero: DesiredTraffic = {
    canaryWeight: 0,
    headerRoutes: [],
    mirrorRoutes: [],
    canaryHash: hash,
    stableHash,
  };
  const canaryServiceFree =
    !ctx.routed || !canaryNow || canaryNow === hash || canaryNow === stableHash || ctx.traffic.verified(zero);
  if (canaryReady && canaryServiceFree) switchService(b, c.canaryService, hash);

  // 3. Traffic: raised only when the canary Service selects available canary pods.
  let state: DesiredTraffic | undefined;
  let verified = true;
  if (ctx.routed) {
    // Without a canary Service (Istio subsets), the router selects the canary pods itself.
    const onCanary = !c.canaryService || b.selectorAfter(c.canaryService) === hash;
    let weight = weightTarget;
    if (!(onCanary && canaryReady) && weightTarget > currentWeight) weight = onCanary ? currentWeight : 0;
    if (canaryAvailable === 0) weight = 0;
    const routes =
      onCanary && canaryAvailable > 0 ? managedRoutesAt(ro, index) : { headerRoutes: [], mirrorRoutes: [] };
    state = { canaryWeight: weight, ...routes, canaryHash: hash, stableHash };
    verified = routeTraffic(b, state, true);
    const canarySel = b.selectorAfter(c.canaryService);
    if (canarySel !== hash && canarySel !== stableHash && verified && weight === 0)
      switchService(b, c.canaryService, stableHash);
  }

  // 4. Scale down (stable of a basic canary as canary pods become available; dynamic stable).
  if (stableRS && stableNext < specReplicas(stableRS)) scale(b, stableRS, stableNext);
  const settled = !ctx.routed || verified;
  scaleDownOldSets(b, roles.others, (x) => unrouted(b, x, settled && hashOf(x) !== state?.canaryHash));
  reconcileRoleMetadata(b, newRS, c.canaryMetadata, [c.canaryMetadata, c.stableMetadata]);
  reconcileRoleMetadata(b, stableRS, c.stableMetadata, [c.canaryMetadata, c.stableMetadata]);

  // 5. Analysis: background from startingStep, and the current analysis step.
  const keep = new Set<string>();
  const bgRun = backgroundAnalysis(b, index, keep, stableHash, newRS);
  let stepRun: EnsuredRun | undefined;
  if (step?.analysis) {
    stepRun = ensureRun(b, {
      analysis: step.analysis,
      kind: "step",
      step: index,
      hash,
      stableHash,
      attempt: b.attempt,
      revisionRS: newRS,
    });
    keep.add(stepRun.name);
    b.status.canary = {
      ...(b.status.canary ?? {}),
      currentStepAnalysisRunStatus: runStatus(stepRun.name, stepRun.run),
    };
  } else if (b.status.canary) delete b.status.canary.currentStepAnalysisRunStatus;
  terminateRunsExcept(b, keep);
  setWeights(b, state, newRS, stableRS);
  if (stepRun?.error || bgRun?.error) {
    b.notes.add(`invalid:${stepRun?.error ?? bgRun?.error}`);
    return;
  }
  if (ro.spec.paused) return;

  // 6. Is the current step done? One step per reconcile; the status write triggers the next.
  const canaryAtTarget =
    specReplicas(canaryRS) === t.canary &&
    canaryAvailable >= t.canary &&
    (ctx.routed || specReplicas(stableRS) === t.stable || !stableRS);
  if (!step) {
    const fullyUp = canaryAvailable >= R && specReplicas(canaryRS) >= R;
    const trafficDone = !ctx.routed || (verified && state?.canaryWeight === maxW);
    if (fullyUp && trafficDone) promote(b, roles, canaryRS);
    else if (!fullyUp) b.requeueAfter(SETTLE_REQUEUE_MS * 5);
    return;
  }
  let done = false;
  if (step.setWeight !== undefined)
    done = canaryAtTarget && verified && (!ctx.routed || state?.canaryWeight === weightTarget);
  else if (step.setCanaryScale) done = canaryAtTarget;
  else if (step.setHeaderRoute || step.setMirrorRoute) done = verified;
  else if (step.pause)
    done = timedPause(
      b,
      PAUSE.canaryStep,
      pauseDurationMs(step),
      `step ${index + 1}/${all.length} (${describeStep(step)})`,
    );
  else if (step.analysis && stepRun) {
    if (stepRun.phase === "Successful") done = true;
    else if (stepRun.phase === "Inconclusive") {
      if (releasedByUser(b)) done = true;
      else addPause(b, PAUSE.inconclusive, `analysis run ${stepRun.name} was inconclusive`);
    }
  }
  if (bgRun?.phase === "Inconclusive" && !bgReleased(b, bgRun.name)) {
    if (releasedByUser(b)) markBgReleased(b, bgRun.name);
    else {
      addPause(b, PAUSE.inconclusive, `background analysis run ${bgRun.name} was inconclusive`);
      done = false;
    }
  }
  if (done) {
    b.status.currentStepIndex = index + 1;
    clearPauses(b);
    b.event(
      "Normal",
      "RolloutStepCompleted",
      `Rollout step ${index + 1}/${all.length} completed (${describeStep(step)})`,
    );
  }
}

function bgReleased(b: PlanBuilder, name: string): boolean {
  const s = b.old.canary?.currentBackgroundAnalysisRunStatus;
  return s?.name === name && s.message === RELEASED;
}

const RELEASED = "inconclusive result promoted past";

function markBgReleased(b: PlanBuilder, name: string): void {
  b.status.canary = {
    ...(b.status.canary ?? {}),
    currentBackgroundAnalysisRunStatus: { name, status: "Inconclusive", message: RELEASED },
  };
}

function backgroundAnalysis(
  b: PlanBuilder,
  index: number,
  keep: Set<string>,
  stableHash: string,
  newRS: V1ReplicaSet | undefined,
): EnsuredRun | undefined {
  const bg = strategy(b).analysis;
  if (!bg || index < (bg.startingStep ?? 0) || b.fastRollback) {
    if (b.status.canary) delete b.status.canary.currentBackgroundAnalysisRunStatus;
    return undefined;
  }
  const run = ensureRun(b, {
    analysis: bg,
    kind: "background",
    hash: b.ctx.podHash,
    stableHash,
    attempt: b.attempt,
    revisionRS: newRS,
  });
  keep.add(run.name);
  if (!bgReleased(b, run.name)) {
    b.status.canary = {
      ...(b.status.canary ?? {}),
      currentBackgroundAnalysisRunStatus: runStatus(run.name, run.run),
    };
  }
  return run;
}

/** The runs whose failure aborts a progressing canary now: the current step's and the background run. */
export function canaryRunsToWatch(b: PlanBuilder): ReturnType<typeof findRun>[] {
  const ro = b.rollout;
  const all = steps(ro);
  const index = stepIndex(ro, b.old.currentStepIndex);
  const hash = b.ctx.podHash;
  const out = [];
  if (all[index]?.analysis) out.push(findRun(b.ctx, runName(b.name, hash, "step", index, b.attempt)));
  const bg = ro.spec.strategy.canary?.analysis;
  if (bg && index >= (bg.startingStep ?? 0) && !b.fastRollback)
    out.push(findRun(b.ctx, runName(b.name, hash, "background", undefined, b.attempt)));
  return out.filter((r) => r !== undefined && phaseOf(r) !== undefined);
}

/** The canary becomes stable: stable Service on it, old stable scaled down after the delay. */
function promote(b: PlanBuilder, roles: ReplicaSetRoles, canaryRS: V1ReplicaSet): void {
  const c = strategy(b);
  const hash = b.ctx.podHash;
  switchService(b, c.stableService, hash);
  if (roles.stableRS) markForScaleDown(b, roles.stableRS, scaleDownDelayMs(b.rollout));
  const rev = revisionOf(canaryRS);
  b.status.stableRS = hash;
  delete b.status.promoteFull;
  clearPauses(b);
  b.notes.add("completed");
  b.event(
    "Normal",
    "RolloutCompleted",
    `Rollout completed update to revision ${rev || "?"} (${hash}): the canary is now stable`,
  );
}
