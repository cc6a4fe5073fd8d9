/**
 * When automated sync starts an operation, with Argo CD's rules (controller/appcontroller.go
 * `autoSync`, https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/):
 *
 * - only when the comparison succeeded and the app is OutOfSync, no operation is requested or
 *   running, and `syncPolicy.automated` is on (`enabled` absent means on);
 * - once per revision and source: a sync already attempted at this commit is not repeated — after
 *   a failure never (the retry policy handles retries), after a success only with `selfHeal`, and
 *   then no sooner than `selfHealTimeoutMs` after the previous sync finished;
 * - not when the only difference is resources to prune and `automated.prune` is off;
 * - never when the manifests render nothing and resources would be deleted, unless `allowEmpty`.
 *
 * Pure: the reconciler passes the comparison in and writes the returned operation to the app.
 */
import type { Application, ApplicationSource, Operation } from "../../api/v1alpha1/application.js";
import { jsonEqual } from "./merge-patch.js";

export interface AutoSyncInput {
  app: Application;
  /** The commit the comparison used. */
  revision: string;
  source: ApplicationSource;
  outOfSync: number;
  requiresPruning: number;
  /** Rendered resources (hooks excluded). */
  resourceCount: number;
  now: number;
  selfHealTimeoutMs: number;
}

export type AutoSyncDecision =
  | { sync: true; operation: Operation; selfHeal: boolean; message: string }
  | { sync: false; reason?: string; retryAfterMs?: number };

export function automatedEnabled(app: Application): boolean {
  const automated = app.spec.syncPolicy?.automated;
  return automated !== undefined && automated.enabled !== false;
}

export function decideAutoSync(input: AutoSyncInput): AutoSyncDecision {
  const { app } = input;
  const automated = app.spec.syncPolicy?.automated;
  if (!automated || automated.enabled === false) return { sync: false };
  if (app.operation) return { sync: false };
  if (input.outOfSync === 0 && input.requiresPruning === 0) return { sync: false };
  const last = app.status?.operationState;
  if (last && (last.phase === "Running" || last.phase === "Terminating")) return { sync: false };

  const short = input.revision.slice(0, 7);
  const attempted =
    last !== undefined &&
    last.syncResult?.revision === input.revision &&
    jsonEqual(last.syncResult?.source ?? app.spec.source, input.source) &&
    !last.operation.sync?.resources?.length;
  let selfHeal = false;
  if (attempted) {
    if (last.phase !== "Succeeded") {
      return { sync: false, reason: `skipping auto-sync: the previous sync attempt to ${short} failed` };
    }
    if (!automated.selfHeal)
      return { sync: false, reason: `auto-sync to ${short} already done; selfHeal is off` };
    const finished = last.finishedAt ? Date.parse(last.finishedAt) : Number.NaN;
    if (Number.isFinite(finished) && input.now < finished + input.selfHealTimeoutMs) {
      return {
        sync: false,
        reason: "self-heal waits for the previous sync to settle",
        retryAfterMs: finished + input.selfHealTimeoutMs - input.now,
      };
    }
    selfHeal = true;
  }
  if (input.outOfSync === 0 && input.requiresPruning > 0 && !automated.prune) {
    return {
      sync: false,
      reason: "skipping auto-sync: only resources to prune differ and automated prune is off",
    };
  }
  if (input.resourceCount === 0 && input.requiresPruning > 0 && !automated.allowEmpty) {
    return {
      sync: false,
      reason:
        "skipping auto-sync: the manifests are empty and syncing would delete every resource (allowEmpty is off)",
    };
  }
  const operation: Operation = {
    sync: { revision: input.revision, ...(automated.prune ? { prune: true } : {}) },
    initiatedBy: { username: "automated-sync", automated: true },
    ...(app.spec.syncPolicy?.retry ? { retry: app.spec.syncPolicy.retry } : {}),
  };
  return {
    sync: true,
    operation,
    selfHeal,
    message: selfHeal
      ? `Initiated automated sync (self-heal) to '${input.revision}'`
      : `Initiated automated sync to '${input.revision}'`,
  };
}
