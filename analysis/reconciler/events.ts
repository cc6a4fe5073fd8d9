/**
 * Which Kubernetes Events a step deserves: one per metric that just completed and one when the
 * run completes, as Argo's reconcileAnalysisRun records them (`Metric<Phase>`,
 * `AnalysisRun<Phase>`; Warning unless Successful). Computed from the status before and after,
 * so a reconcile that changes nothing records nothing. Messages come from the status, whose
 * secret values stepRun has already masked.
 */
import type { AnalysisPhase, AnalysisRunStatus } from "../../api/v1alpha1/analysis.js";
import { isCompleted } from "../measurement/phase.js";

export interface RunEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

const typeOf = (phase: AnalysisPhase): RunEvent["type"] => (phase === "Successful" ? "Normal" : "Warning");

export function transitionEvents(
  before: AnalysisRunStatus | undefined,
  after: AnalysisRunStatus,
): RunEvent[] {
  const events: RunEvent[] = [];
  const previous = new Map((before?.metricResults ?? []).map((r) => [r.name, r.phase]));
  for (const result of after.metricResults ?? []) {
    if (!isCompleted(result.phase) || previous.get(result.name) === result.phase) continue;
    const why = result.phase !== "Successful" && result.message ? `: ${result.message}` : "";
    events.push({
      type: typeOf(result.phase),
      reason: `Metric${result.phase}`,
      message: `Metric '${result.name}' Completed. Result: ${result.phase}${why}`,
    });
  }
  if (isCompleted(after.phase) && before?.phase !== after.phase) {
    events.push({
      type: typeOf(after.phase),
      reason: `AnalysisRun${after.phase}`,
      message: `Analysis Completed. Result: ${after.phase}${after.message ? `: ${after.message}` : ""}`,
    });
  }
  return events;
}
