/**
 * The Services a Rollout steers by pod hash: `canaryService`/`stableService` (canary),
 * `activeService`/`previewService` (blue-green). A selector is only ever pointed at a set whose
 * pods are available (issue 7, Argo #1826/#2064): callers check readiness, this writes the
 * selector and the managed-by annotations in one request.
 */
import type { V1Service } from "@kubernetes/client-node";
import { POD_HASH_LABEL } from "./constants.js";
import type { PlanBuilder } from "./context.js";

/** The pod hash a Service selects, if it selects one. */
export function serviceHash(svc: V1Service | undefined): string | undefined {
  return svc?.spec?.selector?.[POD_HASH_LABEL];
}

/** The hash the named Service selects now ("" for none, undefined when there is no such Service). */
export function currentSelector(b: PlanBuilder, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const svc = b.ctx.services.get(name);
  if (!svc) return undefined;
  return serviceHash(svc) ?? "";
}

/** Points the Service's `rollouts-pod-template-hash` at `hash`; false when it already does. */
export function switchService(b: PlanBuilder, name: string | undefined, hash: string | undefined): boolean {
  if (!name || !hash) return false;
  const svc = b.ctx.services.get(name);
  if (!svc) return false;
  const from = serviceHash(svc);
  if (from === hash) return false;
  b.act({
    type: "switchService",
    service: name,
    hash,
    ...(from ? { from } : {}),
    event: {
      type: "Normal",
      reason: "SwitchService",
      message: from
        ? `Switched selector for service '${name}' from '${from}' to '${hash}'`
        : `Set selector for service '${name}' to '${hash}'`,
    },
  });
  return true;
}
