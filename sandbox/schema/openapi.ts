/**
 * OpenAPI v2 (/openapi/v2) and v3 (/openapi/v3, /openapi/v3/apis/<group>/<version>) documents
 * rendered from SchemaNodes, shaped like the real API server's so that kubectl can use them:
 *
 * - `kubectl explain` finds the kind's schema by its `x-kubernetes-group-version-kind` extension
 *   (an array on definitions/components) and follows `$ref`/`allOf`.
 * - kubectl decides that the server validates fields itself when the resource's PATCH operation
 *   (matched by the operation's single-object `x-kubernetes-group-version-kind`) in the v3
 *   group-version document lists an inline `fieldValidation` parameter (cli-runtime's
 *   query-param verifier); CRDs fall back to the Namespace PATCH operation in /openapi/v3/api/v1.
 * - `kubectl apply` (client-side) computes strategic merge patches from the v3 document when the
 *   PATCH operation's request body accepts `application/strategic-merge-patch+json`, reading
 *   `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` on properties; otherwise (CRDs) it
 *   checks the v2 PATCH `consumes` list and falls back to a JSON merge patch.
 */
import { createHash } from "node:crypto";
import { builtinPackage, builtinSchema, listMetaSchema, objectMetaSchema } from "./builtin.js";
import type { SchemaNode } from "./types.js";

/** One served resource, as the server describes it to the document builders. */
export interface OpenApiEntry {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  schema: SchemaNode;
  /** Serve /status paths too. */
  statusSubresource?: boolean;
  /** Accepts strategic merge patches (default: true for built-in kinds, false for custom resources). */
  strategicMergePatch?: boolean;
}

type Json = Record<string, unknown>;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const STATUS_DEF = `${META}.Status`;
const PATCH_DEF = `${META}.Patch`;
const DELETE_OPTIONS_DEF = `${META}.DeleteOptions`;
const LIST_META_DEF = `${META}.ListMeta`;

/** Definition name of an entry's kind: the built-in one, or `<reversed-group>.<version>.<Kind>`. */
export function definitionName(entry: {
  group: string;
  version: string;
  kind: string;
  schema?: SchemaNode;
}): string {
  const builtin = builtinSchema(entry.group, entry.version, entry.kind);
  if (builtin?.ref && (entry.schema === undefined || entry.schema === builtin)) return builtin.ref;
  if (entry.schema?.ref && entry.schema.gvk) return entry.schema.ref;
  if (builtin?.ref) return builtin.ref;
  const reversed = entry.group.split(".").reverse().join(".");
  return `${reversed}.${entry.version}.${entry.kind}`;
}

function listDefinitionName(entry: OpenApiEntry): string {
  return `${definitionName(entry)}List`;
}

function isBuiltin(entry: OpenApiEntry): boolean {
  return builtinSchema(entry.group, entry.version, entry.kind) !== undefined;
}

class Renderer {
  readonly defs: Record<string, Json> = {};
  constructor(readonly v3: boolean) {}

  refTo(name: string): Json {
    return { $ref: this.v3 ? `#/components/schemas/${name}` : `#/definitions/${name}` };
  }

  /** Renders a node found as a property, array item or map value. */
  render(node: SchemaNode): Json {
    if (node.ref) {
      this.define(node.ref, node);
      const out: Json = this.v3 ? { allOf: [this.refTo(node.ref)] } : this.refTo(node.ref);
      if (this.v3 && node.type === "object") out.default = {};
      this.fieldExtensions(node, out);
      return out;
    }
    return this.inline(node);
  }

  define(name: string, node: SchemaNode, gvkOverride?: SchemaNode["gvk"]): void {
    if (this.defs[name]) return;
    const body: Json = {};
    this.defs[name] = body; // registered before rendering: schemas may be recursive
    Object.assign(body, this.body(node));
    const gvk = gvkOverride ?? node.gvk;
    if (gvk) body["x-kubernetes-group-version-kind"] = gvk.map((g) => ({ ...g }));
  }

