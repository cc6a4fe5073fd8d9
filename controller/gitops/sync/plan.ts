/**
 * `planSync`: from the rendered manifests and the live objects to the ordered work of one sync
 * operation, gitops-engine style (`pkg/sync/sync_context.go` + `sync_tasks.go`): tasks sorted by
 * phase (PreSync → Sync → PostSync), wave, kind and name; SyncFail hooks aside; prune candidates
 * from this app's tracking ids only; and the prune safety rules the issue adds.
 *
 * Pure: the caller passes everything in (desired, live, options, the in-sync set) and executes the
 * plan with `nextSyncStep` (step.ts), which needs nothing but the plan and the recorded results.
 */
import type { ResourceRef, ResourceResult, SyncPhase } from "../../../api/v1alpha1/application.js";
import { type DiffOptions, diffResource, prepareDesiredForApply } from "../diff/diff.js";
import {
  describeResource,
  groupOf,
  identityOf,
  type KubeObject,
  type ResourceIdentity,
  resourceKey,
} from "../diff/object.js";
import { HOOK_SYNC_ID } from "./annotations.js";
import { type PlanProblem, SyncPlanError } from "./errors.js";
import { type HookDeletePolicy, type HookType, hookDeletePoliciesOf, hookTypesOf } from "./hooks.js";
import { mergeSyncOptions, parseSyncOptions, resourceSyncOptions, type SyncOptions } from "./options.js";
import { kindRank, phaseRank, waveOf } from "./ordering.js";
import { isTrackedBy, trackingAppOf, withTrackingId } from "./tracking.js";

/** Kinds that are cluster-scoped in every cluster; anything else is assumed namespaced. */
const CLUSTER_SCOPED = new Set([
  "/Namespace",
  "/Node",
  "/PersistentVolume",
  "/ComponentStatus",
  "storage.k8s.io/StorageClass",
  "storage.k8s.io/CSIDriver",
  "storage.k8s.io/CSINode",
  "storage.k8s.io/VolumeAttachment",
  "apiextensions.k8s.io/CustomResourceDefinition",
  "apiregistration.k8s.io/APIService",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicy",
  "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding",
  "scheduling.k8s.io/PriorityClass",
  "networking.k8s.io/IngressClass",
  "node.k8s.io/RuntimeClass",
  "certificates.k8s.io/CertificateSigningRequest",
  "flowcontrol.apiserver.k8s.io/FlowSchema",
  "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration",
  "policy/PodSecurityPolicy",
  "gateway.networking.k8s.io/GatewayClass",
  "slipway.dev/ClusterAnalysisTemplate",
  "argoproj.io/ClusterAnalysisTemplate",
]);

/** Built-in scope knowledge, for callers without discovery. */
export function isNamespacedKind(group: string, kind: string): boolean {
  return !CLUSTER_SCOPED.has(`${group}/${kind}`);
}

