/**
 * `nextSyncStep`: the resumable executor of a SyncPlan, after gitops-engine's `syncContext.Sync()`,
 * which is called again and again over state persisted in `status.operationState.syncResult`.
 *
 * Each call looks at the plan, the results recorded so far and the live objects' health, and says
 * what to do next: results to record, objects to prune, hooks to delete, objects to apply, or what
 * to wait for. It keeps no memory of its own, so a controller killed at any point continues from
 * status alone; applying twice is harmless (server-side apply is idempotent) and a task whose
 * result is recorded is never run again.
 *
 * Rules (gitops-engine's, with the differences noted):
 * - groups run in plan order (phase, then wave); within a group prunes and applies are sent in
 *   parallel, except that Namespaces and CRDs are applied first (DESIGN.md: "Namespaces and CRDs
 *   first") so the objects that need them do not fail;
 * - a group starts only when every earlier group has settled: hooks finished, applied resources
 *   Healthy or Suspended (or without health), pruned resources gone. The last group's resources
 *   need not become healthy for the sync to succeed, as in Argo CD;
 * - a hook is done when it is Healthy (a Job completed, a Pod succeeded; a kind without health at
 *   once) and failed when Degraded; a failed task fails the operation and runs the SyncFail hooks;
 * - results are recorded before anything depends on them: a step that observes a hook finishing
 *   only records that, and deleting it (HookSucceeded / HookFailed) comes in a later step;
 * - a plan needing prune confirmation does nothing until it is confirmed (Argo CD checks
 *   `Prune=confirm` the same way, before the first task).
 */
import type { ResourceResult, SyncPhase } from "../../../api/v1alpha1/application.js";
import { describeResource, type ResourceIdentity, resourceKey } from "../diff/object.js";
import type { HealthStatus } from "../health/types.js";
import { resultKey, type SyncPlan, type SyncTask, taskResult } from "./plan.js";

/** What the informer cache shows of one of the app's objects. */
export interface LiveState {
  health?: HealthStatus;
  /** `metadata.deletionTimestamp` is set. */
  deleting?: boolean;
}

export interface SyncState {
  /** `status.operationState.syncResult.resources`. */
  results?: readonly ResourceResult[];
  /** The app's live objects (hooks included) by `group/kind/namespace/name`; absent = not in the cluster. */
  live?: Readonly<Record<string, LiveState | undefined>>;
  /** The operation's prunes were approved (the deletion-approved annotation, or `--prune-budget`). */
  pruneConfirmed?: boolean;
  /** `slipway app terminate-op`: stop now. */
  terminating?: boolean;
}

export interface WaitReason extends ResourceIdentity {
  reason: string;
}

export interface SyncStep {
  /** The group being worked on. */
  phase?: SyncPhase;
  wave?: number;
  /** Record these in `syncResult.resources` (replacing entries with the same key) before acting. */
  results: ResourceResult[];
  /** Delete these now (with their task's PrunePropagationPolicy), then record `Pruned`. */
  prune: SyncTask[];
  /** Delete these hook objects (BeforeHookCreation, HookSucceeded, HookFailed); record nothing. */
  deleteHooks: SyncTask[];
  /** Apply these now, in parallel, then record `Synced` / `SyncFailed`. */
  apply: SyncTask[];
  /** Nothing to do until these change. */
  waitFor: WaitReason[];
  /** The operation is over; `phaseResult` says how. Still execute `deleteHooks`. */
  done: boolean;
  phaseResult?: "Succeeded" | "Failed";
  message: string;
}

type TaskState = "pending" | "running" | "done" | "failed";

const FOUNDATION_KINDS = new Set(["Namespace", "CustomResourceDefinition"]);

function emptyStep(message: string): SyncStep {
  return { results: [], prune: [], deleteHooks: [], apply: [], waitFor: [], done: false, message };
}

function waitMessage(waits: readonly WaitReason[]): string {
  const shown = waits.slice(0, 5).map((w) => `${describeResource(w)} (${w.reason})`);
  const more = waits.length > 5 ? ` and ${waits.length - 5} more` : "";
  return `waiting for ${shown.join(", ")}${more}`;
}

