import { condition, generation, type HealthCheck, health, num, optNum } from "./types.js";

/**
 * apps/v1 Deployment, following `kubectl rollout status` as gitops-engine's
 * `health_deployment.go` does: paused → Suspended; once the controller has observed the current
 * generation, a `ProgressDeadlineExceeded` condition → Degraded, fewer updated / more total / fewer
 * available replicas than wanted → Progressing.
 */
export const deploymentHealth: HealthCheck = (obj) => {
  if (obj.spec && (obj.spec as { paused?: unknown }).paused === true) {
    return health("Suspended", "Deployment is paused");
  }
  const name = obj.metadata?.name ?? "";
  if (generation(obj) > num(obj, ["status", "observedGeneration"])) {
    return health(
      "Progressing",
      "Waiting for rollout to finish: observed deployment generation less than desired generation",
    );
  }
  const progressing = condition(obj, "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return health("Degraded", `Deployment "${name}" exceeded its progress deadline`);
  }
  const replicas = optNum(obj, ["spec", "replicas"]);
  const statusReplicas = num(obj, ["status", "replicas"]);
  const updated = num(obj, ["status", "updatedReplicas"]);
  const available = num(obj, ["status", "availableReplicas"]);
  if (replicas !== undefined && updated < replicas) {
    return health(
      "Progressing",
      `Waiting for rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`,
    );
  }
  if (statusReplicas > updated) {
    return health(
      "Progressing",
      `Waiting for rollout to finish: ${statusReplicas - updated} old replicas are pending termination...`,
    );
  }
  if (available < updated) {
    return health(
      "Progressing",
      `Waiting for rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  }
  return health("Healthy");
};
