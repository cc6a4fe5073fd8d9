/** The measurement state machine: pure decisions plus the step driver. */
export { assessMetric, assessRun, type LimitBreach, limitBreach, type RunAssessment } from "./assess.js";
export {
  decideMeasurement,
  type MeasurementDecision,
  type MeasurementPhase,
  noDataReason,
} from "./decide.js";
export {
  consecutiveErrorLimit,
  consecutiveSuccessLimit,
  DEFAULT_CONSECUTIVE_ERROR_LIMIT,
  DEFAULT_MEASUREMENT_RETENTION,
  ERROR_RETRY_INTERVAL_MS,
  effectiveCount,
  failureLimit,
  inconclusiveLimit,
} from "./limits.js";
export { isCompleted, isTerminating, isWorse, PHASE_ORDER, worst } from "./phase.js";
export { dryRunMetrics, retentionLimits } from "./rules.js";
export { isMeasurementDue, nextMeasurementAt } from "./schedule.js";
export { type Clock, type RunLike, type StepOptions, type StepResult, stepRun } from "./step.js";
