import { field, generation, type HealthCheck, health, num, optNum, str } from "./types.js";

/**
 * apps/v1 StatefulSet, as gitops-engine's `health_statefulset.go` (itself kubectl's rollout
 * status): the generation must be observed and every replica ready; a partitioned RollingUpdate
 * is done when the pods above the partition are updated; OnDelete is healthy once ready; otherwise
 * the update revision must have become the current one.
 */
export const statefulSetHealth: HealthCheck = (obj) => {
  const observed = num(obj, ["status", "observedGeneration"]);
  if (observed === 0 || generation(obj) > observed) {
    return health("Progressing", "Waiting for statefulset spec update to be observed...");
  }
  const replicas = optNum(obj, ["spec", "replicas"]);
  const ready = num(obj, ["status", "readyReplicas"]);
  if (replicas !== undefined && ready < replicas) {
    return health("Progressing", `Waiting for ${replicas - ready} pods to be ready...`);
  }
  const strategy = str(obj, ["spec", "updateStrategy", "type"]) ?? "RollingUpdate";
  const updated = num(obj, ["status", "updatedReplicas"]);
  const rollingUpdate = field(obj, "spec", "updateStrategy", "rollingUpdate");
  if (strategy === "RollingUpdate" && rollingUpdate !== undefined) {
    const partition = optNum(rollingUpdate, ["partition"]);
    if (replicas !== undefined && partition !== undefined && updated < replicas - partition) {
      return health(
        "Progressing",
        `Waiting for partitioned roll out to finish: ${updated} out of ${replicas - partition} new pods have been updated...`,
      );
    }
    return health("Healthy", `partitioned roll out complete: ${updated} new pods have been updated...`);
  }
  if (strategy === "OnDelete") {
    return health("Healthy", `statefulset has ${ready} ready pods`);
  }
  const updateRevision = str(obj, ["status", "updateRevision"]) ?? "";
  const currentRevision = str(obj, ["status", "currentRevision"]) ?? "";
  if (updateRevision !== currentRevision) {
    return health(
      "Progressing",
      `waiting for statefulset rolling update to complete ${updated} pods at revision ${updateRevision}...`,
    );
  }
  return health(
    "Healthy",
    `statefulset rolling update complete ${num(obj, ["status", "currentReplicas"])} pods at revision ${currentRevision}...`,
  );
};
