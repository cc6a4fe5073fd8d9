/**
 * When a metric's next measurement is due, from the stored status alone (Argo's
 * generateMetricTasks / calculateNextReconcileTime), so a restarted controller continues on time.
 */
import type { Metric, MetricResult } from "../../api/v1alpha1/analysis.js";
import { parseDuration } from "../duration.js";
import { ERROR_RETRY_INTERVAL_MS, effectiveCount } from "./limits.js";
import { isCompleted } from "./phase.js";

/**
 * The time the next measurement of `metric` is due, or undefined when it takes no more
 * (completed, or `count` reached). A due time at or before `now` means "measure now".
 *
 * - first measurement: `runStartedAt + initialDelay` (or now);
 * - after an Error: 10 s later, whatever the interval (errors are retried sooner);
 * - otherwise: `finishedAt + interval` of the last measurement.
 */
export function nextMeasurementAt(
  metric: Metric,
  result: MetricResult | undefined,
  runStartedAt: Date,
  now: Date,
): Date | undefined {
  if (result && isCompleted(result.phase)) return undefined;
  const last = result?.measurements?.at(-1);
  if (!last) {
    if (!metric.initialDelay) return now;
    return new Date(runStartedAt.getTime() + parseDuration(metric.initialDelay));
  }
  if (!last.finishedAt) {
    // In flight (a Job): check again when the provider asked to, or right away.
    return last.resumeAt ? new Date(last.resumeAt) : now;
  }
  const count = effectiveCount(metric);
  if (count !== undefined && (result?.count ?? 0) >= count) return undefined;
  let interval = ERROR_RETRY_INTERVAL_MS;
  if (last.phase !== "Error" && metric.interval) interval = parseDuration(metric.interval);
  return new Date(Date.parse(last.finishedAt) + interval);
}

/** Whether a measurement should be taken now. */
export function isMeasurementDue(
  metric: Metric,
  result: MetricResult | undefined,
  runStartedAt: Date,
  now: Date,
): boolean {
  const at = nextMeasurementAt(metric, result, runStartedAt, now);
  return at !== undefined && at.getTime() <= now.getTime();
}
