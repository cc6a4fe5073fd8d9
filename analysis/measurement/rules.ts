/**
 * `dryRun` and `measurementRetention` name metrics by regular expression, unanchored, as Argo's
 * GetDryRunMetrics / GetMeasurementRetentionMetrics (`.*` is every metric). A lone `*` is taken
 * as "every metric" too. A rule that matches no metric is a spec error, as in Argo.
 */
import type { DryRun, MeasurementRetention, Metric } from "../../api/v1alpha1/analysis.js";
import { AnalysisSpecError } from "../errors.js";
import { DEFAULT_MEASUREMENT_RETENTION } from "./limits.js";

function matcher(pattern: string): (name: string) => boolean {
  if (pattern === "*") return () => true;
  try {
    const re = new RegExp(pattern);
    return (name) => re.test(name);
  } catch {
    return () => false;
  }
}

/** Names of the metrics in dry-run mode. */
export function dryRunMetrics(rules: readonly DryRun[] | undefined, metrics: readonly Metric[]): Set<string> {
  const names = new Set<string>();
  (rules ?? []).forEach((rule, i) => {
    const matches = metrics.filter((m) => matcher(rule.metricName)(m.name));
    if (matches.length === 0)
      throw new AnalysisSpecError(`dryRun[${i}]: rule didn't match any metric name(s)`);
    for (const m of matches) names.add(m.name);
  });
  return names;
}

/** How many measurements to keep for each metric (default 10). */
export function retentionLimits(
  rules: readonly MeasurementRetention[] | undefined,
  metrics: readonly Metric[],
): Map<string, number> {
  const limits = new Map(metrics.map((m) => [m.name, DEFAULT_MEASUREMENT_RETENTION]));
  (rules ?? []).forEach((rule, i) => {
    const matches = metrics.filter((m) => matcher(rule.metricName)(m.name));
    if (matches.length === 0) {
      throw new AnalysisSpecError(`measurementRetention[${i}]: rule didn't match any metric name(s)`);
    }
    // As in Argo, a limit of 0 keeps the default: the last measurement is needed to assess the metric.
    for (const m of matches) if (rule.limit > 0) limits.set(m.name, rule.limit);
  });
  return limits;
}
