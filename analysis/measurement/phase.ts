/** Phase helpers shared by measurements, metric results and runs (one phase set, as in Argo). */
import type { AnalysisPhase, AnalysisRunSpec, MetricResult } from "../../api/v1alpha1/analysis.js";

/** A phase that will not change again. */
export function isCompleted(phase: AnalysisPhase | undefined): boolean {
  return phase === "Successful" || phase === "Failed" || phase === "Error" || phase === "Inconclusive";
}

/**
 * Best to worst, as Argo's utils/analysis/helpers.go analysisStatusOrder: a run takes the worst
 * phase of its completed, non-dry-run metrics.
 */
export const PHASE_ORDER: readonly AnalysisPhase[] = [
  "Successful",
  "Running",
  "Pending",
  "Inconclusive",
  "Error",
  "Failed",
];

/** Whether `next` is strictly worse than `current`. */
export function isWorse(current: AnalysisPhase, next: AnalysisPhase): boolean {
  return PHASE_ORDER.indexOf(next) > PHASE_ORDER.indexOf(current);
}

/** The worse of two phases. */
export function worst(a: AnalysisPhase, b: AnalysisPhase): AnalysisPhase {
  return isWorse(a, b) ? b : a;
}

/**
 * A run stops taking new measurements when asked to (`spec.terminate`) or once a metric that
 * is not a dry run has ended Failed, Error or Inconclusive (Argo's IsTerminating).
 */
export function isTerminating(
  spec: Pick<AnalysisRunSpec, "terminate">,
  results: readonly MetricResult[],
): boolean {
  if (spec.terminate) return true;
  return results.some(
    (r) => !r.dryRun && (r.phase === "Failed" || r.phase === "Error" || r.phase === "Inconclusive"),
  );
}
