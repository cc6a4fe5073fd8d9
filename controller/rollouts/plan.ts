/**
 * The pure planner (STYLE.md rule 5): given the rollout context, the ordered actions to take,
 * the new status and the events — no I/O, so every decision is table-tested with plain data.
 * `reconciler.ts` carries the plan out and writes the status once.
 *
 * Order of concerns in one pass: validation (InvalidSpec, nothing moved), first deploy (straight
 * to stable), retry, abort, the strategy (canary.ts / bluegreen.ts), then what both share:
 * workloadRef scale-down, restartAt, revision history, and the status (conditions, progress
 * deadline, phase).
 */
import type { V1ReplicaSet } from "@kubernetes/client-node";
import { abortCause, markAborted, retry, retryRequested } from "./abort.js";
import { attemptOf, cleanUpRuns } from "./analysis.js";
import {
  blueGreenRunsToWatch,
  planBlueGreenAborted,
  planBlueGreenCompleted,
  planBlueGreenProgress,
} from "./bluegreen.js";
import { canaryRunsToWatch, planCanaryAborted, planCanaryCompleted, planCanaryProgress } from "./canary.js";
import { CONDITION, POD_HASH_LABEL, REASON } from "./constants.js";
import {
  availableReplicas,
  hashOf,
  type Plan,
  PlanBuilder,
  type RolloutContext,
  readyReplicas,
  specReplicas,
} from "./context.js";
import { clearPauses } from "./pause.js";
import {
  classify,
  cleanUpHistory,
  newRevision as newRevisionNumber,
  type ReplicaSetRoles,
  replicaSetName,
  revisionOf,
  rollbackWithinWindow,
} from "./replicaset.js";
import { desiredReplicas, progressDeadlineMs, selectorString, steps, strategyOf } from "./spec.js";
import { computePhase, getCondition, madeProgress, removeCondition, setCondition } from "./status.js";
import { validateRollout } from "./validate.js";

export function planRollout(ctx: RolloutContext): Plan {
  const b = new PlanBuilder(ctx);
  const ro = ctx.rollout;
  const s = b.status;
  if (ro.metadata.generation !== undefined) s.observedGeneration = ro.metadata.generation;
  s.selector = selectorString(ro.spec.selector);
  if (ctx.podHash) s.currentPodHash = ctx.podHash;
  let roles = classify(ctx);
  b.attempt = attemptOf(roles.newRS);

  const invalid =
    validateRollout(ctx)?.message ??
    (ctx.traffic.error ? `trafficRouting: ${ctx.traffic.error.message}` : undefined);
  if (invalid) {
    markInvalid(b, invalid);
    finishStatus(b, roles);
    return b.build();
  }
  removeCondition(s, CONDITION.invalidSpec);

  // The first deploy ignores the strategy: the new set is stable from the start. A status that
  // lost its stableRS while older sets still run pods takes the newest of them as stable instead
  // of promoting the new template unchecked.
  const running = roles.others.filter((rs) => specReplicas(rs) > 0);
  if (!roles.stableRS && running.length > 0) {
    const newest = running.reduce((a, x) => (revisionOf(x) > revisionOf(a) ? x : a));
    s.stableRS = hashOf(newest);
    roles = classify(ctx, s.stableRS);
  } else if (!roles.stableRS && s.stableRS !== ctx.podHash) {
    s.stableRS = ctx.podHash;
    roles = classify(ctx, ctx.podHash);
  }
  const strategy = strategyOf(ro);
  const completed = s.stableRS === ctx.podHash;
  b.fastRollback = !completed && rollbackWithinWindow(ctx, roles);
  if (!completed && b.old.currentPodHash && b.old.currentPodHash !== ctx.podHash) newRevision(b, roles);
  if (!completed && retryRequested(b)) {
    retry(b, roles.newRS);
    b.notes.add("retried");
  }
  if (strategy === "canary") {
    if (completed) planCanaryCompleted(b, roles);
    else {
      const cause = abortCause(b, canaryRunsToWatch(b));
      if (cause) {
        markAborted(b, cause, roles.newRS);
        planCanaryAborted(b, roles);
      } else if (!ro.spec.paused) planCanaryProgress(b, roles);
    }
  } else {
    if (completed) planBlueGreenCompleted(b, roles);
    else {
      const cause = abortCause(b, blueGreenRunsToWatch(b));
      if (cause) {
        markAborted(b, cause, roles.newRS);
        planBlueGreenAborted(b, roles);
      } else if (!ro.spec.paused) planBlueGreenProgress(b, roles);
    }
  }
  for (const note of b.notes) if (note.startsWith("invalid:")) markInvalid(b, `analysis: ${note.slice(8)}`);
  scaleDownWorkload(b, roles);
  restartPods(b);
  cleanUpHistory(b, roles.others);
  cleanUpRuns(b);
  finishStatus(b, roles);
  return b.build();
}

