/**
 * Server-side apply (`application/apply-patch+yaml`), following the API server's semantics:
 *
 * 1. The applied configuration's field set (by the schema) becomes the applier's "Apply" entry.
 * 2. Fields the applier sets that another manager owns, at a different value, are conflicts:
 *    without `force` the apply fails with 409; with it, ownership moves to the applier.
 * 3. The configuration is merged into the live object: associative lists by their keys, sets by
 *    value, granular maps and structs key by key; atomic lists, maps and structs are replaced.
 * 4. Fields the applier applied last time but no longer applies are removed, unless some other
 *    manager (or the new configuration) still owns something at or below them.
 */
import type { KubeObject, ManagedFieldsEntry } from "../core/types.js";
import type { SchemaNode } from "../schema/types.js";
import { ConflictError, type FieldConflict, PatchError } from "./errors.js";
import {
  canonicalJson,
  changedPaths,
  difference as differenceSet,
  FieldSet,
  fieldSetOf,
  intersection,
  itemElement,
  listKeysOf,
  pathString,
  schemaAt,
  setsEqual,
  union,
} from "./fieldset.js";
import {
  decodeManagedFields,
  encodeManagedFields,
  type ManagerEntry,
  managerKey,
  trackingOptions,
} from "./managed-fields.js";

type Obj = Record<string, unknown>;

function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface ServerSideApplyInput {
  /** The stored object, or undefined when the apply creates it. */
  live: KubeObject | undefined;
  /** The applied configuration (the request body, parsed). */
  applied: KubeObject;
  /** fieldManager (required for apply requests). */
  manager: string;
  force: boolean;
  schema: SchemaNode;
  /** RFC 3339 timestamp recorded in the applier's entry. */
  now: string;
  /** "status" or "scale" when applying through a subresource. */
  subresource?: string;
  /**
   * Leave `status` alone on main-resource applies (default: when the schema has a status field,
   * i.e. the kind has a status subresource). Pass false for CRDs without the status subresource.
   */
  ignoreStatus?: boolean;
}

export interface ServerSideApplyResult {
  /** The merged object, with metadata.managedFields set. */
  object: KubeObject;
  managedFields: ManagedFieldsEntry[];
}

/** Metadata the applied configuration may not set (the server owns it). */
const SERVER_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
];

/** How the API server names a manager in conflict messages. */
export function describeManager(
  e: Pick<ManagerEntry, "manager" | "operation" | "apiVersion" | "subresource">,
): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === "Update") s += ` using ${e.apiVersion}`;
  return s;
}

export function serverSideApply(input: ServerSideApplyInput): ServerSideApplyResult {
  const { live, applied, manager, force, schema, now, subresource } = input;
  if (!isRecord(applied)) throw new PatchError("the applied configuration must be an object", 400);
  if (!manager) {
    throw new PatchError("PATCH, application/apply-patch+yaml requires fieldManager to be set", 400);
  }
  const sentManagedFields = isRecord(applied.metadata) ? applied.metadata.managedFields : undefined;
  if (Array.isArray(sentManagedFields) ? sentManagedFields.length > 0 : sentManagedFields != null) {
    throw new PatchError("metadata.managedFields must be nil", 400);
  }
  const apiVersion = typeof applied.apiVersion === "string" ? applied.apiVersion : (live?.apiVersion ?? "");
  const tracking = trackingOptions(schema, subresource, input.ignoreStatus);
  const entries = decodeManagedFields(live?.metadata?.managedFields);
  if (live && entries.size === 0) {
    // Objects nobody has recorded ownership for yet: everything is the previous writers'.
    const set = fieldSetOf(live, schema, tracking);
    if (!set.empty) {
      entries.set(managerKey("before-first-apply", "Update"), {
        manager: "before-first-apply",
        operation: "Update",
        apiVersion: live.apiVersion,
        set,
      });
    }
  }

  const config = sanitizeConfig(applied, tracking.ignoreStatus === true, tracking.onlyTopLevel);
  const key = managerKey(manager, "Apply", subresource);
  const lastSet = entries.get(key)?.set ?? FieldSet.EMPTY;
  const builtSet = fieldSetOf(config, schema, tracking);
  // Re-applying the same fields (the common case) keeps the stored set and its encoding.
  const appliedSet = setsEqual(builtSet, lastSet) ? lastSet : builtSet;

  // Conflicts: fields the applier sets to a new value that others own.
  const conflicts: FieldConflict[] = [];
  const taken = new Map<string, FieldSet>();
  for (const [k, e] of entries) {
    if (k === key) continue;
    const shared = intersection(appliedSet, e.set);
    if (shared.empty) continue;
    const changed = changedPaths(shared, live, config, schema);
    if (changed.empty) continue;
    taken.set(k, changed);
    const who = describeManager(e);
    for (const path of changed.paths()) {
      conflicts.push({ manager: e.manager, description: who, field: pathString(path) });
    }
  }
  if (conflicts.length > 0 && !force) throw new ConflictError(conflicts);
  for (const [k, changed] of taken) {
    const e = entries.get(k)!;
    entries.set(k, { ...e, set: differenceSet(e.set, changed) });
  }

  let merged = mergeApplied(live ?? {}, config, schema) as Obj;
  entries.set(key, {
    manager,
    operation: "Apply",
    apiVersion,
    time: now,
    subresource,
    set: appliedSet,
  });
  if (!lastSet.empty) {
    let owned = FieldSet.EMPTY;
    for (const e of entries.values()) owned = union(owned, e.set);
    merged = prune(merged, lastSet, owned, schema) as Obj;
  }

  if (manager === "kubectl") merged = syncLastApplied(merged, config);

  const managedFields = encodeManagedFields(entries.values());
  const metadata = { ...(isRecord(merged.metadata) ? merged.metadata : {}) } as KubeObject["metadata"];
  metadata.managedFields = managedFields;
  const object = { ...merged, metadata } as KubeObject;
  if (typeof applied.apiVersion === "string") object.apiVersion = applied.apiVersion;
  if (typeof applied.kind === "string") object.kind = applied.kind;
  return { object, managedFields };
}

