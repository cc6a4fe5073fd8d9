/**
 * Schemas of the built-in kinds the sandbox serves, derived from @kubernetes/client-node's generated
 * model classes (their static attribute type maps give structure and scalar types) and overlaid with
 * the Kubernetes patch metadata the models lack: the Go struct tags `patchStrategy`,
 * `patchMergeKey`, `+listType`, `+listMapKey`, `+mapType` and `+structType`.
 *
 * Nodes are built lazily, once per model class, and cached; every call returns the same objects.
 */
import * as clientNode from "@kubernetes/client-node";
import type { SchemaNode } from "./types.js";

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

interface ModelClass {
  getAttributeTypeMap(): AttributeType[];
}

const models = clientNode as unknown as Record<string, unknown>;

function modelClass(name: string): ModelClass | undefined {
  const candidate = models[name];
  if (typeof candidate !== "function") return undefined;
  const getter = (candidate as unknown as Partial<ModelClass>).getAttributeTypeMap;
  return typeof getter === "function" ? (candidate as unknown as ModelClass) : undefined;
}

/** One served built-in kind. */
export interface BuiltinKind {
  group: string;
  version: string;
  kind: string;
  /** client-node model class the schema is derived from. */
  model: string;
  description: string;
}

/** The built-in kinds the sandbox serves. Core kinds come first (definition naming relies on it). */
export const BUILTIN_KINDS: readonly BuiltinKind[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    model: "V1Namespace",
    description: "Namespace provides a scope for names.",
  },
  {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    model: "V1ConfigMap",
    description: "ConfigMap holds configuration data for pods to consume.",
  },
  {
    group: "",
    version: "v1",
    kind: "Secret",
    model: "V1Secret",
    description: "Secret holds secret data of a certain type.",
  },
  {
    group: "",
    version: "v1",
    kind: "Service",
    model: "V1Service",
    description: "Service exposes a set of pods behind a stable virtual address and ports.",
  },
  {
    group: "",
    version: "v1",
    kind: "Endpoints",
    model: "V1Endpoints",
    description: "Endpoints is a collection of endpoints that implement the actual service.",
  },
  {
    group: "",
    version: "v1",
    kind: "Pod",
    model: "V1Pod",
    description: "Pod is a collection of containers that can run on a host.",
  },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    model: "V1ServiceAccount",
    description: "ServiceAccount binds together a name, a principal and a set of secrets.",
  },
  {
    group: "",
    version: "v1",
    kind: "Event",
    model: "CoreV1Event",
    description: "Event is a report of an event somewhere in the cluster.",
  },
  {
    group: "",
    version: "v1",
    kind: "PersistentVolumeClaim",
    model: "V1PersistentVolumeClaim",
    description: "PersistentVolumeClaim is a user's request for and claim to a persistent volume.",
  },
  {
    group: "",
    version: "v1",
    kind: "Node",
    model: "V1Node",
    description: "Node is a worker node in Kubernetes.",
  },
  {
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    model: "EventsV1Event",
    description: "Event is a report of an event somewhere in the cluster.",
  },
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    model: "V1Deployment",
    description: "Deployment enables declarative updates for Pods and ReplicaSets.",
  },
  {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    model: "V1ReplicaSet",
    description: "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
  },
  {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    model: "V1StatefulSet",
    description: "StatefulSet represents a set of pods with consistent identities.",
  },
  {
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    model: "V1DaemonSet",
    description: "DaemonSet represents the configuration of a daemon set.",
  },
  {
    group: "batch",
    version: "v1",
    kind: "Job",
    model: "V1Job",
    description: "Job represents the configuration of a single job.",
  },
  {
    group: "batch",
    version: "v1",
    kind: "CronJob",
    model: "V1CronJob",
    description: "CronJob represents the configuration of a single cron job.",
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    model: "V1Ingress",
    description:
      "Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend.",
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "IngressClass",
    model: "V1IngressClass",
    description: "IngressClass represents the class of the Ingress, referenced by the Ingress Spec.",
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    model: "V1NetworkPolicy",
    description: "NetworkPolicy describes what network traffic is allowed for a set of Pods.",
  },
  {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    model: "V1EndpointSlice",
    description: "EndpointSlice represents a subset of the endpoints that implement a service.",
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    model: "V1Lease",
    description: "Lease defines a lease concept.",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    model: "V1Role",
    description:
      "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    model: "V1RoleBinding",
    description: "RoleBinding references a role, but does not contain it.",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    model: "V1ClusterRole",
    description:
      "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.",
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    model: "V1ClusterRoleBinding",
    description: "ClusterRoleBinding references a ClusterRole, but not contain it.",
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    model: "V1CustomResourceDefinition",
    description: "CustomResourceDefinition represents a resource that should be exposed on the API server.",
  },
  {
    group: "autoscaling",
    version: "v2",
    kind: "HorizontalPodAutoscaler",
    model: "V2HorizontalPodAutoscaler",
    description: "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler.",
  },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    model: "V1PodDisruptionBudget",
    description:
      "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods.",
  },
];

