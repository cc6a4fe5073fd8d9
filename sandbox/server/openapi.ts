/**
 * OpenAPI documents for kubectl (explain, client-side apply, field-validation detection), built
 * from the served resources and cached until the set of resources changes (a CRD comes or goes).
 */
import type { ResourceRegistry } from "../core/registry.js";
import { schemaOf } from "../core/schemas.js";
import {
  openApiV3Document as buildV3Document,
  normalizeGroupVersion,
  type OpenApiEntry,
  openApiDocumentHash,
  openApiV2Document,
  openApiV3Root as rootDocument,
} from "../schema/index.js";

function entries(registry: ResourceRegistry): OpenApiEntry[] {
  const out: OpenApiEntry[] = [];
  for (const r of registry.all()) {
    out.push({
      group: r.group,
      version: r.version,
      kind: r.kind,
      plural: r.plural,
      namespaced: r.namespaced,
      schema: schemaOf(r) ?? { type: "object", preserveUnknownFields: true },
      statusSubresource: r.subresources.status,
      strategicMergePatch: r.fromCrd === undefined,
    });
  }
  return out;
}

interface Cache {
  generation: number;
  v2?: Record<string, unknown>;
  v3: Map<string, Record<string, unknown>>;
  hashes: Map<string, string>;
}

const caches = new WeakMap<ResourceRegistry, Cache>();

function cacheFor(registry: ResourceRegistry): Cache {
  let cache = caches.get(registry);
  if (!cache || cache.generation !== registry.generation) {
    cache = { generation: registry.generation, v3: new Map(), hashes: new Map() };
    caches.set(registry, cache);
  }
  return cache;
}

export function openApiV2(registry: ResourceRegistry): Record<string, unknown> {
  const cache = cacheFor(registry);
  cache.v2 ??= openApiV2Document(entries(registry));
  return cache.v2;
}

function groupVersions(registry: ResourceRegistry): string[] {
  const out: string[] = [];
  for (const [group, versions] of registry.groupVersions()) {
    for (const v of versions) out.push(normalizeGroupVersion(group ? `${group}/${v}` : v));
  }
  return out;
}

export function openApiV3Document(
  registry: ResourceRegistry,
  gv: string,
): Record<string, unknown> | undefined {
  const key = normalizeGroupVersion(gv);
  if (!groupVersions(registry).includes(key)) return undefined;
  const cache = cacheFor(registry);
  let doc = cache.v3.get(key);
  if (!doc) {
    doc = buildV3Document(key, entries(registry));
    cache.v3.set(key, doc);
    cache.hashes.set(key, openApiDocumentHash(doc));
  }
  return doc;
}

export function openApiV3Root(registry: ResourceRegistry): Record<string, unknown> {
  const gvs = groupVersions(registry);
  const cache = cacheFor(registry);
  const hashes: Record<string, string> = {};
  for (const gv of gvs) {
    if (!cache.hashes.has(gv)) openApiV3Document(registry, gv);
    hashes[gv] = cache.hashes.get(gv)!;
  }
  return rootDocument(gvs, hashes);
}
