/**
 * The seam between the API semantics (api.ts) and the algorithms in sandbox/patch and
 * sandbox/schema: patch types, server-side apply, managedFields and unknown-field detection,
 * each given the resource's structural schema.
 */
import { cloneJson } from "../../api/json.js";
import { ConflictError, PatchError } from "../patch/errors.js";
import { applyJsonPatch } from "../patch/json-patch.js";
import { updateManagedFields } from "../patch/managed-fields.js";
import { applyMergePatch } from "../patch/merge-patch.js";
import { serverSideApply } from "../patch/server-side-apply.js";
import { applyStrategicMergePatch } from "../patch/strategic-merge-patch.js";
import type { SchemaNode } from "../schema/index.js";
import { ApiError, badRequest } from "./errors.js";
import type { ServedResource } from "./registry.js";
import { schemaOf } from "./schemas.js";
import type { KubeObject, ManagedFieldsEntry } from "./types.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Turns patch-library errors into the API server's Status errors. */
function translate<T>(resource: ServedResource, name: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof PatchError) {
      if (error.code === 400) throw badRequest(error.message);
      throw new ApiError(422, "Invalid", `${resource.kind} "${name}" is invalid: ${error.message}`, {
        name,
        group: resource.group,
        kind: resource.kind,
        causes: [{ reason: "FieldValueInvalid", message: error.message }],
      });
    }
    if (error instanceof ConflictError) {
      throw new ApiError(409, "Conflict", error.message, {
        name,
        group: resource.group,
        kind: resource.plural,
        causes: error.causes,
      });
    }
    throw error;
  }
}

export function jsonPatch(resource: ServedResource, object: KubeObject, ops: unknown[]): KubeObject {
  return translate(resource, object.metadata.name ?? "", () => applyJsonPatch(object, ops));
}

export function mergePatch(resource: ServedResource, object: KubeObject, patch: Obj): KubeObject {
  return translate(resource, object.metadata.name ?? "", () => applyMergePatch(object, patch));
}

const SCALE_SCHEMA: SchemaNode = { type: "object" };

export function strategicPatch(
  resource: ServedResource,
  object: KubeObject,
  patch: Obj,
  isScale: boolean,
): KubeObject {
  const schema = isScale ? SCALE_SCHEMA : schemaOf(resource);
  return translate(resource, object.metadata.name ?? "", () =>
    applyStrategicMergePatch(object, patch, schema),
  );
}

/**
 * For kinds without a status subresource the status is an ordinary field, owned like any other;
 * for kinds with one, main-resource writes ignore it (sandbox/patch's default).
 */
function statusTracking(resource: ServedResource): { ignoreStatus?: boolean } {
  return resource.subresources.status ? {} : { ignoreStatus: false };
}

export function apply(
  resource: ServedResource,
  args: {
    live: KubeObject | undefined;
    applied: KubeObject;
    manager: string;
    force: boolean;
    now: string;
    subresource?: string;
  },
): { object: KubeObject } {
  const schema = schemaOf(resource) ?? OPEN_SCHEMA;
  return translate(resource, args.applied.metadata?.name ?? "", () => {
    const result = serverSideApply({
      // The result may share subtrees with `live`; give it a copy so the stored object stays untouched.
      live: args.live ? cloneJson(args.live) : undefined,
      applied: args.applied,
      manager: args.manager,
      force: args.force,
      schema,
      now: args.now,
      ...(args.subresource ? { subresource: args.subresource } : {}),
      ...statusTracking(resource),
    });
    return {
      object: {
        ...result.object,
        metadata: { ...result.object.metadata, managedFields: result.managedFields },
      },
    };
  });
}

/** managedFields after an ordinary write (create/update/patch) by `manager`. */
export function trackUpdate(
  resource: ServedResource,
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  now: string,
  subresource?: string,
): ManagedFieldsEntry[] {
  const schema = schemaOf(resource) ?? OPEN_SCHEMA;
  return updateManagedFields(before, after, manager, schema, now, subresource, statusTracking(resource));
}

const OPEN_SCHEMA: SchemaNode = { type: "object", preserveUnknownFields: true };

/** Removes fields the built-in schema does not declare and returns their paths (for fieldValidation=Strict|Warn). */
export function unknownFields(resource: ServedResource, object: KubeObject): string[] {
  const schema = schemaOf(resource);
  if (!schema) return [];
  const out: string[] = [];
  walkUnknown(object, schema, "", out, 0);
  return out;
}

function walkUnknown(value: unknown, schema: SchemaNode, path: string, out: string[], depth: number): void {
  if (depth > 64 || schema.preserveUnknownFields || schema.embeddedResource) return;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items) {
      value.forEach((v, i) => {
        walkUnknown(v, items, `${path}[${i}]`, out, depth + 1);
      });
    }
    return;
  }
  if (!isObj(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    const prop = schema.properties?.[key];
    if (prop) walkUnknown(child, prop, childPath, out, depth + 1);
    else if (schema.additionalProperties)
      walkUnknown(child, schema.additionalProperties, childPath, out, depth + 1);
    else if (schema.properties) {
      // Built-in objects are decoded into typed structs by a real API server: unknown fields vanish.
      out.push(childPath);
      delete value[key];
    }
  }
}
