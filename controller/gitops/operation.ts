/**
 * Running an Application's sync operation, resumably (gitops-engine's sync context over Argo CD's
 * `status.operationState`): each pass rebuilds the plan from the operation's recorded commit and
 * the live state, asks `nextSyncStep` what to do, does it, and records the outcome in
 * `status.operationState.syncResult` before anything depends on it. A controller killed at any
 * point continues from status alone: applies are idempotent server-side applies, recorded results
 * are never redone, and hooks created just before a crash are adopted by their sync id.
 *
 * Lifecycle, with Argo CD's semantics:
 * - a new `app.operation` starts: the revision is resolved once and recorded (`syncResult.revision`),
 *   so every later pass and a restarted controller sync the same commit;
 * - waits (a wave's health, a running hook) end the reconcile; the informer's events bring it back;
 * - every operation and hook has a timeout, and the failure names what it waited for;
 * - a failure is retried per `retry` (operation's, else `syncPolicy.retry`) with exponential
 *   backoff: the phase stays Running with `finishedAt` set until the next attempt starts;
 * - termination: `status.operationState.phase: Terminating`, the `slipway.dev/terminate-op`
 *   annotation, or removing `app.operation` while it runs;
 * - completion: results persisted, then `app.operation` removed, then the final phase, message,
 *   `finishedAt` and (on success) a `status.history` entry written. A controller that dies between
 *   the last two writes finds a running operation without `app.operation`, re-evaluates it from the
 *   recorded results, and records the same ending — so no history entry is lost or doubled.
 */

import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { formatDuration, parseDuration } from "../../analysis/duration.js";
import { cloneJson } from "../../api/json.js";
import type {
  Application,
  ApplicationSource,
  ApplicationStatus,
  OperationPhase,
  OperationState,
  ResourceResult,
  RetryStrategy,
  RevisionHistory,
} from "../../api/v1alpha1/application.js";
import { apiErrorMessage } from "../kube/apply.js";
import type { DynamicClient } from "../kube/dynamic-client.js";
import { mapLimited } from "../runtime/map-limited.js";
import type { DesiredState } from "./desired-state.js";
import { prepareDesiredForApply } from "./diff/diff.js";
import { describeResource, type KubeObject, resourceKey } from "./diff/object.js";
import { healthOf } from "./health/index.js";
import { jsonEqual } from "./merge-patch.js";
import { ANNOTATION_SPELLINGS, FIELD_MANAGER, readAnnotation } from "./sync/annotations.js";
import { SyncPlanError } from "./sync/errors.js";
import { planSync, resultKey, type SyncPlan, type SyncTask, taskResult } from "./sync/plan.js";
import { type LiveState, nextSyncStep, type SyncStep } from "./sync/step.js";

/** On an Application: ask the controller to terminate the running operation (removed when it has). */
export const TERMINATE_OP = "slipway.dev/terminate-op";

export interface OperationSettings {
  /** Longest an operation attempt may take. Default 10 min. */
  operationTimeoutMs: number;
  /** Longest a hook may run. Default 10 min. */
  hookTimeoutMs: number;
  /** Requests in flight at once within a wave. Default 32. */
  applyConcurrency: number;
}

export const DEFAULT_OPERATION_SETTINGS: OperationSettings = {
  operationTimeoutMs: 600_000,
  hookTimeoutMs: 600_000,
  applyConcurrency: 32,
};

/** What the operation runner needs of the reconcile it runs in. */
export interface OperationHost {
  readonly name: string;
  readonly app: Application;
  /** The status being built; the runner edits `operationState` and `history`. */
  readonly status: ApplicationStatus;
  readonly dynamic: DynamicClient;
  readonly settings: OperationSettings;
  readonly signal: AbortSignal;
  readonly log: Logger;
  now(): number;
  /** Writes `status` if it changed. */
  flush(): Promise<void>;
  /** Updates the comparison parts of `status` before an operation's final write. */
  beforeFinalWrite(): Promise<void>;
  /** Merge-patches the Application (main resource). */
  patchApp(patch: Record<string, unknown>): Promise<void>;
  /** The commit `revision` names now (asking Git, not the shared ref cache, unless it is a SHA). */
  resolve(source: ApplicationSource, revision: string | undefined): Promise<string>;
  desiredAt(source: ApplicationSource, sha: string): Promise<DesiredState>;
  /** Why the destination cluster cannot be used now (unknown, unreachable), if it cannot. */
  destinationProblem?(): string | undefined;
  /** Why the app's project (or destination) forbids syncing these manifests, if it does. */
  refusal(source: ApplicationSource, desired: DesiredState): string | undefined;
  /** Live objects the plan needs: tracked by the app, namesakes of desired ones, the destination namespace. */
  liveObjects(desired: DesiredState): Promise<KubeObject[]>;
  /** Resource keys in sync at (source, sha), when the last comparison was of exactly that. */
  inSyncAt(source: ApplicationSource, sha: string): Set<string> | undefined;
  /** Remembers what a write returned, for the rest of this reconcile. */
  applied(key: string, object: KubeObject | undefined): void;
  event(type: "Normal" | "Warning", reason: string, message: string): void;
  synced(phase: OperationPhase): void;
}

