/**
 * Names the Rollout controller writes into the cluster, and Argo Rollouts' defaults. Label and
 * annotation spellings are Argo's where tools read them (kubectl-argo-rollouts, dashboards), so a
 * migrated cluster keeps working; slipway's own bookkeeping uses `slipway.dev/*`.
 */

/** On every ReplicaSet selector, pod template and pod; set into Service selectors. */
export const POD_HASH_LABEL = "rollouts-pod-template-hash";
/** ReplicaSet revision (Argo's spelling, read by `rollout undo --to-revision`). */
export const REVISION_ANNOTATION = "rollout.argoproj.io/revision";
/** When an old ReplicaSet may be scaled to 0 (RFC 3339), as Argo's `scale-down-deadline`. */
export const SCALE_DOWN_DEADLINE_ANNOTATION = "argo-rollouts.argoproj.io/scale-down-deadline";
/** Services the controller manages (value: the Rollout's name), as Argo marks them. */
export const MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts";
export const SLIPWAY_MANAGED_BY_ANNOTATION = "slipway.dev/managed-by-rollout";
/** The retry attempt of this revision (names its AnalysisRuns), and the abort it retried. */
export const ATTEMPT_ANNOTATION = "slipway.dev/attempt";
export const ATTEMPT_ABORT_ANNOTATION = "slipway.dev/attempt-retried-abort";

/** AnalysisRun labels: which rollout, revision hash, and which analysis of it. */
export const RUN_ROLLOUT_LABEL = "slipway.dev/rollout";
export const RUN_TYPE_LABEL = "slipway.dev/analysis-type";
export const RUN_STEP_LABEL = "slipway.dev/step-index";

export const API_GROUP = "slipway.dev";
export const ROLLOUT_API_VERSION = "slipway.dev/v1alpha1";
export const FIELD_MANAGER = "slipway-rollouts";

/** Argo Rollouts' defaults (utils/defaults/defaults.go). */
export const DEFAULTS = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  maxSurge: "25%",
  maxUnavailable: "25%",
  scaleDownDelaySeconds: 30,
  abortScaleDownDelaySeconds: 30,
  maxTrafficWeight: 100,
  successfulRunHistoryLimit: 5,
  unsuccessfulRunHistoryLimit: 5,
} as const;

/** Pause reasons (status.pauseConditions[].reason). */
export const PAUSE = {
  canaryStep: "CanaryPauseStep",
  blueGreen: "BlueGreenPause",
  inconclusive: "InconclusiveAnalysisRun",
} as const;

/** Condition types and reasons, as Argo spells them (utils/conditions/conditions.go). */
export const CONDITION = {
  available: "Available",
  progressing: "Progressing",
  paused: "Paused",
  healthy: "Healthy",
  completed: "Completed",
  invalidSpec: "InvalidSpec",
} as const;

export const REASON = {
  invalidSpec: "InvalidSpec",
  aborted: "RolloutAborted",
  timedOut: "ProgressDeadlineExceeded",
  newRSAvailable: "NewReplicaSetAvailable",
  rsUpdated: "ReplicaSetUpdated",
  newRSCreated: "NewReplicaSetCreated",
  paused: "RolloutPaused",
  resumed: "RolloutResumed",
  retried: "RolloutRetried",
  available: "AvailableReason",
  healthy: "RolloutHealthy",
  completed: "RolloutCompleted",
} as const;
