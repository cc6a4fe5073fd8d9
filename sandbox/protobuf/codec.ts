/**
 * Kubernetes protobuf request bodies → the JSON objects the sandbox stores (and back, for tests).
 *
 * kubectl's typed clients send `application/vnd.kubernetes.protobuf`: the bytes `k8s\0`, then a
 * runtime.Unknown whose typeMeta names the kind and whose `raw` holds the object message. The
 * descriptor tables are compiled into a protobufjs Root once; protobufjs does the wire decoding
 * (skipping unknown fields), and this module turns the decoded messages into the JSON the API
 * server would have produced from the same Go struct: JSON names, RFC 3339 times, IntOrString as a
 * number or string, Quantity as its string, bytes as base64, and zero values dropped unless the
 * Go field is a pointer or has no `omitempty` (see ./schema.ts).
 */

import type { Field, IField, IMapField, INamespace, IType, Type } from "protobufjs";
import protobuf from "protobufjs";
import { messageForKind, PACKAGES } from "./registry.js";
import { type FieldSpec, I, K } from "./schema.js";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

/** The prefix that marks a Kubernetes protobuf payload: "k8s" and a NUL byte. */
export const PROTOBUF_MAGIC: Readonly<Uint8Array> = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);

/** The body is not a well-formed Kubernetes protobuf payload. */
export class ProtobufDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtobufDecodeError";
  }
}

/** The envelope names a kind the sandbox has no descriptor for; say so instead of guessing. */
export class UnsupportedProtobufKindError extends Error {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`no protobuf descriptor for ${kind} (${apiVersion || "no apiVersion"})`);
    this.name = "UnsupportedProtobufKindError";
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
/** A message as protobufjs decodes it, or the plain object handed to its encoder. */
type Message = Record<string, unknown>;

const SCALARS = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);
const LONGS = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

interface Compiled {
  root: protobuf.Root;
  /** Table entries by protobufjs full name (".core.Container"), for flags and JSON names. */
  specs: Map<string, Readonly<Record<string, FieldSpec>>>;
}

let compiled: Compiled | undefined;

/** Builds the protobufjs Root from the tables on first use; resolveAll fails fast on a bad reference. */
function schema(): Compiled {
  if (compiled) return compiled;
  const nested: Record<string, INamespace> = {};
  const specs = new Map<string, Readonly<Record<string, FieldSpec>>>();
  for (const [pkg, table] of Object.entries(PACKAGES)) {
    const types: Record<string, IType> = {};
    for (const [name, fields] of Object.entries(table)) {
      const descriptors: Record<string, IField | IMapField> = {};
      for (const [fieldName, [id, type, flag]] of Object.entries(fields)) {
        const map = /^map<(\w+),(.+)>$/.exec(type);
        descriptors[fieldName] = map
          ? { id, keyType: map[1]!, type: qualify(pkg, map[2]!) }
          : { id, type: qualify(pkg, type), ...(flag === "r" ? { rule: "repeated" } : {}) };
      }
      // proto2, as in the generated.proto files: explicit presence, so a `replicas: 0` on the
      // wire is kept, and repeated scalars unpacked, as gogo writes them.
      types[name] = { edition: "proto2", fields: descriptors };
      specs.set(`.${pkg}.${name}`, fields);
    }
    nested[pkg] = { nested: types };
  }
  const root = protobuf.Root.fromJSON({ nested });
  root.resolveAll();
  compiled = { root, specs };
  return compiled;
}

function qualify(pkg: string, type: string): string {
  if (SCALARS.has(type)) return type;
  return type.includes(".") ? `.${type}` : `.${pkg}.${type}`;
}

function lookup(name: string): Type {
  return schema().root.lookupType(name);
}

function specOf(type: Type): Readonly<Record<string, FieldSpec>> {
  const spec = schema().specs.get(type.fullName);
  if (!spec) throw new Error(`no descriptor table entry for ${type.fullName}`);
  return spec;
}

function decodeMessage(type: Type, bytes: Uint8Array, what: string): Message {
  try {
    return type.decode(bytes) as unknown as Message;
  } catch (error) {
    throw new ProtobufDecodeError(`${what}: ${(error as Error).message}`);
  }
}