export interface SyncPlanInput {
  /** Application name: the `<app>` of tracking ids. */
  app: string;
  /** Rendered manifests. */
  desired: readonly KubeObject[];
  /** Live objects that may belong to the app (the informer cache's view); only tracked ones are pruned. */
  live: readonly KubeObject[];
  /** `spec.destination.namespace`: namespace of namespaced manifests that name none. */
  destinationNamespace?: string;
  /** App-level options: `spec.syncPolicy.syncOptions` then `operation.sync.syncOptions`. */
  syncOptions?: readonly string[];
  /** Prune resources that are no longer desired (`operation.sync.prune` / `automated.prune`). */
  prune?: boolean;
  /** Allow a sync whose render is empty to prune everything (`automated.allowEmpty`). */
  allowEmpty?: boolean;
  /** Set when rendering failed: the plan is refused, nothing is applied or pruned. */
  renderError?: string;
  /** Selective sync (`operation.sync.resources`): only these; hooks do not run. */
  resources?: readonly ResourceRef[];
  /** `apply` skips hooks (Argo's `syncStrategy.apply`); default `hook`. */
  syncStrategy?: "hook" | "apply";
  /**
   * Per-operation id (unique per sync operation, e.g. derived from `operationState.startedAt`).
   * Names hooks that only have `generateName`, and is stamped on hooks so that a restarted
   * controller recognises the hooks this operation already created. Without it hooks are named
   * with `sync` and a hook created just before a crash runs again.
   */
  syncId?: string;
  /**
   * The running operation's recorded results (`status.operationState.syncResult.resources`). A
   * plan rebuilt after a restart keeps every resource that already has a result, so
   * ApplyOutOfSyncOnly does not drop what this operation applied (and must still wait for).
   */
  results?: readonly ResourceResult[];
  /** Resource keys (`group/kind/namespace/name`) known to be in sync, for ApplyOutOfSyncOnly. */
  inSync?: Iterable<string>;
  /**
   * The app's diff settings (`ignoreDifferences`, managers): decide "in sync" when `inSync` is not
   * given, and shape what is applied (see RespectIgnoreDifferences).
   */
  diffOptions?: DiffOptions;
  /** Prunes allowed without confirmation (`--prune-budget N`); default half the app's resources. */
  pruneBudget?: number;
  /** Scope from discovery; undefined answers fall back to isNamespacedKind. */
  isNamespaced?: (group: string, kind: string) => boolean | undefined;
}

export type TaskAction = "apply" | "prune";

export interface SyncTask extends ResourceIdentity {
  /** `<phase>:<group>/<kind>/<namespace>/<name>`: unique in a plan, the key of its result. */
  id: string;
  phase: SyncPhase;
  wave: number;
  action: TaskAction;
  apiVersion?: string;
  hookType?: HookType;
  hookDeletePolicies?: HookDeletePolicy[];
  /** What to apply: the manifest with namespace and tracking id set. */
  object?: KubeObject;
  /** The live object, when the resource exists. */
  live?: KubeObject;
  /** App options overlaid with the resource's own. */
  options: SyncOptions;
  /** `Prune=confirm`: pruning waits for approval. */
  requiresPruneConfirmation?: boolean;
  /** A hook whose live instance this same operation created (its HOOK_SYNC_ID matches). */
  createdByThisOperation?: boolean;
}

export type SkipReason =
  | "in-sync"
  | "prune-disabled"
  | "prune-false"
  | "prune-blocked"
  | "skip-hook"
  | "hooks-skipped"
  | "deletion-hook";

export interface SkippedResource extends ResourceIdentity {
  reason: SkipReason;
  message: string;
  /** The result an operation records for it (Argo records `PruneSkipped` for unpruned extras). */
  result?: "PruneSkipped";
}

export interface PruneBudget {
  /** Prune tasks in the plan. */
  prunes: number;
  /** The app's live resources (tracked, not hooks). */
  resources: number;
  /** Prunes allowed without confirmation. */
  limit: number;
  /** False when the app opted out (`PruneBudget=disabled`). */
  enforced: boolean;
}

export interface SyncPlan {
  app: string;
  /** Ordered: phase, wave, kind, name. */
  tasks: SyncTask[];
  /** Run only when the operation fails. */
  syncFailTasks: SyncTask[];
  skipped: SkippedResource[];
  /** Why nothing at all may happen (a failed render). */
  refused?: string;
  /** Why prune candidates are not pruned (empty render without allowEmpty). */
  pruneBlocked?: string;
  pruneBudget: PruneBudget;
  /** The budget is exceeded or a resource says `Prune=confirm`: wait for approval before starting. */
  needsPruneConfirmation: boolean;
  confirmationMessage?: string;
  options: SyncOptions;
  warnings: string[];
}