// ---------------------------------------------------------------------------------------------
// Patch metadata overlay (Go struct tags of k8s.io/api), keyed by model class and JSON field name.
// ---------------------------------------------------------------------------------------------

interface FieldOverlay {
  patchStrategy?: string;
  patchMergeKey?: string;
  listType?: "atomic" | "set" | "map";
  listMapKeys?: string[];
  mapType?: "atomic" | "granular";
  /** A resource.Quantity (or a map of them): accepts integers and strings. */
  quantity?: boolean;
  default?: unknown;
}

/** patchStrategy=merge + patchMergeKey, listType=map keyed by `keys` (default: the merge key). */
function mergeBy(key: string, keys: string[] = [key]): FieldOverlay {
  return { patchStrategy: "merge", patchMergeKey: key, listType: "map", listMapKeys: keys };
}
const ATOMIC: FieldOverlay = { listType: "atomic" };
const QUANTITY: FieldOverlay = { quantity: true };
const CONDITIONS: FieldOverlay = mergeBy("type");

const containerFields: Record<string, FieldOverlay> = {
  ports: mergeBy("containerPort", ["containerPort", "protocol"]),
  env: mergeBy("name"),
  volumeMounts: mergeBy("mountPath"),
  volumeDevices: mergeBy("devicePath"),
  envFrom: ATOMIC,
  args: ATOMIC,
  command: ATOMIC,
  resizePolicy: ATOMIC,
  restartPolicyRules: ATOMIC,
};

