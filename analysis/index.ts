/**
 * slipway's analysis: Argo Rollouts' AnalysisTemplate/AnalysisRun semantics (conditions,
 * limits, phases) as pure functions, a resumable step driver, and the metric providers.
 */
export { formatDuration, parseDuration } from "./duration.js";
export { AnalysisSpecError } from "./errors.js";
export {
  type CompiledCondition,
  compileCondition,
  EvaluationError,
  ExpressionError,
  evaluate,
  evaluateCondition,
} from "./expr/index.js";
export * from "./measurement/index.js";
export { measureWith, type ProviderDeps, providerFor } from "./providers/index.js";
export {
  type DecidedMeasurement,
  type InFlightMeasurement,
  isDecided,
  isInFlight,
  type MeasureInfo,
  type MeasurementValue,
  type MeasureOutcome,
  type MetricProvider,
  ProviderError,
} from "./providers/provider.js";
export {
  type BuildRunOptions,
  buildRunSpec,
  type FieldResolver,
  mergeArgs,
  mergeTemplates,
  type ResolvedMetrics,
  resolveRunMetrics,
  type SecretResolver,
  substituteArgs,
  type TemplateLike,
} from "./run-spec.js";
export { PROVIDER_KINDS, validateMetrics, validateTemplateSpec } from "./validate.js";