function refMatches(ref: ResourceRef, id: ResourceIdentity): boolean {
  return (
    (ref.group ?? "") === id.group &&
    ref.kind === id.kind &&
    ref.name === id.name &&
    (ref.namespace === undefined || ref.namespace === "" || ref.namespace === id.namespace)
  );
}

function taskId(phase: SyncPhase, id: ResourceIdentity): string {
  return `${phase}:${resourceKey(id)}`;
}

/** The key under which a result is recorded; matches `SyncTask.id`. */
export function resultKey(r: ResourceResult): string {
  return `${r.syncPhase ?? "Sync"}:${r.group ?? ""}/${r.kind}/${r.namespace ?? ""}/${r.name}`;
}

/** The `status.operationState.syncResult.resources[]` entry for a task. */
export function taskResult(
  task: SyncTask,
  status: NonNullable<ResourceResult["status"]>,
  message?: string,
  hookPhase?: string,
): ResourceResult {
  return {
    group: task.group,
    kind: task.kind,
    name: task.name,
    namespace: task.namespace,
    ...(task.apiVersion ? { version: task.apiVersion.split("/").pop() } : {}),
    status,
    ...(message ? { message } : {}),
    ...(task.hookType ? { hookType: task.hookType } : {}),
    ...(hookPhase ? { hookPhase } : {}),
    syncPhase: task.phase,
  };
}

/**
 * What to send for a desired resource: the manifest with this app's tracking id, and, unless the
 * app sets `RespectIgnoreDifferences=false`, without the fields the diff ignores (their live values
 * are kept) or that respected foreign managers own, so a sync never "heals" what the diff says is
 * not drift (argo-cd #7820, argo-rollouts #3854). Argo CD makes this opt-in; slipway makes it the
 * default. `Replace=true` sends the whole object, so only the ignoreDifferences part applies there.
 */
function applyConfiguration(
  input: SyncPlanInput,
  obj: KubeObject,
  live: KubeObject | undefined,
  options: SyncOptions,
): KubeObject {
  const tracked = withTrackingId(input.app, obj);
  if (!live || options.respectIgnoreDifferences === false) return tracked;
  const diffOptions = input.diffOptions ?? {};
  return prepareDesiredForApply(tracked, live, {
    ...diffOptions,
    ...(options.replace ? { respectManagers: [] } : {}),
  });
}

function stampHook(obj: KubeObject, syncId: string): KubeObject {
  return {
    ...obj,
    metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [HOOK_SYNC_ID]: syncId } },
  };
}

function compareTasks(a: SyncTask, b: SyncTask): number {
  return (
    phaseRank(a.phase) - phaseRank(b.phase) ||
    a.wave - b.wave ||
    // Within a wave gitops-engine runs the prunes first, then the applies.
    (a.action === b.action ? 0 : a.action === "prune" ? -1 : 1) ||
    // Deleting runs the kind order backwards: workloads before the config and namespaces they use.
    (a.action === "prune" ? -1 : 1) * (kindRank(a.kind) - kindRank(b.kind)) ||
    a.name.localeCompare(b.name) ||
    a.namespace.localeCompare(b.namespace) ||
    a.group.localeCompare(b.group)
  );
}

/**
 * Plans one sync. Throws SyncPlanError (naming each resource) for input that cannot be synced:
 * a manifest without apiVersion, kind or name; a sync-wave that is not an integer; an unknown hook
 * type; the same resource twice; a resource another app tracks when `FailOnSharedResource=true`
 * (otherwise that is a warning, Argo CD's SharedResourceWarning).
 */
