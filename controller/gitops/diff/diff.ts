/**
 * `diffResource`: is a live object out of sync with its desired manifest, and what is the diff?
 *
 * The shape follows gitops-engine's `diff.Diff(config, live, opts)` (a pure function, normalisers
 * as options), the comparison is the server-side-apply view described in normalize.ts, and the
 * result obeys one rule the issue sets: `modified` is true exactly when the shown diff is non-empty
 * (argo-cd #15898, "OutOfSync with an empty diff"). Both are computed from the same normalised
 * texts, so they cannot disagree.
 */
import type { Operation } from "fast-json-patch";
import fastJsonPatch from "fast-json-patch";
import { stringify } from "yaml";
import { ANNOTATION_SPELLINGS, FIELD_MANAGER, LAST_APPLIED_CONFIGURATION } from "../sync/annotations.js";
import {
  ignoredManagers,
  matchingIgnoreRules,
  type ResourceIgnoreDifferences,
  removeIgnoredFields,
} from "./ignore.js";
import { compileJqPath } from "./jq-path.js";
import { parseJsonPointer, removePaths } from "./json-pointer.js";
import { ownershipTree } from "./managed-fields.js";
import { comparePair, dropForeignOwned, dropNulls, type Ownership } from "./normalize.js";
import {
  cloneJson,
  deepEqual,
  groupOf,
  isPlainObject,
  type KubeObject,
  type ManagedFieldsEntry,
} from "./object.js";
import { maskSecrets, normalizeSecretData } from "./secret.js";
import { unifiedDiff } from "./unified.js";

/**
 * Field manager of slipway's rollout logic. It must differ from FIELD_MANAGER: the GitOps diff
 * respects the rollout controller's fields only because they are recorded under another name.
 */
export const ROLLOUTS_FIELD_MANAGER = "slipway-rollouts";

/**
 * Foreign managers whose fields never count as drift unless the app says otherwise:
 * `kube-controller-manager` (the HPA writes `spec.replicas` through the scale subresource),
 * slipway's rollout logic, and Argo Rollouts' controller.
 */
export const DEFAULT_RESPECTED_MANAGERS: readonly string[] = [
  "kube-controller-manager",
  ROLLOUTS_FIELD_MANAGER,
  "argo-rollouts",
  "rollouts-controller",
];

/** Metadata the API server maintains; never part of a comparison. */
const SERVER_METADATA = [
  "managedFields",
  "resourceVersion",
  "uid",
  "generation",
  "creationTimestamp",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
] as const;

/** Annotations that say how an object was applied, not what it should be. */
const BOOKKEEPING_ANNOTATIONS: readonly string[] = [
  LAST_APPLIED_CONFIGURATION,
  ...ANNOTATION_SPELLINGS.trackingId,
];

export interface DiffOptions {
  /** The app's `spec.ignoreDifferences`; rules that do not match the resource are skipped. */
  ignoreDifferences?: readonly ResourceIgnoreDifferences[];
  /** Managers whose fields are ours (default `[slipway-controller]`). */
  ourManagers?: readonly string[];
  /** Foreign managers whose fields are never drift (default DEFAULT_RESPECTED_MANAGERS). */
  respectManagers?: readonly string[];
  /** More annotations to leave out of the comparison. */
  ignoreAnnotations?: readonly string[];
  /** Compare resource quantities by value (default true). */
  normalizeQuantities?: boolean;
  /** Compute the unified diff lines (default true). */
  lines?: boolean;
  /** Context lines around each change in `lines` (default 3). */
  context?: number;
}

export interface DiffResult {
  /** True exactly when `lines` (and `patch`) are non-empty. */
  modified: boolean;
  /** Desired as compared (normalised, Secret values masked); undefined when not desired. */
  normalizedDesired: KubeObject | undefined;
  /** Live as compared, restricted to the compared fields; undefined when missing. */
  normalizedLive: KubeObject | undefined;
  /** RFC 6902 patch from normalizedLive to normalizedDesired (masked). */
  patch?: Operation[];
  /** Unified diff from live to desired, YAML with sorted keys. */
  lines?: string[];
}

function stripBookkeeping(obj: KubeObject, extraAnnotations: readonly string[]): void {
  delete obj.status;
  const meta = obj.metadata;
  if (!isPlainObject(meta)) return;
  for (const f of SERVER_METADATA) delete meta[f];
  if (isPlainObject(meta.annotations)) {
    for (const a of [...BOOKKEEPING_ANNOTATIONS, ...extraAnnotations]) delete meta.annotations[a];
    if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
  }
}

function ownershipOf(
  entries: readonly ManagedFieldsEntry[] | undefined,
  ours: readonly string[],
  respected: readonly string[],
): Ownership {
  const isOurs = (m: string) => ours.includes(m);
  return {
    ours: ownershipTree(entries, isOurs),
    others: ownershipTree(entries, (m) => !isOurs(m)),
    respected: ownershipTree(entries, (m) => !isOurs(m) && respected.includes(m)),
  };
}

function yamlOf(obj: KubeObject | undefined): string {
  return obj === undefined ? "" : stringify(obj, { sortMapEntries: true, lineWidth: 0 });
}