  /** Patch metadata that belongs to the field rather than to the referenced type. */
  private fieldExtensions(node: SchemaNode, out: Json): void {
    if (node.description) out.description = node.description;
    if (node.patchMergeKey) out["x-kubernetes-patch-merge-key"] = node.patchMergeKey;
    if (node.patchStrategy) out["x-kubernetes-patch-strategy"] = node.patchStrategy;
  }

  private body(node: SchemaNode): Json {
    if (node.format === "quantity") return { type: "string" };
    if (node.ref === "io.k8s.apimachinery.pkg.util.intstr.IntOrString") {
      return { type: "string", format: "int-or-string" };
    }
    const { ref: _ref, patchMergeKey: _k, patchStrategy: _s, ...rest } = node;
    return this.inline(rest);
  }

  private inline(node: SchemaNode): Json {
    const out: Json = {};
    if (node.description) out.description = node.description;
    if (node.intOrString) {
      if (this.v3) out.anyOf = [{ type: "integer" }, { type: "string" }];
      else {
        out.type = "string";
        out.format = "int-or-string";
      }
      out["x-kubernetes-int-or-string"] = true;
    } else {
      if (node.type) out.type = node.type;
      if (node.format) out.format = node.format;
    }
    if (node.default !== undefined) out.default = node.default;
    if (node.required?.length) out.required = [...node.required];
    if (node.properties) {
      const props: Json = {};
      for (const [name, child] of Object.entries(node.properties)) props[name] = this.render(child);
      out.properties = props;
    }
    if (node.additionalProperties) out.additionalProperties = this.render(node.additionalProperties);
    if (node.items) out.items = this.render(node.items);
    if (node.preserveUnknownFields) out["x-kubernetes-preserve-unknown-fields"] = true;
    if (node.embeddedResource) out["x-kubernetes-embedded-resource"] = true;
    if (node.listType) out["x-kubernetes-list-type"] = node.listType;
    if (node.listMapKeys?.length) out["x-kubernetes-list-map-keys"] = [...node.listMapKeys];
    const mapType = node.mapType ?? node.structType;
    if (mapType) out["x-kubernetes-map-type"] = mapType;
    if (node.patchMergeKey) out["x-kubernetes-patch-merge-key"] = node.patchMergeKey;
    if (node.patchStrategy) out["x-kubernetes-patch-strategy"] = node.patchStrategy;
    return out;
  }

  /** Defines an entry's kind, its list kind and the meta types operations refer to. */
  defineEntry(entry: OpenApiEntry): void {
    const name = definitionName(entry);
    const gvk = [{ group: entry.group, version: entry.version, kind: entry.kind }];
    const schema = entry.schema;
    if (!this.defs[name]) {
      const withMeta: SchemaNode = {
        ...schema,
        properties: { ...(schema.properties ?? {}), metadata: objectMetaSchema() },
      };
      this.define(name, withMeta, gvk);
    }
    const existing = this.defs[name];
    const listed = existing["x-kubernetes-group-version-kind"];
    if (
      !Array.isArray(listed) ||
      !listed.some((g: { kind?: string; group?: string }) => g.kind === entry.kind && g.group === entry.group)
    ) {
      existing["x-kubernetes-group-version-kind"] = [...(Array.isArray(listed) ? listed : []), gvk[0]];
    }
    const listName = listDefinitionName(entry);
    if (!this.defs[listName]) {
      this.define(listMetaSchema().ref!, listMetaSchema());
      this.defs[listName] = {
        description: `${entry.kind}List is a list of ${entry.kind} objects.`,
        type: "object",
        required: ["items"],
        properties: {
          apiVersion: { type: "string" },
          items: { type: "array", items: this.refTo(name) },
          kind: { type: "string" },
          metadata: this.v3 ? { allOf: [this.refTo(LIST_META_DEF)], default: {} } : this.refTo(LIST_META_DEF),
        },
        "x-kubernetes-group-version-kind": [{ ...gvk[0], kind: `${entry.kind}List` }],
      };
    }
    this.defineCommon();
  }

