/**
 * The comparison at the heart of the diff: desired vs live *restricted to the fields desired
 * sets*, the way server-side apply sees an object.
 *
 * An apply only says something about the fields in its configuration; everything else (server
 * defaults, fields other controllers set) is not the applier's business. So a field absent from
 * desired is "don't care", with one exception that SSA itself makes: a field the live object says
 * *we* own (managedFields, our field managers) that desired no longer sets will be removed by the
 * next apply, so it is drift. List semantics follow Kubernetes: list-maps (containers by name,
 * ports by port+protocol, env by name, ...; or any list managedFields shows with `k:` keys) are
 * matched by key and extra live items do not count; sets (`v:`) by value; other lists are atomic
 * and compared position by position, still ignoring defaulted fields inside their items.
 *
 * Fields a respected foreign manager owns (and we do not) are never drift: the HPA's
 * `spec.replicas`, the rollout controller's router weights and selectors (argo-rollouts #3854).
 *
 * Values are compared after normalisation: quantities by value in resource positions
 * (`1000m` == `1`, argo-cd #17682), a zero value in desired equals an absent live field (the API
 * drops `omitempty` zero values), and `null` / `{}` / `[]` in desired equal an absent live field.
 *
 * The walk returns the two sides it compared, so that what is shown is exactly what was compared:
 * an empty shown diff can never come with "OutOfSync" (argo-cd #15898).
 */
import {
  type FieldNode,
  fieldChild,
  indexChild,
  isLeaf,
  isSetList,
  keyChild,
  listMapKeys,
  valueChild,
} from "./managed-fields.js";
import { isPlainObject } from "./object.js";
import { quantitiesEqual } from "./quantity.js";

/** Ownership trees for one live object (see managed-fields.ts). */
export interface Ownership {
  /** Union of our field managers' sets (`slipway-controller`). */
  ours?: FieldNode;
  /** Union of every other manager's set. */
  others?: FieldNode;
  /** Union of the foreign managers whose fields are never drift. */
  respected?: FieldNode;
}

export interface CompareOptions {
  /** Compare resource quantities by value (default true). */
  quantities?: boolean;
}

/**
 * Keys of the list-maps of the built-in kinds (the `patchMergeKey` / `listMapKeys` of the
 * Kubernetes API). `ports` is keyed by `containerPort` in a container and by `port` in a Service.
 */
const LIST_MAP_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ["name"],
  initContainers: ["name"],
  ephemeralContainers: ["name"],
  env: ["name"],
  volumes: ["name"],
  volumeMounts: ["mountPath"],
  volumeDevices: ["devicePath"],
  imagePullSecrets: ["name"],
  hostAliases: ["ip"],
  resourceClaims: ["name"],
  schedulingGates: ["name"],
  topologySpreadConstraints: ["topologyKey", "whenUnsatisfiable"],
  ownerReferences: ["uid"],
  conditions: ["type"],
};

/** Lists of scalars with set semantics in the built-in kinds. */
const SET_LISTS = new Set(["finalizers"]);

/** Defaults the API server gives key fields, so `{port: 80}` matches live `{port: 80, protocol: TCP}`. */
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: "TCP" };

/** Field names whose scalar children are resource quantities. */
const QUANTITY_PARENTS = new Set([
  "limits",
  "requests",
  "hard",
  "used",
  "capacity",
  "allocatable",
  "overhead",
  "max",
  "min",
  "default",
  "defaultRequest",
  "maxLimitRequestRatio",
]);
const QUANTITY_FIELDS = new Set(["sizeLimit", "storage"]);

type Pair = [desired: unknown, live: unknown];

interface Ctx {
  quantities: boolean;
}

function child(n: Ownership, pick: (node: FieldNode | undefined) => FieldNode | undefined): Ownership {
  return { ours: pick(n.ours), others: pick(n.others), respected: pick(n.respected) };
}

function isZero(v: unknown): boolean {
  return v === "" || v === false || v === 0;
}

/** `null`, `{}`, `[]`, or objects/lists of only those: says nothing when live is absent. */
function isEmptyDeep(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.every(isEmptyDeep);
  if (isPlainObject(v)) return Object.values(v).every(isEmptyDeep);
  return false;
}