export interface OperationOutcome {
  /** An operation is running (or waiting to retry) after this pass. */
  active: boolean;
  /** Look again after this long (a retry backoff, a timeout). */
  requeueAfterMs?: number;
  /** Something was applied or deleted in the cluster. */
  changedCluster: boolean;
}

function isRunning(state: OperationState | undefined): state is OperationState {
  return state !== undefined && (state.phase === "Running" || state.phase === "Terminating");
}

function hasAnnotation(app: Application, key: string): boolean {
  return app.metadata.annotations?.[key] !== undefined;
}

/** Backoff before retry number `retry` (1-based), per Argo's `Backoff` defaults (5s ×2, max 3m). */
export function retryBackoffMs(strategy: RetryStrategy | undefined, retry: number): number {
  const base = safeDuration(strategy?.backoff?.duration, 5_000);
  const factor = strategy?.backoff?.factor ?? 2;
  const max = safeDuration(strategy?.backoff?.maxDuration, 180_000);
  return Math.min(max, base * factor ** Math.max(0, retry - 1));
}

function safeDuration(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  try {
    const ms = parseDuration(text);
    return ms >= 0 ? ms : fallback;
  } catch {
    return fallback;
  }
}

function retryOf(h: OperationHost, state: OperationState): RetryStrategy | undefined {
  return state.operation.retry ?? h.app.spec.syncPolicy?.retry;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.message;
  return String(error);
}

function mergeResults(state: OperationState, add: readonly ResourceResult[]): void {
  if (add.length === 0) return;
  const result = state.syncResult ?? { revision: "" };
  const byKey = new Map<string, ResourceResult>();
  for (const r of result.resources ?? []) byKey.set(resultKey(r), r);
  for (const r of add) byKey.set(resultKey(r), r);
  result.resources = [...byKey.values()];
  state.syncResult = result;
}

/** Per attempt: names generated hooks and marks the hooks this attempt created. */
function syncIdOf(app: Application, state: OperationState): string {
  return createHash("sha256")
    .update(`${app.metadata.uid ?? app.metadata.name}\0${state.startedAt}\0${state.retryCount ?? 0}`)
    .digest("hex")
    .slice(0, 10);
}

/** `PruneBudget=<n>` in the operation's sync options: prunes allowed without confirmation. */
function splitPruneBudget(options: readonly string[]): { options: string[]; budget?: number } {
  let budget: number | undefined;
  const rest: string[] = [];
  for (const o of options) {
    const m = /^\s*PruneBudget\s*=\s*(\d+)\s*$/i.exec(o);
    if (m) budget = Number(m[1]);
    else rest.push(o);
  }
  return budget === undefined ? { options: rest } : { options: rest, budget };
}

/**
 * Runs (or starts, or settles) the app's operation as far as it can go now. Returns whether one
 * is still active and when to look again.
 */
export async function processOperation(h: OperationHost): Promise<OperationOutcome> {
  let changedCluster = false;
  for (let pass = 0; pass < 3; pass++) {
    const state = h.status.operationState;
    const op = h.app.operation;
    if (isRunning(state)) {
      if (!op || !jsonEqual(op, state.operation)) {
        // Our own completion removed it (and we died before the final write), or a user did.
        const out = await runAttempt(h, "settle");
        changedCluster ||= out.changedCluster;
        if (h.app.operation) continue;
        return { ...out, changedCluster };
      }
      const out = await runAttempt(h, "run");
      return { ...out, changedCluster: changedCluster || out.changedCluster };
    }
    if (!op) return { active: false, changedCluster };
    if (!(await startOperation(h))) return { active: false, changedCluster };
  }
  return { active: true, changedCluster, requeueAfterMs: 1000 };
}

