/**
 * Abort and retry (Argo's rollout/abort + `kubectl argo rollouts abort|retry`), each with one
 * clear effect visible in status and Events (#2897):
 *
 * - abort: a failed/errored AnalysisRun, `status.abort=true` set by `slipway rollout abort`, or a
 *   missed progress deadline with `progressDeadlineAbort`. The controller records `abortedAt`,
 *   the `RolloutAborted` condition and a Warning event saying why (the failing metric and its
 *   value), sends all traffic to stable first, then scales the canary down.
 * - retry: the user sets `status.abort=false`; the controller sees `abortedAt` without `abort`,
 *   starts the steps again from the first under a new attempt number (so the new AnalysisRuns
 *   get new names and the failed ones stay to be read), and says so in an event.
 */
import type { V1ReplicaSet } from "@kubernetes/client-node";
import { attemptOf, failureMessage, phaseOf } from "./analysis.js";
import { ATTEMPT_ABORT_ANNOTATION, ATTEMPT_ANNOTATION, CONDITION, REASON } from "./constants.js";
import type { PlanBuilder } from "./context.js";
import { clearPauses } from "./pause.js";
import { revisionOf } from "./replicaset.js";
import { getCondition, setCondition } from "./status.js";
import type { AnalysisRunObject } from "./types.js";

export interface AbortCause {
  message: string;
  byUser: boolean;
}

/** Why the rollout is (or must now be) aborted; undefined when it is not. */
export function abortCause(
  b: PlanBuilder,
  runs: readonly (AnalysisRunObject | undefined)[],
): AbortCause | undefined {
  const old = b.old;
  if (old.abort) {
    if (old.abortedAt) {
      const cond = getCondition(old, CONDITION.progressing);
      return {
        message: cond?.reason === REASON.aborted ? (cond.message ?? "aborted") : "aborted",
        byUser: false,
      };
    }
    return { message: "aborted by user (status.abort)", byUser: true };
  }
  for (const run of runs) {
    const phase = phaseOf(run);
    if (run && (phase === "Failed" || phase === "Error"))
      return { message: failureMessage(run), byUser: false };
  }
  if (
    b.rollout.spec.progressDeadlineAbort &&
    getCondition(old, CONDITION.progressing)?.reason === REASON.timedOut
  ) {
    return { message: "progress deadline exceeded (progressDeadlineAbort)", byUser: false };
  }
  return undefined;
}

/** Marks the rollout aborted (once): abortedAt, condition, Warning event. */
export function markAborted(b: PlanBuilder, cause: AbortCause, newRS: V1ReplicaSet | undefined): void {
  const cond = getCondition(b.status, CONDITION.progressing);
  if (b.old.abort && b.old.abortedAt && cond?.reason !== REASON.aborted) {
    setCondition(
      b.status,
      { type: CONDITION.progressing, status: "False", reason: REASON.aborted, message: cause.message },
      b.nowIso(),
    );
  }
  if (!b.old.abortedAt || !b.old.abort) {
    const rev = revisionOf(newRS);
    b.status.abort = true;
    b.status.abortedAt = b.nowIso();
    setCondition(
      b.status,
      { type: CONDITION.progressing, status: "False", reason: REASON.aborted, message: cause.message },
      b.nowIso(),
    );
    b.event(
      "Warning",
      "RolloutAborted",
      `Rollout aborted update to revision ${rev || "?"}: ${cause.message}`,
    );
    b.notes.add("aborted");
  }
  clearPauses(b);
  delete b.status.promoteFull;
}

/** A retry was asked for (abort cleared by the user after an abort). */
export function retryRequested(b: PlanBuilder): boolean {
  return Boolean(b.old.abortedAt) && !b.old.abort;
}

/** Starts the update again from the first step under the next attempt. */
export function retry(b: PlanBuilder, newRS: V1ReplicaSet | undefined): void {
  const abortedAt = b.old.abortedAt ?? "";
  const already = newRS?.metadata?.annotations?.[ATTEMPT_ABORT_ANNOTATION] === abortedAt;
  const attempt = already ? attemptOf(newRS) : attemptOf(newRS) + 1;
  if (newRS && !already) {
    b.act({
      type: "patchReplicaSet",
      name: newRS.metadata?.name ?? "",
      patch: {
        metadata: {
          annotations: { [ATTEMPT_ANNOTATION]: String(attempt), [ATTEMPT_ABORT_ANNOTATION]: abortedAt },
        },
      },
    });
  }
  b.attempt = attempt;
  delete b.status.abortedAt;
  delete b.status.abort;
  clearPauses(b);
  if (b.rollout.spec.strategy.canary) b.status.currentStepIndex = 0;
  if (b.status.canary) {
    delete b.status.canary.currentStepAnalysisRunStatus;
    delete b.status.canary.currentBackgroundAnalysisRunStatus;
  }
  if (b.status.blueGreen) {
    delete b.status.blueGreen.prePromotionAnalysisRunStatus;
    delete b.status.blueGreen.postPromotionAnalysisRunStatus;
  }
  const rev = revisionOf(newRS);
  setCondition(
    b.status,
    {
      type: CONDITION.progressing,
      status: "True",
      reason: REASON.retried,
      message: `Retrying update to revision ${rev || "?"} (attempt ${attempt + 1})`,
    },
    b.nowIso(),
    true,
  );
  b.event(
    "Normal",
    "RolloutRetried",
    `Retrying update to revision ${rev || "?"} from the first step (attempt ${attempt + 1}); status.abort cleared`,
  );
}
