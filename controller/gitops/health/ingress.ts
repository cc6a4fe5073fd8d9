import { type HealthCheck, health, list } from "./types.js";

/**
 * networking.k8s.io/v1 (and extensions/v1beta1) Ingress, as gitops-engine's `health_ingress.go`:
 * Healthy once the ingress controller has published an address.
 */
export const ingressHealth: HealthCheck = (obj) =>
  list(obj, ["status", "loadBalancer", "ingress"]).length > 0
    ? health("Healthy")
    : health("Progressing", "Waiting for the ingress controller to publish an address");
