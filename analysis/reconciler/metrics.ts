/**
 * The analysis controller's Prometheus metrics on the shared prom-client registry:
 *
 * - `slipway_analysis_measurements_total{namespace,metric,phase}`: finished measurements, counted
 *   once they are stored (from the status' counters, so retention trimming does not matter);
 * - `slipway_analysis_provider_duration_seconds{provider}`: one provider call (prometheus, web, job);
 * - `slipway_analysis_run_phase{namespace,name,phase}`: 1 for each existing run's current phase.
 *
 * Cardinality stays bounded: metric names come from templates, providers are three, and each
 * run has exactly one phase series, removed with the run.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AnalysisPhase, AnalysisRunStatus, MetricResult } from "../../api/v1alpha1/analysis.js";
import { registerOnce } from "../../controller/queue/metrics.js";

/** Provider calls span a millisecond (a local Prometheus) to the default 30 s timeout. */
const PROVIDER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const COUNTERS: readonly [keyof MetricResult, AnalysisPhase][] = [
  ["successful", "Successful"],
  ["failed", "Failed"],
  ["inconclusive", "Inconclusive"],
  ["error", "Error"],
];

export class AnalysisMetrics {
  private readonly measurements: Counter<"namespace" | "metric" | "phase"> | undefined;
  private readonly providerDuration: Histogram<"provider"> | undefined;
  private readonly phase: Gauge<"namespace" | "name" | "phase"> | undefined;
  /** The phase each run's series carries, so a transition removes the old series. */
  private readonly phases = new Map<string, { namespace: string; name: string; phase: AnalysisPhase }>();

  constructor(registry?: Registry) {
    if (!registry) return;
    this.measurements = registerOnce(
      registry,
      "slipway_analysis_measurements_total",
      () =>
        new Counter({
          name: "slipway_analysis_measurements_total",
          help: "Finished analysis measurements by namespace, metric and phase",
          labelNames: ["namespace", "metric", "phase"],
          registers: [registry],
        }),
    );
    this.providerDuration = registerOnce(
      registry,
      "slipway_analysis_provider_duration_seconds",
      () =>
        new Histogram({
          name: "slipway_analysis_provider_duration_seconds",
          help: "Time one metric provider call takes (prometheus, web, job)",
          labelNames: ["provider"],
          buckets: PROVIDER_BUCKETS,
          registers: [registry],
        }),
    );
    this.phase = registerOnce(
      registry,
      "slipway_analysis_run_phase",
      () =>
        new Gauge({
          name: "slipway_analysis_run_phase",
          help: "1 for the current phase of each AnalysisRun",
          labelNames: ["namespace", "name", "phase"],
          registers: [registry],
        }),
    );
  }

  /** Counts the measurements `after` finished that `before` had not (per metric and phase). */
  measured(namespace: string, before: AnalysisRunStatus | undefined, after: AnalysisRunStatus): void {
    if (!this.measurements) return;
    const old = new Map((before?.metricResults ?? []).map((r) => [r.name, r]));
    for (const result of after.metricResults ?? []) {
      const prev = old.get(result.name);
      for (const [field, phase] of COUNTERS) {
        const delta = Number(result[field] ?? 0) - Number(prev?.[field] ?? 0);
        if (delta > 0) this.measurements.inc({ namespace, metric: result.name, phase }, delta);
      }
    }
  }

  providerCall(provider: string, seconds: number): void {
    this.providerDuration?.observe({ provider }, seconds);
  }

  runPhase(namespace: string, name: string, phase: AnalysisPhase): void {
    if (!this.phase) return;
    const key = `${namespace}/${name}`;
    const seen = this.phases.get(key);
    if (seen?.phase === phase) return;
    if (seen) this.phase.remove({ namespace, name, phase: seen.phase });
    this.phase.set({ namespace, name, phase }, 1);
    this.phases.set(key, { namespace, name, phase });
  }

  /** Drops a deleted run's series. */
  forgetRun(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const seen = this.phases.get(key);
    if (!seen) return;
    this.phase?.remove({ namespace, name, phase: seen.phase });
    this.phases.delete(key);
  }
}
