/**
 * The one interface every metric provider implements (Argo's metricproviders.Provider, reduced to
 * what a promise-based measurement needs). A provider fetches; deciding is the conditions' job,
 * except for providers whose outcome is the decision itself (a Job's exit status).
 */
import type { AnalysisPhase, Measurement, Metric } from "../../api/v1alpha1/analysis.js";

/** What one measurement returned, to be decided by the metric's conditions. */
export interface MeasurementValue {
  /** The value as Argo stores it in `measurement.value` (`[0.99]`, `0.5`, JSON text for web). */
  value: string;
  /** What `result` is in the conditions: number, array of numbers, parsed JSON... */
  result: unknown;
  /** Stored on the measurement (e.g. Prometheus warnings). */
  metadata?: Record<string, string>;
  /** Stored once on the metric result (e.g. `ResolvedPrometheusQuery`), as Argo's GetMetadata. */
  metricMetadata?: Record<string, string>;
}

/** An outcome the provider decides itself (a Job that completed or failed); conditions are not read. */
export interface DecidedMeasurement {
  phase: Exclude<AnalysisPhase, "Pending" | "Running">;
  message?: string;
  value?: string;
  metadata?: Record<string, string>;
}

/**
 * A measurement that started and has no outcome yet (a Job still running). It is stored with
 * phase Running and no `finishedAt`, and handed to `resume` on later steps until it has one.
 */
export interface InFlightMeasurement {
  inFlight: true;
  /** Whatever `resume` needs to find the work again (`job-name`, `job-namespace`). */
  metadata: Record<string, string>;
  message?: string;
  /**
   * Look again after this long even if nothing reports a change (not stored: a provider whose
   * work reports itself through watches leaves it out).
   */
  recheckAfterMs?: number;
}

export type MeasureOutcome = MeasurementValue | DecidedMeasurement | InFlightMeasurement;

export function isInFlight(outcome: MeasureOutcome): outcome is InFlightMeasurement {
  return "inFlight" in outcome && outcome.inFlight === true;
}

export function isDecided(outcome: MeasureOutcome): outcome is DecidedMeasurement {
  return !isInFlight(outcome) && "phase" in outcome && !("result" in outcome);
}

/** Where a new measurement stands in its metric's history, derived from the run's status alone. */
export interface MeasureInfo {
  /**
   * 1-based number of this measurement of the metric: finished measurements (counted by the
   * status' counters, which retention does not trim) plus one. A restarted controller computes
   * the same number, so a provider that names things after it (a Job) finds its own work again.
   */
  ordinal: number;
}

export interface MetricProvider {
  /** Argo's provider type name (`Prometheus`, `WebMetric`, `Job`). */
  readonly type: string;
  /**
   * Takes one measurement of an args-resolved metric. Rejects with an Error whose message says
   * what went wrong (timeout, HTTP status, Prometheus error); the caller records it as an Error
   * measurement and never lets it escape the reconciler.
   */
  measure(metric: Metric, signal?: AbortSignal, info?: MeasureInfo): Promise<MeasureOutcome>;
  /** Looks at an in-flight measurement again (Argo's Resume); only providers that start work have it. */
  resume?(metric: Metric, measurement: Measurement, signal?: AbortSignal): Promise<MeasureOutcome>;
  /** Stops an in-flight measurement because the run is terminating (Argo's Terminate). */
  terminate?(metric: Metric, measurement: Measurement, signal?: AbortSignal): Promise<void>;
  /** Removes what old measurements left behind beyond the newest `keep` (Argo's GarbageCollect). */
  garbageCollect?(metric: Metric, keep: number, signal?: AbortSignal): Promise<void>;
}

/** A provider-level failure (bad config, transport, remote error); its message is user-facing. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
}
