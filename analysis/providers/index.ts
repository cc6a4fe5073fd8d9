/**
 * Picks the provider for a metric: one folder per provider behind MetricProvider, one line each
 * here (as Argo's metricproviders.ProviderFactory).
 */
import type { AxiosInstance } from "axios";
import type { Metric } from "../../api/v1alpha1/analysis.js";
import { JobProvider, type JobProviderOptions } from "./job/index.js";
import { PrometheusProvider } from "./prometheus/index.js";
import { type MeasureInfo, type MeasureOutcome, type MetricProvider, ProviderError } from "./provider.js";
import { WebProvider } from "./web/index.js";

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
} from "./provider.js";

export interface ProviderDeps {
  http?: AxiosInstance;
  /** Prometheus address for metrics that leave `address` out. */
  defaultPrometheusAddress?: string;
  /** The run and cluster access Job metrics need; only the controller has them. */
  job?: JobProviderOptions;
}

/** The provider for `metric`; throws ProviderError when it names none this build supports. */
export function providerFor(metric: Metric, deps: ProviderDeps = {}): MetricProvider {
  const p = metric.provider ?? {};
  if (p.prometheus) {
    return new PrometheusProvider({
      ...(deps.http ? { http: deps.http } : {}),
      ...(deps.defaultPrometheusAddress ? { defaultAddress: deps.defaultPrometheusAddress } : {}),
    });
  }
  if (p.web) return new WebProvider(deps.http ? { http: deps.http } : {});
  if (p.job) {
    if (!deps.job)
      throw new ProviderError("the job provider needs a cluster: Job metrics run in the controller");
    return new JobProvider(deps.job);
  }
  throw new ProviderError(`metric ${metric.name} has no supported provider (prometheus, web, job)`);
}

/** A `measure` function for stepRun that goes through providerFor. */
export function measureWith(
  deps: ProviderDeps = {},
): (metric: Metric, signal?: AbortSignal, info?: MeasureInfo) => Promise<MeasureOutcome> {
  return async (metric, signal, info) => providerFor(metric, deps).measure(metric, signal, info);
}