function identity(t: SyncTask): ResourceIdentity {
  return { group: t.group, kind: t.kind, namespace: t.namespace, name: t.name };
}

/** Computes the next step of a sync operation from the plan and the recorded state. */
export function nextSyncStep(plan: SyncPlan, state: SyncState = {}): SyncStep {
  const results = new Map<string, ResourceResult>();
  for (const r of state.results ?? []) results.set(resultKey(r), r);
  const live = (t: SyncTask) => state.live?.[resourceKey(t)];
  const record: ResourceResult[] = [];

  for (const s of plan.skipped) {
    if (!s.result) continue;
    const r: ResourceResult = {
      group: s.group,
      kind: s.kind,
      name: s.name,
      namespace: s.namespace,
      status: s.result,
      message: s.message,
      syncPhase: "Sync",
    };
    if (!results.has(resultKey(r))) record.push(r);
  }

  const stateOf = new Map<string, TaskState>();
  const evaluate = (t: SyncTask): TaskState => {
    const r = results.get(t.id);
    if (!r && t.createdByThisOperation && live(t) && !live(t)!.deleting) {
      // Created by this operation before a restart that lost its result: adopt it, never rerun it.
      record.push(taskResult(t, "Synced", "hook created before a controller restart"));
      return "running";
    }
    if (!r) return "pending";
    if (r.status === "SyncFailed") return "failed";
    if (t.action === "prune")
      return r.status === "Pruned" || r.status === "PruneSkipped" ? "done" : "pending";
    if (!t.hookType) return "done";
    if (r.hookPhase === "Succeeded") return "done";
    if (r.hookPhase === "Failed" || r.hookPhase === "Error") return "failed";
    const l = live(t);
    if (!l) return "running";
    const h = l.health;
    if (!h || h.status === "Healthy") {
      record.push(taskResult(t, "Synced", h?.message, "Succeeded"));
      return "done";
    }
    if (h.status === "Degraded") {
      record.push(taskResult(t, "Synced", h.message || "hook failed", "Failed"));
      return "failed";
    }
    return "running";
  };
  for (const t of [...plan.tasks, ...plan.syncFailTasks]) stateOf.set(t.id, evaluate(t));

  if (state.terminating) {
    return { ...emptyStep("Operation terminated"), results: record, done: true, phaseResult: "Failed" };
  }
  if (plan.refused) {
    return { ...emptyStep(plan.refused), results: record, done: true, phaseResult: "Failed" };
  }
  if (record.length > 0) return { ...emptyStep("recording results"), results: record };

  // Finished hooks whose policy says to delete them, once their outcome is recorded.
  const finishedHookDeletes = [...plan.tasks, ...plan.syncFailTasks].filter((t) => {
    if (!t.hookType || !t.hookDeletePolicies) return false;
    const phase = results.get(t.id)?.hookPhase;
    const l = live(t);
    if (!l || l.deleting) return false;
    return (
      (phase === "Succeeded" && t.hookDeletePolicies.includes("HookSucceeded")) ||
      ((phase === "Failed" || phase === "Error") && t.hookDeletePolicies.includes("HookFailed"))
    );
  });

  if (plan.needsPruneConfirmation && !state.pruneConfirmed) {
    const b = plan.pruneBudget;
    const overBudget = b.enforced && b.prunes > b.limit;
    const waits = plan.tasks
      .filter((t) => t.action === "prune" && (t.requiresPruneConfirmation || overBudget))
      .map((t) => ({ ...identity(t), reason: "prune needs confirmation" }));
    return {
      ...emptyStep(`waiting for pruning confirmation: ${plan.confirmationMessage ?? ""}`),
      waitFor: waits,
      deleteHooks: finishedHookDeletes,
    };
  }

  const failed = plan.tasks.filter((t) => stateOf.get(t.id) === "failed");
  if (failed.length > 0) {
    const cause = `one or more synchronization tasks completed unsuccessfully: ${failed
      .map((t) => describeResource(t))
      .join(", ")}`;
    const sf = runGroups(plan.syncFailTasks, stateOf, live, finishedHookDeletes);
    if (sf) return { ...sf, message: `${cause}; ${sf.message}` };
    return { ...emptyStep(cause), deleteHooks: finishedHookDeletes, done: true, phaseResult: "Failed" };
  }

  const step = runGroups(plan.tasks, stateOf, live, finishedHookDeletes);
  if (step) return step;
  return {
    ...emptyStep("successfully synced (all tasks run)"),
    deleteHooks: finishedHookDeletes,
    done: true,
    phaseResult: "Succeeded",
  };
}

