/**
 * The Swagger 2.0 document of /openapi/v2 as a gnostic `openapi.v2.Document` protobuf, the only
 * form client-go's `OpenAPISchema()` reads (kubectl's client-side validation, `kind: List`
 * handling, `kubectl explain --output=plaintext-openapiv2`).
 *
 * The message table (./openapi-v2-table.ts) is compiled into a protobufjs Root once; this module
 * maps JSON onto it the way gnostic's compiler does: JSON keys are the lowerCamelCase field names
 * (`$ref` is `_ref`), `x-` keys become `vendor_extension` entries, JSON objects used as maps become
 * repeated `Named*` pairs in document order, values of unknown shape (`default`, `enum`, vendor
 * extensions) become `Any{yaml}`, and oneofs are picked from the JSON (`in: body`, `$ref`...).
 * As in proto3, zero scalars are not written (gnostic's Go structs cannot tell them from unset).
 */
import type { Field, IField, INamespace, IOneOf, IType, Type } from "protobufjs";
import protobuf from "protobufjs";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import {
  GOOGLE_PROTOBUF,
  ONEOF,
  OPENAPI_V2,
  type OpenApiMessageTable,
  REPEATED,
} from "./openapi-v2-table.js";

/** What client-go asks for (`Accept`). The `@` is no token character, so it cannot label a response. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/**
 * What kube-openapi labels the document with, whichever spelling was asked for (and also accepts):
 * client-go parses the response's Content-Type with Go's mime package, which rejects the `@` one.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
/** A message as protobufjs decodes it, or the plain object handed to its encoder. */
type Message = Record<string, unknown>;

const PACKAGE = "openapi.v2";
const SCALARS = new Set(["string", "bool", "double", "int64", "bytes"]);
const VENDOR_EXTENSION = "vendor_extension";
/** YAML as yaml.v2 (kube-openapi's reader) resolves it: "yes", "on", "y" must stay quoted strings. */
const YAML_OPTIONS = { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false } as const;

let compiled: protobuf.Root | undefined;

function root(): protobuf.Root {
  if (compiled) return compiled;
  const nested: Record<string, INamespace> = {
    openapi: { nested: { v2: { nested: types(OPENAPI_V2, PACKAGE) } } },
    google: { nested: { protobuf: { nested: types(GOOGLE_PROTOBUF, "google.protobuf") } } },
  };
  const built = protobuf.Root.fromJSON({ nested });
  built.resolveAll();
  compiled = built;
  return built;
}

function types(table: OpenApiMessageTable, pkg: string): Record<string, IType> {
  const out: Record<string, IType> = {};
  for (const [name, fields] of Object.entries(table)) {
    const descriptors: Record<string, IField> = {};
    const members: string[] = [];
    for (const [fieldName, [id, type, flag]] of Object.entries(fields)) {
      const qualified = SCALARS.has(type) ? type : `.${type.includes(".") ? type : `${pkg}.${type}`}`;
      descriptors[fieldName] = { id, type: qualified, ...(flag === REPEATED ? { rule: "repeated" } : {}) };
      if (flag === ONEOF) members.push(fieldName);
    }
    const oneofs: Record<string, IOneOf> = members.length > 0 ? { oneof: { oneof: members } } : {};
    out[name] = { edition: "proto3", fields: descriptors, oneofs };
  }
  return out;
}

function messageType(name: string): Type {
  return root().lookupType(`.${PACKAGE}.${name}`);
}

/** Encodes a Swagger 2.0 JSON document (as openApiV2() builds it) as an `openapi.v2.Document`. */
export function encodeOpenApiV2(document: Readonly<Record<string, unknown>>): Uint8Array {
  const type = messageType("Document");
  return type.encode(toMessage(type, document as JsonObject, "#")).finish();
}

/** The inverse, for tests: the Swagger JSON an `openapi.v2.Document` carries (`Any`s parsed back). */
export function decodeOpenApiV2(bytes: Uint8Array): JsonObject {
  const type = messageType("Document");
  const json = fromMessage(type, type.decode(bytes) as unknown as Message);
  return isObject(json) ? json : {};
}

// ---------------------------------------------------------------------------------------------
// JSON → message
// ---------------------------------------------------------------------------------------------

