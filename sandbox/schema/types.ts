/**
 * The sandbox's description of an object's structure together with its merge semantics: which
 * lists merge by key (strategic merge patch and server-side apply), which maps and structs are
 * atomic, and where the object's shape is open (preserve-unknown-fields).
 *
 * Built-in kinds get their nodes from `builtin.ts`, custom resources from `crd.ts`; the OpenAPI
 * documents in `openapi.ts` are rendered from the same nodes, so `kubectl explain`, kubectl's
 * strategic-merge-patch computation and the server's own merging all see one truth.
 *
 * Nodes are shared and may be cyclic (JSONSchemaProps refers to itself): treat them as read-only.
 */
export interface SchemaNode {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  /** Value schema of a map (an object whose keys are data, e.g. labels). */
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  /** Fields required by the schema (CRD schemas only; built-ins leave it unset). */
  required?: string[];
  /** Default value (used for absent associative-list key fields, e.g. a port's protocol "TCP"). */
  default?: unknown;
  intOrString?: boolean;
  preserveUnknownFields?: boolean;
  embeddedResource?: boolean;
  /** Server-side apply list semantics; unset means atomic. */
  listType?: "atomic" | "set" | "map";
  listMapKeys?: string[];
  /** Strategic merge patch strategy: "merge" | "retainKeys" | "merge,retainKeys" | "replace". */
  patchStrategy?: string;
  patchMergeKey?: string;
  /** For maps (additionalProperties): atomic maps are owned and replaced as a whole. */
  mapType?: "atomic" | "granular";
  /** For structs (properties): atomic structs are owned and replaced as a whole. */
  structType?: "atomic" | "granular";
  /** OpenAPI definition name, e.g. "io.k8s.api.apps.v1.DeploymentSpec". */
  ref?: string;
  /** Top-level kinds: the kinds this node describes (x-kubernetes-group-version-kind). */
  gvk?: { group: string; version: string; kind: string }[];
}

/** True for an object node whose keys are data (a map) rather than declared fields. */
export function isMapNode(node: SchemaNode): boolean {
  return node.additionalProperties !== undefined && node.properties === undefined;
}

/** True when an object node is replaced and owned as a whole. */
export function isAtomicObject(node: SchemaNode): boolean {
  return node.mapType === "atomic" || node.structType === "atomic";
}

/** The patch strategies of a node, split ("merge,retainKeys" → ["merge", "retainKeys"]). */
export function patchStrategies(node: SchemaNode | undefined): string[] {
  const s = node?.patchStrategy;
  return s ? s.split(",") : [];
}
