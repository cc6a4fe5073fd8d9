/**
 * A metric's counts and limits with Argo's defaults. They are int-or-string in the API because
 * `{{args.x}}` may stand there; by the time a run measures, args are substituted and the text
 * must be an integer.
 */
import type { Metric } from "../../api/v1alpha1/analysis.js";

/** Errors in a row tolerated before the metric is Error (Argo's DefaultConsecutiveErrorLimit). */
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
/** How long to wait before retrying after an Error measurement (Argo's DefaultErrorRetryInterval). */
export const ERROR_RETRY_INTERVAL_MS = 10_000;
/** Measurements kept per metric unless measurementRetention says otherwise. */
export const DEFAULT_MEASUREMENT_RETENTION = 10;

type IntField =
  | "count"
  | "failureLimit"
  | "inconclusiveLimit"
  | "consecutiveErrorLimit"
  | "consecutiveSuccessLimit";

/** Reads an int-or-string field; throws when it is text that is not an integer. */
export function intField(metric: Metric, field: IntField): number | undefined {
  const raw = metric[field];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number") {
    if (!Number.isInteger(raw)) throw new Error(`${field} must be an integer, got ${raw}`);
    return raw;
  }
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`${field} must be an integer, got ${JSON.stringify(raw)}`);
  return Number.parseInt(text, 10);
}

export const failureLimit = (m: Metric): number => intField(m, "failureLimit") ?? 0;
export const inconclusiveLimit = (m: Metric): number => intField(m, "inconclusiveLimit") ?? 0;
export const consecutiveErrorLimit = (m: Metric): number =>
  intField(m, "consecutiveErrorLimit") ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT;
/** 0 (the default) switches consecutive-success ending off. */
export const consecutiveSuccessLimit = (m: Metric): number => intField(m, "consecutiveSuccessLimit") ?? 0;

/**
 * How many measurements end the metric (Argo's Metric.EffectiveCount): no count and no interval
 * is one measurement; an interval without a count runs until the run is terminated.
 */
export function effectiveCount(metric: Metric): number | undefined {
  const count = intField(metric, "count") ?? 0;
  if (count === 0) return metric.interval ? undefined : 1;
  return count;
}