/** A new template: the steps start again from the first, and an earlier abort no longer applies. */
function newRevision(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const s = b.status;
  s.currentStepIndex = 0;
  delete s.abort;
  delete s.abortedAt;
  delete s.promoteFull;
  clearPauses(b);
  if (s.canary) {
    delete s.canary.currentStepAnalysisRunStatus;
    delete s.canary.currentBackgroundAnalysisRunStatus;
  }
  if (s.blueGreen) {
    delete s.blueGreen.prePromotionAnalysisRunStatus;
    delete s.blueGreen.postPromotionAnalysisRunStatus;
  }
  const rev = newRevisionNumber(b.ctx, roles.newRS);
  b.event("Normal", "RolloutUpdated", `Rollout updated to revision ${rev} (${b.ctx.podHash})`);
  if (b.fastRollback) {
    const window = b.rollout.spec.rollbackWindow?.revisions;
    b.event(
      "Normal",
      "SkipSteps",
      `Rollback within rollbackWindow (${window} revisions): steps, pauses and analysis are skipped`,
    );
  }
}

function markInvalid(b: PlanBuilder, message: string): void {
  const old = getCondition(b.old, CONDITION.invalidSpec);
  setCondition(
    b.status,
    { type: CONDITION.invalidSpec, status: "True", reason: REASON.invalidSpec, message },
    b.nowIso(),
  );
  if (old?.status !== "True" || old.message !== message) b.event("Warning", "InvalidSpec", message);
}

/** workloadRef `scaleDown`: the referenced Deployment gives way once (or as) the Rollout is up. */
function scaleDownWorkload(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ref = b.rollout.spec.workloadRef;
  const dep = b.ctx.deployment;
  if (!ref || !dep || !ref.scaleDown || ref.scaleDown === "never") return;
  const current = dep.spec?.replicas ?? 1;
  if (current === 0) return;
  const R = desiredReplicas(b.rollout);
  const stable = roles.stableRS ?? (b.status.stableRS === b.ctx.podHash ? roles.newRS : undefined);
  const available = availableReplicas(stable);
  let want = current;
  if (ref.scaleDown === "onsuccess")
    want = available >= R && b.status.stableRS === b.ctx.podHash ? 0 : current;
  else want = Math.min(current, Math.max(0, R - available));
  if (want === current) return;
  b.act({
    type: "scaleDeployment",
    name: ref.name,
    replicas: want,
    event: {
      type: "Normal",
      reason: "ScalingDeployment",
      message: `Scaled down Deployment ${ref.name} from ${current} to ${want} (workloadRef scaleDown: ${ref.scaleDown})`,
    },
  });
}

