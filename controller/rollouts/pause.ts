/**
 * Pauses (Argo's rollout/pause.go): the controller adds a pause condition (`CanaryPauseStep`,
 * `BlueGreenPause`, `InconclusiveAnalysisRun`) with its start time and sets `controllerPause`;
 * `promote` clears `status.pauseConditions` and leaves `controllerPause` set, which is how the
 * controller tells "released by the user" from "never paused". A timed pause ends when its start
 * time plus the duration has passed (the controller requeues for that moment), so the state
 * survives restarts.
 */
import type { PauseCondition, PauseReason, RolloutStatus } from "../../api/v1alpha1/rollout.js";
import type { PlanBuilder } from "./context.js";

export function pauseCondition(status: RolloutStatus, reason: PauseReason): PauseCondition | undefined {
  return status.pauseConditions?.find((c) => c.reason === reason);
}

/** Adds the pause (once); a `RolloutPaused` event when it is new. */
export function addPause(b: PlanBuilder, reason: PauseReason, why: string): PauseCondition {
  const existing = pauseCondition(b.status, reason);
  if (existing) return existing;
  const cond: PauseCondition = { reason, startTime: b.nowIso() };
  b.status.pauseConditions = [...(b.status.pauseConditions ?? []), cond];
  b.status.controllerPause = true;
  b.event("Normal", "RolloutPaused", `Rollout is paused (${reason}): ${why}`);
  return cond;
}

export function removePause(b: PlanBuilder, reason: PauseReason): void {
  const rest = (b.status.pauseConditions ?? []).filter((c) => c.reason !== reason);
  if (rest.length === (b.status.pauseConditions ?? []).length) return;
  if (rest.length) b.status.pauseConditions = rest;
  else delete b.status.pauseConditions;
}

/** Clears every pause the controller added (step done, promotion, abort, completion). */
export function clearPauses(b: PlanBuilder): void {
  delete b.status.pauseConditions;
  b.status.controllerPause = false;
}

/**
 * The user released the controller's pause (`promote` cleared the conditions): the controller
 * had paused and no pause condition is left.
 */
export function releasedByUser(b: PlanBuilder): boolean {
  return b.old.controllerPause === true && (b.old.pauseConditions ?? []).length === 0;
}

/**
 * A pause that ends on its own after `durationMs` (undefined: waits for promote). Returns true
 * when the pause is over (time up or released), adding the condition and a requeue otherwise.
 */
export function timedPause(
  b: PlanBuilder,
  reason: PauseReason,
  durationMs: number | undefined,
  why: string,
): boolean {
  const existing = pauseCondition(b.old, reason);
  if (!existing && releasedByUser(b)) return true;
  const cond = existing ?? addPause(b, reason, why);
  if (durationMs === undefined) return false;
  const endsAt = Date.parse(cond.startTime) + durationMs;
  if (b.ctx.now >= endsAt) return true;
  b.requeueAt(endsAt);
  return false;
}