const FIELD_OVERLAYS: Record<string, Record<string, FieldOverlay>> = {
  V1ObjectMeta: {
    finalizers: { patchStrategy: "merge", listType: "set" },
    ownerReferences: mergeBy("uid"),
    managedFields: ATOMIC,
  },
  V1PodSpec: {
    containers: mergeBy("name"),
    initContainers: mergeBy("name"),
    ephemeralContainers: mergeBy("name"),
    volumes: { ...mergeBy("name"), patchStrategy: "merge,retainKeys" },
    imagePullSecrets: mergeBy("name"),
    hostAliases: mergeBy("ip"),
    tolerations: ATOMIC,
    topologySpreadConstraints: mergeBy("topologyKey", ["topologyKey", "whenUnsatisfiable"]),
    schedulingGates: mergeBy("name"),
    resourceClaims: { ...mergeBy("name"), patchStrategy: "merge,retainKeys" },
    readinessGates: ATOMIC,
    nodeSelector: { mapType: "atomic" },
    overhead: QUANTITY,
  },
  V1Container: containerFields,
  V1EphemeralContainer: containerFields,
  V1ContainerPort: { protocol: { default: "TCP" } },
  V1ResourceRequirements: {
    limits: QUANTITY,
    requests: QUANTITY,
    claims: { listType: "map", listMapKeys: ["name"] },
  },
  V1VolumeResourceRequirements: { limits: QUANTITY, requests: QUANTITY },
  V1EmptyDirVolumeSource: { sizeLimit: QUANTITY },
  V1LabelSelector: { matchExpressions: ATOMIC },
  V1PodStatus: {
    conditions: CONDITIONS,
    podIPs: mergeBy("ip"),
    hostIPs: mergeBy("ip"),
    containerStatuses: ATOMIC,
    initContainerStatuses: ATOMIC,
    ephemeralContainerStatuses: ATOMIC,
  },
  V1ContainerStatus: { allocatedResources: QUANTITY },
  V1ServiceSpec: {
    ports: mergeBy("port", ["port", "protocol"]),
    selector: { mapType: "atomic" },
    clusterIPs: ATOMIC,
    externalIPs: ATOMIC,
    ipFamilies: ATOMIC,
    loadBalancerSourceRanges: ATOMIC,
  },
  V1ServicePort: { protocol: { default: "TCP" } },
  V1ServiceStatus: { conditions: CONDITIONS },
  V1ServiceAccount: { secrets: mergeBy("name"), imagePullSecrets: ATOMIC },
  V1Endpoints: { subsets: ATOMIC },
  V1EndpointSlice: { endpoints: ATOMIC, ports: ATOMIC },
  V1NamespaceSpec: { finalizers: ATOMIC },
  V1NamespaceStatus: { conditions: CONDITIONS },
  V1PersistentVolumeClaimSpec: { accessModes: ATOMIC },
  V1PersistentVolumeClaimStatus: {
    conditions: CONDITIONS,
    accessModes: ATOMIC,
    capacity: QUANTITY,
    allocatedResources: QUANTITY,
  },
  V1NodeSpec: { podCIDRs: { patchStrategy: "merge", listType: "set" }, taints: ATOMIC },
  V1NodeStatus: {
    conditions: CONDITIONS,
    addresses: mergeBy("type"),
    capacity: QUANTITY,
    allocatable: QUANTITY,
  },
  V1DeploymentSpec: { strategy: { patchStrategy: "retainKeys" } },
  V1DeploymentStatus: { conditions: CONDITIONS },
  V1ReplicaSetStatus: { conditions: CONDITIONS },
  V1StatefulSetSpec: { volumeClaimTemplates: ATOMIC },
  V1StatefulSetStatus: { conditions: CONDITIONS },
  V1DaemonSetStatus: { conditions: CONDITIONS },
  V1JobStatus: { conditions: { patchStrategy: "merge", patchMergeKey: "type", listType: "atomic" } },
  V1CronJobStatus: { active: ATOMIC },
  V1IngressSpec: { rules: ATOMIC, tls: ATOMIC },
  V1NetworkPolicySpec: { ingress: ATOMIC, egress: ATOMIC, policyTypes: ATOMIC },
  V1Role: { rules: ATOMIC },
  V1ClusterRole: { rules: ATOMIC },
  V1RoleBinding: { subjects: ATOMIC },
  V1ClusterRoleBinding: { subjects: ATOMIC },
  V1CustomResourceDefinitionSpec: { versions: ATOMIC },
  V1CustomResourceDefinitionStatus: {
    conditions: { listType: "map", listMapKeys: ["type"] },
    storedVersions: ATOMIC,
  },
  V2HorizontalPodAutoscalerSpec: { metrics: ATOMIC },
  V2HorizontalPodAutoscalerStatus: { conditions: CONDITIONS, currentMetrics: ATOMIC },
  V1PodDisruptionBudgetStatus: { conditions: CONDITIONS },
};

/** Structs tagged `+structType=atomic`: owned and replaced as a whole by server-side apply. */
const ATOMIC_STRUCTS = new Set([
  "V1LabelSelector",
  "V1LocalObjectReference",
  "V1ObjectReference",
  "V1TypedLocalObjectReference",
  "V1ConfigMapKeySelector",
  "V1SecretKeySelector",
  "V1ObjectFieldSelector",
  "V1ResourceFieldSelector",
  "V1NodeSelector",
  "V1NodeSelectorTerm",
  "V1ConfigMapEnvSource",
  "V1SecretEnvSource",
  "V1TopologySelectorTerm",
  "V1SecretReference",
]);