/** `restartAt`: replace pods created before it, one at a time while every set is fully available. */
function restartPods(b: PlanBuilder): void {
  const at = b.rollout.spec.restartAt;
  if (!at) return;
  const atMs = Date.parse(at);
  if (Number.isNaN(atMs)) return;
  if (b.status.restartedAt && Date.parse(b.status.restartedAt) >= atMs) return;
  if (atMs > b.ctx.now) {
    b.requeueAt(atMs);
    return;
  }
  const hashes = new Set(b.ctx.replicaSets.map(hashOf));
  const old = b.ctx.pods
    .filter(
      (p) => hashes.has(p.metadata?.labels?.["rollouts-pod-template-hash"]) && !p.metadata?.deletionTimestamp,
    )
    .filter((p) => Date.parse(String(p.metadata?.creationTimestamp ?? "")) < atMs)
    .sort((x, y) => String(x.metadata?.name).localeCompare(String(y.metadata?.name)));
  if (old.length === 0) {
    b.status.restartedAt = at;
    b.event("Normal", "RolloutRestarted", `All pods created before ${at} have been replaced`);
    return;
  }
  const steady = b.ctx.replicaSets.every(
    (rs) => availableReplicas(rs) >= specReplicas(rs) && (rs.status?.replicas ?? 0) === specReplicas(rs),
  );
  if (steady) {
    const pod = old[0]!;
    b.act({
      type: "deletePod",
      name: pod.metadata?.name ?? "",
      ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
      event: {
        type: "Normal",
        reason: "RestartingPod",
        message: `Restarting pod ${pod.metadata?.name} (restartAt ${at})`,
      },
    });
  }
  b.requeueAfter(1000);
}

function waitingOnAnalysis(b: PlanBuilder): boolean {
  const s = b.status;
  if (strategyOf(b.rollout) === "blueGreen") {
    const running = (x?: { status: string }) =>
      x !== undefined && (x.status === "Running" || x.status === "Pending");
    return (
      running(s.blueGreen?.prePromotionAnalysisRunStatus) ||
      running(s.blueGreen?.postPromotionAnalysisRunStatus)
    );
  }
  return steps(b.rollout)[s.currentStepIndex ?? 0]?.analysis !== undefined;
}

/**
 * What the scale subresource shows an HPA: `status.HPAReplicas` (Argo: "replicas receiving active
 * traffic") and `status.selector`. With a router and no dynamicStableScale the stable set alone,
 * at spec.replicas: it carries the traffic spec.replicas is sized for, while the canary runs on
 * top of it. Counting the canary too would make an HPA that adopts status.replicas as its desired
 * count (an AverageValue metric within tolerance) grow the Rollout at every step, and the stable
 * set with it, up to maxReplicas (#2857). Blue-green: the active set, and its selector, as Argo.
 * Otherwise every set.
 */
function scaleStatus(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ro = b.rollout;
  const s = b.status;
  const actual = (rs: V1ReplicaSet | undefined) => rs?.status?.replicas ?? 0;
  const all = b.ctx.replicaSets.reduce((n, rs) => n + actual(rs), 0);
  if (strategyOf(ro) === "blueGreen") {
    const active = b.ctx.replicaSets.find((rs) => hashOf(rs) === s.blueGreen?.activeSelector);
    s.HPAReplicas = active ? actual(active) : all;
    const sel = ro.spec.selector;
    if (active && sel)
      s.selector = selectorString({
        ...sel,
        matchLabels: { ...(sel.matchLabels ?? {}), [POD_HASH_LABEL]: hashOf(active) ?? "" },
      });
    return;
  }
  const stable = roles.stableRS ?? (s.stableRS === b.ctx.podHash ? roles.newRS : undefined);
  const stableCarriesAll = b.ctx.routed && !ro.spec.strategy.canary?.dynamicStableScale && stable;
  s.HPAReplicas = stableCarriesAll ? actual(stable) : all;
}

