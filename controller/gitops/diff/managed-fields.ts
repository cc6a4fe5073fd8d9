/**
 * Field ownership from `metadata.managedFields` (FieldsV1), used so that the diff respects what
 * server-side apply already knows: who set each field
 * (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management).
 *
 * FieldsV1 is a tree whose keys are `f:<field>`, `k:<json key of a list-map item>`,
 * `v:<json value of a set item>`, `i:<index>`, and `.` (the item itself). The `k:` and `v:` keys
 * are canonicalised here (object keys sorted) so that lookups do not depend on key order.
 */
import { isPlainObject, type ManagedFieldsEntry } from "./object.js";

/** One node of a (merged) ownership tree; `self` is the `.` marker. */
export interface FieldNode {
  children: Map<string, FieldNode>;
  self: boolean;
}

function emptyNode(): FieldNode {
  return { children: new Map(), self: false };
}

/** JSON with object keys sorted, so `{"b":1,"a":2}` and `{"a":2,"b":1}` give one string. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function canonicalKey(raw: string): string {
  const prefix = raw.slice(0, 2);
  if (prefix === "k:" || prefix === "v:") {
    try {
      return prefix + canonicalJson(JSON.parse(raw.slice(2)));
    } catch {
      return raw;
    }
  }
  return raw;
}

function mergeInto(node: FieldNode, fields: Record<string, unknown>): void {
  for (const [raw, sub] of Object.entries(fields)) {
    if (raw === ".") {
      node.self = true;
      continue;
    }
    const key = canonicalKey(raw);
    let child = node.children.get(key);
    if (!child) {
      child = emptyNode();
      node.children.set(key, child);
    }
    if (isPlainObject(sub)) mergeInto(child, sub);
  }
}

/**
 * The union of the field sets of the entries whose manager passes `include`. Entries for the
 * `status` subresource are skipped: status is never compared.
 */
export function ownershipTree(
  entries: readonly ManagedFieldsEntry[] | undefined,
  include: (manager: string) => boolean,
): FieldNode | undefined {
  if (!entries) return undefined;
  let root: FieldNode | undefined;
  for (const e of entries) {
    if (!e || e.subresource === "status" || !isPlainObject(e.fieldsV1)) continue;
    if (!include(e.manager ?? "")) continue;
    root ??= emptyNode();
    mergeInto(root, e.fieldsV1);
  }
  return root;
}

/** A node with no children owns its whole value (a scalar, an atomic list or map). */
export function isLeaf(node: FieldNode): boolean {
  return node.children.size === 0;
}

export function fieldChild(node: FieldNode | undefined, name: string): FieldNode | undefined {
  return node?.children.get(`f:${name}`);
}

export function keyChild(node: FieldNode | undefined, key: Record<string, unknown>): FieldNode | undefined {
  return node?.children.get(`k:${canonicalJson(key)}`);
}

export function valueChild(node: FieldNode | undefined, value: unknown): FieldNode | undefined {
  return node?.children.get(`v:${canonicalJson(value)}`);
}

export function indexChild(node: FieldNode | undefined, index: number): FieldNode | undefined {
  return node?.children.get(`i:${index}`);
}

/** The key field names of a list-map, when any manager's entry shows one of its items. */
export function listMapKeys(...nodes: (FieldNode | undefined)[]): string[] | undefined {
  for (const node of nodes) {
    if (!node) continue;
    for (const key of node.children.keys()) {
      if (!key.startsWith("k:")) continue;
      try {
        const parsed = JSON.parse(key.slice(2)) as unknown;
        if (isPlainObject(parsed)) return Object.keys(parsed).sort();
      } catch {
        // not JSON: ignore
      }
    }
  }
  return undefined;
}

/** True when the node's children are `v:` entries: the list is a set of scalars. */
export function isSetList(...nodes: (FieldNode | undefined)[]): boolean {
  return nodes.some((n) => n !== undefined && [...n.children.keys()].some((k) => k.startsWith("v:")));
}