/**
 * Decodes a Kubernetes protobuf request body into the JSON object the API would see, with
 * apiVersion and kind taken from the envelope (the raw object's own TypeMeta is normally empty).
 * Throws ProtobufDecodeError on a missing prefix or malformed bytes, and
 * UnsupportedProtobufKindError for kinds without a descriptor.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < PROTOBUF_MAGIC.length || PROTOBUF_MAGIC.some((byte, i) => body[i] !== byte)) {
    throw new ProtobufDecodeError("the body does not start with the Kubernetes protobuf prefix k8s\\0");
  }
  const envelope = decodeMessage(
    lookup(".runtime.Unknown"),
    body.subarray(PROTOBUF_MAGIC.length),
    "runtime.Unknown envelope",
  );
  const typeMeta = isRecord(envelope.typeMeta) ? envelope.typeMeta : {};
  const apiVersion = typeof typeMeta.apiVersion === "string" ? typeMeta.apiVersion : "";
  const kind = typeof typeMeta.kind === "string" ? typeMeta.kind : "";
  if (!kind) throw new ProtobufDecodeError("the runtime.Unknown envelope names no kind");
  if (typeof envelope.contentEncoding === "string" && envelope.contentEncoding !== "") {
    throw new ProtobufDecodeError(`content encoding "${envelope.contentEncoding}" is not supported`);
  }
  if (
    typeof envelope.contentType === "string" &&
    envelope.contentType !== "" &&
    envelope.contentType !== PROTOBUF_CONTENT_TYPE
  ) {
    throw new ProtobufDecodeError(`embedded content type "${envelope.contentType}" is not supported`);
  }
  const typeName = messageForKind(apiVersion, kind);
  if (!typeName) throw new UnsupportedProtobufKindError(apiVersion, kind);
  const type = lookup(`.${typeName}`);
  const raw = envelope.raw instanceof Uint8Array ? envelope.raw : new Uint8Array();
  const json = messageToJson(type, decodeMessage(type, raw, kind));
  return { apiVersion, kind, ...(isRecord(json) ? json : {}) };
}

function messageToJson(type: Type, message: Message): Json {
  switch (type.fullName) {
    case ".meta.Time":
      return timeToJson(message, false);
    case ".meta.MicroTime":
      return timeToJson(message, true);
    case ".intstr.IntOrString":
      // type 1 is a string; 0 (or absent) an int, as in intstr.IntOrString.
      return toNumber(message.type ?? 0) === 1 ? String(message.strVal ?? "") : toNumber(message.intVal ?? 0);
    case ".resource.Quantity":
      // A zero Quantity marshals to an empty message and reads back as "0".
      return typeof message.string === "string" && message.string !== "" ? message.string : "0";
    case ".meta.FieldsV1":
      return embeddedJson(message.Raw, "FieldsV1", {});
    case ".runtime.RawExtension":
      return embeddedJson(message.raw, "RawExtension", null);
  }
  const spec = specOf(type);
  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const [, , flag, jsonName] = spec[field.name]!;
    const key = jsonName ?? field.name;
    const value = message[field.name];
    if (field.map) {
      const entries = isRecord(value) ? Object.entries(value) : [];
      if (entries.length > 0) {
        out[key] = Object.fromEntries(entries.map(([k, v]) => [k, fieldValueToJson(field, v)]));
      }
    } else if (field.repeated) {
      if (Array.isArray(value) && value.length > 0) out[key] = value.map((v) => fieldValueToJson(field, v));
    } else if (Object.hasOwn(message, field.name)) {
      const json = fieldValueToJson(field, value);
      if (flag === I) {
        if (isRecord(json)) Object.assign(out, json);
      } else if (flag === K || field.resolvedType || !isZero(json)) {
        out[key] = json;
      }
    }
  }
  return out;
}

function fieldValueToJson(field: Field, value: unknown): Json {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(resolved, isRecord(value) ? value : {});
  if (field.type === "bytes") return Buffer.from(value instanceof Uint8Array ? value : []).toString("base64");
  if (LONGS.has(field.type)) return toNumber(value);
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  throw new ProtobufDecodeError(`field ${field.fullName} holds an unexpected ${typeof value}`);
}

/** metav1.Time keeps whole seconds (RFC 3339); MicroTime keeps microseconds. Empty means null. */
function timeToJson(message: Message, micro: boolean): Json {
  if (!Object.hasOwn(message, "seconds") && !Object.hasOwn(message, "nanos")) return null;
  const seconds = toNumber(message.seconds ?? 0);
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new ProtobufDecodeError(`time out of range: ${seconds}s`);
  const whole = date.toISOString().slice(0, 19);
  if (!micro) return `${whole}Z`;
  const micros = Math.floor(toNumber(message.nanos ?? 0) / 1000);
  return `${whole}.${String(micros).padStart(6, "0")}Z`;
}

