/**
 * RFC 6902 JSON patch (`application/json-patch+json`), via fast-json-patch. Errors read like the
 * API server's (which uses evanphx/json-patch): a malformed patch document is a 400, an operation
 * that does not apply (failed `test`, missing path) is a 422.
 */

import type { Operation } from "fast-json-patch";
import fastJsonPatch from "fast-json-patch";
import { PatchError } from "./errors.js";

const { applyPatch, JsonPatchError } = fastJsonPatch;

const OPS = new Set(["add", "remove", "replace", "move", "copy", "test"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks the patch document's shape; throws PatchError(400) as the API server's decoder would. */
function decodeOperations(ops: unknown): Operation[] {
  if (!Array.isArray(ops)) {
    throw new PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", 400);
  }
  for (const op of ops) {
    if (!isRecord(op))
      throw new PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation", 400);
    if (typeof op.op !== "string" || !OPS.has(op.op)) {
      throw new PatchError(`Unexpected kind: ${typeof op.op === "string" ? op.op : "unknown"}`, 400);
    }
    if (typeof op.path !== "string") throw new PatchError(`${op.op} operation missing path`, 400);
    if ((op.op === "move" || op.op === "copy") && typeof op.from !== "string") {
      throw new PatchError(`${op.op} operation missing from`, 400);
    }
    if ((op.op === "add" || op.op === "replace" || op.op === "test") && !("value" in op)) {
      throw new PatchError(`${op.op} operation missing value`, 400);
    }
  }
  return ops as Operation[];
}

function describe(op: Operation, code: string): string {
  const path = op.path;
  switch (code) {
    case "TEST_OPERATION_FAILED":
      return `testing value ${path} failed: test failed`;
    case "OPERATION_FROM_UNRESOLVABLE":
      return `${op.op} operation does not apply: doc is missing from path: ${"from" in op ? op.from : ""}: missing value`;
    case "OPERATION_PATH_ILLEGAL_ARRAY_INDEX":
    case "OPERATION_VALUE_OUT_OF_BOUNDS":
      return `${op.op} operation does not apply: doc is missing path: "${path}": invalid index referenced`;
    case "OPERATION_PATH_INVALID":
      return `${op.op} operation does not apply: invalid path: "${path}"`;
    default:
      if (op.op === "remove")
        return `Unable to remove nonexistent key: ${path.split("/").pop() ?? path}: missing value`;
      if (op.op === "replace")
        return `replace operation does not apply: doc is missing key: ${path}: missing value`;
      return `${op.op} operation does not apply: doc is missing path: "${path}": missing value`;
  }
}

/**
 * Applies RFC 6902 operations to a copy of `obj` (the input is not modified) and returns the result.
 * Throws PatchError (400 for a malformed patch, 422 when an operation does not apply).
 */
export function applyJsonPatch<T>(obj: T, ops: unknown): T {
  const operations = decodeOperations(ops);
  try {
    return applyPatch(obj, operations, true, false).newDocument;
  } catch (err) {
    if (err instanceof JsonPatchError) {
      const index = typeof err.index === "number" ? err.index : 0;
      const op = operations[index] ?? operations[0];
      throw new PatchError(describe(op, err.name), 422);
    }
    throw err;
  }
}