/** Records a new operation as Running with its resolved commit. False when it ended at once. */
async function startOperation(h: OperationHost): Promise<boolean> {
  const op = cloneJson(h.app.operation!);
  const source = op.sync?.source ?? h.app.spec.source ?? h.app.spec.sources?.[0];
  const state: OperationState = {
    operation: op,
    phase: "Running",
    message: "starting",
    startedAt: new Date(h.now()).toISOString(),
    retryCount: 0,
    syncResult: { revision: op.sync?.revision ?? source?.targetRevision ?? "HEAD", resources: [] },
  };
  if (source) state.syncResult!.source = source;
  h.status.operationState = state;
  const who = op.initiatedBy?.automated ? "automated sync" : op.initiatedBy?.username || "a user";
  if (!source) {
    await finish(h, "Error", "the Application has no source", { noRetry: true });
    return false;
  }
  try {
    state.syncResult!.revision = await h.resolve(source, op.sync?.revision || source.targetRevision);
  } catch (error) {
    h.event("Normal", "OperationStarted", `Sync operation initiated by ${who}`);
    await finish(h, "Error", `cannot resolve revision: ${errorText(error)}`);
    return h.status.operationState?.phase === "Running";
  }
  h.event(
    "Normal",
    "OperationStarted",
    `Sync operation to ${state.syncResult!.revision} initiated by ${who}${op.sync?.dryRun ? " (dry run)" : ""}`,
  );
  await h.flush();
  return true;
}

interface AttemptOutcome {
  active: boolean;
  requeueAfterMs?: number;
  changedCluster: boolean;
}

/**
 * One pass over the running attempt. In `settle` mode nothing is executed: the recorded state is
 * evaluated, and the operation ends as it had ended (completed) or as terminated.
 */
