/**
 * The built-in resources the sandbox serves: the kinds kubectl users and slipway touch.
 * Facts (plural names, short names, scopes, categories) follow the real API server's discovery.
 */
import type { ResourceType, ScaleSubresource } from "./types.js";

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const replicasScale: ScaleSubresource = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".spec.selector",
};

interface Spec {
  group?: string;
  version?: string;
  kind: string;
  plural: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: ScaleSubresource;
  verbs?: string[];
}

function resource(spec: Spec): ResourceType {
  return {
    group: spec.group ?? "",
    version: spec.version ?? "v1",
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? ALL_VERBS,
    subresources: { status: spec.status ?? false, ...(spec.scale ? { scale: spec.scale } : {}) },
  };
}

export const BUILTIN_RESOURCES: ResourceType[] = [
  resource({ kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"], status: true }),
  resource({ kind: "ConfigMap", plural: "configmaps", shortNames: ["cm"] }),
  resource({ kind: "Secret", plural: "secrets" }),
  resource({ kind: "Service", plural: "services", shortNames: ["svc"], categories: ["all"], status: true }),
  resource({ kind: "Endpoints", plural: "endpoints", shortNames: ["ep"] }),
  resource({ kind: "Pod", plural: "pods", shortNames: ["po"], categories: ["all"], status: true }),
  resource({ kind: "ServiceAccount", plural: "serviceaccounts", shortNames: ["sa"] }),
  resource({ kind: "Event", plural: "events", shortNames: ["ev"] }),
  resource({
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    shortNames: ["pvc"],
    status: true,
  }),
  resource({ kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"], status: true }),
  resource({ group: "events.k8s.io", kind: "Event", plural: "events", shortNames: ["ev"] }),
  resource({
    group: "apps",
    kind: "Deployment",
    plural: "deployments",
    shortNames: ["deploy"],
    categories: ["all"],
    status: true,
    scale: replicasScale,
  }),
  resource({
    group: "apps",
    kind: "ReplicaSet",
    plural: "replicasets",
    shortNames: ["rs"],
    categories: ["all"],
    status: true,
    scale: replicasScale,
  }),
  resource({
    group: "apps",
    kind: "StatefulSet",
    plural: "statefulsets",
    shortNames: ["sts"],
    categories: ["all"],
    status: true,
    scale: replicasScale,
  }),
  resource({
    group: "apps",
    kind: "DaemonSet",
    plural: "daemonsets",
    shortNames: ["ds"],
    categories: ["all"],
    status: true,
  }),
  resource({ group: "apps", kind: "ControllerRevision", plural: "controllerrevisions" }),
  resource({ group: "batch", kind: "Job", plural: "jobs", categories: ["all"], status: true }),
  resource({
    group: "batch",
    kind: "CronJob",
    plural: "cronjobs",
    shortNames: ["cj"],
    categories: ["all"],
    status: true,
  }),
  resource({
    group: "networking.k8s.io",
    kind: "Ingress",
    plural: "ingresses",
    shortNames: ["ing"],
    status: true,
  }),
  resource({ group: "networking.k8s.io", kind: "IngressClass", plural: "ingressclasses", namespaced: false }),
  resource({
    group: "networking.k8s.io",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    shortNames: ["netpol"],
  }),
  resource({ group: "discovery.k8s.io", kind: "EndpointSlice", plural: "endpointslices" }),
  resource({ group: "coordination.k8s.io", kind: "Lease", plural: "leases" }),
  resource({ group: "rbac.authorization.k8s.io", kind: "Role", plural: "roles" }),
  resource({ group: "rbac.authorization.k8s.io", kind: "RoleBinding", plural: "rolebindings" }),
  resource({
    group: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
  }),
  resource({
    group: "rbac.authorization.k8s.io",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  }),
  resource({
    group: "apiextensions.k8s.io",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    shortNames: ["crd", "crds"],
    status: true,
  }),
  resource({
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    shortNames: ["hpa"],
    categories: ["all"],
    status: true,
  }),
  resource({
    group: "policy",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    shortNames: ["pdb"],
    status: true,
  }),
  // Access reviews are answered, never stored: the sandbox has one identity and it may do anything.
  resource({
    group: "authorization.k8s.io",
    kind: "SelfSubjectAccessReview",
    plural: "selfsubjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  }),
  resource({
    group: "authorization.k8s.io",
    kind: "SelfSubjectRulesReview",
    plural: "selfsubjectrulesreviews",
    namespaced: false,
    verbs: ["create"],
  }),
];

/** Kinds whose metadata.generation the API server maintains (bumped on spec changes). */
export const GENERATION_KINDS = new Set([
  "apps/Deployment",
  "apps/ReplicaSet",
  "apps/StatefulSet",
  "apps/DaemonSet",
  "batch/Job",
  "batch/CronJob",
  "networking.k8s.io/Ingress",
  "networking.k8s.io/NetworkPolicy",
  "autoscaling/HorizontalPodAutoscaler",
  "policy/PodDisruptionBudget",
  "apiextensions.k8s.io/CustomResourceDefinition",
]);

/** Names that must be DNS-1123 labels (63 chars, no dots) rather than subdomains. */
export const DNS_LABEL_KINDS = new Set(["/Namespace", "/Service"]);
