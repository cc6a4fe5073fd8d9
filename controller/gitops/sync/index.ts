/**
 * Sync planning for the Application reconciler: what to apply, prune and run as hooks, in which
 * order, and a step function to execute it resumably. Pure: no I/O.
 */
export * from "./annotations.js";
export { type PlanProblem, SyncPlanError } from "./errors.js";
export {
  type HookDeletePolicy,
  type HookInfo,
  type HookType,
  hookDeletePoliciesOf,
  hookTypesOf,
  isHook,
} from "./hooks.js";
export {
  mergeSyncOptions,
  type ParsedSyncOptions,
  type PropagationPolicy,
  parseSyncOptions,
  resourceSyncOptions,
  type SyncOptions,
} from "./options.js";
export { KIND_ORDER, kindRank, PHASE_ORDER, phaseRank, waveOf } from "./ordering.js";
export {
  isNamespacedKind,
  type PruneBudget,
  planSync,
  resultKey,
  type SkippedResource,
  type SkipReason,
  type SyncPlan,
  type SyncPlanInput,
  type SyncTask,
  type TaskAction,
  taskResult,
} from "./plan.js";
export { type LiveState, nextSyncStep, type SyncState, type SyncStep, type WaitReason } from "./step.js";
export {
  isTrackedBy,
  parseTrackingId,
  type TrackingId,
  trackingAppOf,
  trackingId,
  withTrackingId,
} from "./tracking.js";