async function runAttempt(h: OperationHost, mode: "run" | "settle"): Promise<AttemptOutcome> {
  const state = h.status.operationState!;
  let changedCluster = false;
  const terminating = mode === "run" && (state.phase === "Terminating" || hasAnnotation(h.app, TERMINATE_OP));

  // Waiting to retry after a failed attempt.
  if (state.finishedAt && mode === "run") {
    if (!terminating) {
      const due = Date.parse(state.finishedAt) + retryBackoffMs(retryOf(h, state), state.retryCount ?? 1);
      if (h.now() < due) return { active: true, requeueAfterMs: due - h.now(), changedCluster };
    }
    delete state.finishedAt;
    state.syncResult = { ...state.syncResult!, resources: [] };
    state.message = terminating ? "terminating" : `Retrying attempt #${state.retryCount ?? 1}`;
    const retry = retryOf(h, state);
    const source = state.syncResult.source;
    const unresolved = !/^[0-9a-f]{40}$/.test(state.syncResult.revision);
    if (!terminating && source && (unresolved || (retry?.refresh && !state.operation.sync?.revision))) {
      try {
        state.syncResult.revision = await h.resolve(
          source,
          state.operation.sync?.revision || source.targetRevision,
        );
      } catch (error) {
        await finish(h, "Error", `cannot resolve revision: ${errorText(error)}`);
        return { active: isRunning(h.status.operationState), changedCluster };
      }
    }
    if (terminating) {
      await finish(h, "Failed", "Operation terminated", { noRetry: true });
      return { active: false, changedCluster };
    }
    await h.flush();
  }
  if (state.finishedAt && mode === "settle") {
    // It was waiting to retry when its operation field went away: that is a termination.
    delete state.finishedAt;
    await finish(h, "Failed", "Operation terminated (operation removed while waiting to retry)", {
      noRetry: true,
      operationRemoved: true,
    });
    return { active: false, changedCluster };
  }

  const sync = state.operation.sync ?? {};
  const source = state.syncResult?.source ?? h.app.spec.source;
  const sha = state.syncResult?.revision ?? "";
  const dryRun = sync.dryRun === true;
  const syncId = syncIdOf(h.app, state);
  const { options: opOptions, budget } = splitPruneBudget(sync.syncOptions ?? []);
  const pruneConfirmed = readAnnotation(h.app.metadata.annotations, "deletionApproved") !== undefined;
  const dryApplied = new Set<string>();
  const dryPruned = new Set<string>();

  for (let pass = 0; pass < 200; pass++) {
    if (h.signal.aborted) return { active: true, changedCluster };
    if (!source) {
      await finish(h, "Error", "the operation has no source", { noRetry: true });
      return { active: false, changedCluster };
    }
    let desired: DesiredState;
    // Nothing is rendered for, applied to or pruned from a cluster that is unknown or down.
    const unusable = h.destinationProblem?.();
    try {
      if (unusable) throw new Error(unusable);
      desired = await h.desiredAt(source, sha);
    } catch (error) {
      if (mode === "settle") {
        await finish(h, "Failed", `Operation terminated: ${errorText(error)}`, {
          noRetry: true,
          operationRemoved: true,
        });
        return { active: false, changedCluster };
      }
      await finish(
        h,
        "Error",
        unusable ?? `manifests at ${sha.slice(0, 7)} could not be rendered: ${errorText(error)}`,
      );
      return { active: isRunning(h.status.operationState), changedCluster, ...retryAfter(h) };
    }
    const refused = mode === "run" ? h.refusal(source, desired) : undefined;
    if (refused) {
      await finish(h, "Error", `refused: ${refused}`, { noRetry: true });
      return { active: false, changedCluster };
    }
    const live = await h.liveObjects(desired);
    let plan: SyncPlan;
    try {
      plan = planSync({
        app: h.name,
        desired: desired.resources.map((r) => r.object),
        live,
        ...(h.app.spec.destination.namespace
          ? { destinationNamespace: h.app.spec.destination.namespace }
          : {}),
        syncOptions: [...(h.app.spec.syncPolicy?.syncOptions ?? []), ...opOptions],
        prune: sync.prune === true,
        allowEmpty: h.app.spec.syncPolicy?.automated?.allowEmpty === true,
        ...(sync.resources?.length ? { resources: sync.resources } : {}),
        syncStrategy: dryRun || sync.syncStrategy?.apply ? "apply" : "hook",
        syncId,
        results: state.syncResult?.resources ?? [],
        ...(h.inSyncAt(source, sha) ? { inSync: h.inSyncAt(source, sha)! } : {}),
        diffOptions: h.app.spec.ignoreDifferences ? { ignoreDifferences: h.app.spec.ignoreDifferences } : {},
        ...(budget !== undefined ? { pruneBudget: budget } : {}),
        isNamespaced: (group, kind) => desired.scopes.get(`${group}/${kind}`),
      });
    } catch (error) {
      const message = error instanceof SyncPlanError ? error.message : errorText(error);
      await finish(h, "Error", `the manifests cannot be synced: ${message}`, {
        noRetry: true,
        operationRemoved: mode === "settle",
      });
      return { active: false, changedCluster };
    }
    if (mode === "run" && plan.needsPruneConfirmation && !pruneConfirmed && !terminating) {
      await finish(
        h,
        "Failed",
        `pruning needs confirmation: ${plan.confirmationMessage ?? ""} (or approve this sync with the annotation slipway.dev/deletion-approved on the Application)`,
        { noRetry: true },
      );
      return { active: false, changedCluster };
    }

    const byKey = new Map<string, KubeObject>();
    for (const o of live) byKey.set(resourceKey(o), o);
    const liveState: Record<string, LiveState | undefined> = {};
    for (const t of [...plan.tasks, ...plan.syncFailTasks]) {
      const key = resourceKey(t);
      if (dryRun) {
        if (dryApplied.has(key)) liveState[key] = {};
        else if (!dryPruned.has(key) && byKey.has(key)) liveState[key] = {};
        continue;
      }
      const l = byKey.get(key);
      if (!l) continue;
      const health = healthOf(l);
      liveState[key] = { ...(health ? { health } : {}), deleting: Boolean(l.metadata?.deletionTimestamp) };
    }
    const step = nextSyncStep(plan, {
      results: state.syncResult?.resources ?? [],
      live: liveState,
      pruneConfirmed: pruneConfirmed || !plan.needsPruneConfirmation,
      terminating,
    });
    mergeResults(state, step.results);

    if (step.done) {
      if (mode === "run") {
        changedCluster ||= await deleteHooks(h, step.deleteHooks, dryRun);
        if (terminating) changedCluster ||= await deleteRunningHooks(h, plan, state, byKey);
      }
      await finish(h, step.phaseResult ?? "Failed", step.message, {
        noRetry: terminating || mode === "settle",
        operationRemoved: mode === "settle",
      });
      return { active: isRunning(h.status.operationState), changedCluster, ...retryAfter(h) };
    }
    if (mode === "settle") {
      await finish(h, "Failed", "Operation terminated (its operation field was removed)", {
        noRetry: true,
        operationRemoved: true,
      });
      return { active: false, changedCluster };
    }
    // Recorded results are written before the next action (not after each one): a crash before
    // that write only repeats idempotent applies, and an operation that ends next writes once.
    if (step.results.length > 0) {
      state.message = step.message;
      continue;
    }
    const acting = step.prune.length + step.apply.length + step.deleteHooks.length;
    if (acting > 0) {
      await h.flush();
      const started = performance.now();
      const results = await execute(h, step, dryRun);
      h.log.debug(
        {
          phase: step.phase,
          wave: step.wave,
          applied: step.apply.length,
          pruned: step.prune.length,
          ms: Math.round(performance.now() - started),
        },
        "sync step executed",
      );
      for (const t of step.apply) if (dryRun) dryApplied.add(resourceKey(t));
      for (const t of step.prune) if (dryRun) dryPruned.add(resourceKey(t));
      changedCluster ||= !dryRun;
      mergeResults(state, results);
      state.message = step.message;
      continue;
    }

    // Waiting for health, hooks or deletions: the informers' events bring us back.
    const timeout = timedOut(h, state, plan, step, byKey);
    if (timeout) {
      await finish(h, "Failed", timeout);
      return { active: isRunning(h.status.operationState), changedCluster, ...retryAfter(h) };
    }
    state.message = step.message;
    await h.flush();
    return { active: true, requeueAfterMs: nextDeadline(h, state, plan, step, byKey), changedCluster };
  }
  return { active: true, requeueAfterMs: 1000, changedCluster };
}

