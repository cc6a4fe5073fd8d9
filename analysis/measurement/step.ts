/**
 * One reconcile of an AnalysisRun (Argo's reconcileAnalysisRun), as a function of the run's spec
 * and status, a clock and a way to measure. It takes the measurements that are due, assesses
 * metrics and the run, trims old measurements, and says when it wants to be called again. All
 * state is in the returned status: a new controller continues exactly where a killed one stopped.
 */
import { cloneJson } from "../../api/json.js";
import type {
  AnalysisPhase,
  AnalysisRunSpec,
  AnalysisRunStatus,
  Measurement,
  Metric,
  MetricResult,
} from "../../api/v1alpha1/analysis.js";
import {
  isDecided,
  isInFlight,
  type MeasureInfo,
  type MeasurementValue,
  type MeasureOutcome,
} from "../providers/provider.js";
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
  /**
   * Takes one measurement of an args-resolved metric; a rejection becomes an Error measurement.
   * An in-flight outcome (a Job started) is stored with phase Running and no `finishedAt`.
   */
  measure: (metric: Metric, signal?: AbortSignal, info?: MeasureInfo) => Promise<MeasureOutcome>;
  /**
   * Looks at an in-flight measurement again, on every step until it has an outcome (a Job that
   * completed or failed). Without it an in-flight measurement ends as an Error.
   */
  resume?: (metric: Metric, measurement: Measurement, signal?: AbortSignal) => Promise<MeasureOutcome>;
  /**
   * Stops an in-flight measurement when the run terminates (deletes the Job). The measurement
   * then ends Successful with "Metric Terminated", as Argo's; a rejection ends it as an Error.
   */
  terminate?: (metric: Metric, measurement: Measurement, signal?: AbortSignal) => Promise<void>;
  /** Reads `valueFrom.secretKeyRef` args. */
  resolveSecret?: SecretResolver;
  signal?: AbortSignal;
}

