/**
 * Resource health: one rule per kind (one file each, gitops-engine's `pkg/health` layout), a
 * registry that picks the rule, and the app-level aggregate.
 *
 * https://argo-cd.readthedocs.io/en/stable/operator-manual/health/
 */
import type { KubeObject } from "../diff/object.js";
import { groupOf } from "../diff/object.js";
import { readAnnotation } from "../sync/annotations.js";
import { apiServiceHealth } from "./apiservice.js";
import { daemonSetHealth } from "./daemonset.js";
import { deploymentHealth } from "./deployment.js";
import { horizontalPodAutoscalerHealth } from "./hpa.js";
import { ingressHealth } from "./ingress.js";
import { jobHealth } from "./job.js";
import { namespaceHealth } from "./namespace.js";
import { podHealth } from "./pod.js";
import { persistentVolumeClaimHealth } from "./pvc.js";
import { replicaSetHealth } from "./replicaset.js";
import { rolloutHealth } from "./rollout.js";
import { serviceHealth } from "./service.js";
import { statefulSetHealth } from "./statefulset.js";
import type { HealthCheck, HealthStatus, HealthStatusCode } from "./types.js";

export { apiServiceHealth } from "./apiservice.js";
export { daemonSetHealth } from "./daemonset.js";
export { deploymentHealth } from "./deployment.js";
export { horizontalPodAutoscalerHealth } from "./hpa.js";
export { ingressHealth } from "./ingress.js";
export { jobHealth } from "./job.js";
export { namespaceHealth } from "./namespace.js";
export { podHealth } from "./pod.js";
export { persistentVolumeClaimHealth } from "./pvc.js";
export { replicaSetHealth } from "./replicaset.js";
export { rolloutHealth } from "./rollout.js";
export { serviceHealth } from "./service.js";
export { statefulSetHealth } from "./statefulset.js";
export type { HealthCheck, HealthStatus, HealthStatusCode } from "./types.js";

/** `group/kind` → rule. `extensions` keeps the pre-1.16 spellings of the workload kinds working. */
const CHECKS: ReadonlyMap<string, HealthCheck> = new Map([
  ["apps/Deployment", deploymentHealth],
  ["extensions/Deployment", deploymentHealth],
  ["apps/StatefulSet", statefulSetHealth],
  ["apps/DaemonSet", daemonSetHealth],
  ["extensions/DaemonSet", daemonSetHealth],
  ["apps/ReplicaSet", replicaSetHealth],
  ["extensions/ReplicaSet", replicaSetHealth],
  ["/Pod", podHealth],
  ["batch/Job", jobHealth],
  ["/Service", serviceHealth],
  ["networking.k8s.io/Ingress", ingressHealth],
  ["extensions/Ingress", ingressHealth],
  ["/PersistentVolumeClaim", persistentVolumeClaimHealth],
  ["/Namespace", namespaceHealth],
  ["apiregistration.k8s.io/APIService", apiServiceHealth],
  ["autoscaling/HorizontalPodAutoscaler", horizontalPodAutoscalerHealth],
  ["slipway.dev/Rollout", rolloutHealth],
  ["argoproj.io/Rollout", rolloutHealth],
]);

/** The rule for a group and kind, or undefined when the kind has no notion of health. */
export function healthCheckFor(group: string, kind: string): HealthCheck | undefined {
  return CHECKS.get(`${group}/${kind}`);
}

/**
 * Health of one live resource, as gitops-engine's `GetResourceHealth`:
 * - no live object → Missing;
 * - `slipway.dev/ignore-healthcheck: "true"` (or Argo's spelling) → undefined, left out of the app;
 * - being deleted → Progressing ("Pending deletion");
 * - a kind without a rule (ConfigMap, Secret, RBAC, most CRs) → undefined: it has no health, and
 *   does not count in the aggregate.
 */
export function healthOf(obj: KubeObject | undefined): HealthStatus | undefined {
  if (!obj) return { status: "Missing" };
  if (readAnnotation(obj.metadata?.annotations, "ignoreHealthcheck") === "true") return undefined;
  const check = healthCheckFor(groupOf(obj.apiVersion), obj.kind ?? "");
  if (obj.metadata?.deletionTimestamp) return { status: "Progressing", message: "Pending deletion" };
  if (!check) return undefined;
  try {
    return check(obj);
  } catch (error) {
    return { status: "Unknown", message: error instanceof Error ? error.message : String(error) };
  }
}

/** Argo CD's order, best to worst (`health.IsWorse`). */
export const HEALTH_ORDER: readonly HealthStatusCode[] = [
  "Healthy",
  "Suspended",
  "Progressing",
  "Missing",
  "Degraded",
  "Unknown",
];

/** True when `a` is worse than `b`. */
export function isWorse(a: HealthStatusCode, b: HealthStatusCode): boolean {
  return HEALTH_ORDER.indexOf(a) > HEALTH_ORDER.indexOf(b);
}

/**
 * App health: the worst of its resources' health (Healthy < Suspended < Progressing < Missing <
 * Degraded < Unknown). Resources without health (undefined) do not count; no resources → Healthy.
 */
export function aggregateHealth(
  statuses: Iterable<HealthStatus | HealthStatusCode | undefined>,
): HealthStatusCode {
  let worst: HealthStatusCode = "Healthy";
  for (const s of statuses) {
    if (s === undefined) continue;
    const code = typeof s === "string" ? s : s.status;
    if (isWorse(code, worst)) worst = code;
  }
  return worst;
}