// ---------------------------------------------------------------------------------------------
// Definition names (io.k8s.api.apps.v1.Deployment, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta)
// ---------------------------------------------------------------------------------------------

const META_PACKAGE = "io.k8s.apimachinery.pkg.apis.meta.v1";
const APIEXTENSIONS_PACKAGE = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
const META_MODELS = new Set([
  "V1ObjectMeta",
  "V1ListMeta",
  "V1LabelSelector",
  "V1LabelSelectorRequirement",
  "V1ManagedFieldsEntry",
  "V1OwnerReference",
  "V1Condition",
  "V1Status",
  "V1StatusDetails",
  "V1StatusCause",
  "V1DeleteOptions",
  "V1Preconditions",
]);
const PREFIX_GROUPS: Record<string, string> = {
  Core: "",
  Apps: "apps",
  Batch: "batch",
  Discovery: "discovery.k8s.io",
  Events: "events.k8s.io",
  Rbac: "rbac.authorization.k8s.io",
  Apiextensions: "apiextensions.k8s.io",
  Admissionregistration: "admissionregistration.k8s.io",
  Apiregistration: "apiregistration.k8s.io",
  Authentication: "authentication.k8s.io",
  Flowcontrol: "flowcontrol.apiserver.k8s.io",
  Storage: "storage.k8s.io",
  Resource: "resource.k8s.io",
};