function finishStatus(b: PlanBuilder, roles: ReplicaSetRoles): void {
  const ctx = b.ctx;
  const ro = ctx.rollout;
  const s = b.status;
  const R = desiredReplicas(ro);
  const sets: V1ReplicaSet[] = [...ctx.replicaSets];
  s.replicas = sets.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  s.updatedReplicas = roles.newRS?.status?.replicas ?? 0;
  s.readyReplicas = sets.reduce((n, rs) => n + readyReplicas(rs), 0);
  if (strategyOf(ro) === "blueGreen") {
    const active = sets.find((rs) => hashOf(rs) === s.blueGreen?.activeSelector);
    s.availableReplicas = availableReplicas(active);
  } else s.availableReplicas = sets.reduce((n, rs) => n + availableReplicas(rs), 0);
  scaleStatus(b, roles);

  const now = b.nowIso();
  const invalid = getCondition(s, CONDITION.invalidSpec)?.status === "True";
  const paused = Boolean(ro.spec.paused) || (s.pauseConditions?.length ?? 0) > 0;
  const completed =
    s.stableRS === s.currentPodHash && (s.updatedReplicas ?? 0) >= R && (s.availableReplicas ?? 0) >= R;
  const rsName = replicaSetName(ro.metadata.name ?? "", ctx.podHash);
  const cond = getCondition(b.old, CONDITION.progressing);
  if (!invalid && !s.abort && !b.notes.has("retried")) {
    if (completed) {
      setCondition(
        s,
        {
          type: CONDITION.progressing,
          status: "True",
          reason: REASON.newRSAvailable,
          message: `ReplicaSet "${rsName}" has successfully progressed.`,
        },
        now,
      );
    } else if (paused) {
      setCondition(
        s,
        {
          type: CONDITION.progressing,
          status: "Unknown",
          reason: REASON.paused,
          message: "Rollout is paused",
        },
        now,
      );
    } else if (cond?.reason === REASON.paused) {
      setCondition(
        s,
        {
          type: CONDITION.progressing,
          status: "True",
          reason: REASON.resumed,
          message: "Rollout is resumed",
        },
        now,
        true,
      );
      b.event("Normal", "RolloutResumed", "Rollout is resumed");
    } else if (
      !cond ||
      madeProgress(b.old, s) ||
      cond.reason === REASON.newRSAvailable ||
      cond.reason === REASON.aborted ||
      cond.reason === REASON.invalidSpec
    ) {
      setCondition(
        s,
        {
          type: CONDITION.progressing,
          status: "True",
          reason: REASON.rsUpdated,
          message: `ReplicaSet "${rsName}" is progressing.`,
        },
        now,
        true,
      );
    } else if (cond.reason !== REASON.timedOut && !waitingOnAnalysis(b)) {
      const since = Date.parse(cond.lastUpdateTime ?? now);
      const deadline = since + progressDeadlineMs(ro);
      if (ctx.now >= deadline) {
        const message = `ReplicaSet "${rsName}" has timed out progressing.`;
        setCondition(
          s,
          { type: CONDITION.progressing, status: "False", reason: REASON.timedOut, message },
          now,
        );
        b.event(
          "Warning",
          "ProgressDeadlineExceeded",
          `${message} (progressDeadlineSeconds ${progressDeadlineMs(ro) / 1000})`,
        );
        if (ro.spec.progressDeadlineAbort) b.requeueAfter(1);
      } else b.requeueAt(deadline);
    }
  }
  if (paused || getCondition(b.old, CONDITION.paused)) {
    setCondition(
      s,
      paused
        ? { type: CONDITION.paused, status: "True", reason: REASON.paused, message: "Rollout is paused" }
        : { type: CONDITION.paused, status: "False", reason: REASON.resumed, message: "Rollout is resumed" },
      now,
    );
  }
  const available = (s.availableReplicas ?? 0) >= R;
  setCondition(
    s,
    {
      type: CONDITION.available,
      status: available ? "True" : "False",
      reason: REASON.available,
      message: available ? "Rollout has minimum availability" : "Rollout does not have minimum availability",
    },
    now,
  );
  const done = s.stableRS !== undefined && s.stableRS === s.currentPodHash;
  setCondition(
    s,
    {
      type: CONDITION.completed,
      status: done ? "True" : "False",
      reason: REASON.completed,
      message: done ? "Rollout completed update to the current revision" : "Rollout is updating",
    },
    now,
  );
  const { phase, message } = computePhase(ro, s);
  s.phase = phase;
  if (message) s.message = message;
  else delete s.message;
  setCondition(
    s,
    {
      type: CONDITION.healthy,
      status: phase === "Healthy" ? "True" : "False",
      reason: REASON.healthy,
      message: phase === "Healthy" ? "Rollout is healthy" : "Rollout is not healthy",
    },
    now,
  );
  if (phase !== "Healthy" && !paused && !invalid && !s.abort) b.requeueAfter(30_000);
}
