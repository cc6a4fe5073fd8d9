/**
 * The seam between the API semantics and the patch/apply algorithms in sandbox/patch.
 * TEMPORARY simple implementations until sandbox/patch lands.
 */
import fastJsonPatch from "fast-json-patch";
import { badRequest } from "./errors.js";
import type { ServedResource } from "./registry.js";
import type { KubeObject, ManagedFieldsEntry } from "./types.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function merge(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

export function jsonPatch(object: KubeObject, ops: unknown[]): KubeObject {
  try {
    return fastJsonPatch.applyPatch(object, ops as fastJsonPatch.Operation[], true, true).newDocument;
  } catch (error) {
    throw badRequest(
      `the server rejected our request due to an error in our request: ${(error as Error).message}`,
    );
  }
}

export function mergePatch(object: KubeObject, patch: Obj): KubeObject {
  return merge(object, patch) as KubeObject;
}

export function strategicPatch(
  _resource: ServedResource,
  object: KubeObject,
  patch: Obj,
  _isScale: boolean,
): KubeObject {
  return merge(object, patch) as KubeObject;
}

export function apply(
  _resource: ServedResource,
  args: {
    live: KubeObject | undefined;
    applied: KubeObject;
    manager: string;
    force: boolean;
    now: string;
    subresource?: string;
  },
): { object: KubeObject } {
  return { object: merge(args.live ?? {}, args.applied) as KubeObject };
}

export function trackUpdate(
  _resource: ServedResource,
  _before: KubeObject | undefined,
  after: KubeObject,
  _manager: string,
  _now: string,
  _subresource?: string,
): ManagedFieldsEntry[] {
  return after.metadata.managedFields ?? [];
}

export function unknownFields(_resource: ServedResource, _object: KubeObject): string[] {
  return [];
}
