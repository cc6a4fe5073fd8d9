import { type HealthCheck, health, list, str } from "./types.js";

/**
 * core/v1 Service, as gitops-engine's `health_service.go`: only a LoadBalancer waits, until the
 * cloud has published an address in `status.loadBalancer.ingress`.
 */
export const serviceHealth: HealthCheck = (obj) => {
  if (str(obj, ["spec", "type"]) !== "LoadBalancer") return health("Healthy");
  return list(obj, ["status", "loadBalancer", "ingress"]).length > 0
    ? health("Healthy")
    : health("Progressing", "Waiting for the load balancer to be assigned an address");
};