function retryAfter(h: OperationHost): { requeueAfterMs?: number } {
  const state = h.status.operationState;
  if (!isRunning(state) || !state.finishedAt) return {};
  const due = Date.parse(state.finishedAt) + retryBackoffMs(retryOf(h, state), state.retryCount ?? 1);
  return { requeueAfterMs: Math.max(1, due - h.now()) };
}

/** When this attempt must give up: started + timeout per attempt so far (each attempt gets the full timeout). */
function attemptDeadline(h: OperationHost, state: OperationState): number {
  return Date.parse(state.startedAt) + h.settings.operationTimeoutMs * ((state.retryCount ?? 0) + 1);
}

function taskFor(plan: SyncPlan, key: string): SyncTask | undefined {
  return [...plan.tasks, ...plan.syncFailTasks].find((t) => resourceKey(t) === key);
}

function hookStartedAt(live: KubeObject | undefined): number | undefined {
  const created = live?.metadata?.creationTimestamp;
  return typeof created === "string" ? Date.parse(created) : undefined;
}

function timedOut(
  h: OperationHost,
  state: OperationState,
  plan: SyncPlan,
  step: SyncStep,
  live: ReadonlyMap<string, KubeObject>,
): string | undefined {
  const now = h.now();
  for (const w of step.waitFor) {
    const key = resourceKey(w);
    const task = taskFor(plan, key);
    if (!task?.hookType) continue;
    const started = hookStartedAt(live.get(key));
    if (started !== undefined && now - started > h.settings.hookTimeoutMs) {
      return `${task.hookType} hook ${describeResource(w)} did not complete within ${formatDuration(h.settings.hookTimeoutMs)} (${w.reason})`;
    }
  }
  if (now > attemptDeadline(h, state)) {
    return `operation timed out after ${formatDuration(h.settings.operationTimeoutMs)}: ${step.message}`;
  }
  return undefined;
}

