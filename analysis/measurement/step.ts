/**
 * One reconcile of an AnalysisRun (Argo's reconcileAnalysisRun), as a function of the run's spec
 * and status, a clock and a way to measure. It takes the measurements that are due, assesses
 * metrics and the run, trims old measurements, and says when it wants to be called again. All
 * state is in the returned status: a new controller continues exactly where a killed one stopped.
 */
import type {
  AnalysisPhase,
  AnalysisRunSpec,
  AnalysisRunStatus,
  Measurement,
  Metric,
  MetricResult,
} from "../../api/v1alpha1/analysis.js";
import type { MeasurementValue } from "../providers/provider.js";
import { resolveRunMetrics, type SecretResolver } from "../run-spec.js";
import { validateMetrics } from "../validate.js";
import { assessMetric, assessRun, limitBreach } from "./assess.js";
import { decideMeasurement } from "./decide.js";
import { isCompleted, isTerminating } from "./phase.js";
import { dryRunMetrics, retentionLimits } from "./rules.js";
import { isMeasurementDue, nextMeasurementAt } from "./schedule.js";

/** Time comes from here only, so tests advance a fake clock instead of sleeping. */
export interface Clock {
  now(): Date;
}

export interface StepOptions {
  clock: Clock;
  /** Takes one measurement of an args-resolved metric; a rejection becomes an Error measurement. */
  measure: (metric: Metric, signal?: AbortSignal) => Promise<MeasurementValue>;
  /** Reads `valueFrom.secretKeyRef` args. */
  resolveSecret?: SecretResolver;
  signal?: AbortSignal;
}

export interface StepResult {
  status: AnalysisRunStatus;
  /** Milliseconds until the next call is useful; undefined once the run is complete. */
  requeueAfter?: number;
  /** Whether `status` differs from the input (write it back only then). */
  changed: boolean;
}

export interface RunLike {
  spec: AnalysisRunSpec;
  status?: AnalysisRunStatus;
}

const iso = (d: Date): string => d.toISOString();

function redact(text: string | undefined, secrets: readonly string[]): string | undefined {
  if (text === undefined) return undefined;
  let out = text;
  for (const s of secrets) out = out.split(s).join("*****");
  return out;
}

function newResult(name: string, dryRun: boolean): MetricResult {
  return {
    name,
    phase: "Running",
    measurements: [],
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
    ...(dryRun ? { dryRun: true } : {}),
  };
}

/** Argo's counters: Error raises consecutiveError but not count; anything else resets it. */
function record(result: MetricResult, phase: AnalysisPhase): void {
  const inc = (
    k:
      | "count"
      | "successful"
      | "failed"
      | "inconclusive"
      | "error"
      | "consecutiveError"
      | "consecutiveSuccess",
  ) => {
    result[k] = (result[k] ?? 0) + 1;
  };
  switch (phase) {
    case "Successful":
      inc("successful");
      inc("count");
      inc("consecutiveSuccess");
      result.consecutiveError = 0;
      break;
    case "Failed":
    case "Inconclusive":
      inc(phase === "Failed" ? "failed" : "inconclusive");
      inc("count");
      result.consecutiveError = 0;
      result.consecutiveSuccess = 0;
      break;
    case "Error":
      inc("error");
      inc("consecutiveError");
      result.consecutiveSuccess = 0;
      break;
  }
}

