/**
 * Sync waves and the kind order within a wave
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/). The kind order is
 * gitops-engine's `sync_tasks.go` list: what others depend on (namespaces, quotas, accounts,
 * configuration, storage, CRDs, RBAC) before the workloads, and those before what routes to them.
 */
import type { SyncPhase } from "../../../api/v1alpha1/application.js";
import type { KubeObject } from "../diff/object.js";
import { HELM_HOOK_WEIGHT, readAnnotation } from "./annotations.js";

export const KIND_ORDER: readonly string[] = [
  "Namespace",
  "NetworkPolicy",
  "ResourceQuota",
  "LimitRange",
  "PodSecurityPolicy",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Secret",
  "SecretList",
  "ConfigMap",
  "StorageClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleList",
  "ClusterRoleBinding",
  "ClusterRoleBindingList",
  "Role",
  "RoleList",
  "RoleBinding",
  "RoleBindingList",
  "Service",
  "DaemonSet",
  "Pod",
  "ReplicationController",
  "ReplicaSet",
  "Deployment",
  "HorizontalPodAutoscaler",
  "StatefulSet",
  "Job",
  "CronJob",
  "IngressClass",
  "Ingress",
  "APIService",
];

const RANK = new Map(KIND_ORDER.map((k, i) => [k, i]));

/** Position of a kind in KIND_ORDER; unknown kinds and custom resources come last. */
export function kindRank(kind: string): number {
  return RANK.get(kind) ?? KIND_ORDER.length;
}

export const PHASE_ORDER: readonly SyncPhase[] = ["PreSync", "Sync", "PostSync", "SyncFail"];

export function phaseRank(phase: SyncPhase): number {
  return PHASE_ORDER.indexOf(phase);
}

const INTEGER = /^[+-]?\d+$/;

/**
 * The object's wave: `slipway.dev/sync-wave` / `argocd.argoproj.io/sync-wave`, else Helm's
 * `helm.sh/hook-weight` for Helm hooks, else 0. Returns an error message for a value that is not
 * an integer (Argo CD fails the sync the same way rather than guessing).
 */
export function waveOf(obj: KubeObject): { wave: number } | { error: string } {
  const annotations = obj.metadata?.annotations;
  const own = readAnnotation(annotations, "syncWave");
  const raw = own ?? annotations?.[HELM_HOOK_WEIGHT];
  if (raw === undefined) return { wave: 0 };
  const text = raw.trim();
  if (!INTEGER.test(text) || !Number.isSafeInteger(Number(text))) {
    const name = own !== undefined ? "sync-wave" : HELM_HOOK_WEIGHT;
    return { error: `${name} ${JSON.stringify(raw)} is not an integer` };
  }
  return { wave: Number(text) };
}
