/**
 * Picks the provider for a metric: one folder per provider behind MetricProvider, one line each
 * here (as Argo's metricproviders.ProviderFactory). The Job provider arrives with the reconciler.
 */
import type { AxiosInstance } from "axios";
import type { Metric } from "../../api/v1alpha1/analysis.js";
import { PrometheusProvider } from "./prometheus/index.js";
import { type MeasurementValue, type MetricProvider, ProviderError } from "./provider.js";
import { WebProvider } from "./web/index.js";

export { type MeasurementValue, type MetricProvider, ProviderError } from "./provider.js";

export interface ProviderDeps {
  http?: AxiosInstance;
  /** Prometheus address for metrics that leave `address` out. */
  defaultPrometheusAddress?: string;
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
  if (p.job) throw new ProviderError("the job provider is not available yet");
  throw new ProviderError(`metric ${metric.name} has no supported provider (prometheus, web)`);
}

/** A `measure` function for stepRun that goes through providerFor. */
export function measureWith(
  deps: ProviderDeps = {},
): (metric: Metric, signal?: AbortSignal) => Promise<MeasurementValue> {
  return async (metric, signal) => providerFor(metric, deps).measure(metric, signal);
}
