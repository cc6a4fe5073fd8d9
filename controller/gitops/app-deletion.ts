/**
 * Deleting an Application, as Argo CD does
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/app_deletion/): with the finalizer
 * `resources-finalizer.argocd.argoproj.io` (or slipway's `resources-finalizer.slipway.dev`) the
 * app's tracked resources are deleted first — foreground propagation, or background with the
 * `/background` suffix — and the finalizer is removed once they are gone; without it the resources
 * stay (a non-cascading delete). Resources marked `Delete=false` are always left in place.
 *
 * A destination cluster that is unknown or unreachable keeps the finalizer (and the app) with a
 * `DeletionError` condition saying why, and is retried: the resources are never silently left
 * behind. Removing the finalizer by hand is the way to leave them.
 */
import type { ApplicationCondition } from "../../api/v1alpha1/application.js";
import type { ReconcileResult } from "../runtime/reconciler.js";
import type { AppDeps } from "./app-deps.js";
import type { AppRun } from "./app-run.js";
import { describeResource, type KubeObject } from "./diff/object.js";
import { resourceSyncOptions } from "./sync/options.js";

export const ARGO_RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io";
export const RESOURCES_FINALIZER = "resources-finalizer.slipway.dev";

const FINALIZERS = new Set(
  [ARGO_RESOURCES_FINALIZER, RESOURCES_FINALIZER].flatMap((f) => [f, `${f}/foreground`, `${f}/background`]),
);

export function isResourcesFinalizer(name: string): boolean {
  return FINALIZERS.has(name);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? error.message) : String(error);
}

export async function deleteApplication(deps: AppDeps, run: AppRun): Promise<ReconcileResult> {
  const finalizers = run.app.metadata.finalizers ?? [];
  const ours = finalizers.filter(isResourcesFinalizer);
  if (ours.length === 0) return {};
  const background = ours.some((f) => f.endsWith("/background"));

  const target = run.targetResult();
  if (!target.ok) {
    setDeletionError(
      run,
      `cannot delete the application's resources: ${target.message}; finalizer ${ours.join(", ")} stays until they are deleted (remove it to leave them in place)`,
    );
    await run.flush();
    return { requeueAfter: target.retryAfterMs ?? 60_000 };
  }
  const live = target.target.live;
  const kinds = await run.managedKinds();
  try {
    await live.ensure(kinds, run.signal);
  } catch (error) {
    deps.targets.suspect(target.target, error);
    throw error;
  }
  const objects = live
    .trackedBy(run.name, kinds)
    .filter((o) => !(o.metadata?.ownerReferences ?? []).some((r) => r.controller === true))
    .filter((o) => resourceSyncOptions(o).options.delete !== "false");

  const failures: string[] = [];
  await Promise.all(
    objects
      .filter((o) => !o.metadata?.deletionTimestamp)
      .map(async (o: KubeObject) => {
        try {
          const uid = o.metadata?.uid as string | undefined;
          await run.dynamic.delete(
            {
              apiVersion: o.apiVersion ?? "v1",
              kind: o.kind ?? "",
              name: o.metadata?.name ?? "",
              ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
            },
            {
              propagationPolicy: background ? "Background" : "Foreground",
              ...(uid ? { preconditions: { uid } } : {}),
            },
          );
          run.event("Normal", "ResourceDeleted", `deleted ${describeResource(o)} (application deletion)`);
        } catch (error) {
          failures.push(`${describeResource(o)}: ${errorMessage(error)}`);
        }
      }),
  );
  if (failures.length > 0) {
    setDeletionError(run, `could not delete ${failures.join("; ")}`);
    await run.flush();
    throw new Error(`deleting the resources of ${run.key} failed: ${failures.join("; ")}`);
  }
  if (objects.length > 0) {
    // Their deletions arrive as watch events, which bring the app back here; poll slowly as a backstop.
    return { requeueAfter: 10_000 };
  }
  await run.patchApp({ metadata: { finalizers: finalizers.filter((f) => !isResourcesFinalizer(f)) } });
  deps.targets.forgetDesired(run.name);
  return {};
}

/** Sets the one `DeletionError` condition (its transition time kept while the message stays). */
function setDeletionError(run: AppRun, message: string): void {
  const previous = run.status.conditions ?? [];
  const same = previous.find((c) => c.type === "DeletionError" && c.message === message);
  const condition: ApplicationCondition = {
    type: "DeletionError",
    message,
    lastTransitionTime:
      same?.lastTransitionTime ?? new Date(run.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  run.status.conditions = [...previous.filter((c) => c.type !== "DeletionError"), condition];
}