  private defineCommon(): void {
    if (this.defs[STATUS_DEF]) return;
    this.define(listMetaSchema().ref!, listMetaSchema());
    this.defs[STATUS_DEF] = {
      description: "Status is a return value for calls that don't return other objects.",
      type: "object",
      properties: {
        apiVersion: { type: "string" },
        code: { type: "integer", format: "int32" },
        details: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        kind: { type: "string" },
        message: { type: "string" },
        metadata: this.refTo(LIST_META_DEF),
        reason: { type: "string" },
        status: { type: "string" },
      },
      "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Status" }],
    };
    this.defs[PATCH_DEF] = {
      description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
      type: "object",
    };
    this.defs[DELETE_OPTIONS_DEF] = {
      description: "DeleteOptions may be provided when deleting an API object.",
      type: "object",
      properties: {
        apiVersion: { type: "string" },
        dryRun: { type: "array", items: { type: "string", default: "" }, "x-kubernetes-list-type": "atomic" },
        gracePeriodSeconds: { type: "integer", format: "int64" },
        kind: { type: "string" },
        propagationPolicy: { type: "string" },
      },
      "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "DeleteOptions" }],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

function camel(s: string): string {
  return s
    .split(/[.\-/]/)
    .filter((p) => p.length > 0)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join("");
}

interface ParamSpec {
  name: string;
  in: "query" | "path";
  description: string;
  required?: boolean;
  type?: "string" | "boolean";
}

const PARAM_DESCRIPTIONS: Record<string, string> = {
  dryRun:
    "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
  fieldManager: "fieldManager is a name associated with the actor or entity that is making these changes.",
  fieldValidation:
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
  force:
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.',
  pretty: "If 'true', then the output is pretty printed.",
  name: "name of the resource",
  namespace: "object name and auth scope, such as for teams and projects",
};

function param(name: string, location: "query" | "path", type: "string" | "boolean" = "string"): ParamSpec {
  return {
    name,
    in: location,
    description: PARAM_DESCRIPTIONS[name] ?? name,
    ...(location === "path" ? { required: true } : {}),
    type,
  };
}

function renderParam(p: ParamSpec, v3: boolean): Json {
  const out: Json = { name: p.name, in: p.in, description: p.description };
  if (p.required) out.required = true;
  const schema = { type: p.type ?? "string", uniqueItems: true };
  if (v3) out.schema = schema;
  else Object.assign(out, schema);
  return out;
}

const WRITE_PARAMS = [
  param("dryRun", "query"),
  param("fieldManager", "query"),
  param("fieldValidation", "query"),
];
const PATCH_PARAMS = [...WRITE_PARAMS, param("force", "query", "boolean")];
const LIST_PARAMS = [
  param("labelSelector", "query"),
  param("fieldSelector", "query"),
  param("limit", "query"),
  param("continue", "query"),
  param("resourceVersion", "query"),
  param("watch", "query", "boolean"),
];

const JSON_TYPES = ["application/json", "application/yaml"];

interface OperationSpec {
  verb: "get" | "post" | "put" | "patch" | "delete";
  action: string;
  operationId: string;
  params: ParamSpec[];
  bodyDef?: string;
  consumes?: string[];
  responseDef: string;
  responseCodes: string[];
}

function renderOperation(
  op: OperationSpec,
  gvk: { group: string; version: string; kind: string },
  tag: string,
  r: Renderer,
): Json {
  const out: Json = {
    description: `${op.action} ${gvk.kind}`,
    operationId: op.operationId,
    tags: [tag],
  };
  if (op.params.length) out.parameters = op.params.map((p) => renderParam(p, r.v3));
  const responses: Json = {};
  for (const code of op.responseCodes) {
    if (r.v3) {
      const content: Json = {};
      for (const t of JSON_TYPES) content[t] = { schema: r.refTo(op.responseDef) };
      responses[code] = {
        description: code === "201" ? "Created" : code === "202" ? "Accepted" : "OK",
        content,
      };
    } else {
      responses[code] = { description: code === "201" ? "Created" : "OK", schema: r.refTo(op.responseDef) };
    }
  }
  responses["401"] = { description: "Unauthorized" };
  out.responses = responses;
  if (op.bodyDef) {
    const consumes = op.consumes ?? ["*/*"];
    if (r.v3) {
      const content: Json = {};
      for (const t of consumes) content[t] = { schema: r.refTo(op.bodyDef) };
      out.requestBody = { content, required: true };
    } else {
      out.consumes = consumes;
      out.parameters = [
        { name: "body", in: "body", required: true, schema: r.refTo(op.bodyDef) },
        ...((out.parameters as Json[] | undefined) ?? []),
      ];
    }
  } else if (!r.v3) {
    out.consumes = ["*/*"];
  }
  if (!r.v3) {
    out.produces = ["application/json", "application/yaml"];
    out.schemes = ["https"];
  }
  out["x-kubernetes-action"] = op.action;
  out["x-kubernetes-group-version-kind"] = { ...gvk };
  return out;
}

function addPaths(paths: Json, entry: OpenApiEntry, r: Renderer): void {
  const { group, version, kind, plural, namespaced } = entry;
  const gvk = { group, version, kind };
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespaced ? "Namespaced" : "";
  const id = `${group === "" ? "Core" : camel(group.replace(/\.k8s\.io$/, "").replace(/\.authorization$/, "Authorization"))}${camel(version)}`;
  const tag = id[0].toLowerCase() + id.slice(1);
  const def = definitionName(entry);
  const listDef = listDefinitionName(entry);
  const smp = entry.strategicMergePatch ?? isBuiltin(entry);
  const patchTypes = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    ...(smp ? ["application/strategic-merge-patch+json"] : []),
  ];
  const collection = namespaced ? `${prefix}/namespaces/{namespace}/${plural}` : `${prefix}/${plural}`;
  const item = `${collection}/{name}`;
  const nsParams = namespaced ? [param("namespace", "path")] : [];
  const pretty = param("pretty", "query");

  const pathItem = (params: ParamSpec[], ops: OperationSpec[]): Json => {
    const out: Json = { parameters: params.map((p) => renderParam(p, r.v3)) };
    for (const op of ops) out[op.verb] = renderOperation(op, gvk, tag, r);
    return out;
  };

  paths[collection] = pathItem(
    [...nsParams, pretty],
    [
      {
        verb: "get",
        action: "list",
        operationId: `list${id}${ns}${kind}`,
        params: LIST_PARAMS,
        responseDef: listDef,
        responseCodes: ["200"],
      },
      {
        verb: "post",
        action: "post",
        operationId: `create${id}${ns}${kind}`,
        params: WRITE_PARAMS,
        bodyDef: def,
        responseDef: def,
        responseCodes: ["200", "201", "202"],
      },
      {
        verb: "delete",
        action: "deletecollection",
        operationId: `deletecollection${id}${ns}${kind}`,
        params: [param("labelSelector", "query"), param("dryRun", "query")],
        bodyDef: DELETE_OPTIONS_DEF,
        responseDef: STATUS_DEF,
        responseCodes: ["200"],
      },
    ],
  );
  const itemOps = (suffix: string, sub: boolean): OperationSpec[] => [
    {
      verb: "get",
      action: "get",
      operationId: `read${id}${ns}${kind}${suffix}`,
      params: [],
      responseDef: def,
      responseCodes: ["200"],
    },
    {
      verb: "put",
      action: "put",
      operationId: `replace${id}${ns}${kind}${suffix}`,
      params: WRITE_PARAMS,
      bodyDef: def,
      responseDef: def,
      responseCodes: ["200", "201"],
    },
    {
      verb: "patch",
      action: "patch",
      operationId: `patch${id}${ns}${kind}${suffix}`,
      params: PATCH_PARAMS,
      bodyDef: PATCH_DEF,
      consumes: patchTypes,
      responseDef: def,
      responseCodes: ["200", "201"],
    },
    ...(sub
      ? []
      : [
          {
            verb: "delete" as const,
            action: "delete",
            operationId: `delete${id}${ns}${kind}`,
            params: [param("dryRun", "query")],
            bodyDef: DELETE_OPTIONS_DEF,
            responseDef: STATUS_DEF,
            responseCodes: ["200", "202"],
          },
        ]),
  ];
  paths[item] = pathItem([param("name", "path"), ...nsParams, pretty], itemOps("", false));
  if (entry.statusSubresource) {
    paths[`${item}/status`] = pathItem([param("name", "path"), ...nsParams, pretty], itemOps("Status", true));
  }
  if (namespaced) {
    paths[`${prefix}/${plural}`] = pathItem(
      [pretty],
      [
        {
          verb: "get",
          action: "list",
          operationId: `list${id}${kind}ForAllNamespaces`,
          params: LIST_PARAMS,
          responseDef: listDef,
          responseCodes: ["200"],
        },
      ],
    );
  }
}

