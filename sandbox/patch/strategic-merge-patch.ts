/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), applied the way the
 * API server applies it (merge of parallel directive lists, unmatched nulls ignored):
 *
 * - maps merge key by key; `null` deletes a key;
 * - lists whose schema says `patchStrategy: merge` merge: lists of objects by `patchMergeKey`
 *   (same key → merged recursively, new keys appended), lists of scalars as a union;
 *   every other list is replaced by the patch's;
 * - directives: `$patch: replace | delete` on a map, `{"$patch": "replace"}` and
 *   `{"$patch": "delete", <key>: ...}` as list elements, `$deleteFromPrimitiveList/<field>`,
 *   `$setElementOrder/<field>` (reorders the merged list) and `$retainKeys` (drops every key of the
 *   original map not listed).
 *
 * The result shares unchanged subtrees with `obj` (and values with `patch`); nothing is mutated.
 * Its top level and `metadata` are always new objects; deeper parts may be shared, so treat
 * stored objects as immutable (copy before changing anything below metadata).
 */
import type { SchemaNode } from "../schema/types.js";
import { PatchError } from "./errors.js";

type Obj = Record<string, unknown>;

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_FROM = "$deleteFromPrimitiveList/";

function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function childSchema(node: SchemaNode | undefined, key: string): SchemaNode | undefined {
  if (!node) return undefined;
  return node.properties?.[key] ?? node.additionalProperties;
}

function isMergeList(node: SchemaNode | undefined): boolean {
  return node?.patchStrategy?.split(",").includes("merge") === true;
}

function isReplace(node: SchemaNode | undefined): boolean {
  return node?.patchStrategy?.split(",").includes("replace") === true;
}

function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** Applies a strategic merge patch to `obj` using `schema` for list merge keys and strategies. */
export function applyStrategicMergePatch<T>(obj: T, patch: unknown, schema?: SchemaNode): T {
  if (!isRecord(patch)) {
    throw new PatchError(
      "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
      400,
    );
  }
  const original: Obj = isRecord(obj) ? obj : {};
  const result = mergeMap(original, patch, schema);
  // The top level and metadata are always fresh, so the caller may stamp resourceVersion etc.
  if (isRecord(result.metadata) && result.metadata === original.metadata)
    result.metadata = { ...result.metadata };
  return result as T;
}

/** A patch value taken where the original has nothing: merged into an empty value of its type. */
function fromEmpty(value: unknown, node: SchemaNode | undefined): unknown {
  if (isRecord(value)) return mergeMap({}, value, node);
  if (Array.isArray(value) && isMergeList(node)) return mergeList([], value, node);
  return value;
}

function mergeMap(original: Obj, patch: Obj, node: SchemaNode | undefined): Obj {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === "delete") return {};
    if (directive === "replace") {
      const { [DIRECTIVE]: _drop, ...rest } = patch;
      return mergeMap({}, rest, node);
    }
    if (directive !== "merge") {
      throw new PatchError(`unknown patch type: ${show(directive)} in map: ${show(patch)}`, 400);
    }
  }

  const result: Obj = { ...original };

  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) {
      throw new PatchError(`invalid patch: the value of $retainKeys must be a list: ${show(retain)}`, 400);
    }
    const keep = new Set(retain.map((k) => String(k)));
    for (const k of Object.keys(result)) if (!keep.has(k)) delete result[k];
  }

  // $setElementOrder lists first: merge the parallel list and reorder it.
  let ordered: Set<string> | undefined;
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const order = patch[key];
    if (!Array.isArray(order)) {
      throw new PatchError(`invalid patch: the value of ${key} must be a list: ${show(order)}`, 400);
    }
    const fieldNode = childSchema(node, field);
    const origList = Array.isArray(result[field]) ? (result[field] as unknown[]) : [];
    const patchValue = patch[field];
    const patchList = Array.isArray(patchValue) ? patchValue : [];
    ordered ??= new Set();
    ordered.add(field);
    if (patchValue === null) {
      delete result[field];
      continue;
    }
    if (origList.length === 0 && patchList.length === 0) continue;
    const merged = isMergeList(fieldNode) ? mergeList(origList, patchList, fieldNode) : patchList;
    result[field] = reorder(merged, order, origList, fieldNode?.patchMergeKey);
  }

  for (const key of Object.keys(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    const value = patch[key];
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) {
        throw new PatchError(`invalid patch: the value of ${key} must be a list: ${show(value)}`, 400);
      }
      const current = result[field];
      if (Array.isArray(current)) {
        result[field] = current.filter((item) => !value.some((d) => sameKey(d, item)));
      }
      continue;
    }
    if (ordered?.has(key)) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const fieldNode = childSchema(node, key);
    const current = result[key];
    if (current === undefined || current === null) {
      // Deleting what is not there leaves nothing behind (rather than an empty map).
      if (isRecord(value) && value[DIRECTIVE] === "delete") delete result[key];
      else result[key] = fromEmpty(value, fieldNode);
    } else if (isRecord(current) && isRecord(value)) {
      result[key] = isReplace(fieldNode) ? fromEmpty(value, undefined) : mergeMap(current, value, fieldNode);
    } else if (Array.isArray(current) && Array.isArray(value)) {
      result[key] = isMergeList(fieldNode) ? mergeList(current, value, fieldNode) : value;
    } else {
      result[key] = fromEmpty(value, fieldNode);
    }
  }
  return result;
}

