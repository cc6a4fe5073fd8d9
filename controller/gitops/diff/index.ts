/**
 * Desired-vs-live comparison for the Application reconciler: pure functions over plain JSON
 * (gitops-engine's `pkg/diff` shape), with the normalisations that keep Argo CD's false drift out.
 */
export {
  DEFAULT_RESPECTED_MANAGERS,
  type DiffOptions,
  type DiffResult,
  diffResource,
  prepareDesiredForApply,
  ROLLOUTS_FIELD_MANAGER,
} from "./diff.js";
export { ignoredManagers, ignoreRuleMatches, matchingIgnoreRules, removeIgnoredFields } from "./ignore.js";
export { compileJqPath, type JqPath, JqPathError } from "./jq-path.js";
export {
  formatJsonPointer,
  JsonPointerError,
  jsonPointerGet,
  jsonPointerRemove,
  parseJsonPointer,
  removePaths,
} from "./json-pointer.js";
export { canonicalJson, type FieldNode, ownershipTree } from "./managed-fields.js";
export { comparePair, type Ownership } from "./normalize.js";
export * from "./object.js";
export { compareQuantities, parseQuantity, type Quantity, quantitiesEqual } from "./quantity.js";
export { isSecret, maskSecret, maskSecrets, normalizeSecretData, SECRET_MASK } from "./secret.js";
export { type UnifiedDiffOptions, unifiedDiff } from "./unified.js";
