/**
 * Every annotation and label name the Application reconciler reads or writes, in both spellings.
 *
 * slipway's own names live under `slipway.dev/`; the `argocd.argoproj.io/` spellings are honoured
 * too so that a repository written for Argo CD syncs unchanged (DESIGN.md, "API"). Where both are
 * present on one object the slipway spelling wins. Helm hook annotations are read as well, as
 * Argo CD maps them (https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks).
 */

/** Field manager for every server-side apply slipway's GitOps side makes. */
export const FIELD_MANAGER = "slipway-controller";

/** `<app>:<group>/<kind>:<namespace>/<name>`; marks a live object as managed by an app. */
export const TRACKING_ID = "slipway.dev/tracking-id";
export const ARGO_TRACKING_ID = "argocd.argoproj.io/tracking-id";

export const SYNC_WAVE = "slipway.dev/sync-wave";
export const ARGO_SYNC_WAVE = "argocd.argoproj.io/sync-wave";

export const HOOK = "slipway.dev/hook";
export const ARGO_HOOK = "argocd.argoproj.io/hook";

export const HOOK_DELETE_POLICY = "slipway.dev/hook-delete-policy";
export const ARGO_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy";

export const SYNC_OPTIONS = "slipway.dev/sync-options";
export const ARGO_SYNC_OPTIONS = "argocd.argoproj.io/sync-options";

export const COMPARE_OPTIONS = "slipway.dev/compare-options";
export const ARGO_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options";

/** On an Application: approves `Prune=confirm` / prune-budget deletions of the running operation. */
export const DELETION_APPROVED = "slipway.dev/deletion-approved";
export const ARGO_DELETION_APPROVED = "argocd.argoproj.io/deletion-approved";

/** On an Application: `normal` or `hard` asks for a refresh now. */
export const REFRESH = "slipway.dev/refresh";
export const ARGO_REFRESH = "argocd.argoproj.io/refresh";

/**
 * On hook objects: the sync operation that created them (the plan's `syncId`). A controller that
 * restarts after creating a hook but before recording it adopts the hook instead of running it twice.
 */
export const HOOK_SYNC_ID = "slipway.dev/hook-sync-id";

/** `"true"` leaves the resource out of the app's aggregated health. */
export const IGNORE_HEALTHCHECK = "slipway.dev/ignore-healthcheck";
export const ARGO_IGNORE_HEALTHCHECK = "argocd.argoproj.io/ignore-healthcheck";

/** Helm's hook annotations, mapped onto sync phases like Argo CD does. */
export const HELM_HOOK = "helm.sh/hook";
export const HELM_HOOK_WEIGHT = "helm.sh/hook-weight";
export const HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy";

/** Written by `kubectl apply` (client side); never part of a comparison. */
export const LAST_APPLIED_CONFIGURATION = "kubectl.kubernetes.io/last-applied-configuration";

/** Label Argo CD's `label` tracking method uses; read-only here (slipway tracks by annotation). */
export const INSTANCE_LABEL = "app.kubernetes.io/instance";

/** Label on Secrets holding cluster or repository credentials (`cluster` / `repository`). */
export const SECRET_TYPE_LABEL = "slipway.dev/secret-type";

/** Label the rollout controller puts into pod templates and service selectors. */
export const POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash";

/** Each slipway annotation with its Argo CD spelling, slipway first (the one that wins). */
export const ANNOTATION_SPELLINGS = {
  trackingId: [TRACKING_ID, ARGO_TRACKING_ID],
  syncWave: [SYNC_WAVE, ARGO_SYNC_WAVE],
  hook: [HOOK, ARGO_HOOK],
  hookDeletePolicy: [HOOK_DELETE_POLICY, ARGO_HOOK_DELETE_POLICY],
  syncOptions: [SYNC_OPTIONS, ARGO_SYNC_OPTIONS],
  compareOptions: [COMPARE_OPTIONS, ARGO_COMPARE_OPTIONS],
  deletionApproved: [DELETION_APPROVED, ARGO_DELETION_APPROVED],
  refresh: [REFRESH, ARGO_REFRESH],
  ignoreHealthcheck: [IGNORE_HEALTHCHECK, ARGO_IGNORE_HEALTHCHECK],
} as const;

export type AnnotationName = keyof typeof ANNOTATION_SPELLINGS;

/**
 * The value of an annotation in whichever spelling is present (slipway's first), or undefined.
 * Takes the annotations map itself so that callers with any object shape can use it.
 */
export function readAnnotation(
  annotations: Readonly<Record<string, string>> | undefined,
  name: AnnotationName,
): string | undefined {
  if (!annotations) return undefined;
  for (const key of ANNOTATION_SPELLINGS[name]) {
    const value = annotations[key];
    if (value !== undefined) return value;
  }
  return undefined;
}
