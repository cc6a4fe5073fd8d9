/**
 * API discovery documents: legacy (/api, /apis, /apis/<g>/<v>) and aggregated
 * (apidiscovery.k8s.io/v2, which kubectl 1.30+ asks for first).
 */
import { type ResourceRegistry, type ServedResource, sortVersions } from "../core/registry.js";

export const AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/** Which aggregated discovery version the client accepts, if any. */
export function wantsAggregated(accept: string | undefined): "v2" | "v2beta1" | undefined {
  if (!accept) return undefined;
  const types = accept.split(",").map((t) => t.replaceAll(" ", ""));
  for (const t of types) {
    if (t.includes("as=APIGroupDiscoveryList") && t.includes("v=v2;")) return "v2";
    if (t.includes("as=APIGroupDiscoveryList") && t.endsWith("v=v2")) return "v2";
    if (t.includes("as=APIGroupDiscoveryList") && t.includes("v=v2beta1")) return "v2beta1";
  }
  return undefined;
}

export function aggregatedContentType(version: "v2" | "v2beta1"): string {
  return version === "v2" ? AGGREGATED_CONTENT_TYPE : AGGREGATED_V2BETA1;
}

const groupVersion = (group: string, version: string) => (group ? `${group}/${version}` : version);

function preferredVersion(registry: ResourceRegistry, group: string): string {
  const versions = registry.groupVersions().get(group) ?? [];
  return versions[0] ?? "v1";
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(registry: ResourceRegistry, group: string, versions: string[]): Record<string, unknown> {
  const preferred = preferredVersion(registry, group);
  return {
    name: group,
    versions: versions.map((v) => ({ groupVersion: groupVersion(group, v), version: v })),
    preferredVersion: { groupVersion: groupVersion(group, preferred), version: preferred },
  };
}

export function apiGroupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groupVersions()]
    .filter(([g]) => g !== "")
    .map(([g, v]) => apiGroup(registry, g, v));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): Record<string, unknown> | undefined {
  const versions = registry.groupVersions().get(group);
  if (!versions) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(registry, group, versions) };
}

function sortedResources(resources: ServedResource[]): ServedResource[] {
  return [...resources].sort((a, b) => (a.plural < b.plural ? -1 : 1));
}

export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  const list: Record<string, unknown>[] = [];
  for (const r of sortedResources(resources)) {
    list.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    if (r.subresources.status) {
      list.push({
        name: `${r.plural}/status`,
        singularName: "",
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ["get", "patch", "update"],
      });
    }
    if (r.group === "" && r.kind === "Pod") {
      list.push({ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] });
    }
    if (r.subresources.scale) {
      list.push({
        name: `${r.plural}/scale`,
        singularName: "",
        namespaced: r.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersion(group, version),
    resources: list,
  };
}

function discoveryResource(r: ServedResource): Record<string, unknown> {
  const subresources: Record<string, unknown>[] = [];
  if (r.subresources.status) {
    subresources.push({
      subresource: "status",
      responseKind: { group: r.group, version: r.version, kind: r.kind },
      verbs: ["get", "patch", "update"],
    });
  }
  if (r.subresources.scale) {
    subresources.push({
      subresource: "scale",
      responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
      verbs: ["get", "patch", "update"],
    });
  }
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(subresources.length ? { subresources } : {}),
  };
}

/** The aggregated discovery document for /api (core only) or /apis (every other group). */
export function aggregatedDiscovery(
  registry: ResourceRegistry,
  core: boolean,
  version: "v2" | "v2beta1",
): Record<string, unknown> {
  const items: Record<string, unknown>[] = [];
  for (const [group, versions] of registry.groupVersions()) {
    if ((group === "") !== core) continue;
    items.push({
      metadata: core ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
      versions: sortVersions(versions).map((v) => ({
        version: v,
        resources: sortedResources(registry.inGroupVersion(group, v)).map(discoveryResource),
        freshness: "Current",
      })),
    });
  }
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
