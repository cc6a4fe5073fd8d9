/**
 * SchemaNodes for custom resources, from a CRD version's `schema.openAPIV3Schema`.
 *
 * CRDs carry no strategic-merge-patch metadata (the API server rejects strategic merge patches to
 * custom resources with 415), so only the server-side-apply extensions are read:
 * `x-kubernetes-list-type` (lists default to atomic), `x-kubernetes-list-map-keys`,
 * `x-kubernetes-map-type`, `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`,
 * `x-kubernetes-embedded-resource`.
 */
import { objectMetaSchema } from "./builtin.js";
import type { SchemaNode } from "./types.js";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);

function convert(raw: Record<string, unknown>, depth: number): SchemaNode {
  const node: SchemaNode = {};
  if (depth > 64) return { preserveUnknownFields: true };
  const type = raw.type;
  if (typeof type === "string" && TYPES.has(type)) node.type = type as SchemaNode["type"];
  if (typeof raw.format === "string") node.format = raw.format;
  if (typeof raw.description === "string") node.description = raw.description;
  if ("default" in raw) node.default = raw.default;
  if (Array.isArray(raw.required))
    node.required = raw.required.filter((r): r is string => typeof r === "string");
  if (raw["x-kubernetes-int-or-string"] === true) node.intOrString = true;
  if (raw["x-kubernetes-preserve-unknown-fields"] === true) node.preserveUnknownFields = true;
  if (raw["x-kubernetes-embedded-resource"] === true) node.embeddedResource = true;

  if (isRecord(raw.properties)) {
    const properties: Record<string, SchemaNode> = {};
    for (const [name, sub] of Object.entries(raw.properties)) {
      if (isRecord(sub)) properties[name] = convert(sub, depth + 1);
    }
    node.properties = properties;
    node.type ??= "object";
  }
  if (isRecord(raw.additionalProperties)) {
    node.additionalProperties = convert(raw.additionalProperties, depth + 1);
    node.type ??= "object";
  } else if (raw.additionalProperties === true) {
    node.additionalProperties = { preserveUnknownFields: true };
    node.type ??= "object";
  }
  if (isRecord(raw.items)) {
    node.items = convert(raw.items, depth + 1);
    node.type ??= "array";
  }
  if (node.type === "array") {
    const listType = raw["x-kubernetes-list-type"];
    node.listType = listType === "set" || listType === "map" ? listType : "atomic";
    const keys = raw["x-kubernetes-list-map-keys"];
    if (node.listType === "map" && Array.isArray(keys)) {
      node.listMapKeys = keys.filter((k): k is string => typeof k === "string");
    }
  }
  if (node.type === "object") {
    const mapType = raw["x-kubernetes-map-type"];
    if (mapType === "atomic" || mapType === "granular") {
      if (node.properties) node.structType = mapType;
      else node.mapType = mapType;
    }
  }
  // allOf/anyOf/oneOf only constrain values; structure comes from the node itself (structural schemas).
  return node;
}

/**
 * Converts a CRD's openAPIV3Schema into a SchemaNode. apiVersion, kind and metadata are filled in
 * when the schema leaves them out (as the API server does for custom resources).
 */
export function schemaFromOpenAPIV3(crdSchema: object): SchemaNode {
  const node = isRecord(crdSchema) ? convert(crdSchema, 0) : { type: "object" as const };
  node.type ??= "object";
  const properties = { ...(node.properties ?? {}) };
  properties.apiVersion ??= { type: "string" };
  properties.kind ??= { type: "string" };
  // Custom resources' metadata is always the standard ObjectMeta, whatever the schema says.
  properties.metadata = objectMetaSchema();
  node.properties = properties;
  return node;
}
