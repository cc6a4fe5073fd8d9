/**
 * Deciding one measurement from its result, as Argo's utils/evaluate EvaluateResult: failure is
 * checked first; with only a success condition a false one fails, with only a failure condition a
 * false one succeeds; neither true is Inconclusive; no conditions at all is Successful; a
 * condition that cannot be evaluated is Error.
 */
import type { Metric } from "../../api/v1alpha1/analysis.js";
import { type CompiledCondition, compileCondition, evaluate } from "../expr/index.js";

export type MeasurementPhase = "Successful" | "Failed" | "Inconclusive" | "Error";

export interface MeasurementDecision {
  phase: MeasurementPhase;
  message?: string;
}

const cache = new Map<string, CompiledCondition>();
const CACHE_LIMIT = 512;

/** Compiles with a small cache: the same conditions are evaluated on every measurement. */
export function compileCached(source: string): CompiledCondition {
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = compileCondition(source);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(source, compiled);
  }
  return compiled;
}

/**
 * Why a result carries no signal, if it does not: an empty vector or NaN is what Prometheus
 * returns before any traffic arrived. Flagger users see "no values found" with no reason; here the
 * measurement says so.
 */
export function noDataReason(result: unknown): string | undefined {
  const isNaNNumber = (x: unknown): boolean => typeof x === "number" && Number.isNaN(x);
  if (Array.isArray(result)) {
    if (result.length === 0) return "query returned no data (no traffic yet?)";
    if (result.every(isNaNNumber)) return "query returned NaN (no traffic yet?)";
  }
  if (isNaNNumber(result)) return "query returned NaN (no traffic yet?)";
  return undefined;
}

function conditionOf(source: string | undefined): string | undefined {
  return source === undefined || source.trim() === "" ? undefined : source;
}

/**
 * Decides one measurement. The phase is exactly Argo's; the message adds why when the query
 * returned no data, so "no traffic yet" is not mistaken for a failing canary.
 */
export function decideMeasurement(
  metric: Pick<Metric, "successCondition" | "failureCondition">,
  result: unknown,
): MeasurementDecision {
  const success = conditionOf(metric.successCondition);
  const failure = conditionOf(metric.failureCondition);
  const noData = noDataReason(result);
  let successMet = false;
  let failureMet = false;
  let which = "successCondition";
  try {
    if (success !== undefined) successMet = evaluate(compileCached(success), result);
    which = "failureCondition";
    if (failure !== undefined) failureMet = evaluate(compileCached(failure), result);
  } catch (err) {
    const reason = `${which} ${JSON.stringify(which === "successCondition" ? success : failure)}: ${(err as Error).message}`;
    return { phase: "Error", message: noData ? `${noData}: ${reason}` : reason };
  }

  if (success === undefined && failure === undefined) return { phase: "Successful" };
  if (success !== undefined && failure === undefined) failureMet = !successMet;
  if (success === undefined && failure !== undefined) successMet = !failureMet;

  const phase: MeasurementPhase = failureMet ? "Failed" : successMet ? "Successful" : "Inconclusive";
  return phase !== "Successful" && noData ? { phase, message: noData } : { phase };
}
