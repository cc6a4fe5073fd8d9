/**
 * Rollout status: conditions, the phase and its message (Argo's utils/rollout/rolloututil.go
 * CalculateRolloutPhase and utils/conditions), replica counts and the progress deadline. Pure.
 */
import type { RolloutCondition, RolloutPhase, RolloutStatus } from "../../api/v1alpha1/rollout.js";
import { CONDITION, REASON } from "./constants.js";
import { desiredReplicas, steps, strategyOf } from "./spec.js";
import type { RolloutObject } from "./types.js";

export function getCondition(status: RolloutStatus, type: string): RolloutCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/**
 * Sets a condition; timestamps move only when something about it changed (or `touch` asks for a
 * new lastUpdateTime, as progress does), so an unchanged rollout writes nothing.
 */
export function setCondition(
  status: RolloutStatus,
  cond: Pick<RolloutCondition, "type" | "status" | "reason" | "message">,
  nowIso: string,
  touch = false,
): void {
  const conditions = status.conditions ?? [];
  const i = conditions.findIndex((c) => c.type === cond.type);
  const old = i >= 0 ? conditions[i] : undefined;
  if (
    old &&
    old.status === cond.status &&
    old.reason === cond.reason &&
    old.message === cond.message &&
    !touch
  )
    return;
  const next: RolloutCondition = {
    type: cond.type,
    status: cond.status,
    ...(cond.reason ? { reason: cond.reason } : {}),
    ...(cond.message ? { message: cond.message } : {}),
    lastUpdateTime: nowIso,
    lastTransitionTime: old && old.status === cond.status ? (old.lastTransitionTime ?? nowIso) : nowIso,
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  status.conditions = conditions;
}

export function removeCondition(status: RolloutStatus, type: string): void {
  if (!status.conditions) return;
  const rest = status.conditions.filter((c) => c.type !== type);
  if (rest.length) status.conditions = rest;
  else delete status.conditions;
}

/** Argo's CalculateRolloutPhase, with the message `kubectl get` and the CLI show. */
export function computePhase(
  rollout: RolloutObject,
  status: RolloutStatus,
): { phase: RolloutPhase; message: string } {
  const gen = rollout.metadata.generation;
  if (gen !== undefined && status.observedGeneration !== undefined && status.observedGeneration < gen) {
    return { phase: "Progressing", message: "waiting for rollout spec update to be observed" };
  }
  const invalid = getCondition(status, CONDITION.invalidSpec);
  if (invalid?.status === "True")
    return { phase: "Degraded", message: `InvalidSpec: ${invalid.message ?? ""}` };
  const progressing = getCondition(status, CONDITION.progressing);
  if (progressing && (progressing.reason === REASON.aborted || progressing.reason === REASON.timedOut)) {
    return { phase: "Degraded", message: `${progressing.reason}: ${progressing.message ?? ""}` };
  }
  if (rollout.spec.paused) return { phase: "Paused", message: "manually paused" };
  const pause = status.pauseConditions?.[0];
  if (pause) return { phase: "Paused", message: pause.reason };
  const replicas = desiredReplicas(rollout);
  if ((status.updatedReplicas ?? 0) < replicas)
    return { phase: "Progressing", message: "more replicas need to be updated" };
  if ((status.availableReplicas ?? 0) < (status.updatedReplicas ?? 0))
    return { phase: "Progressing", message: "updated replicas are still becoming available" };
  if (strategyOf(rollout) === "blueGreen") {
    if (status.blueGreen?.activeSelector !== status.currentPodHash)
      return { phase: "Progressing", message: "active service cutover pending" };
    if (status.stableRS !== status.currentPodHash)
      return { phase: "Progressing", message: "waiting for analysis to complete" };
  } else {
    if ((status.currentStepIndex ?? 0) < steps(rollout).length)
      return { phase: "Progressing", message: "more steps need to be performed" };
    if (status.stableRS !== status.currentPodHash)
      return { phase: "Progressing", message: "waiting for rollout to finish steps" };
  }
  if ((status.replicas ?? 0) > (status.updatedReplicas ?? 0))
    return { phase: "Progressing", message: "old replicas are pending termination" };
  return { phase: "Healthy", message: "" };
}

/**
 * Argo's RolloutProgressing: the new status shows progress over the old one (more pods updated,
 * ready or available, fewer old ones, a step done, a selector moved, a new stable set).
 */
export function madeProgress(old: RolloutStatus, next: RolloutStatus): boolean {
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) !== (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0) ||
    next.currentStepIndex !== old.currentStepIndex ||
    next.stableRS !== old.stableRS ||
    next.currentPodHash !== old.currentPodHash ||
    next.blueGreen?.activeSelector !== old.blueGreen?.activeSelector ||
    next.blueGreen?.previewSelector !== old.blueGreen?.previewSelector
  );
}
