import { isPlainObject } from "../diff/object.js";
import { type Condition, conditions, type HealthCheck, health } from "./types.js";

/** autoscaling/v1 keeps the v2 conditions as JSON in an annotation. */
function v1Conditions(obj: Parameters<HealthCheck>[0]): Condition[] {
  const raw = obj.metadata?.annotations?.["autoscaling.alpha.kubernetes.io/conditions"];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed)
      ? parsed.filter((c): c is Condition => isPlainObject(c) && typeof c.type === "string")
      : [];
  } catch {
    return [];
  }
}

const DEGRADED = new Set([
  "AbleToScale/FailedGetScale",
  "AbleToScale/FailedUpdateScale",
  "ScalingActive/FailedGetResourceMetric",
  "ScalingActive/InvalidSelector",
]);
const HEALTHY = new Set([
  "AbleToScale/SucceededRescale",
  "ScalingLimited/DesiredWithinRange",
  "ScalingLimited/TooFewReplicas",
  "ScalingLimited/TooManyReplicas",
]);

/**
 * autoscaling HorizontalPodAutoscaler (v2 `status.conditions`, or v1's conditions annotation), as
 * gitops-engine's `health_hpa.go`: the first condition with a known failing or succeeding reason
 * decides; without one the autoscaler has not acted yet.
 */
export const horizontalPodAutoscalerHealth: HealthCheck = (obj) => {
  for (const c of [...conditions(obj), ...v1Conditions(obj)]) {
    const key = `${c.type}/${c.reason ?? ""}`;
    if (DEGRADED.has(key)) return health("Degraded", c.message);
    if (HEALTHY.has(key)) return health("Healthy", c.message);
  }
  return health("Progressing", "Waiting to Autoscale");
};