/** Copy without `null` members (a manifest's `creationTimestamp: null` says nothing). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function listKeys(
  name: string | undefined,
  d: unknown[],
  l: unknown[],
  n: Ownership,
): readonly string[] | undefined {
  const fromManagedFields = listMapKeys(n.ours, n.others, n.respected);
  if (fromManagedFields) return fromManagedFields;
  if (name === "ports") {
    const items = [...d, ...l].filter(isPlainObject);
    if (items.length === 0) return undefined;
    if (items.every((i) => i.containerPort !== undefined)) return ["containerPort", "protocol"];
    if (items.every((i) => i.port !== undefined)) return ["port", "protocol"];
    return undefined;
  }
  return name ? LIST_MAP_KEYS[name] : undefined;
}

/** The key of a list-map item as managedFields spells it, or undefined when a key field is missing. */
function keyOf(item: unknown, keys: readonly string[]): Record<string, unknown> | undefined {
  if (!isPlainObject(item)) return undefined;
  const key: Record<string, unknown> = {};
  for (const k of keys) {
    const v = item[k] ?? KEY_DEFAULTS[k];
    if (v === undefined || v === null) return undefined;
    key[k] = v;
  }
  return key;
}

function keyString(key: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k]]),
  );
}

function isScalar(v: unknown): boolean {
  return v === null || (typeof v !== "object" && v !== undefined);
}

/**
 * The part of a live value desired does not mention that the next apply would still change:
 * the fields only our managers own. undefined when there is none.
 */