/** Which oneof member carries a JSON value, by message. */
const ONEOF_MEMBER: Readonly<Record<string, (json: Json) => string | undefined>> = {
  AdditionalPropertiesItem: (json) => (typeof json === "boolean" ? "boolean" : "schema"),
  Parameter: (json) => (property(json, "in") === "body" ? "body_parameter" : "non_body_parameter"),
  NonBodyParameter: (json) => {
    const location = property(json, "in");
    if (location === "header") return "header_parameter_sub_schema";
    if (location === "formData") return "form_data_parameter_sub_schema";
    if (location === "query") return "query_parameter_sub_schema";
    if (location === "path") return "path_parameter_sub_schema";
    return undefined;
  },
  ParametersItem: (json) => (property(json, "$ref") !== undefined ? "json_reference" : "parameter"),
  ResponseValue: (json) => (property(json, "$ref") !== undefined ? "json_reference" : "response"),
  SchemaItem: (json) => (property(json, "type") === "file" ? "file_schema" : "schema"),
  SecurityDefinitionsItem: (json) => {
    const type = property(json, "type");
    if (type === "basic") return "basic_authentication_security";
    if (type === "apiKey") return "api_key_security";
    const flow = property(json, "flow");
    if (type !== "oauth2" || typeof flow !== "string") return undefined;
    return {
      implicit: "oauth2_implicit_security",
      password: "oauth2_password_security",
      application: "oauth2_application_security",
      accessCode: "oauth2_access_code_security",
    }[flow];
  },
};

function toMessage(type: Type, json: Json, path: string): Message {
  switch (type.fullName) {
    case ".openapi.v2.Any":
      return { yaml: toYaml(json) };
    case ".openapi.v2.TypeItem":
      return { value: typeof json === "string" ? [json] : strings(json, path) };
    case ".openapi.v2.StringArray":
      return { value: strings(json, path) };
    case ".openapi.v2.ItemsItem": {
      const schema = messageType("Schema");
      const list = Array.isArray(json) ? json : [json];
      return { schema: list.map((item, i) => toMessage(schema, item, `${path}/${i}`)) };
    }
  }
  const choose = Object.hasOwn(ONEOF_MEMBER, type.name) ? ONEOF_MEMBER[type.name] : undefined;
  if (choose) {
    const member = choose(json);
    const field = member === undefined ? undefined : type.fields[member];
    if (!field) throw new Error(`${path}: no ${type.name} alternative fits ${JSON.stringify(json)}`);
    return { [field.name]: toFieldValue(field, json, path) };
  }
  if (!isObject(json)) throw new Error(`${path}: expected an object for ${type.name}`);
  const hasExtensions = type.fields[VENDOR_EXTENSION] !== undefined;
  const out: Message = {};
  for (const field of type.fieldsArray) {
    if (field.name === VENDOR_EXTENSION) {
      const entries = Object.entries(json).filter(([key]) => key.startsWith("x-"));
      if (entries.length > 0) out[field.name] = named(field, entries, path);
    } else if (isMapField(field)) {
      const entries = Object.entries(json).filter(([key]) => !hasExtensions || !key.startsWith("x-"));
      if (entries.length > 0) out[field.name] = named(field, entries, path);
    } else {
      const key = jsonKey(field.name);
      const value = Object.hasOwn(json, key) ? json[key] : undefined;
      // null is a value only where any JSON may stand (`default: null`).
      if (value === undefined || (value === null && field.resolvedType?.fullName !== ".openapi.v2.Any"))
        continue;
      if (field.repeated) {
        if (!Array.isArray(value)) throw new Error(`${path}/${key}: expected an array`);
        if (value.length > 0) {
          out[field.name] = value.map((v, i) => toFieldValue(field, v, `${path}/${key}/${i}`));
        }
      } else {
        const encoded = toFieldValue(field, value, `${path}/${key}`);
        // proto3: a zero scalar outside a oneof is the same as no value.
        if (encoded !== "" && encoded !== false && encoded !== 0) out[field.name] = encoded;
      }
    }
  }
  return out;
}

/** Most values repeat (`atomic`, `merge`, a kind's GVK on each operation), and YAML is slow to write. */
const yamlTexts = new Map<string, string>();

function toYaml(json: Json): string {
  const key = JSON.stringify(json);
  let text = yamlTexts.get(key);
  if (text === undefined) {
    text = stringifyYaml(json, YAML_OPTIONS);
    if (yamlTexts.size >= 10_000) yamlTexts.clear();
    yamlTexts.set(key, text);
  }
  return text;
}

/** A repeated `Named*` field that holds the entries of the JSON object itself. */
function isMapField(field: Field): boolean {
  return (
    field.repeated &&
    field.resolvedType instanceof protobuf.Type &&
    field.resolvedType.name.startsWith("Named")
  );
}

/** JSON object entries as `Named*` pairs, in document order. */
function named(field: Field, entries: [string, Json][], path: string): Message[] {
  const pair = field.resolvedType as Type;
  const value = pair.fields.value!;
  return entries.map(([name, v]) => ({
    name,
    value: toFieldValue(value, v, `${path}/${escapePointer(name)}`),
  }));
}

