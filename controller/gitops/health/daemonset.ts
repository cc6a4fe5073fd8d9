import { generation, type HealthCheck, health, num, str } from "./types.js";

/**
 * apps/v1 DaemonSet, as gitops-engine's `health_daemonset.go`: once the generation is observed,
 * OnDelete is healthy as is; otherwise every scheduled pod must be updated and available.
 */
export const daemonSetHealth: HealthCheck = (obj) => {
  const name = obj.metadata?.name ?? "";
  if (generation(obj) > num(obj, ["status", "observedGeneration"])) {
    return health(
      "Progressing",
      "Waiting for rollout to finish: observed daemon set generation less than desired generation",
    );
  }
  const desired = num(obj, ["status", "desiredNumberScheduled"]);
  const updated = num(obj, ["status", "updatedNumberScheduled"]);
  const available = num(obj, ["status", "numberAvailable"]);
  if (str(obj, ["spec", "updateStrategy", "type"]) === "OnDelete") {
    return health("Healthy", `daemon set ${updated} out of ${desired} new pods have been updated`);
  }
  if (updated < desired) {
    return health(
      "Progressing",
      `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`,
    );
  }
  if (available < desired) {
    return health(
      "Progressing",
      `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`,
    );
  }
  return health("Healthy");
};
