/**
 * The one interface every metric provider implements (Argo's metricproviders.Provider, reduced to
 * what a promise-based measurement needs). A provider fetches; deciding is the conditions' job.
 */
import type { Metric } from "../../api/v1alpha1/analysis.js";

/** What one measurement returned. */
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

export interface MetricProvider {
  /** Argo's provider type name (`Prometheus`, `WebMetric`, `Job`). */
  readonly type: string;
  /**
   * Takes one measurement of an args-resolved metric. Rejects with an Error whose message says
   * what went wrong (timeout, HTTP status, Prometheus error); the caller records it as an Error
   * measurement and never lets it escape the reconciler.
   */
  measure(metric: Metric, signal?: AbortSignal): Promise<MeasurementValue>;
}

/** A provider-level failure (bad config, transport, remote error); its message is user-facing. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
}