function toFieldValue(field: Field, json: Json, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return toMessage(resolved, json, path);
  switch (field.type) {
    case "string":
      if (typeof json === "string") return json;
      break;
    case "bool":
      if (typeof json === "boolean") return json;
      break;
    case "double":
      if (typeof json === "number") return json;
      break;
    case "int64":
      if (typeof json === "number" && Number.isInteger(json)) return json;
      break;
  }
  throw new Error(`${path}: expected ${field.type}, got ${JSON.stringify(json)}`);
}

function strings(json: Json, path: string): string[] {
  if (Array.isArray(json) && json.every((s) => typeof s === "string")) return json as string[];
  throw new Error(`${path}: expected a list of strings`);
}

/** `_ref` is `$ref`; other names are the lowerCamelCase of the proto name (`operation_id`). */
function jsonKey(fieldName: string): string {
  if (fieldName === "_ref") return "$ref";
  return fieldName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function property(json: Json, key: string): Json | undefined {
  return isObject(json) && Object.hasOwn(json, key) ? json[key] : undefined;
}

function isObject(json: unknown): json is JsonObject {
  return typeof json === "object" && json !== null && !Array.isArray(json) && !(json instanceof Uint8Array);
}

// ---------------------------------------------------------------------------------------------
// message → JSON
// ---------------------------------------------------------------------------------------------

function fromMessage(type: Type, message: Message): Json {
  switch (type.fullName) {
    case ".openapi.v2.Any": {
      const yaml = typeof message.yaml === "string" ? message.yaml : "";
      return yaml === "" ? null : (parseYaml(yaml, YAML_OPTIONS) as Json);
    }
    case ".openapi.v2.TypeItem": {
      const value = stringList(message.value);
      return value.length === 1 ? value[0]! : value;
    }
    case ".openapi.v2.StringArray":
      return stringList(message.value);
    case ".openapi.v2.ItemsItem": {
      const schema = messageType("Schema");
      const list = Array.isArray(message.schema) ? message.schema : [];
      const items = list.map((m) => fromMessage(schema, isObject(m) ? (m as Message) : {}));
      return items.length === 1 ? items[0]! : items;
    }
  }
  if (type.oneofsArray.length > 0) {
    const field = type.fieldsArray.find((f) => Object.hasOwn(message, f.name) && message[f.name] != null);
    return field ? fromFieldValue(field, message[field.name]) : null;
  }
  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (field.name === VENDOR_EXTENSION || isMapField(field)) {
      const pair = field.resolvedType as Type;
      for (const entry of Array.isArray(value) ? value : []) {
        const m = entry as Message;
        define(out, String(m.name ?? ""), fromFieldValue(pair.fields.value!, m.value));
      }
    } else if (field.repeated) {
      if (Array.isArray(value) && value.length > 0) {
        out[jsonKey(field.name)] = value.map((v) => fromFieldValue(field, v));
      }
    } else if (Object.hasOwn(message, field.name) && value != null) {
      out[jsonKey(field.name)] = fromFieldValue(field, value);
    }
  }
  return out;
}

/** Sets a key from the document as an own property, even `__proto__` (as JSON.parse would). */
function define(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function fromFieldValue(field: Field, value: unknown): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    return fromMessage(resolved, isObject(value) ? (value as Message) : {});
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (
    typeof value === "object" &&
    value !== null &&
    "toNumber" in value &&
    typeof value.toNumber === "function"
  ) {
    return Number(value.toNumber());
  }
  throw new Error(`field ${field.fullName} holds an unexpected ${typeof value}`);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
}

// ---------------------------------------------------------------------------------------------
// Content negotiation
// ---------------------------------------------------------------------------------------------

/**
 * True when the Accept header prefers the protobuf document (in either spelling) to JSON: a higher
 * q, or the same q listed first. Wildcards count for JSON, the server's default.
 */
export function prefersOpenApiV2Protobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  let protobufChoice: { q: number; index: number } | undefined;
  let json: { q: number; index: number } | undefined;
  accept.split(",").forEach((clause, index) => {
    const [range = "", ...params] = clause.split(";").map((s) => s.trim());
    const type = range.toLowerCase();
    const qParam = params.find((p) => /^q\s*=/i.test(p));
    const q = qParam === undefined ? 1 : Number(qParam.replace(/^q\s*=\s*/i, ""));
    if (!Number.isFinite(q)) return;
    if (type === OPENAPI_V2_PROTOBUF_ACCEPT || type === OPENAPI_V2_PROTOBUF_CONTENT_TYPE) {
      if (!protobufChoice || q > protobufChoice.q) protobufChoice = { q, index };
    } else if (type === "application/json" || type === "application/*" || type === "*/*") {
      if (!json || q > json.q) json = { q, index };
    }
  });
  if (!protobufChoice || protobufChoice.q <= 0) return false;
  return (
    !json || protobufChoice.q > json.q || (protobufChoice.q === json.q && protobufChoice.index < json.index)
  );
}