/** The OpenAPI package prefix the real API server uses for a group/version. */
export function builtinPackage(group: string, version: string): string {
  if (group === "apiextensions.k8s.io")
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}`;
  if (group === "apiregistration.k8s.io") return `io.k8s.kube-aggregator.pkg.apis.apiregistration.${version}`;
  const short = group === "" ? "core" : group.split(".")[0];
  return `io.k8s.api.${short}.${version}`;
}

/** "V1DeploymentSpec" → "DeploymentSpec"; "RbacV1Subject" → "Subject". */
function typeNameOf(model: string): string {
  const prefixed = /^([A-Z][a-z]+)V\d+(?:alpha\d+|beta\d+)?([A-Z]\w*)$/.exec(model);
  if (prefixed && PREFIX_GROUPS[prefixed[1]] !== undefined) return prefixed[2];
  const plain = /^V\d+(?:alpha\d+|beta\d+)?([A-Z]\w*)$/.exec(model);
  return plain ? plain[1] : model;
}

function versionOf(model: string): string {
  const m = /V(\d+(?:alpha\d+|beta\d+)?)[A-Z]/.exec(model);
  return m ? `v${m[1]}` : "v1";
}

let packageByModel: Map<string, string> | undefined;

/** Assigns each reachable model class the package of the first served kind that reaches it. */
function modelPackages(): Map<string, string> {
  if (packageByModel) return packageByModel;
  const result = new Map<string, string>();
  for (const m of META_MODELS) result.set(m, META_PACKAGE);
  const visit = (model: string, pkg: string): void => {
    if (result.has(model)) return;
    const cls = modelClass(model);
    if (!cls) return;
    const prefixed = /^([A-Z][a-z]+)V\d+/.exec(model);
    if (prefixed && PREFIX_GROUPS[prefixed[1]] !== undefined) {
      result.set(model, builtinPackage(PREFIX_GROUPS[prefixed[1]], versionOf(model)));
    } else if (
      /^V1(CustomResource|JSONSchemaProps|ExternalDocumentation|ValidationRule|SelectableField|WebhookConversion)/.test(
        model,
      )
    ) {
      result.set(model, APIEXTENSIONS_PACKAGE);
    } else {
      result.set(model, pkg);
    }
    for (const attr of cls.getAttributeTypeMap()) {
      for (const ref of attr.type.match(/[A-Z][A-Za-z0-9]+/g) ?? []) visit(ref, pkg);
    }
  };
  // Pod templates and claims are core types wherever they are used.
  visit("V1PodTemplateSpec", builtinPackage("", "v1"));
  for (const k of BUILTIN_KINDS) visit(k.model, builtinPackage(k.group, k.version));
  packageByModel = result;
  return result;
}

/** The OpenAPI definition name of a client-node model class. */
export function definitionNameOf(model: string): string {
  const pkg = modelPackages().get(model) ?? builtinPackage("", versionOf(model));
  return `${pkg}.${typeNameOf(model)}`;
}

// ---------------------------------------------------------------------------------------------
// Node construction
// ---------------------------------------------------------------------------------------------

const INT_OR_STRING: SchemaNode = {
  intOrString: true,
  format: "int-or-string",
  ref: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
};
const QUANTITY_NODE: SchemaNode = {
  intOrString: true,
  format: "quantity",
  ref: "io.k8s.apimachinery.pkg.api.resource.Quantity",
};

const nodeCache = new Map<string, SchemaNode>();

function scalarNode(type: string, format: string): SchemaNode | undefined {
  switch (type) {
    case "string":
      return format ? { type: "string", format } : { type: "string" };
    case "boolean":
      return { type: "boolean" };
    case "number":
      if (format === "int32" || format === "int64") return { type: "integer", format };
      return format ? { type: "number", format } : { type: "number" };
    case "Date":
    case "V1MicroTime":
      return { type: "string", format: "date-time" };
    case "IntOrString":
      return INT_OR_STRING;
    case "any":
      return { preserveUnknownFields: true };
    default:
      return undefined;
  }
}

function typeNode(type: string, format: string): SchemaNode {
  const t = type.trim();
  const arr = /^Array<(.+)>$/.exec(t);
  if (arr) return { type: "array", items: typeNode(arr[1], format) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return { type: "object", additionalProperties: typeNode(map[1], format) };
  const scalar = scalarNode(t, format);
  if (scalar) return scalar;
  const model = modelNode(t);
  return model ?? { type: "string", ...(format ? { format } : {}) };
}

function applyOverlay(base: SchemaNode, overlay: FieldOverlay): SchemaNode {
  const { quantity, ...meta } = overlay;
  let node = base;
  if (quantity) {
    node = base.additionalProperties ? { ...base, additionalProperties: QUANTITY_NODE } : QUANTITY_NODE;
  }
  // Copy: the base may be a shared model node (a struct used in several places).
  return { ...node, ...meta };
}

/** The (cached) node of a client-node model class, or undefined if there is no such class. */
export function modelNode(model: string): SchemaNode | undefined {
  const cached = nodeCache.get(model);
  if (cached) return cached;
  const cls = modelClass(model);
  if (!cls) return undefined;
  const properties: Record<string, SchemaNode> = {};
  const node: SchemaNode = { type: "object", properties, ref: definitionNameOf(model) };
  if (ATOMIC_STRUCTS.has(model)) node.structType = "atomic";
  nodeCache.set(model, node);
  const overlays = FIELD_OVERLAYS[model];
  for (const attr of cls.getAttributeTypeMap()) {
    let child = typeNode(attr.type, attr.format);
    const overlay = overlays?.[attr.baseName];
    if (overlay) child = applyOverlay(child, overlay);
    properties[attr.baseName] = child;
  }
  return node;
}

const kindIndex = new Map<string, BuiltinKind>();
for (const k of BUILTIN_KINDS) kindIndex.set(`${k.group}/${k.version}/${k.kind}`, k);
const kindNodes = new Map<string, SchemaNode>();

/** The schema of a built-in kind the sandbox serves, or undefined. Cached: same object every call. */
export function builtinSchema(group: string, version: string, kind: string): SchemaNode | undefined {
  const key = `${group}/${version}/${kind}`;
  const cached = kindNodes.get(key);
  if (cached) return cached;
  const entry = kindIndex.get(key);
  if (!entry) return undefined;
  const node = modelNode(entry.model);
  if (!node) return undefined;
  node.gvk = [{ group, version, kind }];
  node.description = entry.description;
  kindNodes.set(key, node);
  return node;
}

/** The ObjectMeta schema (CRD documents reference it). */
export function objectMetaSchema(): SchemaNode {
  return modelNode("V1ObjectMeta")!;
}

/** The ListMeta schema. */
export function listMetaSchema(): SchemaNode {
  return modelNode("V1ListMeta")!;
}