function nextDeadline(
  h: OperationHost,
  state: OperationState,
  plan: SyncPlan,
  step: SyncStep,
  live: ReadonlyMap<string, KubeObject>,
): number {
  const now = h.now();
  let at = attemptDeadline(h, state);
  for (const w of step.waitFor) {
    const task = taskFor(plan, resourceKey(w));
    const started = task?.hookType ? hookStartedAt(live.get(resourceKey(w))) : undefined;
    if (started !== undefined) at = Math.min(at, started + h.settings.hookTimeoutMs);
  }
  return Math.max(1000, Math.min(at - now + 1000, 60_000));
}

/** Prunes and applies of one step, in parallel (Namespaces and CRDs come alone, as the step says). */
async function execute(h: OperationHost, step: SyncStep, dryRun: boolean): Promise<ResourceResult[]> {
  await deleteHooks(h, step.deleteHooks, dryRun);
  const limit = h.settings.applyConcurrency;
  const pruned = await mapLimited(step.prune, limit, (t) => prune(h, t, dryRun));
  const applied = await mapLimited(step.apply, limit, (t) => apply(h, t, dryRun));
  return [...pruned, ...applied];
}

function refOf(t: SyncTask): { apiVersion: string; kind: string; name: string; namespace?: string } {
  return {
    apiVersion: t.apiVersion ?? t.live?.apiVersion ?? "v1",
    kind: t.kind,
    name: t.name,
    ...(t.namespace ? { namespace: t.namespace } : {}),
  };
}

const PROPAGATION = { foreground: "Foreground", background: "Background", orphan: "Orphan" } as const;

async function prune(h: OperationHost, t: SyncTask, dryRun: boolean): Promise<ResourceResult> {
  try {
    const uid = t.live?.metadata?.uid as string | undefined;
    const existed = await h.dynamic.delete(refOf(t), {
      propagationPolicy: PROPAGATION[t.options.prunePropagationPolicy ?? "foreground"],
      ...(uid ? { preconditions: { uid } } : {}),
      dryRun,
      signal: h.signal,
    });
    if (!dryRun) h.event("Normal", "ResourceDeleted", `pruned ${describeResource(t)}`);
    return taskResult(t, "Pruned", dryRun ? "pruned (dry run)" : existed ? "pruned" : "already gone");
  } catch (error) {
    return taskResult(t, "SyncFailed", `prune failed: ${apiErrorMessage(error)}`);
  }
}

async function apply(h: OperationHost, t: SyncTask, dryRun: boolean): Promise<ResourceResult> {
  const object = t.object!;
  const key = resourceKey(t);
  const k8s = (o: KubeObject) => o as unknown as KubernetesObject;
  try {
    let written: KubernetesObject;
    const write = { fieldManager: FIELD_MANAGER, dryRun, signal: h.signal };
    if (t.options.replace) {
      if (t.live) {
        const resourceVersion = t.live.metadata?.resourceVersion as string | undefined;
        written = await h.dynamic.replace(
          k8s({ ...object, metadata: { ...object.metadata, resourceVersion } }),
          write,
        );
      } else {
        written = await h.dynamic.create(k8s(object), write);
      }
    } else {
      const body = t.hookType
        ? object
        : prepareDesiredForApply(object, t.live, {
            ...(h.app.spec.ignoreDifferences ? { ignoreDifferences: h.app.spec.ignoreDifferences } : {}),
          });
      written = await h.dynamic.apply(k8s(body), { ...write, force: true });
    }
    const result = written as unknown as KubeObject;
    if (!dryRun) h.applied(key, result);
    const action = !t.live
      ? "created"
      : t.live.metadata?.resourceVersion === result.metadata?.resourceVersion
        ? "unchanged"
        : "configured";
    return taskResult(t, "Synced", `${describeResource(t)} ${action}${dryRun ? " (dry run)" : ""}`);
  } catch (error) {
    return taskResult(t, "SyncFailed", apiErrorMessage(error));
  }
}

async function deleteHooks(h: OperationHost, tasks: readonly SyncTask[], dryRun: boolean): Promise<boolean> {
  if (tasks.length === 0 || dryRun) return false;
  await mapLimited(tasks, h.settings.applyConcurrency, async (t) => {
    try {
      await h.dynamic.delete(refOf(t), { propagationPolicy: "Background", signal: h.signal });
      h.applied(resourceKey(t), undefined);
    } catch {
      // The next pass sees it still there and asks again.
    }
  });
  return true;
}

