/**
 * Reading a Rollout's spec with Argo's defaults applied: replica counts, surge/unavailable
 * percentages, delays, durations, the current step and the weight it asks for. Pure functions.
 */

import { parseDuration } from "../../analysis/duration.js";
import type { CanaryStep, RolloutAnalysis } from "../../api/v1alpha1/rollout.js";
import { DEFAULTS } from "./constants.js";
import type { RolloutObject } from "./types.js";

export type Strategy = "canary" | "blueGreen";

export function strategyOf(rollout: RolloutObject): Strategy | undefined {
  const s = rollout.spec.strategy;
  if (s?.canary && !s.blueGreen) return "canary";
  if (s?.blueGreen && !s.canary) return "blueGreen";
  return undefined;
}

export function desiredReplicas(rollout: RolloutObject): number {
  return Math.max(0, rollout.spec.replicas ?? DEFAULTS.replicas);
}

/**
 * An int-or-percent against `total` (Kubernetes' GetScaledValueFromIntOrPercent): percentages
 * round up for surge and down for unavailable, as Deployments do. Throws on a malformed value.
 */
export function scaledValue(
  value: number | string | undefined,
  total: number,
  roundUp: boolean,
  fallback: string,
): number {
  const v = value ?? fallback;
  if (typeof v === "number") return Math.max(0, Math.trunc(v));
  const m = /^(\d+)%$/.exec(v.trim());
  if (m) {
    const exact = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  throw new Error(`invalid value "${v}": expected an integer or a percentage such as 25%`);
}

/** maxSurge / maxUnavailable of a basic canary (resolved like a Deployment's, never both 0). */
export function surgeAndUnavailable(rollout: RolloutObject): { maxSurge: number; maxUnavailable: number } {
  const canary = rollout.spec.strategy.canary;
  const replicas = desiredReplicas(rollout);
  const maxSurge = scaledValue(canary?.maxSurge, replicas, true, DEFAULTS.maxSurge);
  let maxUnavailable = scaledValue(canary?.maxUnavailable, replicas, false, DEFAULTS.maxUnavailable);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function maxTrafficWeight(rollout: RolloutObject): number {
  return rollout.spec.strategy.canary?.trafficRouting?.maxTrafficWeight ?? DEFAULTS.maxTrafficWeight;
}

export function revisionHistoryLimit(rollout: RolloutObject): number {
  return rollout.spec.revisionHistoryLimit ?? DEFAULTS.revisionHistoryLimit;
}

export function progressDeadlineMs(rollout: RolloutObject): number {
  return (rollout.spec.progressDeadlineSeconds ?? DEFAULTS.progressDeadlineSeconds) * 1000;
}

export function scaleDownDelayMs(rollout: RolloutObject): number {
  const s = rollout.spec.strategy;
  return (
    (s.canary?.scaleDownDelaySeconds ??
      s.blueGreen?.scaleDownDelaySeconds ??
      DEFAULTS.scaleDownDelaySeconds) * 1000
  );
}

/** How many old sets may wait out their scale-down delay; undefined = no limit (Argo's default). */
export function scaleDownDelayRevisionLimit(rollout: RolloutObject): number | undefined {
  const s = rollout.spec.strategy;
  return s.blueGreen?.scaleDownDelayRevisionLimit ?? s.canary?.scaleDownDelayRevisionLimit;
}

/** undefined = never scale the aborted set down (Argo: 0 means never). */
export function abortScaleDownDelayMs(rollout: RolloutObject): number | undefined {
  const s = rollout.spec.strategy;
  const seconds =
    s.canary?.abortScaleDownDelaySeconds ??
    s.blueGreen?.abortScaleDownDelaySeconds ??
    DEFAULTS.abortScaleDownDelaySeconds;
  return seconds === 0 ? undefined : seconds * 1000;
}

/** A pause duration in ms; undefined for an indefinite pause. Throws on a malformed duration. */
export function pauseDurationMs(step: CanaryStep): number | undefined {
  const d = step.pause?.duration;
  if (d === undefined || d === "") return undefined;
  return parseDuration(d);
}

export function steps(rollout: RolloutObject): CanaryStep[] {
  return rollout.spec.strategy.canary?.steps ?? [];
}

/** The step index, clamped into [0, steps.length]. */
export function stepIndex(rollout: RolloutObject, index = rollout.status?.currentStepIndex): number {
  const n = steps(rollout).length;
  return Math.min(Math.max(0, index ?? 0), n);
}

export type StepKind =
  | "setWeight"
  | "pause"
  | "analysis"
  | "setCanaryScale"
  | "setHeaderRoute"
  | "setMirrorRoute";

const STEP_KINDS: readonly StepKind[] = [
  "setWeight",
  "pause",
  "analysis",
  "setCanaryScale",
  "setHeaderRoute",
  "setMirrorRoute",
];

/** The actions a step sets (a valid step sets exactly one). */
export function stepKinds(step: CanaryStep): StepKind[] {
  return STEP_KINDS.filter((k) => step[k] !== undefined);
}

/** "setWeight: 20", "pause: 30s", "pause", "analysis: error-rate" — for events and messages. */
export function describeStep(step: CanaryStep): string {
  if (step.setWeight !== undefined) return `setWeight: ${step.setWeight}`;
  if (step.pause) return step.pause.duration !== undefined ? `pause: ${step.pause.duration}` : "pause";
  if (step.analysis) return `analysis: ${templateNames(step.analysis).join(", ")}`;
  if (step.setCanaryScale) {
    const c = step.setCanaryScale;
    if (c.replicas !== undefined) return `setCanaryScale: ${c.replicas} replicas`;
    if (c.weight !== undefined) return `setCanaryScale: ${c.weight}%`;
    return "setCanaryScale: matchTrafficWeight";
  }
  if (step.setHeaderRoute) return `setHeaderRoute: ${step.setHeaderRoute.name}`;
  if (step.setMirrorRoute) return `setMirrorRoute: ${step.setMirrorRoute.name}`;
  return "empty step";
}

export function templateNames(analysis: RolloutAnalysis): string[] {
  return (analysis.templates ?? []).map((t) => t.templateName);
}

/**
 * The traffic weight the steps ask for at `index` (Argo's GetCurrentSetWeight): the last
 * `setWeight` at or before it, 0 before any, and the full weight once every step is done.
 */
export function setWeightAt(rollout: RolloutObject, index: number): number {
  const all = steps(rollout);
  if (index >= all.length) return maxTrafficWeight(rollout);
  for (let i = index; i >= 0; i--) {
    const w = all[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The setWeight before `index` (what traffic stays at while the canary is not ready for more). */
export function previousSetWeight(rollout: RolloutObject, index: number): number {
  return index <= 0 ? 0 : setWeightAt(rollout, Math.min(index, steps(rollout).length) - 1);
}

/** The `setCanaryScale` in force at `index` (the last one at or before it), if any. */
export function canaryScaleAt(
  rollout: RolloutObject,
  index: number,
): CanaryStep["setCanaryScale"] | undefined {
  const all = steps(rollout);
  if (index >= all.length) return undefined;
  for (let i = index; i >= 0; i--) {
    const s = all[i]?.setCanaryScale;
    if (s) return s.matchTrafficWeight ? undefined : s;
  }
  return undefined;
}

export function hasTrafficRouting(rollout: RolloutObject): boolean {
  const tr = rollout.spec.strategy.canary?.trafficRouting;
  if (!tr) return false;
  return Boolean(tr.gatewayAPI || tr.istio || tr.nginx || (tr.plugins && Object.keys(tr.plugins).length > 0));
}

/** A label selector as the string form HPAs and `kubectl get -l` take. */
export function selectorString(selector: RolloutObject["spec"]["selector"]): string {
  if (!selector) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    parts.push(`${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** Whether `labels` satisfy `selector` (an empty selector matches nothing, as for workloads). */
export function selectorMatches(
  selector: RolloutObject["spec"]["selector"],
  labels: Record<string, string> = {},
): boolean {
  if (!selector) return false;
  const ml = Object.entries(selector.matchLabels ?? {});
  const me = selector.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false;
  for (const [k, v] of ml) if (labels[k] !== v) return false;
  for (const e of me) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        if (!has || !(e.values ?? []).includes(value!)) return false;
        break;
      case "NotIn":
        if (has && (e.values ?? []).includes(value!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}
