import { type HealthCheck, health, str } from "./types.js";

/** core/v1 PersistentVolumeClaim, as gitops-engine's `health_pvc.go`: Bound / Pending / Lost. */
export const persistentVolumeClaimHealth: HealthCheck = (obj) => {
  switch (str(obj, ["status", "phase"])) {
    case "Bound":
      return health("Healthy");
    case "Pending":
      return health("Progressing", "Waiting for the claim to be bound");
    case "Lost":
      return health("Degraded", "The claim lost its underlying volume");
    default:
      return health("Unknown");
  }
};