/** FieldsV1 and RawExtension carry JSON documents as bytes. */
function embeddedJson(bytes: unknown, what: string, empty: Json): Json {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return empty;
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as Json;
  } catch {
    throw new ProtobufDecodeError(`${what} does not hold a JSON document`);
  }
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string") return Number(value);
  if (
    typeof value === "object" &&
    value !== null &&
    "toNumber" in value &&
    typeof value.toNumber === "function"
  ) {
    return Number(value.toNumber());
  }
  throw new ProtobufDecodeError(`expected an integer, got ${typeof value}`);
}

function isZero(value: Json): boolean {
  return value === "" || value === 0 || value === false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/**
 * The inverse, for tests and fixtures: encodes a JSON object (with apiVersion and kind) as a
 * Kubernetes protobuf body. Only fields present in the JSON are written, so a round trip
 * through decodeKubernetesProtobuf gives the same object back.
 */
export function encodeKubernetesProtobuf(object: Record<string, unknown>): Buffer {
  const apiVersion = typeof object.apiVersion === "string" ? object.apiVersion : "";
  const kind = typeof object.kind === "string" ? object.kind : "";
  const typeName = messageForKind(apiVersion, kind);
  if (!typeName) throw new UnsupportedProtobufKindError(apiVersion, kind);
  const type = lookup(`.${typeName}`);
  const raw = type.encode(jsonToMessage(type, object)).finish();
  const envelope = lookup(".runtime.Unknown")
    .encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding: "", contentType: "" })
    .finish();
  return Buffer.concat([PROTOBUF_MAGIC, envelope]);
}

function jsonToMessage(type: Type, json: Record<string, unknown>): Message {
  const spec = specOf(type);
  const out: Message = {};
  for (const field of type.fieldsArray) {
    const [, , flag, jsonName] = spec[field.name]!;
    if (flag === I && field.resolvedType instanceof protobuf.Type) {
      out[field.name] = jsonToMessage(field.resolvedType, json);
      continue;
    }
    const key = jsonName ?? field.name;
    if (!Object.hasOwn(json, key)) continue;
    const value = json[key];
    if (field.map) {
      if (isRecord(value)) {
        out[field.name] = Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, jsonToFieldValue(field, v) ?? {}]),
        );
      }
    } else if (field.repeated) {
      if (Array.isArray(value)) out[field.name] = value.map((v) => jsonToFieldValue(field, v));
    } else {
      const encoded = jsonToFieldValue(field, value);
      if (encoded !== undefined) out[field.name] = encoded;
    }
  }
  return out;
}

function jsonToFieldValue(field: Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (!(resolved instanceof protobuf.Type)) {
    if (value === null || value === undefined) return undefined;
    if (field.type === "bytes") return Buffer.from(String(value), "base64");
    return value;
  }
  switch (resolved.fullName) {
    case ".meta.Time":
    case ".meta.MicroTime":
      return typeof value === "string" ? timeToMessage(value) : {};
    case ".intstr.IntOrString":
      return typeof value === "string" ? { type: 1, strVal: value } : { type: 0, intVal: Number(value ?? 0) };
    case ".resource.Quantity":
      return { string: String(value) };
    case ".meta.FieldsV1":
      return { Raw: Buffer.from(JSON.stringify(value ?? {})) };
    case ".runtime.RawExtension":
      return value === null || value === undefined ? {} : { raw: Buffer.from(JSON.stringify(value)) };
  }
  return isRecord(value) ? jsonToMessage(resolved, value) : undefined;
}

function timeToMessage(text: string): Message {
  const millis = Date.parse(text);
  if (Number.isNaN(millis)) throw new Error(`not an RFC 3339 time: ${text}`);
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? "";
  const nanos = Number(fraction.padEnd(9, "0").slice(0, 9));
  return { seconds: Math.floor(millis / 1000), ...(nanos ? { nanos } : {}) };
}
