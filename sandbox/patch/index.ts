export { ConflictError, type FieldConflict, PatchError } from "./errors.js";
export { applyJsonPatch } from "./json-patch.js";
export {
  canonicalJson,
  changedPaths,
  decodeManagedFields,
  deepEqual,
  difference,
  encodeManagedFields,
  FieldSet,
  FieldSetBuilder,
  type FieldSetOptions,
  fieldSetFromFieldsV1,
  fieldSetOf,
  fieldSetToFieldsV1,
  intersection,
  type ManagerEntry,
  managerKey,
  pathString,
  setsEqual,
  trackingOptions,
  union,
  updateManagedFields,
  withoutPaths,
} from "./managed-fields.js";
export { applyMergePatch } from "./merge-patch.js";
export {
  describeManager,
  type ServerSideApplyInput,
  type ServerSideApplyResult,
  serverSideApply,
} from "./server-side-apply.js";
export { applyStrategicMergePatch } from "./strategic-merge-patch.js";
