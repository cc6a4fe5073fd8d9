import { condition, type HealthCheck, health } from "./types.js";

/** apiregistration.k8s.io/v1 APIService, as gitops-engine's `health_apiservice.go`: `Available`. */
export const apiServiceHealth: HealthCheck = (obj) => {
  const available = condition(obj, "Available");
  if (!available) return health("Progressing", "Waiting to be processed");
  const message = `${available.reason ?? ""}: ${available.message ?? ""}`;
  return health(available.status === "True" ? "Healthy" : "Progressing", message);
};
