import { condition, generation, type HealthCheck, health, num, optNum } from "./types.js";

/**
 * apps/v1 ReplicaSet, as gitops-engine's `health_replicaset.go`: a true `ReplicaFailure`
 * condition (quota, admission) → Degraded; fewer available replicas than wanted → Progressing.
 */
export const replicaSetHealth: HealthCheck = (obj) => {
  if (generation(obj) > num(obj, ["status", "observedGeneration"])) {
    return health(
      "Progressing",
      "Waiting for rollout to finish: observed replica set generation less than desired generation",
    );
  }
  const failure = condition(obj, "ReplicaFailure");
  if (failure?.status === "True") return health("Degraded", failure.message);
  const replicas = optNum(obj, ["spec", "replicas"]);
  const available = num(obj, ["status", "availableReplicas"]);
  if (replicas !== undefined && available < replicas) {
    return health(
      "Progressing",
      `Waiting for rollout to finish: ${available} out of ${replicas} new replicas are available...`,
    );
  }
  return health("Healthy");
};