/** Termination stops hooks that are still running (gitops-engine's `Terminate`). */
async function deleteRunningHooks(
  h: OperationHost,
  plan: SyncPlan,
  state: OperationState,
  live: ReadonlyMap<string, KubeObject>,
): Promise<boolean> {
  const finished = new Set(
    (state.syncResult?.resources ?? [])
      .filter((r) => r.hookPhase && r.hookPhase !== "Running")
      .map(resultKey),
  );
  const running = [...plan.tasks, ...plan.syncFailTasks].filter(
    (t) => t.hookType && !finished.has(t.id) && live.has(resourceKey(t)),
  );
  return deleteHooks(h, running, false);
}

interface FinishOptions {
  /** Do not retry even if the retry policy allows it. */
  noRetry?: boolean;
  /** `app.operation` is already gone (or belongs to another request): do not clear it. */
  operationRemoved?: boolean;
}

/**
 * Ends the attempt: schedules a retry when the policy allows, else completes the operation —
 * results persisted first, then `app.operation` removed, then the final state and history.
 */
async function finish(
  h: OperationHost,
  phase: OperationPhase,
  message: string,
  options: FinishOptions = {},
): Promise<void> {
  const state = h.status.operationState!;
  const retry = retryOf(h, state);
  const limit = retry?.limit ?? 0;
  const count = state.retryCount ?? 0;
  if (
    phase !== "Succeeded" &&
    !options.noRetry &&
    !options.operationRemoved &&
    (limit < 0 || count < limit)
  ) {
    state.retryCount = count + 1;
    state.phase = "Running";
    state.finishedAt = new Date(h.now()).toISOString();
    const wait = retryBackoffMs(retry, state.retryCount);
    state.message = `${message}; retrying attempt #${state.retryCount} in ${formatDuration(wait)}`;
    h.event("Warning", "SyncFailed", state.message);
    await h.flush();
    return;
  }

  await h.flush();
  const annotations: Record<string, null> = {};
  for (const key of [TERMINATE_OP, ...ANNOTATION_SPELLINGS.deletionApproved]) {
    if (h.app.metadata.annotations?.[key] !== undefined) annotations[key] = null;
  }
  const clearOperation =
    !options.operationRemoved && h.app.operation !== undefined && jsonEqual(h.app.operation, state.operation);
  if (clearOperation || Object.keys(annotations).length > 0) {
    await h.patchApp({
      ...(clearOperation ? { operation: null } : {}),
      ...(Object.keys(annotations).length > 0 ? { metadata: { annotations } } : {}),
    });
  }

  const finishedAt = new Date(h.now()).toISOString();
  state.phase = phase;
  state.message = message;
  state.finishedAt = finishedAt;
  const sync = state.operation.sync ?? {};
  if (phase === "Succeeded" && !sync.dryRun && !sync.resources?.length) {
    appendHistory(h.app, h.status, {
      revision: state.syncResult?.revision ?? "",
      deployedAt: finishedAt,
      deployStartedAt: state.startedAt,
      ...(state.syncResult?.source ? { source: state.syncResult.source } : {}),
      ...(state.operation.initiatedBy ? { initiatedBy: state.operation.initiatedBy } : {}),
    });
  }
  // The final write also reports what the sync did to the resources (one write, not two).
  await h.beforeFinalWrite();
  await h.flush();
  const revision = state.syncResult?.revision ?? "";
  if (phase === "Succeeded") {
    h.event(
      "Normal",
      "OperationCompleted",
      `Sync operation to ${revision} succeeded${sync.dryRun ? " (dry run)" : ""}`,
    );
  } else {
    h.event(
      "Warning",
      "OperationCompleted",
      `Sync operation to ${revision} ${phase === "Error" ? "errored" : "failed"}: ${message}`,
    );
    h.event("Warning", "SyncFailed", message);
  }
  h.synced(phase);
}

/** Adds a history entry (ids increase by one) and keeps the newest `revisionHistoryLimit` (10). */
export function appendHistory(
  app: Application,
  status: ApplicationStatus,
  entry: Omit<RevisionHistory, "id">,
): void {
  const history = [...(status.history ?? [])];
  const id = history.length > 0 ? Math.max(...history.map((e) => e.id)) + 1 : 0;
  history.push({ id, ...entry });
  const limit = app.spec.revisionHistoryLimit ?? 10;
  status.history = history.slice(Math.max(0, history.length - limit));
}