/** The applied configuration without server-owned metadata (and status where it is not applied). */
function sanitizeConfig(
  applied: KubeObject,
  ignoreStatus: boolean,
  only: readonly string[] | undefined,
): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(applied)) {
    if (v === undefined) continue;
    if (k === "status" && ignoreStatus) continue;
    if (only && k !== "apiVersion" && k !== "kind" && !only.includes(k)) continue;
    out[k] = v;
  }
  if (isRecord(applied.metadata)) {
    const meta: Obj = { ...applied.metadata };
    for (const k of SERVER_METADATA) delete meta[k];
    out.metadata = meta;
  }
  return out;
}

/** Merges an applied value into a live value by the schema. */
function mergeApplied(live: unknown, applied: unknown, node: SchemaNode | undefined): unknown {
  if (isRecord(applied)) {
    if (node && (node.mapType === "atomic" || node.structType === "atomic")) return stripNulls(applied);
    const base: Obj = isRecord(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) {
      if (v === undefined) continue;
      if (v === null) {
        delete base[k];
        continue;
      }
      const child = node?.properties?.[k] ?? node?.additionalProperties;
      base[k] = mergeApplied(base[k], v, child);
    }
    return base;
  }
  if (Array.isArray(applied)) {
    const liveList = Array.isArray(live) ? live : [];
    if (node?.listType === "map" && listKeysOf(node)) {
      return mergeListItems(liveList, applied, node, (l, r) => mergeApplied(l, r, node.items));
    }
    if (node?.listType === "set") return mergeListItems(liveList, applied, node, (_l, r) => r);
    return applied;
  }
  return applied;
}

/**
 * Merges the items of an associative list or set the way structured-merge-diff orders them: the
 * applied order wins for items both sides have, live-only items stay where they were, applied-only
 * items come in at their applied position.
 */
