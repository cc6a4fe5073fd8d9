/**
 * Field sets: the set-of-paths structure behind `metadata.managedFields`, in the FieldsV1 encoding
 * the API server uses:
 *
 *   {"f:metadata":{"f:labels":{"f:app":{}}},
 *    "f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}}}}
 *
 * Path elements: `f:<field>` (struct field or map key), `k:<json>` (associative-list item by its
 * key fields), `v:<json>` (set item), `i:<index>`. A path with `{}` is a member; `"."` marks a
 * path that is a member and also has members below it.
 *
 * FieldSets are immutable once built: operations return new sets (sharing unchanged subtrees).
 */
import type { SchemaNode } from "../schema/types.js";

export class FieldSet {
  /** Whether the path this node stands for is itself in the set. */
  readonly member: boolean;
  /** Children by path element string ("f:spec", `k:{"name":"a"}`, ...). */
  readonly children: ReadonlyMap<string, FieldSet> | undefined;

  constructor(member = false, children?: ReadonlyMap<string, FieldSet>) {
    this.member = member;
    this.children = children && children.size > 0 ? children : undefined;
  }

  static readonly EMPTY = new FieldSet();

  get empty(): boolean {
    return !this.member && this.children === undefined;
  }

  child(element: string): FieldSet | undefined {
    return this.children?.get(element);
  }

  /** Whether the path (a list of path elements) is a member. */
  has(path: readonly string[]): boolean {
    let node: FieldSet | undefined = this;
    for (const pe of path) {
      node = node.children?.get(pe);
      if (!node) return false;
    }
    return node.member;
  }

  /** Every member path, as path-element lists, in sorted order. */
  paths(): string[][] {
    const out: string[][] = [];
    const walk = (node: FieldSet, prefix: string[]): void => {
      if (node.member && prefix.length > 0) out.push(prefix);
      if (!node.children) return;
      for (const key of sortedKeys(node.children)) walk(node.children.get(key)!, [...prefix, key]);
    };
    walk(this, []);
    return out;
  }

  /** Number of member paths. */
  get size(): number {
    let n = this.member ? 1 : 0;
    if (this.children) for (const c of this.children.values()) n += c.size;
    return n;
  }
}

/** A mutable builder for FieldSets (used while walking objects). */
export class FieldSetBuilder {
  member = false;
  children: Map<string, FieldSetBuilder> | undefined;

  child(element: string): FieldSetBuilder {
    this.children ??= new Map();
    let c = this.children.get(element);
    if (!c) {
      c = new FieldSetBuilder();
      this.children.set(element, c);
    }
    return c;
  }

  build(): FieldSet {
    if (!this.children) return this.member ? MEMBER : FieldSet.EMPTY;
    const children = new Map<string, FieldSet>();
    for (const [k, c] of this.children) {
      const built = c.build();
      if (!built.empty) children.set(k, built);
    }
    return new FieldSet(this.member, children);
  }
}

const MEMBER = new FieldSet(true);

function sortRank(key: string): number {
  switch (key[0]) {
    case ".":
      return 0;
    case "f":
      return 1;
    case "k":
      return 2;
    case "v":
      return 3;
    default:
      return 4;
  }
}

