/**
 * The shape the GitOps cores work on: a Kubernetes object as plain JSON. Rendered manifests and
 * informer-cache objects are both this; nothing here assumes a typed client.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  deletionTimestamp?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid?: string; controller?: boolean }[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

/** One `metadata.managedFields` entry (https://kubernetes.io/docs/reference/using-api/server-side-apply/). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update" | string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
  time?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The API group of an apiVersion: `apps/v1` → `apps`, `v1` → `` (core). */
export function groupOf(apiVersion: unknown): string {
  if (typeof apiVersion !== "string") return "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Identity of a resource without its version, as gitops-engine's `kube.ResourceKey`. */
export interface ResourceIdentity {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export function identityOf(obj: KubeObject): ResourceIdentity {
  return {
    group: groupOf(obj.apiVersion),
    kind: obj.kind ?? "",
    namespace: obj.metadata?.namespace ?? "",
    name: obj.metadata?.name ?? "",
  };
}

/** A ResourceIdentity has top-level `group` and `name`; an object keeps its name in metadata. */
function toIdentity(obj: KubeObject | ResourceIdentity): ResourceIdentity {
  return typeof obj.group === "string" && typeof obj.name === "string"
    ? (obj as ResourceIdentity)
    : identityOf(obj as KubeObject);
}

/** `group/kind/namespace/name`, the string form of gitops-engine's ResourceKey. */
export function resourceKey(obj: KubeObject | ResourceIdentity): string {
  const id = toIdentity(obj);
  return `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
}

/** A readable name for messages: `apps/Deployment default/web`, `Namespace prod`. */
export function describeResource(obj: KubeObject | ResourceIdentity): string {
  const id = toIdentity(obj);
  const kind = id.kind || "<no kind>";
  const gk = id.group ? `${id.group}/${kind}` : kind;
  const name = id.name || "<no name>";
  return id.namespace ? `${gk} ${id.namespace}/${name}` : `${gk} ${name}`;
}

/** Deep copy of JSON data (api/json.ts). */
export { cloneJson } from "../../../api/json.js";

/** Structural equality of JSON values; object key order does not matter, array order does. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}
