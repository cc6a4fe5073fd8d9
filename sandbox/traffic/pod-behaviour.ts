/**
 * How a simulated pod answers, from the annotations its template copied onto it:
 * `sim.slipway.dev/error-rate` (fraction of 500s) and `sim.slipway.dev/latency-ms` (mean latency).
 */
import type { KubeObject } from "../core/types.js";
import {
  ANNOTATION_ERROR_RATE,
  ANNOTATION_LATENCY_MS,
  parseErrorRate,
  parseLatencyMs,
} from "./annotations.js";
import type { Prng } from "./prng.js";

export interface PodBehaviour {
  errorRate: number;
  latencyMeanMs: number;
}

export const DEFAULT_BEHAVIOUR: Readonly<PodBehaviour> = { errorRate: 0, latencyMeanMs: 10 };

/**
 * Spread of the latency distribution: lognormal with this sigma, scaled so the mean is exactly the
 * annotated value. About ±25% around the mean, always positive, with a realistic right tail.
 */
export const LATENCY_SIGMA = 0.25;

/**
 * Application errors answer 500. 503 is kept for "no ready endpoint", so a dashboard tells a failing
 * canary from a routing gap.
 */
export const ERROR_CODE = 500;

/** Called for an annotation that cannot be used, so the caller can raise an Event once. */
export type InvalidAnnotation = (pod: KubeObject, annotation: string, message: string) => void;

const cache = new WeakMap<KubeObject, PodBehaviour>();

/**
 * The pod's behaviour, defaults where annotations are absent or invalid. Memoised per object: the
 * store hands out a new object on every change, so a stale entry is never returned.
 */
export function podBehaviour(pod: KubeObject, invalid?: InvalidAnnotation): PodBehaviour {
  let behaviour = cache.get(pod);
  if (behaviour) return behaviour;
  behaviour = { ...DEFAULT_BEHAVIOUR };
  const annotations = pod.metadata.annotations ?? {};
  const errorRate = annotations[ANNOTATION_ERROR_RATE];
  if (errorRate !== undefined) {
    const parsed = parseErrorRate(errorRate);
    if (parsed.ok) behaviour.errorRate = parsed.value;
    else invalid?.(pod, ANNOTATION_ERROR_RATE, `${parsed.error}; using ${DEFAULT_BEHAVIOUR.errorRate}`);
  }
  const latency = annotations[ANNOTATION_LATENCY_MS];
  if (latency !== undefined) {
    const parsed = parseLatencyMs(latency);
    if (parsed.ok) behaviour.latencyMeanMs = parsed.value;
    else invalid?.(pod, ANNOTATION_LATENCY_MS, `${parsed.error}; using ${DEFAULT_BEHAVIOUR.latencyMeanMs}`);
  }
  cache.set(pod, behaviour);
  return behaviour;
}

export interface SimResponse {
  code: number;
  latencySeconds: number;
}

/** One answer from a pod: the error draw first, then the latency draw (fixed order for determinism). */
export function sampleResponse(behaviour: PodBehaviour, random: Prng): SimResponse {
  const code = random.next() < behaviour.errorRate ? ERROR_CODE : 200;
  const mean = behaviour.latencyMeanMs;
  const latencyMs =
    mean > 0 ? mean * Math.exp(LATENCY_SIGMA * random.normal() - (LATENCY_SIGMA * LATENCY_SIGMA) / 2) : 0;
  return { code, latencySeconds: latencyMs / 1000 };
}