function sortedKeys(map: ReadonlyMap<string, unknown>): string[] {
  return [...map.keys()].sort((a, b) => sortRank(a) - sortRank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Set operations
// ---------------------------------------------------------------------------------------------

export function union(a: FieldSet, b: FieldSet): FieldSet {
  if (a.empty) return b;
  if (b.empty || a === b) return a;
  const member = a.member || b.member;
  if (!a.children && !b.children) return member ? MEMBER : FieldSet.EMPTY;
  if (!b.children) return member === a.member ? a : new FieldSet(member, a.children);
  if (!a.children) return member === b.member ? b : new FieldSet(member, b.children);
  const children = new Map(a.children);
  for (const [k, bc] of b.children) {
    const ac = children.get(k);
    children.set(k, ac ? union(ac, bc) : bc);
  }
  return new FieldSet(member, children);
}

/** Paths of `a` that are not in `b`. */
export function difference(a: FieldSet, b: FieldSet): FieldSet {
  if (a.empty || b.empty) return a;
  if (a === b) return FieldSet.EMPTY;
  const member = a.member && !b.member;
  if (!a.children) return member ? MEMBER : FieldSet.EMPTY;
  if (!b.children) return member === a.member ? a : new FieldSet(member, a.children);
  let changed = member !== a.member;
  const children = new Map<string, FieldSet>();
  for (const [k, ac] of a.children) {
    const bc = b.children.get(k);
    if (!bc) {
      children.set(k, ac);
      continue;
    }
    const d = difference(ac, bc);
    if (d !== ac) changed = true;
    if (!d.empty) children.set(k, d);
  }
  return changed ? new FieldSet(member, children) : a;
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  if (a.empty || b.empty) return FieldSet.EMPTY;
  if (a === b) return a;
  const member = a.member && b.member;
  if (!a.children || !b.children) return member ? MEMBER : FieldSet.EMPTY;
  const children = new Map<string, FieldSet>();
  const [small, large] =
    a.children.size <= b.children.size ? [a.children, b.children] : [b.children, a.children];
  for (const [k, sc] of small) {
    const lc = large.get(k);
    if (!lc) continue;
    const i = intersection(sc, lc);
    if (!i.empty) children.set(k, i);
  }
  return new FieldSet(member, children);
}

export function setsEqual(a: FieldSet, b: FieldSet): boolean {
  if (a === b) return true;
  if (a.member !== b.member) return false;
  const ac = a.children;
  const bc = b.children;
  if (!ac || !bc) return ac === bc;
  if (ac.size !== bc.size) return false;
  for (const [k, c] of ac) {
    const o = bc.get(k);
    if (!o || !setsEqual(c, o)) return false;
  }
  return true;
}

/** Removes the given top-level path prefixes (each a path-element list) from a set. */
export function withoutPaths(set: FieldSet, paths: readonly (readonly string[])[]): FieldSet {
  let result = set;
  for (const path of paths) result = removePath(result, path, 0);
  return result;
}

function removePath(set: FieldSet, path: readonly string[], i: number): FieldSet {
  const child = set.children?.get(path[i]);
  if (!child) return set;
  const children = new Map(set.children);
  if (i === path.length - 1) children.delete(path[i]);
  else {
    const next = removePath(child, path, i + 1);
    if (next.empty) children.delete(path[i]);
    else children.set(path[i], next);
  }
  return new FieldSet(set.member, children);
}

/** Keeps only the given top-level path prefixes of a set. */
export function onlyPaths(set: FieldSet, paths: readonly (readonly string[])[]): FieldSet {
  let result = FieldSet.EMPTY;
  for (const path of paths) {
    let node: FieldSet | undefined = set;
    for (const pe of path) node = node?.children?.get(pe);
    if (!node) continue;
    let wrapped = node;
    for (let i = path.length - 1; i >= 0; i--) wrapped = new FieldSet(false, new Map([[path[i], wrapped]]));
    result = union(result, wrapped);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// FieldsV1 encoding
// ---------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Stable JSON with object keys sorted (the form `k:` elements use). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isRecord(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

function normalizeElement(key: string): string {
  if (key.startsWith("k:") || key.startsWith("v:")) {
    try {
      return key.slice(0, 2) + canonicalJson(JSON.parse(key.slice(2)));
    } catch {
      return key;
    }
  }
  return key;
}

const parsedCache = new WeakMap<object, FieldSet>();

/** Parses a FieldsV1 object (cached per object: stored managedFields parse once). */
export function fieldSetFromFieldsV1(fields: unknown): FieldSet {
  if (!isRecord(fields)) return FieldSet.EMPTY;
  const cached = parsedCache.get(fields);
  if (cached) return cached;
  const set = parseNode(fields, false);
  parsedCache.set(fields, set);
  // Encoding the set again gives back the same object (FieldsV1 objects are treated as immutable).
  encodedCache.set(set, fields);
  return set;
}

function parseNode(obj: Record<string, unknown>, member: boolean): FieldSet {
  const children = new Map<string, FieldSet>();
  let self = member;
  for (const [key, value] of Object.entries(obj)) {
    if (key === ".") {
      self = true;
      continue;
    }
    const child = isRecord(value) ? value : {};
    const hasChildren = Object.keys(child).length > 0;
    children.set(normalizeElement(key), hasChildren ? parseNode(child, false) : MEMBER);
  }
  return new FieldSet(self, children);
}

const encodedCache = new WeakMap<FieldSet, Record<string, unknown>>();

/** Encodes a FieldSet as FieldsV1 JSON (keys sorted the way the API server writes them). */
export function fieldSetToFieldsV1(set: FieldSet): Record<string, unknown> {
  const cached = encodedCache.get(set);
  if (cached) return cached;
  const out: Record<string, unknown> = {};
  if (set.children) {
    for (const key of sortedKeys(set.children)) {
      const child = set.children.get(key)!;
      if (!child.children) out[key] = {};
      else {
        const encoded = fieldSetToFieldsV1(child);
        out[key] = child.member ? { ".": {}, ...encoded } : encoded;
      }
    }
  }
  encodedCache.set(set, out);
  parsedCache.set(out, set);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Path elements and printing
// ---------------------------------------------------------------------------------------------

export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** Key fields of an associative list (listMapKeys, else the patch merge key). */
export function listKeysOf(node: SchemaNode | undefined): string[] | undefined {
  if (!node) return undefined;
  if (node.listType === "map")
    return node.listMapKeys?.length
      ? node.listMapKeys
      : node.patchMergeKey
        ? [node.patchMergeKey]
        : undefined;
  return undefined;
}

/** The path element of a list item: `k:{...}` for associative lists, `v:` for sets, else `i:`. */
export function itemElement(item: unknown, index: number, node: SchemaNode | undefined): string {
  const keys = listKeysOf(node);
  if (keys && isRecord(item)) {
    const itemProps = node?.items?.properties;
    const key: Record<string, unknown> = {};
    for (const k of keys) {
      const v = item[k] ?? itemProps?.[k]?.default;
      if (v !== undefined) key[k] = v;
    }
    return `k:${canonicalJson(key)}`;
  }
  if (node?.listType === "set") return `v:${canonicalJson(item)}`;
  return `i:${index}`;
}

/** Prints a path the way the API server does in conflict messages: `.spec.containers[name="a"].image`. */
export function pathString(path: readonly string[]): string {
  let out = "";
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case "f":
        out += `.${body}`;
        break;
      case "k": {
        let parts: string[];
        try {
          const key = JSON.parse(body) as Record<string, unknown>;
          parts = Object.keys(key)
            .sort()
            .map((k) => `${k}=${JSON.stringify(key[k])}`);
        } catch {
          parts = [body];
        }
        out += `[${parts.join(",")}]`;
        break;
      }
      case "v":
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building the set of an object
// ---------------------------------------------------------------------------------------------

/** Metadata the API server never tracks in managedFields. */
const UNTRACKED_METADATA = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

export interface FieldSetOptions {
  /** Leave `status` out (main-resource writes of kinds with a status subresource). */
  ignoreStatus?: boolean;
  /** Track only these top-level fields (status subresource writes track `status` and `metadata`). */
  onlyTopLevel?: readonly string[];
}

/**
 * The set of fields an object sets, by the schema: scalars, atomic lists and atomic maps are
 * leaves; associative lists contribute one member per item (`k:`), sets one per value (`v:`);
 * map entries are members; struct fields are members only when null or empty.
 * apiVersion, kind and server-managed metadata (name, uid, resourceVersion, ...) are left out.
 */
export function fieldSetOf(
  obj: unknown,
  schema: SchemaNode | undefined,
  options: FieldSetOptions = {},
): FieldSet {
  if (!isRecord(obj)) return FieldSet.EMPTY;
  const root = new FieldSetBuilder();
  const props = schema?.properties;
  for (const [key, value] of Object.entries(obj)) {
    if (key === "apiVersion" || key === "kind" || value === undefined) continue;
    if (key === "status" && options.ignoreStatus) continue;
    if (options.onlyTopLevel && !options.onlyTopLevel.includes(key)) continue;
    const child = root.child(fieldElement(key));
    if (key === "metadata" && isRecord(value)) {
      const metaNode = props?.metadata;
      for (const [mk, mv] of Object.entries(value)) {
        if (UNTRACKED_METADATA.has(mk) || mv === undefined) continue;
        const mc = child.child(fieldElement(mk));
        const fieldNode = metaNode?.properties?.[mk];
        collect(mv, fieldNode, mc);
        if (
          mv === null ||
          (isRecord(mv) && Object.keys(mv).length === 0) ||
          (metaNode?.properties && !fieldNode)
        ) {
          mc.member = true;
        }
      }
      continue;
    }
    const fieldNode = props?.[key] ?? schema?.additionalProperties;
    collect(value, fieldNode, child);
    if (value === null || (isRecord(value) && Object.keys(value).length === 0) || (props && !props[key])) {
      child.member = true;
    }
  }
  return root.build();
}

function collect(value: unknown, node: SchemaNode | undefined, out: FieldSetBuilder): void {
  if (value === null || typeof value !== "object") {
    out.member = true;
    return;
  }
  if (Array.isArray(value)) {
    const listType = node?.listType;
    if (node?.type !== "array" || (listType !== "map" && listType !== "set")) {
      out.member = true;
      return;
    }
    const itemNode = node.items;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const child = out.child(itemElement(item, i, node));
      collect(item, itemNode, child);
      child.member = true;
    }
    return;
  }
  if (node && (node.mapType === "atomic" || node.structType === "atomic" || node.intOrString)) {
    out.member = true;
    return;
  }
  if (node && node.type !== undefined && node.type !== "object") {
    out.member = true;
    return;
  }
  const props = node?.properties;
  const elem = node?.additionalProperties;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const declared = props?.[key];
    const child = out.child(fieldElement(key));
    collect(v, declared ?? elem, child);
    if (!declared || v === null || (isRecord(v) && Object.keys(v).length === 0)) child.member = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Values at paths
// ---------------------------------------------------------------------------------------------

/** The value a path element selects inside `container` (undefined when absent). */
export function valueAt(container: unknown, element: string, listNode: SchemaNode | undefined): unknown {
  const body = element.slice(2);
  switch (element[0]) {
    case "f":
      return isRecord(container) ? container[body] : undefined;
    case "k": {
      if (!Array.isArray(container)) return undefined;
      for (let i = 0; i < container.length; i++) {
        if (itemElement(container[i], i, listNode) === element) return container[i];
      }
      return undefined;
    }
    case "v": {
      if (!Array.isArray(container)) return undefined;
      for (const item of container) if (`v:${canonicalJson(item)}` === element) return item;
      return undefined;
    }
    default: {
      if (!Array.isArray(container)) return undefined;
      return container[Number(body)];
    }
  }
}

/** The schema node for the value a path element selects. */
export function schemaAt(node: SchemaNode | undefined, element: string): SchemaNode | undefined {
  if (!node) return undefined;
  if (element[0] === "f") {
    const name = element.slice(2);
    return node.properties?.[name] ?? node.additionalProperties;
  }
  return node.items;
}

/** Structural equality of JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bo = b as Record<string, unknown>;
  const ao = a as Record<string, unknown>;
  let bCount = 0;
  for (const k in bo) if (bo[k] !== undefined) bCount++;
  let aCount = 0;
  for (const k of ak) {
    if (ao[k] === undefined) continue;
    aCount++;
    if (!deepEqual(ao[k], bo[k])) return false;
  }
  return aCount === bCount;
}

/**
 * The member paths of `set` whose values differ between `before` and `after` (leaves compared by
 * value; items and map entries that exist on one side only count as changed).
 */
export function changedPaths(
  set: FieldSet,
  before: unknown,
  after: unknown,
  schema: SchemaNode | undefined,
): FieldSet {
  const out = new FieldSetBuilder();
  walkChanged(set, before, after, schema, out);
  return out.build();
}

function walkChanged(
  set: FieldSet,
  before: unknown,
  after: unknown,
  node: SchemaNode | undefined,
  out: FieldSetBuilder,
): void {
  if (!set.children) return;
  for (const [pe, child] of set.children) {
    const b = valueAt(before, pe, node);
    const a = valueAt(after, pe, node);
    const childNode = schemaAt(node, pe);
    if (child.member) {
      if (!child.children) {
        if (!deepEqual(b, a)) out.child(pe).member = true;
        continue;
      }
      if (b === undefined || a === undefined) {
        if (b !== a) out.child(pe).member = true;
      }
    }
    if (child.children) {
      const sub = new FieldSetBuilder();
      walkChanged(child, b, a, childNode, sub);
      if (sub.children || sub.member) {
        const target = out.child(pe);
        target.children = sub.children;
        target.member ||= sub.member;
      }
    }
  }
}
