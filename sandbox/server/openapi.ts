/**
 * OpenAPI documents for kubectl (explain, client-side apply, field-validation detection).
 * TEMPORARY: minimal documents until sandbox/schema's generators are wired in.
 */
import type { ResourceRegistry } from "../core/registry.js";

export function openApiV2(_registry: ResourceRegistry): Record<string, unknown> {
  return { swagger: "2.0", info: { title: "Kubernetes", version: "v1.32.0" }, paths: {}, definitions: {} };
}

export function openApiV3Root(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groupVersions()) {
    for (const v of versions) {
      const key = group ? `apis/${group}/${v}` : `api/${v}`;
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${registry.generation}` };
    }
  }
  return { paths };
}

export function openApiV3Document(
  registry: ResourceRegistry,
  gv: string,
): Record<string, unknown> | undefined {
  const parts = gv.split("/");
  const [group, version] = parts[0] === "api" ? ["", parts[1]!] : [parts[1]!, parts[2]!];
  const resources = registry.inGroupVersion(group, version);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const params = ["dryRun", "fieldManager", "fieldValidation", "force"].map((name) => ({
    name,
    in: "query",
    schema: { type: "string", uniqueItems: true },
  }));
  for (const r of resources) {
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const path = `${base}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.plural}/{name}`;
    paths[path] = {
      patch: {
        "x-kubernetes-group-version-kind": { group, version, kind: r.kind },
        "x-kubernetes-action": "patch",
        parameters: params,
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas: {} },
  };
}