async function takeMeasurement(
  metric: Metric,
  opts: StepOptions,
  secrets: readonly string[],
): Promise<{ m: Measurement; v?: MeasurementValue }> {
  const startedAt = iso(opts.clock.now());
  let measurement: Measurement;
  let value: MeasurementValue | undefined;
  try {
    value = await opts.measure(metric, opts.signal);
    const decision = decideMeasurement(metric, value.result);
    measurement = {
      phase: decision.phase,
      ...(decision.message ? { message: decision.message } : {}),
      value: value.value,
      ...(value.metadata && Object.keys(value.metadata).length ? { metadata: value.metadata } : {}),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    measurement = { phase: "Error", message: message || "measurement failed" };
  }
  measurement.startedAt = startedAt;
  measurement.finishedAt = iso(opts.clock.now());
  measurement.message = redact(measurement.message, secrets);
  if (measurement.message === undefined) delete measurement.message;
  if (measurement.value !== undefined) measurement.value = redact(measurement.value, secrets);
  return { m: measurement, v: value };
}

/** Updates each metric's phase (and message on change) from its counters. */
function assessMetrics(metrics: readonly Metric[], results: MetricResult[], terminating: boolean): void {
  for (const metric of metrics) {
    const result = results.find((r) => r.name === metric.name);
    if (!result) continue;
    const phase = assessMetric(metric, result, terminating);
    if (phase !== result.phase) {
      const last = result.measurements?.at(-1);
      if (last?.message) result.message = last.message;
      result.phase = phase;
    }
  }
}

/** Takes the due measurements and returns the run's next status. Never throws for a provider's sake. */
export async function stepRun(run: RunLike, opts: StepOptions): Promise<StepResult> {
  const before = run.status;
  if (before && isCompleted(before.phase)) return { status: before, changed: false };

  const now = opts.clock.now();
  const status: AnalysisRunStatus = before ? structuredClone(before) : { phase: "Pending" };
  status.metricResults ??= [];
  status.startedAt ??= iso(now);
  const results = status.metricResults;

  const finish = (phase: AnalysisPhase, message: string): StepResult => {
    status.phase = phase;
    status.message = message;
    status.completedAt ??= iso(opts.clock.now());
    return { status, changed: true };
  };

  let metrics: Metric[];
  let secrets: string[];
  try {
    ({ metrics, secrets } = await resolveRunMetrics(run.spec, opts.resolveSecret));
  } catch (err) {
    return finish("Error", `Unable to resolve metric arguments: ${(err as Error).message}`);
  }
  let dryRun: Set<string>;
  let retention: Map<string, number>;
  try {
    validateMetrics(metrics);
    dryRun = dryRunMetrics(run.spec.dryRun, metrics);
    retention = retentionLimits(run.spec.measurementRetention, metrics);
  } catch (err) {
    return finish("Error", `Analysis spec invalid: ${redact((err as Error).message, secrets)}`);
  }

  const startedAt = new Date(status.startedAt);
  const terminating = isTerminating(run.spec, results);
  const due = terminating
    ? []
    : metrics.filter((m) =>
        isMeasurementDue(
          m,
          results.find((r) => r.name === m.name),
          startedAt,
          now,
        ),
      );

  const taken = await Promise.all(due.map((m) => takeMeasurement(m, opts, secrets)));
  due.forEach((metric, i) => {
    const { m, v } = taken[i]!;
    let result = results.find((r) => r.name === metric.name);
    if (!result) {
      result = newResult(metric.name, dryRun.has(metric.name));
      if (v?.metricMetadata && Object.keys(v.metricMetadata).length) result.metadata = v.metricMetadata;
      results.push(result);
    }
    result.measurements ??= [];
    const measurements = result.measurements;
    // An in-flight measurement (a Job) is replaced by its outcome, not followed by it.
    if (measurements.length > 0 && !measurements.at(-1)!.finishedAt) measurements.pop();
    measurements.push(m);
    record(result, m.phase);
  });

  assessMetrics(metrics, results, terminating);
  // A metric that just failed makes the run terminate; Argo reaches the same state on the
  // reconcile its own status update triggers, here it is one step.
  const nowTerminating = terminating || isTerminating(run.spec, results);
  if (nowTerminating && !terminating) assessMetrics(metrics, results, true);

  for (const metric of metrics) {
    const result = results.find((r) => r.name === metric.name);
    const breach =
      result && dryRun.has(metric.name) && isCompleted(result.phase)
        ? limitBreach(metric, result)
        : undefined;
    if (result && breach) result.message = `Metric assessed ${result.phase} due to ${breach.message}`;
  }

  const assessment = assessRun(metrics, results, dryRun, nowTerminating);
  if (assessment.phase !== status.phase) {
    status.phase = assessment.phase;
    const message = assessment.message ?? (run.spec.terminate ? "Run Terminated" : undefined);
    if (message) status.message = redact(message, secrets);
    else delete status.message;
  }
  status.runSummary = assessment.runSummary;
  status.dryRunSummary = assessment.dryRunSummary;

  for (const result of results) {
    const limit = retention.get(result.name);
    if (limit !== undefined && result.measurements && result.measurements.length > limit) {
      result.measurements = result.measurements.slice(-limit);
    }
  }

  let requeueAfter: number | undefined;
  if (isCompleted(status.phase)) {
    status.completedAt ??= iso(opts.clock.now());
  } else {
    const after = opts.clock.now();
    for (const metric of metrics) {
      const at = nextMeasurementAt(
        metric,
        results.find((r) => r.name === metric.name),
        startedAt,
        after,
      );
      if (at === undefined) continue;
      const wait = Math.max(0, at.getTime() - after.getTime());
      requeueAfter = requeueAfter === undefined ? wait : Math.min(requeueAfter, wait);
    }
  }

  const changed = JSON.stringify(status) !== JSON.stringify(before);
  return { status, changed, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
}
