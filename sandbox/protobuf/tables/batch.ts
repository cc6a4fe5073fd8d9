/** k8s.io/api batch/v1. */
import { K, type MessageTable, R } from "../schema.js";

// biome-ignore format: one message per line keeps the table reviewable against the .proto files
export const batch: MessageTable = {
  CronJob: { metadata: [1, "meta.ObjectMeta"], spec: [2, "CronJobSpec"], status: [3, "CronJobStatus"] },
  CronJobSpec: {
    schedule: [1, "string", K], timeZone: [8, "string", K], startingDeadlineSeconds: [2, "int64", K], concurrencyPolicy: [3, "string"], suspend: [4, "bool", K],
    jobTemplate: [5, "JobTemplateSpec"], successfulJobsHistoryLimit: [6, "int32", K], failedJobsHistoryLimit: [7, "int32", K],
  },
  CronJobStatus: { active: [1, "core.ObjectReference", R], lastScheduleTime: [4, "meta.Time"], lastSuccessfulTime: [5, "meta.Time"] },
  Job: { metadata: [1, "meta.ObjectMeta"], spec: [2, "JobSpec"], status: [3, "JobStatus"] },
  JobCondition: { type: [1, "string", K], status: [2, "string", K], lastProbeTime: [3, "meta.Time"], lastTransitionTime: [4, "meta.Time"], reason: [5, "string"], message: [6, "string"] },
  JobSpec: {
    parallelism: [1, "int32", K], completions: [2, "int32", K], activeDeadlineSeconds: [3, "int64", K], podFailurePolicy: [11, "PodFailurePolicy"],
    successPolicy: [16, "SuccessPolicy"], backoffLimit: [7, "int32", K], backoffLimitPerIndex: [12, "int32", K], maxFailedIndexes: [13, "int32", K],
    selector: [4, "meta.LabelSelector"], manualSelector: [5, "bool", K], template: [6, "core.PodTemplateSpec"], ttlSecondsAfterFinished: [8, "int32", K],
    completionMode: [9, "string", K], suspend: [10, "bool", K], podReplacementPolicy: [14, "string", K], managedBy: [15, "string", K],
  },
  JobStatus: {
    conditions: [1, "JobCondition", R], startTime: [2, "meta.Time"], completionTime: [3, "meta.Time"], active: [4, "int32"], succeeded: [5, "int32"],
    failed: [6, "int32"], terminating: [11, "int32", K], completedIndexes: [7, "string"], failedIndexes: [10, "string", K],
    uncountedTerminatedPods: [8, "UncountedTerminatedPods"], ready: [9, "int32", K],
  },
  JobTemplateSpec: { metadata: [1, "meta.ObjectMeta"], spec: [2, "JobSpec"] },
  PodFailurePolicy: { rules: [1, "PodFailurePolicyRule", R] },
  PodFailurePolicyOnExitCodesRequirement: { containerName: [1, "string", K], operator: [2, "string", K], values: [3, "int32", R] },
  PodFailurePolicyOnPodConditionsPattern: { type: [1, "string", K], status: [2, "string"] },
  PodFailurePolicyRule: { action: [1, "string", K], onExitCodes: [2, "PodFailurePolicyOnExitCodesRequirement"], onPodConditions: [3, "PodFailurePolicyOnPodConditionsPattern", R] },
  SuccessPolicy: { rules: [1, "SuccessPolicyRule", R] },
  SuccessPolicyRule: { succeededIndexes: [1, "string", K], succeededCount: [2, "int32", K] },
  UncountedTerminatedPods: { succeeded: [1, "string", R], failed: [2, "string", R] },
};