function mergeListItems(
  live: unknown[],
  applied: unknown[],
  node: SchemaNode,
  mergeItem: (live: unknown, applied: unknown) => unknown,
): unknown[] {
  const lPE = live.map((v, i) => itemElement(v, i, node));
  const rPE = applied.map((v, i) => itemElement(v, i, node));
  const lItems = new Map<string, unknown>();
  for (let i = 0; i < live.length; i++) if (!lItems.has(lPE[i])) lItems.set(lPE[i], live[i]);
  const rItems = new Map<string, unknown>();
  for (let i = 0; i < applied.length; i++) if (!rItems.has(rPE[i])) rItems.set(rPE[i], applied[i]);
  const sharedOrder = rPE.filter((pe) => lItems.has(pe));
  let sharedIndex = 0;
  let nextShared: string | undefined = sharedOrder[sharedIndex++];
  const advance = (): void => {
    nextShared = sharedOrder[sharedIndex++];
  };
  const merged = new Set<string>();
  const out: unknown[] = [];
  let lI = 0;
  let rI = 0;
  while (lI < live.length || rI < applied.length) {
    if (lI < live.length && rI < applied.length) {
      const pe = lPE[lI];
      if (pe === rPE[rI]) {
        if (!merged.has(pe)) {
          merged.add(pe);
          out.push(mergeItem(lItems.get(pe), rItems.get(pe)));
        }
        lI++;
        rI++;
        advance();
        continue;
      }
      if (rItems.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < live.length) {
      const pe = lPE[lI];
      if (!rItems.has(pe)) {
        out.push(live[lI]);
        lI++;
        continue;
      }
      if (merged.has(pe)) {
        lI++;
        continue;
      }
    }
    if (rI < applied.length) {
      const pe = rPE[rI];
      if (!merged.has(pe)) {
        merged.add(pe);
        out.push(mergeItem(lItems.get(pe), rItems.get(pe)));
      }
      rI++;
      if (nextShared === pe) advance();
    }
  }
  return out;
}

function stripNulls(v: Obj): Obj {
  let out: Obj | undefined;
  for (const [k, x] of Object.entries(v)) {
    if (x === null) {
      out ??= { ...v };
      delete out[k];
    }
  }
  return out ?? v;
}

/**
 * Removes what the applier owned before (`last`) and nobody owns now (`owned`): a path is removed
 * when no owned path is at or below it; otherwise the walk continues into it.
 */
function prune(
  value: unknown,
  last: FieldSet,
  owned: FieldSet | undefined,
  node: SchemaNode | undefined,
  keyFields?: readonly string[],
): unknown {
  if (!last.children) return value;
  let out: unknown = value;
  let copied = false;
  const ensureCopy = (): void => {
    if (copied) return;
    copied = true;
    if (Array.isArray(out)) out = [...out];
    else if (isRecord(out)) out = { ...out };
  };
  for (const [pe, lastChild] of last.children) {
    const ownedChild = owned?.children?.get(pe);
    // A surviving associative-list item keeps its key fields whoever owned them.
    if (keyFields && pe[0] === "f" && keyFields.includes(pe.slice(2))) continue;
    if (!ownedChild) {
      ensureCopy();
      out = removeElement(out, pe, node);
      continue;
    }
    if (!lastChild.children) continue;
    const current = lookup(out, pe, node);
    if (current === undefined || current.value === null || typeof current.value !== "object") continue;
    const keys = pe[0] === "k" ? listKeysOf(node) : undefined;
    const pruned = prune(current.value, lastChild, ownedChild, schemaAt(node, pe), keys);
    if (pruned !== current.value) {
      ensureCopy();
      setAt(out, current, pruned);
    }
  }
  return out;
}

interface Located {
  value: unknown;
  key: string | number;
}

function lookup(container: unknown, pe: string, node: SchemaNode | undefined): Located | undefined {
  if (pe[0] === "f") {
    const name = pe.slice(2);
    return isRecord(container) && name in container ? { value: container[name], key: name } : undefined;
  }
  if (!Array.isArray(container)) return undefined;
  for (let i = 0; i < container.length; i++) {
    if (elementOf(container[i], i, node) === pe) return { value: container[i], key: i };
  }
  return undefined;
}

function elementOf(item: unknown, index: number, node: SchemaNode | undefined): string {
  return itemElement(item, index, node);
}

function setAt(container: unknown, at: Located, value: unknown): void {
  if (Array.isArray(container) && typeof at.key === "number") container[at.key] = value;
  else if (isRecord(container) && typeof at.key === "string") container[at.key] = value;
}

function removeElement(container: unknown, pe: string, node: SchemaNode | undefined): unknown {
  if (pe[0] === "f") {
    if (isRecord(container)) delete container[pe.slice(2)];
    return container;
  }
  if (!Array.isArray(container)) return container;
  return container.filter((item, i) => elementOf(item, i, node) !== pe);
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * `kubectl apply --server-side` keeps a client-side-apply annotation in step (as the API server
 * does for the "kubectl" manager only, and only when the object already has the annotation), so
 * that a later client-side apply diffs against what was last applied.
 */
function syncLastApplied(merged: Obj, config: Obj): Obj {
  const meta = merged.metadata;
  if (!isRecord(meta) || !isRecord(meta.annotations) || typeof meta.annotations[LAST_APPLIED] !== "string") {
    return merged;
  }
  const lastApplied: Obj = { ...config };
  if (isRecord(config.metadata)) {
    const cfgMeta: Obj = { ...config.metadata };
    if (isRecord(cfgMeta.annotations)) {
      const { [LAST_APPLIED]: _drop, ...rest } = cfgMeta.annotations;
      if (Object.keys(rest).length > 0) cfgMeta.annotations = rest;
      else delete cfgMeta.annotations;
    }
    lastApplied.metadata = cfgMeta;
  }
  return {
    ...merged,
    metadata: { ...meta, annotations: { ...meta.annotations, [LAST_APPLIED]: canonicalJson(lastApplied) } },
  };
}
