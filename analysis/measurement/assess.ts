/**
 * Metric and run phases from their counters, in the order Argo's analysis/analysis.go
 * assessMetricStatus / assessRunStatus decide them (its code, not its prose: limits are strict
 * `>`, so `failureLimit: 3` fails on the 4th failure).
 */
import type { AnalysisPhase, Metric, MetricResult, RunSummary } from "../../api/v1alpha1/analysis.js";
import {
  consecutiveErrorLimit,
  consecutiveSuccessLimit,
  effectiveCount,
  failureLimit,
  inconclusiveLimit,
} from "./limits.js";
import { isCompleted, isWorse } from "./phase.js";

export interface LimitBreach {
  phase: "Failed" | "Inconclusive" | "Error";
  /** `failed (4) > failureLimit (3)`, as Argo words it. */
  message: string;
}

/**
 * Failed, Inconclusive or Error from the limits, if any is exceeded. All three are checked and
 * the later match wins, as in Argo: Error beats Inconclusive beats Failed.
 */
export function limitBreach(metric: Metric, result: MetricResult): LimitBreach | undefined {
  let breach: LimitBreach | undefined;
  const fl = failureLimit(metric);
  const failed = result.failed ?? 0;
  // failureLimit -1 switches failing off (only consecutiveSuccessLimit decides then).
  if (fl >= 0 && failed > fl)
    breach = { phase: "Failed", message: `failed (${failed}) > failureLimit (${fl})` };
  const il = inconclusiveLimit(metric);
  const inconclusive = result.inconclusive ?? 0;
  if (inconclusive > il) {
    breach = { phase: "Inconclusive", message: `inconclusive (${inconclusive}) > inconclusiveLimit (${il})` };
  }
  const el = consecutiveErrorLimit(metric);
  const errors = result.consecutiveError ?? 0;
  if (errors > el) {
    breach = { phase: "Error", message: `consecutiveErrors (${errors}) > consecutiveErrorLimit (${el})` };
  }
  return breach;
}

/**
 * The phase of one metric from its result. `terminating` is true when the run was asked to stop
 * or another (non-dry-run) metric already ended badly: an undecided metric then ends Successful,
 * keeping the verdict with the metric that decided.
 */
export function assessMetric(metric: Metric, result: MetricResult, terminating: boolean): AnalysisPhase {
  if (isCompleted(result.phase)) return result.phase;
  const measurements = result.measurements ?? [];
  if (measurements.length === 0) return terminating ? "Successful" : "Pending";
  if (!isCompleted(measurements.at(-1)!.phase)) return "Running";

  const breach = limitBreach(metric, result);
  if (breach) return breach.phase;

  const successLimit = consecutiveSuccessLimit(metric);
  const successApplies = successLimit > 0;
  if (successApplies && (result.consecutiveSuccess ?? 0) >= successLimit) return "Successful";

  const count = effectiveCount(metric);
  if (count !== undefined && (result.count ?? 0) >= count) {
    if (!successApplies) return "Successful";
    // The measurements ran out before enough successes in a row: with failures tolerated too,
    // nothing decided (Inconclusive); with failureLimit -1 the streak was the only way to pass.
    return failureLimit(metric) >= 0 ? "Inconclusive" : "Failed";
  }
  return terminating ? "Successful" : "Running";
}

export interface RunAssessment {
  phase: AnalysisPhase;
  message?: string;
  runSummary: RunSummary;
  dryRunSummary: RunSummary;
}

const emptySummary = (): Required<RunSummary> => ({
  count: 0,
  successful: 0,
  failed: 0,
  inconclusive: 0,
  error: 0,
});

function tally(summary: Required<RunSummary>, phase: AnalysisPhase): void {
  if (phase === "Failed") summary.failed++;
  else if (phase === "Error") summary.error++;
  else if (phase === "Inconclusive") summary.inconclusive++;
  else summary.successful++;
}

/**
 * The run's phase from its metrics' (already assessed) results: Running while any metric is
 * undecided, otherwise the worst completed phase, ignoring dry-run metrics. A terminating run
 * ends with the worst phase so far, or Successful if nothing was decided.
 */
export function assessRun(
  metrics: readonly Metric[],
  results: readonly MetricResult[],
  dryRun: ReadonlySet<string>,
  terminating: boolean,
): RunAssessment {
  const runSummary = emptySummary();
  const dryRunSummary = emptySummary();
  let worstPhase: AnalysisPhase | undefined;
  let message: string | undefined;
  let everythingCompleted = true;

  for (const metric of metrics) {
    const isDry = dryRun.has(metric.name);
    (isDry ? dryRunSummary : runSummary).count++;
    const result = results.find((r) => r.name === metric.name);
    if (!result || !isCompleted(result.phase)) {
      everythingCompleted = false;
      continue;
    }
    tally(isDry ? dryRunSummary : runSummary, result.phase);
    if (isDry) {
      worstPhase ??= "Successful";
      continue;
    }
    if (worstPhase === undefined || isWorse(worstPhase, result.phase)) {
      worstPhase = result.phase;
      const breach = limitBreach(metric, result);
      if (breach) {
        message = `Metric "${metric.name}" assessed ${result.phase} due to ${breach.message}`;
        if (result.message) message += `: "Error Message: ${result.message}"`;
      }
    }
  }

  if (terminating) {
    return { phase: worstPhase ?? "Successful", message, runSummary, dryRunSummary };
  }
  if (!everythingCompleted || worstPhase === undefined)
    return { phase: "Running", runSummary, dryRunSummary };
  return { phase: worstPhase, message, runSummary, dryRunSummary };
}
