/**
 * `metadata.managedFields` bookkeeping for ordinary writes (create, update, patch: operation
 * "Update") and the shared entry handling server-side apply builds on.
 *
 * Entries are keyed by (manager, operation, subresource), as the API server keys them; a write
 * makes the fields it added or changed owned by the writer and takes them away from everyone
 * else; fields it removed leave the writer's set.
 */
import type { KubeObject, ManagedFieldsEntry } from "../core/types.js";
import type { SchemaNode } from "../schema/types.js";
import {
  changedPaths,
  deepEqual,
  difference,
  FieldSet,
  type FieldSetOptions,
  fieldSetFromFieldsV1,
  fieldSetOf,
  fieldSetToFieldsV1,
  intersection,
  setsEqual,
  union,
} from "./fieldset.js";

export {
  canonicalJson,
  changedPaths,
  deepEqual,
  difference,
  FieldSet,
  FieldSetBuilder,
  type FieldSetOptions,
  fieldSetFromFieldsV1,
  fieldSetOf,
  fieldSetToFieldsV1,
  intersection,
  pathString,
  setsEqual,
  union,
  withoutPaths,
} from "./fieldset.js";

/** One decoded managedFields entry. */
export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
  /** The entry as it came in, reused when nothing about it changes. */
  original?: ManagedFieldsEntry;
}

export function managerKey(manager: string, operation: string, subresource?: string): string {
  return `${manager}\u0000${operation}\u0000${subresource ?? ""}`;
}

/** Decodes managedFields into entries keyed by (manager, operation, subresource). Malformed entries are skipped. */
export function decodeManagedFields(
  entries: readonly ManagedFieldsEntry[] | undefined,
): Map<string, ManagerEntry> {
  const out = new Map<string, ManagerEntry>();
  if (!Array.isArray(entries)) return out;
  for (const e of entries) {
    if (!e || typeof e.manager !== "string" || (e.operation !== "Apply" && e.operation !== "Update"))
      continue;
    const key = managerKey(e.manager, e.operation, e.subresource);
    const set = fieldSetFromFieldsV1(e.fieldsV1);
    const prev = out.get(key);
    out.set(key, {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      subresource: e.subresource || undefined,
      set: prev ? union(prev.set, set) : set,
      original: prev ? undefined : e,
    });
  }
  return out;
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  const t = Date.parse(time);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/** Encodes entries (dropping empty ones) in the API server's order: operation, time, manager, apiVersion, subresource. */
export function encodeManagedFields(entries: Iterable<ManagerEntry>): ManagedFieldsEntry[] {
  const list: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e.set.empty) continue;
    const o = e.original;
    if (
      o &&
      o.apiVersion === e.apiVersion &&
      o.time === e.time &&
      fieldSetFromFieldsV1(o.fieldsV1) === e.set &&
      o.fieldsType === "FieldsV1"
    ) {
      list.push(o);
      continue;
    }
    const entry: ManagedFieldsEntry = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(e.time ? { time: e.time } : {}),
      fieldsType: "FieldsV1",
      fieldsV1: fieldSetToFieldsV1(e.set),
    };
    if (e.subresource) entry.subresource = e.subresource;
    list.push(entry);
  }
  list.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const ps = seconds(p.time);
    const qs = seconds(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    const pr = p.subresource ?? "";
    const qr = q.subresource ?? "";
    return pr < qr ? -1 : pr > qr ? 1 : 0;
  });
  return list;
}

/** Which fields a write tracks, by where it goes and whether the kind has a status subresource. */
export function trackingOptions(
  schema: SchemaNode | undefined,
  subresource: string | undefined,
  ignoreStatus?: boolean,
): FieldSetOptions {
  if (subresource === "status") return { onlyTopLevel: ["status", "metadata"] };
  return { ignoreStatus: ignoreStatus ?? schema?.properties?.status !== undefined };
}

/** The entries a write starts from: the client's managedFields when it deliberately sent others. */
function startingEntries(
  before: KubeObject | undefined,
  after: KubeObject,
  subresource: string | undefined,
): Map<string, ManagerEntry> {
  const sent = after.metadata?.managedFields;
  const stored = before?.metadata?.managedFields;
  if (
    subresource === undefined &&
    Array.isArray(sent) &&
    sent.length > 0 &&
    sent !== stored &&
    !deepEqual(sent, stored)
  ) {
    // `[{}]` is how clients ask the API server to reset managedFields.
    if (sent.length === 1 && Object.keys(sent[0] ?? {}).length === 0) return new Map();
    return decodeManagedFields(sent);
  }
  return decodeManagedFields(stored);
}

/**
 * managedFields after an ordinary write (create, update, JSON/merge/strategic patch) by `manager`.
 * It starts from `before`'s managedFields, or from `after`'s when a main-resource write sent
 * different ones (clients may rewrite managedFields; `[{}]` clears them), as the API server does.
 *
 * fields the write added or changed become the manager's (and leave every other manager's set);
 * fields it removed leave the manager's set. Status is not tracked on main-resource writes of kinds
 * with a status subresource (by default: kinds whose schema has `status`; pass `ignoreStatus` to
 * override, e.g. false for a CRD without the status subresource).
 */
export function updateManagedFields(
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  schema: SchemaNode,
  now: string,
  subresource?: string,
  options: { ignoreStatus?: boolean } = {},
): ManagedFieldsEntry[] {
  const entries = startingEntries(before, after, subresource);
  const tracking = trackingOptions(schema, subresource, options.ignoreStatus);
  const beforeSet = before ? fieldSetOf(before, schema, tracking) : FieldSet.EMPTY;
  const afterSet = fieldSetOf(after, schema, tracking);

  const added = difference(afterSet, beforeSet);
  const removed = difference(beforeSet, afterSet);
  const modified = before
    ? changedPaths(intersection(beforeSet, afterSet), before, after, schema)
    : FieldSet.EMPTY;
  const changed = union(added, modified);

  const key = managerKey(manager, "Update", subresource);
  if (!changed.empty) {
    for (const [k, e] of entries) {
      if (k === key) continue;
      const next = difference(e.set, changed);
      if (next !== e.set) entries.set(k, { ...e, set: next });
    }
  }
  const mine = entries.get(key);
  const previous = mine?.set ?? FieldSet.EMPTY;
  const next = union(difference(previous, removed), changed);
  if (!mine || !setsEqual(previous, next)) {
    entries.set(key, {
      manager,
      operation: "Update",
      apiVersion: after.apiVersion,
      time: now,
      subresource,
      set: next,
    });
  }
  return encodeManagedFields(entries.values());
}
