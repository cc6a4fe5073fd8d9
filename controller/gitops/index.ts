/**
 * The GitOps side of slipway: the Application reconciler and what it is built from. `slipway
 * controller` calls `createApplicationController` (or plugs `applicationControllerFactory` into
 * its manager) and mounts `webhookHandler` on `POST /api/webhook`.
 */
export {
  type ApplicationController,
  type ApplicationControllerOptions,
  applicationControllerFactory,
  createApplicationController,
} from "./app-controller.js";
export { ARGO_RESOURCES_FINALIZER, isResourcesFinalizer, RESOURCES_FINALIZER } from "./app-deletion.js";
export type { AppSettings } from "./app-deps.js";
export { ApplicationReconciler } from "./app-reconciler.js";
export { ComparisonFailedError } from "./app-run.js";
export { type CompareInput, type CompareResult, compareAppState, type DesiredResource } from "./app-state.js";
export { type AutoSyncDecision, type AutoSyncInput, automatedEnabled, decideAutoSync } from "./auto-sync.js";
export { globMatch, projectGlobMatch } from "./glob.js";
export { LiveStateCache, TRACKING_INDEX } from "./live-state.js";
export { appendHistory, retryBackoffMs, TERMINATE_OP } from "./operation.js";
export {
  destinationViolation,
  groupKindViolation,
  IN_CLUSTER_NAME,
  IN_CLUSTER_SERVER,
  normalizeGitURL,
  resourceViolations,
  sourceViolation,
} from "./project.js";
export { RenderCache } from "./render-cache.js";
export { RepositoryCredentials, secretValue } from "./repo-credentials.js";
export * from "./webhook.js";
export {
  ARGO_MANIFEST_GENERATE_PATHS,
  createWebhookHandler,
  MANIFEST_GENERATE_PATHS,
} from "./webhook-handler.js";
