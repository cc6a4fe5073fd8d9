/**
 * Which descriptor package each table lives in, and which message a (apiVersion, kind) pair in the
 * runtime.Unknown envelope names. Kinds not listed here are refused explicitly rather than guessed.
 */
import type { MessageTable } from "./schema.js";
import { apps } from "./tables/apps.js";
import { authentication } from "./tables/authentication.js";
import { authorization } from "./tables/authorization.js";
import { autoscalingv1 } from "./tables/autoscalingv1.js";
import { autoscalingv2 } from "./tables/autoscalingv2.js";
import { batch } from "./tables/batch.js";
import { coordination } from "./tables/coordination.js";
import { core } from "./tables/core.js";
import { intstr, resource, runtime } from "./tables/machinery.js";
import { meta } from "./tables/meta.js";
import { networking } from "./tables/networking.js";
import { policy } from "./tables/policy.js";
import { rbac } from "./tables/rbac.js";
import { scheduling } from "./tables/scheduling.js";

/** Descriptor packages by the short name their messages are referenced with (`meta.ObjectMeta`). */
export const PACKAGES: Readonly<Record<string, MessageTable>> = {
  runtime,
  intstr,
  resource,
  meta,
  core,
  apps,
  batch,
  networking,
  rbac,
  policy,
  scheduling,
  coordination,
  autoscalingv1,
  autoscalingv2,
  authentication,
  authorization,
};

/** apiVersion → kind → `package.Message`. */
const KINDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  v1: {
    ConfigMap: "core.ConfigMap",
    Endpoints: "core.Endpoints",
    Event: "core.Event",
    Namespace: "core.Namespace",
    Node: "core.Node",
    PersistentVolumeClaim: "core.PersistentVolumeClaim",
    Pod: "core.Pod",
    ResourceQuota: "core.ResourceQuota",
    Secret: "core.Secret",
    Service: "core.Service",
    ServiceAccount: "core.ServiceAccount",
  },
  "apps/v1": {
    ControllerRevision: "apps.ControllerRevision",
    DaemonSet: "apps.DaemonSet",
    Deployment: "apps.Deployment",
    ReplicaSet: "apps.ReplicaSet",
    StatefulSet: "apps.StatefulSet",
  },
  "batch/v1": { CronJob: "batch.CronJob", Job: "batch.Job" },
  "networking.k8s.io/v1": {
    Ingress: "networking.Ingress",
    IngressClass: "networking.IngressClass",
    NetworkPolicy: "networking.NetworkPolicy",
  },
  "rbac.authorization.k8s.io/v1": {
    ClusterRole: "rbac.ClusterRole",
    ClusterRoleBinding: "rbac.ClusterRoleBinding",
    Role: "rbac.Role",
    RoleBinding: "rbac.RoleBinding",
  },
  "policy/v1": { Eviction: "policy.Eviction", PodDisruptionBudget: "policy.PodDisruptionBudget" },
  "scheduling.k8s.io/v1": { PriorityClass: "scheduling.PriorityClass" },
  "coordination.k8s.io/v1": { Lease: "coordination.Lease" },
  "autoscaling/v1": {
    HorizontalPodAutoscaler: "autoscalingv1.HorizontalPodAutoscaler",
    Scale: "autoscalingv1.Scale",
  },
  "autoscaling/v2": { HorizontalPodAutoscaler: "autoscalingv2.HorizontalPodAutoscaler" },
  "authentication.k8s.io/v1": { TokenRequest: "authentication.TokenRequest" },
  "authorization.k8s.io/v1": {
    SelfSubjectAccessReview: "authorization.SelfSubjectAccessReview",
    SelfSubjectRulesReview: "authorization.SelfSubjectRulesReview",
  },
};

/**
 * Options kinds are registered in every group version (client-go encodes DeleteOptions with the
 * group version of the resource being deleted), so they match whatever the apiVersion is.
 */
const ANY_VERSION: Readonly<Record<string, string>> = { DeleteOptions: "meta.DeleteOptions" };

/** Every (apiVersion, kind) pair with a descriptor, DeleteOptions aside. */
export function supportedKinds(): { apiVersion: string; kind: string; message: string }[] {
  return Object.entries(KINDS).flatMap(([apiVersion, kinds]) =>
    Object.entries(kinds).map(([kind, message]) => ({ apiVersion, kind, message })),
  );
}

/** The `package.Message` for a kind, or undefined when the sandbox has no descriptor for it. */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  const versionKinds = own(KINDS, apiVersion);
  return (versionKinds && own(versionKinds, kind)) ?? own(ANY_VERSION, kind);
}

/** Looks a key up without reaching Object.prototype (a kind named "constructor" is not a message). */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