export interface StepResult {
  status: AnalysisRunStatus;
  /**
   * Milliseconds until the next call is useful; undefined once the run is complete, or while it
   * only waits for in-flight measurements whose provider reports changes by itself (watches).
   */
  requeueAfter?: number;
  /** Whether `status` differs from the input (write it back only then). Key order does not count. */
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

/** The last measurement when it has no outcome yet (a Job still running). */
function inFlightOf(result: MetricResult | undefined): Measurement | undefined {
  const last = result?.measurements?.at(-1);
  return last && !last.finishedAt ? last : undefined;
}

interface Taken {
  m: Measurement;
  v?: MeasurementValue;
  /** The provider asked to be called again this soon (in-flight measurements only). */
  recheckAfterMs?: number;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Takes a new measurement, or resumes the in-flight one. A still-running measurement keeps its
 * stored fields (so an unchanged Job writes nothing); an outcome replaces it, keeping its
 * `startedAt` and metadata (`job-name`).
 */
async function takeMeasurement(
  metric: Metric,
  result: MetricResult | undefined,
  opts: StepOptions,
  secrets: readonly string[],
): Promise<Taken> {
  const resuming = inFlightOf(result);
  const startedAt = resuming?.startedAt ?? iso(opts.clock.now());
  let measurement: Measurement;
  let value: MeasurementValue | undefined;
  try {
    let outcome: MeasureOutcome;
    if (resuming) {
      if (!opts.resume) throw new Error("the measurement was in flight and nothing can resume it");
      outcome = await opts.resume(metric, resuming, opts.signal);
    } else {
      const ordinal = (result?.count ?? 0) + (result?.error ?? 0) + 1;
      outcome = await opts.measure(metric, opts.signal, { ordinal });
    }
    if (isInFlight(outcome)) {
      const m: Measurement = resuming ? cloneJson(resuming) : { phase: "Running", startedAt, metadata: {} };
      m.metadata = { ...m.metadata, ...outcome.metadata };
      const message = redact(outcome.message, secrets);
      if (message !== undefined) m.message = message;
      return {
        m,
        ...(outcome.recheckAfterMs !== undefined ? { recheckAfterMs: outcome.recheckAfterMs } : {}),
      };
    }
    if (isDecided(outcome)) {
      measurement = {
        phase: outcome.phase,
        ...(outcome.message ? { message: outcome.message } : {}),
        ...(outcome.value !== undefined ? { value: outcome.value } : {}),
      };
      const metadata = { ...resuming?.metadata, ...outcome.metadata };
      if (Object.keys(metadata).length) measurement.metadata = metadata;
    } else {
      value = outcome;
      const decision = decideMeasurement(metric, value.result);
      measurement = {
        phase: decision.phase,
        ...(decision.message ? { message: decision.message } : {}),
        value: value.value,
      };
      const metadata = { ...resuming?.metadata, ...value.metadata };
      if (Object.keys(metadata).length) measurement.metadata = metadata;
    }
  } catch (err) {
    measurement = { phase: "Error", message: messageOf(err) || "measurement failed" };
    if (resuming?.metadata && Object.keys(resuming.metadata).length)
      measurement.metadata = { ...resuming.metadata };
  }
  measurement.startedAt = startedAt;
  measurement.finishedAt = iso(opts.clock.now());
  measurement.message = redact(measurement.message, secrets);
  if (measurement.message === undefined) delete measurement.message;
  if (measurement.value !== undefined) measurement.value = redact(measurement.value, secrets);
  return { m: measurement, ...(value ? { v: value } : {}) };
}

/**
 * Ends the in-flight measurements of a terminating run, as Argo's runMeasurements does: the
 * provider stops the work (deletes the Job) and the measurement counts as Successful ("Metric
 * Terminated"); if stopping fails, as an Error with the reason.
 */
async function terminateInFlight(
  metrics: readonly Metric[],
  results: MetricResult[],
  opts: StepOptions,
  secrets: readonly string[],
): Promise<void> {
  const open = metrics
    .map((metric) => ({ metric, result: results.find((r) => r.name === metric.name) }))
    .filter((x): x is { metric: Metric; result: MetricResult } => inFlightOf(x.result) !== undefined);
  await Promise.all(
    open.map(async ({ metric, result }) => {
      const last = inFlightOf(result)!;
      const m = cloneJson(last);
      try {
        await opts.terminate?.(metric, last, opts.signal);
        m.phase = "Successful";
        m.message = "Metric Terminated";
      } catch (err) {
        m.phase = "Error";
        m.message = redact(messageOf(err), secrets) || "could not terminate the measurement";
      }
      m.finishedAt = iso(opts.clock.now());
      result.measurements![result.measurements!.length - 1] = m;
      record(result, m.phase);
    }),
  );
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
  const status: AnalysisRunStatus = before ? cloneJson(before) : { phase: "Pending" };
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
  // In-flight measurements are looked at on every step (a Job's change wakes the reconciler),
  // unless the provider stored a `resumeAt` still ahead; others when their time has come.
  const due = terminating
    ? []
    : metrics.filter((m) => {
        const result = results.find((r) => r.name === m.name);
        const open = inFlightOf(result);
        if (open) return !open.resumeAt || Date.parse(open.resumeAt) <= now.getTime();
        return isMeasurementDue(m, result, startedAt, now);
      });
  if (terminating) await terminateInFlight(metrics, results, opts, secrets);

  const taken = await Promise.all(
    due.map((m) =>
      takeMeasurement(
        m,
        results.find((r) => r.name === m.name),
        opts,
        secrets,
      ),
    ),
  );
  let recheckAfter: number | undefined;
  due.forEach((metric, i) => {
    const { m, v, recheckAfterMs } = taken[i]!;
    if (recheckAfterMs !== undefined) recheckAfter = Math.min(recheckAfter ?? recheckAfterMs, recheckAfterMs);
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
    if (m.finishedAt) record(result, m.phase);
  });

  assessMetrics(metrics, results, terminating);
  // A metric that just failed makes the run terminate; Argo reaches the same state on the
  // reconcile its own status update triggers, here it is one step.
  const nowTerminating = terminating || isTerminating(run.spec, results);
  if (nowTerminating && !terminating) {
    await terminateInFlight(metrics, results, opts, secrets);
    assessMetrics(metrics, results, true);
  }

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
      const result = results.find((r) => r.name === metric.name);
      // In flight: the provider's own events (or its recheck hint, or a stored resumeAt) bring
      // the next step.
      const open = inFlightOf(result);
      if (open && !open.resumeAt) continue;
      const at = nextMeasurementAt(metric, result, startedAt, after);
      if (at === undefined) continue;
      const wait = Math.max(0, at.getTime() - after.getTime());
      requeueAfter = requeueAfter === undefined ? wait : Math.min(requeueAfter, wait);
    }
    if (recheckAfter !== undefined) requeueAfter = Math.min(requeueAfter ?? recheckAfter, recheckAfter);
  }

  const changed = !sameJson(status, before);
  return { status, changed, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
}

/**
 * Whether two JSON values are equal as JSON: object key order does not count (an API server may
 * hand the status back in another order) and keys holding `undefined` count as absent.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  if (keys.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false;
  return keys.every((k) => sameJson(x[k], y[k]));
}
