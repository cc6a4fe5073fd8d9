import type { ResourceIdentity } from "../diff/object.js";

export interface PlanProblem {
  /** The resource the problem is about, when there is one. */
  resource?: ResourceIdentity;
  message: string;
}

/**
 * The desired state cannot be planned (an invalid sync-wave, a duplicate resource, a manifest
 * without kind or name). Nothing should be applied or pruned; the reconciler reports the problems
 * as a SyncError condition. Every problem names its resource.
 */
export class SyncPlanError extends Error {
  constructor(readonly problems: readonly PlanProblem[]) {
    super(problems.map((p) => p.message).join("; "));
    this.name = "SyncPlanError";
  }
}