/**
 * The next action over an ordered task list, or undefined when every task has finished.
 * Shared by the main phases and by SyncFail.
 */
function runGroups(
  tasks: readonly SyncTask[],
  stateOf: ReadonlyMap<string, TaskState>,
  live: (t: SyncTask) => LiveState | undefined,
  finishedHookDeletes: SyncTask[],
): SyncStep | undefined {
  const groups: SyncTask[][] = [];
  for (const t of tasks) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.phase === t.phase && last[0]!.wave === t.wave) last.push(t);
    else groups.push([t]);
  }

  for (let gi = 0; gi < groups.length; gi++) {
    const group = groups[gi]!;
    const { phase, wave } = group[0]!;
    const pending = group.filter((t) => stateOf.get(t.id) === "pending");
    const running = group.filter((t) => stateOf.get(t.id) === "running");
    if (pending.length === 0 && running.length === 0) continue;

    const base = { ...emptyStep(""), phase, wave, deleteHooks: [...finishedHookDeletes] };
    if (pending.length === 0) {
      const waitFor = running.map((t) => ({ ...identity(t), reason: hookWaitReason(t, live(t)) }));
      return { ...base, waitFor, message: waitMessage(waitFor) };
    }

    // Everything before this group must have settled.
    const waitFor: WaitReason[] = [];
    for (const t of groups.slice(0, gi).flat()) {
      const reason = settleReason(t, stateOf.get(t.id)!, live(t));
      if (reason) waitFor.push({ ...identity(t), reason });
    }
    if (waitFor.length > 0) return { ...base, waitFor, message: waitMessage(waitFor) };

    const prune = pending.filter((t) => t.action === "prune");
    const applies = pending.filter((t) => t.action === "apply");
    // BeforeHookCreation: an old instance of a hook is deleted, and gone, before the new one.
    const apply: SyncTask[] = [];
    for (const t of applies) {
      const l = t.hookType ? live(t) : undefined;
      if (l && t.hookDeletePolicies?.includes("BeforeHookCreation")) {
        if (l.deleting) waitFor.push({ ...identity(t), reason: "previous hook instance is being deleted" });
        else base.deleteHooks.push(t);
      } else {
        apply.push(t);
      }
    }
    const foundation = apply.filter((t) => FOUNDATION_KINDS.has(t.kind));
    const applyNow = foundation.length > 0 ? foundation : apply;
    const parts = [
      prune.length > 0 ? `pruning ${prune.length}` : "",
      base.deleteHooks.length > 0 ? `deleting ${base.deleteHooks.length} hook(s)` : "",
      applyNow.length > 0 ? `applying ${applyNow.length}` : "",
      waitFor.length > 0 ? waitMessage(waitFor) : "",
    ].filter((p) => p);
    return {
      ...base,
      prune,
      apply: applyNow,
      waitFor,
      message: `${phase} wave ${wave}: ${parts.join(", ")}`,
    };
  }
  return undefined;
}

function hookWaitReason(t: SyncTask, l: LiveState | undefined): string {
  if (!l) return `${t.hookType} hook not observed yet`;
  const h = l.health;
  return `${t.hookType} hook ${h ? `${h.status}${h.message ? `: ${h.message}` : ""}` : "running"}`;
}

/** Why a task of an earlier group holds up the next group, or undefined when it has settled. */
function settleReason(t: SyncTask, s: TaskState, l: LiveState | undefined): string | undefined {
  if (s === "running") return hookWaitReason(t, l);
  if (s !== "done" || t.hookType) return undefined;
  if (t.action === "prune") return l ? "waiting for deletion" : undefined;
  if (!l) return "not observed yet";
  const h = l.health;
  if (!h || h.status === "Healthy" || h.status === "Suspended") return undefined;
  return `${h.status}${h.message ? `: ${h.message}` : ""}`;
}