function mergeList(original: unknown[], patch: unknown[], node: SchemaNode | undefined): unknown[] {
  if (patch.length === 0) return original;
  const mapItems = patch.some(isRecord) || original.some(isRecord);
  if (!mapItems) {
    const out: unknown[] = [];
    for (const v of original) if (!out.some((o) => sameKey(o, v))) out.push(v);
    for (const v of patch) if (!out.some((o) => sameKey(o, v))) out.push(v);
    return out;
  }
  const mergeKey = node?.patchMergeKey;
  const itemNode = node?.items;
  if (!mergeKey) {
    throw new PatchError(`cannot merge lists without merge key for ${node?.ref ?? "list"}`, 422);
  }

  let working = original;
  let replace = false;
  const items: Obj[] = [];
  for (const p of patch) {
    if (!isRecord(p)) {
      throw new PatchError(`invalid list item ${show(p)}: list items of a merge list must be objects`, 400);
    }
    const directive = p[DIRECTIVE];
    if (directive === undefined) {
      items.push(p);
      continue;
    }
    if (directive === "delete") {
      if (!(mergeKey in p)) {
        throw new PatchError(`map: ${show(p)} does not contain declared merge key: ${mergeKey}`, 422);
      }
      const key = p[mergeKey];
      working = working.filter((o) => !(isRecord(o) && sameKey(o[mergeKey], key)));
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      throw new PatchError("merging lists cannot yet be specified in the patch", 422);
    } else {
      throw new PatchError(`unknown patch type: ${show(directive)} in map: ${show(p)}`, 400);
    }
  }
  if (replace) return items.map((item) => mergeMap({}, item, itemNode));

  const out = working === original ? [...original] : working;
  for (const item of items) {
    if (!(mergeKey in item)) {
      throw new PatchError(`map: ${show(item)} does not contain declared merge key: ${mergeKey}`, 422);
    }
    const key = item[mergeKey];
    const index = out.findIndex((o) => isRecord(o) && sameKey(o[mergeKey], key));
    if (index >= 0) out[index] = mergeMap(out[index] as Obj, item, itemNode);
    else out.push(mergeMap({}, item, itemNode));
  }
  return out;
}

/**
 * Orders a merged list by a `$setElementOrder` list: items named in the order list come in that
 * order; items only the server has keep their relative place from the original list, interleaved
 * with best effort (the API server's algorithm).
 */
function reorder(
  merged: unknown[],
  order: unknown[],
  original: unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const keyOf = (v: unknown): unknown => (mergeKey && isRecord(v) ? v[mergeKey] : v);
  const indexIn = (list: unknown[], v: unknown): number => {
    const k = keyOf(v);
    return list.findIndex((o) => sameKey(keyOf(o), k));
  };
  const patchItems: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) (indexIn(order, v) >= 0 ? patchItems : serverOnly).push(v);
  const byIndex = (list: unknown[]) => (a: unknown, b: unknown) => {
    const ia = indexIn(list, a);
    const ib = indexIn(list, b);
    return (ia < 0 ? Number.MAX_SAFE_INTEGER : ia) - (ib < 0 ? Number.MAX_SAFE_INTEGER : ib);
  };
  patchItems.sort(byIndex(order));
  serverOnly.sort(byIndex(original));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(serverOnly[i++]);
    else {
      const li = indexIn(original, serverOnly[i]);
      const ri = indexIn(original, patchItems[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}