const INFO = { title: "Kubernetes", version: "v1.32.0" };

/** The /openapi/v2 document for the given resources. */
export function openApiV2Document(entries: readonly OpenApiEntry[]): Json {
  const r = new Renderer(false);
  const paths: Json = {};
  for (const e of entries) {
    r.defineEntry(e);
    addPaths(paths, e, r);
  }
  return { swagger: "2.0", info: { ...INFO }, paths, definitions: r.defs };
}

/** The /openapi/v3/<api/v1 | apis/group/version> document (entries of other group-versions are skipped). */
export function openApiV3Document(groupVersion: string, entries: readonly OpenApiEntry[]): Json {
  const gv = normalizeGroupVersion(groupVersion);
  const r = new Renderer(true);
  const paths: Json = {};
  for (const e of entries) {
    if (normalizeGroupVersion(e.group === "" ? e.version : `${e.group}/${e.version}`) !== gv) continue;
    r.defineEntry(e);
    addPaths(paths, e, r);
  }
  return { openapi: "3.0.0", info: { ...INFO }, paths, components: { schemas: r.defs } };
}

/** "v1" → "api/v1", "apps/v1" → "apis/apps/v1"; already-prefixed names pass through. */
export function normalizeGroupVersion(groupVersion: string): string {
  const gv = groupVersion.replace(/^\/+/, "").replace(/^openapi\/v3\//, "");
  if (gv.startsWith("api/") || gv.startsWith("apis/")) return gv;
  return gv.includes("/") ? `apis/${gv}` : `api/${gv}`;
}

/** Content hash of a document, as the API server writes it in serverRelativeURL (SHA-512, hex). */
export function openApiDocumentHash(doc: unknown): string {
  return createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
}

/**
 * The GET /openapi/v3 discovery document. Pass each group-version's document hash
 * (openApiDocumentHash) so that clients caching by URL see schema changes; without one the hash
 * is derived from the group-version name alone.
 */
export function openApiV3Root(
  groupVersions: readonly string[],
  hashes: Readonly<Record<string, string>> = {},
): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const raw of groupVersions) {
    const gv = normalizeGroupVersion(raw);
    const hash = hashes[raw] ?? hashes[gv] ?? openApiDocumentHash(gv);
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  return { paths };
}

/** The package prefix of a built-in group-version (re-exported for the server's convenience). */
export { builtinPackage };