export function planSync(input: SyncPlanInput): SyncPlan {
  const parsed = parseSyncOptions(input.syncOptions);
  const appOptions = parsed.options;
  const warnings = parsed.unknown.map((o) => `unknown sync option ${JSON.stringify(o)} ignored`);
  const emptyBudget: PruneBudget = { prunes: 0, resources: 0, limit: 0, enforced: false };
  const base = { app: input.app, options: appOptions, warnings };

  if (input.renderError !== undefined) {
    return {
      ...base,
      tasks: [],
      syncFailTasks: [],
      skipped: [],
      refused: `manifests could not be rendered, nothing is applied or pruned: ${input.renderError}`,
      pruneBudget: emptyBudget,
      needsPruneConfirmation: false,
    };
  }

  const namespaced = (group: string, kind: string) =>
    input.isNamespaced?.(group, kind) ?? isNamespacedKind(group, kind);
  const problems: PlanProblem[] = [];
  const skipped: SkippedResource[] = [];
  const tasks: SyncTask[] = [];
  const syncFailTasks: SyncTask[] = [];
  const syncId = (input.syncId ?? "sync").toLowerCase();
  const runHooks = input.syncStrategy !== "apply" && !input.resources;

  const liveByKey = new Map<string, KubeObject>();
  for (const obj of input.live) liveByKey.set(resourceKey(obj), obj);
  const inSync = input.inSync ? new Set(input.inSync) : undefined;
  const recorded = new Set((input.results ?? []).map(resultKey));

  // 1. Desired objects: validate, default the namespace, split hooks from resources.
  const desiredKeys = new Map<string, string>();
  let desiredResources = 0;
  for (const raw of input.desired) {
    if (!raw.apiVersion || !raw.kind) {
      problems.push({
        resource: identityOf(raw),
        message: `${describeResource(raw)}: manifest has no apiVersion or kind`,
      });
      continue;
    }
    let obj = raw;
    const group = groupOf(raw.apiVersion);
    if (!raw.metadata?.namespace && input.destinationNamespace && namespaced(group, raw.kind)) {
      obj = { ...raw, metadata: { ...raw.metadata, namespace: input.destinationNamespace } };
    }
    const where = describeResource(obj);
    const hooks = hookTypesOf(obj);
    for (const u of hooks.unknown)
      problems.push({ resource: identityOf(obj), message: `${where}: unknown hook type "${u}"` });
    const w = waveOf(obj);
    if ("error" in w) {
      problems.push({ resource: identityOf(obj), message: `${describeResource(obj)}: ${w.error}` });
      continue;
    }
    const isHookObj = hooks.types.length > 0;
    const name = obj.metadata?.name;
    if (!name && !(isHookObj && obj.metadata?.generateName)) {
      problems.push({ resource: identityOf(obj), message: `${where}: manifest has no metadata.name` });
      continue;
    }

    if (!isHookObj) {
      const key = resourceKey(obj);
      if (desiredKeys.has(key)) {
        problems.push({
          resource: identityOf(obj),
          message: `${describeResource(obj)} is defined more than once`,
        });
        continue;
      }
      desiredKeys.set(key, "resource");
      desiredResources++;
      const id = identityOf(obj);
      if (input.resources && !input.resources.some((r) => refMatches(r, id))) continue;
      const live = liveByKey.get(key);
      const options = mergeSyncOptions(appOptions, resourceSyncOptions(obj).options);
      if (options.applyOutOfSyncOnly && live && !recorded.has(taskId("Sync", id))) {
        const synced = inSync ? inSync.has(key) : !diffResource(obj, live, input.diffOptions).modified;
        if (synced) {
          skipped.push({ ...id, reason: "in-sync", message: "in sync (ApplyOutOfSyncOnly)" });
          continue;
        }
      }
      const owner = live ? trackingAppOf(live) : undefined;
      if (owner !== undefined && owner !== input.app) {
        const message = `${describeResource(obj)} is also managed by app "${owner}"`;
        if (options.failOnSharedResource) {
          problems.push({ resource: id, message: `${message} (FailOnSharedResource=true)` });
          continue;
        }
        warnings.push(message);
      }
      tasks.push({
        ...id,
        id: taskId("Sync", id),
        phase: "Sync",
        wave: w.wave,
        action: "apply",
        apiVersion: obj.apiVersion,
        object: applyConfiguration(input, obj, live, options),
        ...(live ? { live } : {}),
        options,
      });
      continue;
    }

    // Hooks.
    const id0 = identityOf(obj);
    if (hooks.types.includes("Skip")) {
      skipped.push({ ...id0, reason: "skip-hook", message: "hook type Skip: not synced" });
      continue;
    }
    for (const type of hooks.types) {
      if (type === "PreDelete" || type === "PostDelete") {
        skipped.push({
          ...id0,
          reason: "deletion-hook",
          message: `${type} hooks run only when the app is deleted`,
        });
        continue;
      }
      if (!runHooks) {
        skipped.push({
          ...id0,
          reason: "hooks-skipped",
          message: input.resources
            ? "hooks do not run in a selective sync"
            : "hooks do not run with the apply strategy",
        });
        continue;
      }
      const phase = type as SyncPhase;
      let hookObj = obj;
      if (!name) {
        const generated = `${obj.metadata!.generateName}${syncId}-${phase}-${w.wave}`.toLowerCase();
        const { generateName: _g, ...meta } = obj.metadata!;
        hookObj = { ...obj, metadata: { ...meta, name: generated } };
      }
      const id = identityOf(hookObj);
      const key = resourceKey(id);
      if (desiredKeys.get(key) === "resource") {
        problems.push({ resource: id, message: `${describeResource(id)} is both a hook and a resource` });
        continue;
      }
      if (desiredKeys.has(`${phase}:${key}`)) {
        problems.push({
          resource: id,
          message: `${describeResource(id)} is defined more than once as a ${phase} hook`,
        });
        continue;
      }
      desiredKeys.set(`${phase}:${key}`, "hook");
      desiredKeys.set(key, desiredKeys.get(key) ?? "hook");
      const live = liveByKey.get(key);
      const stamped = input.syncId ? stampHook(hookObj, input.syncId) : hookObj;
      const ours = input.syncId !== undefined && live?.metadata?.annotations?.[HOOK_SYNC_ID] === input.syncId;
      const task: SyncTask = {
        ...id,
        id: taskId(phase, id),
        phase,
        wave: w.wave,
        action: "apply",
        apiVersion: hookObj.apiVersion,
        hookType: type,
        hookDeletePolicies: hookDeletePoliciesOf(hookObj),
        object: withTrackingId(input.app, stamped),
        ...(live ? { live } : {}),
        options: mergeSyncOptions(appOptions, resourceSyncOptions(hookObj).options),
        ...(ours ? { createdByThisOperation: true } : {}),
      };
      (phase === "SyncFail" ? syncFailTasks : tasks).push(task);
    }
  }
  if (problems.length > 0) throw new SyncPlanError(problems);

  // 2. Prune candidates: live objects with this app's tracking id that are not desired.
  const tracked = input.live.filter(
    (o) =>
      isTrackedBy(input.app, o) &&
      hookTypesOf(o).types.length === 0 &&
      !(o.metadata?.ownerReferences ?? []).some((r) => r.controller === true),
  );
  const emptyRender = desiredResources === 0;
  const pruneBlocked =
    emptyRender && !input.allowEmpty && tracked.some((o) => !desiredKeys.has(resourceKey(o)))
      ? "the manifests are empty; nothing is pruned unless the app allows empty syncs (allowEmpty)"
      : undefined;
  const pruneTasks: SyncTask[] = [];
  for (const live of tracked) {
    const key = resourceKey(live);
    if (desiredKeys.has(key)) continue;
    const id = identityOf(live);
    if (input.resources && !input.resources.some((r) => refMatches(r, id))) continue;
    const options = mergeSyncOptions(appOptions, resourceSyncOptions(live).options);
    if (pruneBlocked) {
      skipped.push({ ...id, reason: "prune-blocked", message: pruneBlocked, result: "PruneSkipped" });
      continue;
    }
    if (options.prune === "false") {
      skipped.push({
        ...id,
        reason: "prune-false",
        message: "ignored (no prune: Prune=false)",
        result: "PruneSkipped",
      });
      continue;
    }
    if (!input.prune) {
      skipped.push({
        ...id,
        reason: "prune-disabled",
        message: "ignored (requires pruning)",
        result: "PruneSkipped",
      });
      continue;
    }
    const w = waveOf(live);
    if ("error" in w) warnings.push(`${describeResource(live)}: ${w.error}; pruned in wave 0`);
    pruneTasks.push({
      ...id,
      id: taskId("Sync", id),
      phase: "Sync",
      wave: "wave" in w ? w.wave : 0,
      action: "prune",
      apiVersion: live.apiVersion,
      live,
      options,
      ...(options.prune === "confirm" ? { requiresPruneConfirmation: true } : {}),
    });
  }

  // 3. Prunes run in reverse wave order: wave w prunes in wave -w. gitops-engine instead swaps
  //    the prune waves present symmetrically ([-2, 0, 3] → [3, 0, -2]); that mapping depends on
  //    which prunes are left, so a plan rebuilt after a restart (some prunes done) would reorder
  //    the rest. Mirroring keeps the same reverse order and depends on the object alone.
  //    PruneLast moves a prune after the last wave of the Sync phase.
  for (const t of pruneTasks) t.wave = t.wave === 0 ? 0 : -t.wave;
  const lastSyncWave = Math.max(
    0,
    ...[...tasks, ...pruneTasks].filter((t) => t.phase === "Sync").map((t) => t.wave),
  );
  for (const t of pruneTasks) if (t.options.pruneLast) t.wave = lastSyncWave + 1;
  tasks.push(...pruneTasks);

  // 4. CreateNamespace: the destination namespace before anything else.
  const ns = input.destinationNamespace;
  if (
    appOptions.createNamespace &&
    ns &&
    !desiredKeys.has(`/Namespace//${ns}`) &&
    !liveByKey.has(`/Namespace//${ns}`)
  ) {
    const id: ResourceIdentity = { group: "", kind: "Namespace", namespace: "", name: ns };
    tasks.push({
      ...id,
      id: taskId("PreSync", id),
      phase: "PreSync",
      wave: Math.min(0, ...tasks.map((t) => t.wave)),
      action: "apply",
      apiVersion: "v1",
      object: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      options: appOptions,
    });
  }

  tasks.sort(compareTasks);
  syncFailTasks.sort(compareTasks);

  // 5. Prune budget and confirmations.
  const resources = tracked.length;
  const enforced = appOptions.pruneBudget !== "disabled";
  const limit = input.pruneBudget ?? Math.floor(resources / 2);
  const prunes = pruneTasks.length;
  const budget: PruneBudget = { prunes, resources, limit, enforced };
  const reasons: string[] = [];
  if (enforced && prunes > limit) {
    reasons.push(
      `this sync would prune ${prunes} of the app's ${resources} resources (more than ${input.pruneBudget !== undefined ? `the budget of ${limit}` : "half"}); ` +
        `confirm with \`slipway app sync ${input.app} --prune-budget ${prunes}\`, or set the sync option PruneBudget=disabled`,
    );
  }
  const confirm = pruneTasks.filter((t) => t.requiresPruneConfirmation);
  if (confirm.length > 0) {
    reasons.push(
      `pruning ${confirm.map((t) => describeResource(t)).join(", ")} needs confirmation (Prune=confirm)`,
    );
  }

  return {
    ...base,
    tasks,
    syncFailTasks,
    skipped,
    ...(pruneBlocked ? { pruneBlocked } : {}),
    pruneBudget: budget,
    needsPruneConfirmation: reasons.length > 0,
    ...(reasons.length > 0 ? { confirmationMessage: reasons.join("; ") } : {}),
  };
}
