import { conditions, type HealthCheck, health } from "./types.js";

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
 * autoscaling HorizontalPodAutoscaler (v1 annotations are not read; v2 conditions are), as
 * gitops-engine's `health_hpa.go`: the first condition with a known failing or succeeding reason
 * decides; without one the autoscaler has not acted yet.
 */
export const horizontalPodAutoscalerHealth: HealthCheck = (obj) => {
  for (const c of conditions(obj)) {
    const key = `${c.type}/${c.reason ?? ""}`;
    if (DEGRADED.has(key)) return health("Degraded", c.message);
    if (HEALTHY.has(key)) return health("Healthy", c.message);
  }
  return health("Progressing", "Waiting to Autoscale");
};