/**
 * Compares a desired manifest with the live object. Either side may be absent: a missing live
 * object (to create) or an undesired one (to prune) is always modified.
 *
 * Never drift: `status`; server-maintained metadata; the last-applied and tracking annotations;
 * fields desired does not set (server defaults, other controllers) unless only our managers own
 * them; fields owned by respected foreign managers; `ignoreDifferences` (jsonPointers,
 * jqPathExpressions, managedFieldsManagers); equal quantities spelled differently. Secret values
 * are masked in everything returned.
 */
export function diffResource(
  desired: KubeObject | undefined,
  live: KubeObject | undefined,
  options: DiffOptions = {},
): DiffResult {
  const ours = options.ourManagers ?? [FIELD_MANAGER];
  const rules = matchingIgnoreRules(options.ignoreDifferences, desired ?? live);
  const respected = [...(options.respectManagers ?? DEFAULT_RESPECTED_MANAGERS), ...ignoredManagers(rules)];
  const extraAnnotations = options.ignoreAnnotations ?? [];

  const d = desired ? (normalizeSecretData(cloneJson(desired)) as KubeObject) : undefined;
  const l = live ? cloneJson(live) : undefined;
  const managedFields = live?.metadata?.managedFields;
  for (const o of [d, l]) {
    if (!o) continue;
    stripBookkeeping(o, extraAnnotations);
    removeIgnoredFields(o, rules);
  }
  // The cache may hold the object at another version of the same group; compare the fields.
  if (d && l && groupOf(d.apiVersion) === groupOf(l.apiVersion)) l.apiVersion = d.apiVersion;

  let nd: KubeObject | undefined;
  let nl: KubeObject | undefined;
  if (d && l) {
    const [a, b] = comparePair(d, l, ownershipOf(managedFields, ours, respected), {
      quantities: options.normalizeQuantities ?? true,
    });
    nd = (a ?? {}) as KubeObject;
    nl = (b ?? {}) as KubeObject;
  } else {
    nd = d ? (dropNulls(d) as KubeObject) : undefined;
    nl = l;
  }

  const [md, ml] = maskSecrets(nd, nl);
  // Structural equality decides; YAML (costly for hundreds of resources per pass) only for shown diffs.
  const modified = !deepEqual(md, ml);
  const result: DiffResult = { modified, normalizedDesired: md, normalizedLive: ml };
  result.patch = modified ? fastJsonPatch.compare(ml ?? {}, md ?? {}) : [];
  if (options.lines ?? true) {
    result.lines = modified
      ? unifiedDiff(yamlOf(ml), yamlOf(md), { fromFile: "live", toFile: "desired", context: options.context })
      : [];
  }
  return result;
}

/**
 * The configuration to server-side apply for a desired manifest, honouring what the diff
 * ignores so that a sync never "heals" it (argo-cd #7820, argo-rollouts #3854):
 * - fields named by matching `ignoreDifferences` pointers / jq paths take the live value (or are
 *   left out when live has none), as Argo CD's `RespectIgnoreDifferences=true`;
 * - fields respected foreign managers own (and we do not) are left out, so the apply neither
 *   conflicts with nor takes them from the HPA or the rollout controller.
 * `managedFieldsManagers` rules count as respected managers here too. Returns a copy.
 */
export function prepareDesiredForApply(
  desired: KubeObject,
  live: KubeObject | undefined,
  options: Pick<DiffOptions, "ignoreDifferences" | "ourManagers" | "respectManagers"> = {},
): KubeObject {
  const out = cloneJson(desired);
  if (!live) return out;
  const rules = matchingIgnoreRules(options.ignoreDifferences, desired);
  const paths: (string | number)[][] = [];
  for (const rule of rules) {
    for (const pointer of rule.jsonPointers ?? []) paths.push(parseJsonPointer(pointer));
    for (const expr of rule.jqPathExpressions ?? []) paths.push(...compileJqPath(expr).paths(out));
  }
  const toRemove: (string | number)[][] = [];
  for (const path of paths) {
    const liveValue = getPath(live, path);
    if (liveValue === undefined || !setPath(out, path, cloneJson(liveValue))) toRemove.push(path);
  }
  removePaths(out, toRemove);
  const ours = options.ourManagers ?? [FIELD_MANAGER];
  const respected = [...(options.respectManagers ?? DEFAULT_RESPECTED_MANAGERS), ...ignoredManagers(rules)];
  const ownership = ownershipOf(live.metadata?.managedFields, ours, respected);
  // Identity fields stay whoever owns them: an apply without them is not an apply.
  const { apiVersion, kind, metadata } = out;
  const kept = (dropForeignOwned(out, ownership) ?? {}) as KubeObject;
  kept.apiVersion = apiVersion;
  kept.kind = kind;
  if (metadata) kept.metadata = { ...kept.metadata, name: metadata.name, namespace: metadata.namespace };
  if (kept.metadata?.namespace === undefined) delete kept.metadata?.namespace;
  return kept;
}

function getPath(doc: unknown, path: readonly (string | number)[]): unknown {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === "number") cur = cur[seg];
    else if (Array.isArray(cur) && /^\d+$/.test(String(seg))) cur = cur[Number(seg)];
    else if (isPlainObject(cur)) cur = cur[String(seg)];
    else return undefined;
  }
  return cur;
}

function setPath(doc: unknown, path: readonly (string | number)[], value: unknown): boolean {
  if (path.length === 0) return false;
  const parent = getPath(doc, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) return false;
    parent[i] = value;
    return true;
  }
  if (isPlainObject(parent)) {
    parent[String(last)] = value;
    return true;
  }
  return false;
}
