/**
 * Checks a metric list before anything is measured (Argo's ValidateMetrics plus condition
 * compilation): a bad template is refused when applied or when its run starts, never turned into
 * a run that cannot decide.
 */
import type { AnalysisTemplateSpec, Metric } from "../api/v1alpha1/analysis.js";
import { parseDuration } from "./duration.js";
import { AnalysisSpecError } from "./errors.js";
import { ExpressionError } from "./expr/index.js";
import { compileCached } from "./measurement/decide.js";
import { intField } from "./measurement/limits.js";

/** Provider kinds this build can measure with. */
export const PROVIDER_KINDS = ["prometheus", "web", "job"] as const;

const HAS_PLACEHOLDER = /\{\{\s*args\./;

function checkMetric(metric: Metric, allowPlaceholders: boolean): void {
  const pending = (v: unknown): boolean =>
    allowPlaceholders && typeof v === "string" && HAS_PLACEHOLDER.test(v);
  if (!metric.name) throw new Error("metric has no name");

  const ints: Partial<Record<string, number>> = {};
  for (const field of [
    "count",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "consecutiveSuccessLimit",
  ] as const) {
    if (pending(metric[field])) continue;
    ints[field] = intField(metric, field);
  }
  const {
    count,
    failureLimit = 0,
    inconclusiveLimit = 0,
    consecutiveErrorLimit,
    consecutiveSuccessLimit,
  } = ints;
  if (count !== undefined && count < 0) throw new Error("count must be >= 0");
  if (failureLimit < -1) throw new Error("failureLimit must be >= -1 (-1 disables it)");
  if (inconclusiveLimit < 0) throw new Error("inconclusiveLimit must be >= 0");
  if (consecutiveErrorLimit !== undefined && consecutiveErrorLimit < 0)
    throw new Error("consecutiveErrorLimit must be >= 0");
  if (consecutiveSuccessLimit !== undefined && consecutiveSuccessLimit < 0) {
    throw new Error("consecutiveSuccessLimit must be >= 0");
  }
  if (count !== undefined && count > 0) {
    if (count < failureLimit) throw new Error("count must be >= failureLimit");
    if (count < inconclusiveLimit) throw new Error("count must be >= inconclusiveLimit");
  }
  if (count !== undefined && count > 1 && !metric.interval && !pending(metric.interval)) {
    throw new Error("interval must be specified when count > 1");
  }
  for (const field of ["interval", "initialDelay"] as const) {
    const value = metric[field];
    if (value === undefined || pending(value)) continue;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (err) {
      throw new Error(`invalid ${field}: ${(err as Error).message}`);
    }
    if (ms < 0 || (field === "interval" && ms === 0))
      throw new Error(`${field} must be positive, got "${value}"`);
  }

  const providers = PROVIDER_KINDS.filter((k) => metric.provider?.[k] !== undefined);
  if (providers.length === 0) {
    const given = Object.keys(metric.provider ?? {});
    throw new Error(
      given.length
        ? `unsupported provider ${given.join(", ")} (supported: ${PROVIDER_KINDS.join(", ")})`
        : "no provider specified",
    );
  }
  if (providers.length > 1) throw new Error(`multiple providers specified (${providers.join(", ")})`);

  for (const field of ["successCondition", "failureCondition"] as const) {
    const source = metric[field];
    if (!source || pending(source)) continue;
    try {
      compileCached(source);
    } catch (err) {
      if (err instanceof ExpressionError)
        throw new Error(`${field} ${JSON.stringify(source)}: ${err.message}`);
      throw err;
    }
  }
}

function validate(metrics: readonly Metric[], allowPlaceholders: boolean): void {
  if (metrics.length === 0) throw new AnalysisSpecError("no metrics specified");
  const names = new Set<string>();
  metrics.forEach((metric, i) => {
    if (names.has(metric.name))
      throw new AnalysisSpecError(`two metrics have the same name '${metric.name}'`);
    names.add(metric.name);
    try {
      checkMetric(metric, allowPlaceholders);
    } catch (err) {
      const label = metric.name ? `metrics[${i}] "${metric.name}"` : `metrics[${i}]`;
      throw new AnalysisSpecError(`${label}: ${(err as Error).message}`);
    }
  });
}

/** Validates args-resolved metrics (a run about to measure); throws AnalysisSpecError. */
export function validateMetrics(metrics: readonly Metric[]): void {
  validate(metrics, false);
}

/**
 * Validates a template as applied: fields still holding `{{args.x}}` are checked once the run
 * resolves them; everything else, conditions included, must be valid now.
 */
export function validateTemplateSpec(spec: AnalysisTemplateSpec): void {
  validate(spec.metrics ?? [], true);
}
