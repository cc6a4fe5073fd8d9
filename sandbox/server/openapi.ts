/**
 * OpenAPI documents for kubectl (explain, client-side apply, field-validation detection), built
 * from the served resources and cached until the set of resources changes (a CRD comes or goes).
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRegistry } from "../core/registry.js";
import { schemaOf } from "../core/schemas.js";
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from "../protobuf/openapi-v2.js";
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
  v2Protobuf?: { bytes: Buffer; etag: string };
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

/** The v2 document as a gnostic `openapi.v2.Document` protobuf, with its ETag (a SHA-512 of the bytes). */
export function openApiV2Protobuf(registry: ResourceRegistry): { bytes: Buffer; etag: string } {
  const cache = cacheFor(registry);
  if (!cache.v2Protobuf) {
    const bytes = Buffer.from(encodeOpenApiV2(openApiV2(registry)));
    const etag = `"${createHash("sha512").update(bytes).digest("hex").toUpperCase()}"`;
    cache.v2Protobuf = { bytes, etag };
  }
  return cache.v2Protobuf;
}

/** Answers GET /openapi/v2 with the protobuf document, or 304 when If-None-Match names its ETag. */
export function sendOpenApiV2Protobuf(
  req: IncomingMessage,
  res: ServerResponse,
  registry: ResourceRegistry,
): void {
  const { bytes, etag } = openApiV2Protobuf(registry);
  const tags = (req.headers["if-none-match"] ?? "").split(",").map((t) => t.trim().replace(/^W\//, ""));
  if (tags.includes(etag) || tags.includes("*")) {
    res.writeHead(304, { ETag: etag, Vary: "Accept" });
    res.end();
    return;
  }
  res.writeHead(200, {
    "Content-Type": OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
    "Content-Length": bytes.length,
    ETag: etag,
    Vary: "Accept",
  });
  res.end(bytes);
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
