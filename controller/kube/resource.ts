/**
 * Naming API resources: group/version/resource, REST paths, and the `namespace/name` keys work
 * queues carry (client-go's `MetaNamespaceKeyFunc` / `SplitMetaNamespaceKey`).
 */
import type { KubernetesObject } from "@kubernetes/client-node";

export interface GroupVersionResource {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural resource name, e.g. "configmaps". */
  resource: string;
}

export interface GroupVersionKind {
  apiVersion: string;
  kind: string;
}

/** What discovery says about a resource. */
export interface ResourceInfo extends GroupVersionResource {
  kind: string;
  namespaced: boolean;
  verbs: string[];
  /** Subresources served, e.g. ["status", "scale"]. */
  subresources: string[];
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/**
 * The REST path of a collection (no name) or an object. A namespace is only put in the path of
 * namespaced resources; without one a namespaced collection path spans all namespaces.
 */
export function resourcePath(
  resource: GroupVersionResource & { namespaced?: boolean },
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let path = groupVersionPath(resource.group, resource.version);
  if (namespace && resource.namespaced !== false) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${resource.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key queues and caches use. */
export function objectKey(object: KubernetesObject): string {
  const name = object.metadata?.name ?? "";
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** The inverse of `objectKey`. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
