import { conditions, type HealthCheck, health } from "./types.js";

/**
 * batch/v1 Job, as gitops-engine's `health_job.go`: running → Progressing, `Failed` → Degraded,
 * `Suspended` → Suspended, `Complete` → Healthy.
 *
 * One deliberate difference: only conditions with `status: "True"` count. Argo treats any
 * `Suspended` condition as "finished", so a Job resumed after a suspension (its condition flips
 * to False) shows Healthy while it is still running.
 */
export const jobHealth: HealthCheck = (obj) => {
  let failed: string | undefined;
  let complete: string | undefined;
  let suspended: string | undefined;
  for (const c of conditions(obj)) {
    if (c.status !== "True") continue;
    if (c.type === "Failed") failed = c.message ?? c.reason ?? "";
    else if (c.type === "Complete") complete = c.message ?? "";
    else if (c.type === "Suspended") suspended = c.message ?? "";
  }
  if (failed !== undefined) return health("Degraded", failed);
  if (complete !== undefined) return health("Healthy", complete);
  if (suspended !== undefined) return health("Suspended", suspended || "Job is suspended");
  return health("Progressing");
};