function remainder(l: unknown, n: Ownership, name: string | undefined): unknown {
  if (l === undefined || !n.ours) return undefined;
  if (isLeaf(n.ours)) return n.others ? undefined : l;
  if (n.ours.self && !n.others) return l;
  if (isPlainObject(l)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(l)) {
      const r = remainder(
        v,
        child(n, (x) => fieldChild(x, k)),
        k,
      );
      if (r !== undefined) out[k] = r;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (Array.isArray(l)) {
    const keys = listKeys(name, [], l, n);
    const out: unknown[] = [];
    l.forEach((item, i) => {
      let r: unknown;
      const key = keys ? keyOf(item, keys) : undefined;
      if (key)
        r = remainder(
          item,
          child(n, (x) => keyChild(x, key)),
          name,
        );
      else if (isScalar(item))
        r = remainder(
          item,
          child(n, (x) => valueChild(x, item)),
          name,
        );
      else
        r = remainder(
          item,
          child(n, (x) => indexChild(x, i)),
          name,
        );
      if (r !== undefined) out.push(r);
    });
    return out.length > 0 ? out : undefined;
  }
  return undefined;
}

function walk(
  d: unknown,
  l: unknown,
  n: Ownership,
  name: string | undefined,
  parent: string | undefined,
  ctx: Ctx,
): Pair {
  // A value a respected foreign manager owns outright, and we do not, is theirs: never drift.
  if (n.respected && isLeaf(n.respected) && !n.ours) return [undefined, undefined];
  if (d === undefined) return [undefined, remainder(l, n, name)];
  if (d === null) return [undefined, undefined];

  if (isPlainObject(d)) {
    if (!isPlainObject(l)) {
      if ((l === undefined || l === null) && isEmptyDeep(d)) return [undefined, undefined];
      return [dropNulls(d), l];
    }
    const od: Record<string, unknown> = {};
    const ol: Record<string, unknown> = {};
    for (const [k, dv] of Object.entries(d)) {
      const [a, b] = walk(
        dv,
        l[k],
        child(n, (x) => fieldChild(x, k)),
        k,
        name,
        ctx,
      );
      if (a !== undefined) od[k] = a;
      if (b !== undefined) ol[k] = b;
    }
    for (const [k, lv] of Object.entries(l)) {
      if (Object.hasOwn(d, k)) continue;
      const r = remainder(
        lv,
        child(n, (x) => fieldChild(x, k)),
        k,
      );
      if (r !== undefined) ol[k] = r;
    }
    return [od, ol];
  }

  if (Array.isArray(d)) {
    if (!Array.isArray(l)) {
      if ((l === undefined || l === null) && isEmptyDeep(d)) return [undefined, undefined];
      return [dropNulls(d), l];
    }
    const keys = listKeys(name, d, l, n);
    if (keys && d.every((item) => keyOf(item, keys) !== undefined))
      return walkListMap(d, l, keys, n, name, ctx);
    if (d.every(isScalar) && (SET_LISTS.has(name ?? "") || isSetList(n.ours, n.others, n.respected))) {
      return walkSet(d, l, n, name);
    }
    return walkAtomic(d, l, n, name, ctx);
  }

  // Scalars.
  if (l === undefined || l === null) return isZero(d) ? [undefined, undefined] : [d, undefined];
  if (d === l) return [d, l];
  if (
    ctx.quantities &&
    (typeof d === "string" || typeof d === "number") &&
    (typeof l === "string" || typeof l === "number") &&
    (QUANTITY_FIELDS.has(name ?? "") || QUANTITY_PARENTS.has(parent ?? "")) &&
    quantitiesEqual(d, l)
  ) {
    return [l, l];
  }
  return [d, l];
}

function walkListMap(
  d: unknown[],
  l: unknown[],
  keys: readonly string[],
  n: Ownership,
  name: string | undefined,
  ctx: Ctx,
): Pair {
  const liveIndex = new Map<string, number>();
  l.forEach((item, i) => {
    const key = keyOf(item, keys);
    if (key && !liveIndex.has(keyString(key))) liveIndex.set(keyString(key), i);
  });
  const used = new Set<number>();
  const od: unknown[] = [];
  const ol: unknown[] = [];
  for (const item of d) {
    const key = keyOf(item, keys)!;
    const li = liveIndex.get(keyString(key));
    const itemNodes = child(n, (x) => keyChild(x, key));
    if (li === undefined || used.has(li)) {
      od.push(dropNulls(item));
      continue;
    }
    used.add(li);
    const [a, b] = walk(item, l[li], itemNodes, name, name, ctx);
    if (a !== undefined || b !== undefined) {
      od.push(a ?? {});
      ol.push(b ?? {});
    }
  }
  l.forEach((item, i) => {
    if (used.has(i)) return;
    const key = keyOf(item, keys);
    const r = key
      ? remainder(
          item,
          child(n, (x) => keyChild(x, key)),
          name,
        )
      : undefined;
    if (r !== undefined) ol.push(r);
  });
  return [od, ol];
}

function walkSet(d: unknown[], l: unknown[], n: Ownership, name: string | undefined): Pair {
  const inLive = (v: unknown) => l.some((x) => x === v);
  const od = d.filter((v, i) => d.indexOf(v) === i);
  const ol = od.filter(inLive);
  for (const v of l) {
    if (od.includes(v)) continue;
    const r = remainder(
      v,
      child(n, (x) => valueChild(x, v)),
      name,
    );
    if (r !== undefined) ol.push(r);
  }
  return [od, ol];
}

function walkAtomic(d: unknown[], l: unknown[], n: Ownership, name: string | undefined, ctx: Ctx): Pair {
  const od: unknown[] = [];
  const ol: unknown[] = [];
  const common = Math.min(d.length, l.length);
  for (let i = 0; i < common; i++) {
    const [a, b] = walk(
      d[i],
      l[i],
      child(n, (x) => indexChild(x, i)),
      name,
      name,
      ctx,
    );
    // Keep positions aligned: an element both sides agree to ignore still occupies its slot.
    od.push(a === undefined ? null : a);
    ol.push(b === undefined ? null : b);
  }
  for (let i = common; i < d.length; i++) od.push(dropNulls(d[i]));
  for (let i = common; i < l.length; i++) ol.push(l[i]);
  return [od, ol];
}

/**
 * Compares one desired value with one live value and returns both sides restricted to what was
 * compared. Equal inputs give deep-equal outputs; any difference in a compared field survives.
 */
export function comparePair(
  desired: unknown,
  live: unknown,
  ownership: Ownership = {},
  options: CompareOptions = {},
): Pair {
  return walk(desired, live, ownership, undefined, undefined, { quantities: options.quantities ?? true });
}

/**
 * Removes from an apply configuration, in place, the fields respected foreign managers own and we
 * do not, so that an apply never takes them back ("never healed"). Works on the same list
 * semantics as the comparison.
 */
export function dropForeignOwned(desired: unknown, ownership: Ownership, name?: string): unknown {
  const n = ownership;
  if (n.respected && isLeaf(n.respected) && !n.ours) return undefined;
  if (!n.respected) return desired;
  if (isPlainObject(desired)) {
    for (const k of Object.keys(desired)) {
      const kept = dropForeignOwned(
        desired[k],
        child(n, (x) => fieldChild(x, k)),
        k,
      );
      if (kept === undefined) delete desired[k];
      else desired[k] = kept;
    }
    return desired;
  }
  if (Array.isArray(desired)) {
    const keys = listKeys(name, desired, [], n);
    const out: unknown[] = [];
    desired.forEach((item, i) => {
      const key = keys ? keyOf(item, keys) : undefined;
      const sub = key
        ? child(n, (x) => keyChild(x, key))
        : isScalar(item)
          ? child(n, (x) => valueChild(x, item))
          : child(n, (x) => indexChild(x, i));
      const kept = dropForeignOwned(item, sub, name);
      if (kept !== undefined) out.push(kept);
    });
    return out;
  }
  return desired;
}
