/**
 * Application, with Argo CD's field names (docs/operator-manual/application.yaml) so an
 * `argoproj.io/v1alpha1` Application moves over by changing its apiVersion. Config management
 * plugins and source hydration are not carried.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  API_VERSION,
  FreeFormObject,
  HealthStatusCode,
  IntOrString,
  ObjectMeta,
  PodTemplateMetadata,
  StringEnum,
  StringMap,
  Timestamp,
} from "./common.js";

export const JsonnetVar = Type.Object({
  name: Type.String(),
  value: Type.String(),
  code: Type.Optional(Type.Boolean({ description: "Evaluate value as Jsonnet code, not a string" })),
});
export type JsonnetVar = Static<typeof JsonnetVar>;

export const ApplicationSourceJsonnet = Type.Object({
  extVars: Type.Optional(Type.Array(JsonnetVar)),
  tlas: Type.Optional(Type.Array(JsonnetVar)),
  libs: Type.Optional(Type.Array(Type.String())),
});
export type ApplicationSourceJsonnet = Static<typeof ApplicationSourceJsonnet>;

/** Plain manifests; `exclude` wins over `include` (both globs, Argo semantics). */
export const ApplicationSourceDirectory = Type.Object({
  recurse: Type.Optional(Type.Boolean()),
  include: Type.Optional(Type.String()),
  exclude: Type.Optional(Type.String()),
  jsonnet: Type.Optional(ApplicationSourceJsonnet),
});
export type ApplicationSourceDirectory = Static<typeof ApplicationSourceDirectory>;

export const KustomizeReplica = Type.Object({
  name: Type.String(),
  count: IntOrString(),
});
export type KustomizeReplica = Static<typeof KustomizeReplica>;

export const KustomizeSelector = Type.Object({
  group: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  labelSelector: Type.Optional(Type.String()),
  annotationSelector: Type.Optional(Type.String()),
});
export type KustomizeSelector = Static<typeof KustomizeSelector>;

export const KustomizePatch = Type.Object({
  path: Type.Optional(Type.String()),
  patch: Type.Optional(Type.String()),
  target: Type.Optional(KustomizeSelector),
  options: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
});
export type KustomizePatch = Static<typeof KustomizePatch>;

/** Overrides applied on top of the repo's kustomization.yaml, as `kustomize edit` would. */
export const ApplicationSourceKustomize = Type.Object({
  namePrefix: Type.Optional(Type.String()),
  nameSuffix: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  images: Type.Optional(Type.Array(Type.String())),
  commonLabels: Type.Optional(StringMap()),
  commonAnnotations: Type.Optional(StringMap()),
  forceCommonLabels: Type.Optional(Type.Boolean()),
  forceCommonAnnotations: Type.Optional(Type.Boolean()),
  labelWithoutSelector: Type.Optional(Type.Boolean()),
  replicas: Type.Optional(Type.Array(KustomizeReplica)),
  patches: Type.Optional(Type.Array(KustomizePatch)),
  components: Type.Optional(Type.Array(Type.String())),
  version: Type.Optional(Type.String()),
  kubeVersion: Type.Optional(Type.String()),
  apiVersions: Type.Optional(Type.Array(Type.String())),
});
export type ApplicationSourceKustomize = Static<typeof ApplicationSourceKustomize>;

export const HelmParameter = Type.Object({
  name: Type.String(),
  value: Type.String(),
  forceString: Type.Optional(Type.Boolean()),
});
export type HelmParameter = Static<typeof HelmParameter>;

export const HelmFileParameter = Type.Object({
  name: Type.String(),
  path: Type.String(),
});
export type HelmFileParameter = Static<typeof HelmFileParameter>;

/** Inputs to `helm template`; `valuesObject` wins over `values` (Argo semantics). */
export const ApplicationSourceHelm = Type.Object({
  valueFiles: Type.Optional(Type.Array(Type.String())),
  values: Type.Optional(Type.String({ description: "Values as a YAML string" })),
  valuesObject: Type.Optional(FreeFormObject({ description: "Values as an object" })),
  parameters: Type.Optional(Type.Array(HelmParameter)),
  fileParameters: Type.Optional(Type.Array(HelmFileParameter)),
  releaseName: Type.Optional(Type.String({ description: "Default: the Application's name" })),
  namespace: Type.Optional(Type.String()),
  skipCrds: Type.Optional(Type.Boolean()),
  skipTests: Type.Optional(Type.Boolean()),
  ignoreMissingValueFiles: Type.Optional(Type.Boolean()),
  passCredentials: Type.Optional(Type.Boolean()),
  version: Type.Optional(Type.String()),
  kubeVersion: Type.Optional(Type.String()),
  apiVersions: Type.Optional(Type.Array(Type.String())),
});
export type ApplicationSourceHelm = Static<typeof ApplicationSourceHelm>;

export const ApplicationSource = Type.Object({
  repoURL: Type.String(),
  path: Type.Optional(Type.String()),
  targetRevision: Type.Optional(
    Type.String({ description: "Branch, tag, commit SHA or HEAD; for Helm charts the chart version" }),
  ),
  chart: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String({ description: "Name other sources use as $ref/... in valueFiles" })),
  name: Type.Optional(Type.String()),
  directory: Type.Optional(ApplicationSourceDirectory),
  kustomize: Type.Optional(ApplicationSourceKustomize),
  helm: Type.Optional(ApplicationSourceHelm),
});
export type ApplicationSource = Static<typeof ApplicationSource>;

/** `server` or `name` identifies the cluster; `https://kubernetes.default.svc` is the local one. */
export const ApplicationDestination = Type.Object({
  server: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
});
export type ApplicationDestination = Static<typeof ApplicationDestination>;

export const SyncPolicyAutomated = Type.Object({
  enabled: Type.Optional(Type.Boolean({ description: "Absent means true, so `automated: {}` turns it on" })),
  prune: Type.Optional(Type.Boolean()),
  selfHeal: Type.Optional(Type.Boolean()),
  allowEmpty: Type.Optional(Type.Boolean()),
});
export type SyncPolicyAutomated = Static<typeof SyncPolicyAutomated>;

export const Backoff = Type.Object({
  duration: Type.Optional(Type.String({ description: "Default 5s" })),
  factor: Type.Optional(Type.Integer({ minimum: 1, description: "Default 2" })),
  maxDuration: Type.Optional(Type.String({ description: "Default 3m" })),
});
export type Backoff = Static<typeof Backoff>;

export const RetryStrategy = Type.Object({
  limit: Type.Optional(Type.Integer({ description: "Attempts; -1 retries forever" })),
  backoff: Type.Optional(Backoff),
  refresh: Type.Optional(Type.Boolean({ description: "Re-read the target revision before each retry" })),
});
export type RetryStrategy = Static<typeof RetryStrategy>;

export const SyncPolicy = Type.Object({
  automated: Type.Optional(SyncPolicyAutomated),
  syncOptions: Type.Optional(
    Type.Array(Type.String(), {
      description: "e.g. CreateNamespace=true, PruneLast=true, ServerSideApply=true",
    }),
  ),
  retry: Type.Optional(RetryStrategy),
  managedNamespaceMetadata: Type.Optional(PodTemplateMetadata),
});
export type SyncPolicy = Static<typeof SyncPolicy>;

/** Fields of matching live objects that never count as drift. */
export const ResourceIgnoreDifferences = Type.Object({
  group: Type.Optional(Type.String()),
  kind: Type.String(),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  jsonPointers: Type.Optional(Type.Array(Type.String())),
  jqPathExpressions: Type.Optional(Type.Array(Type.String())),
  managedFieldsManagers: Type.Optional(Type.Array(Type.String())),
});
export type ResourceIgnoreDifferences = Static<typeof ResourceIgnoreDifferences>;

export const Info = Type.Object({
  name: Type.String(),
  value: Type.String(),
});
export type Info = Static<typeof Info>;

export const ApplicationSpec = Type.Object({
  source: Type.Optional(ApplicationSource),
  sources: Type.Optional(
    Type.Array(ApplicationSource, { description: "Multiple sources; wins over source" }),
  ),
  destination: ApplicationDestination,
  project: Type.String({ description: "AppProject name; `default` allows everything" }),
  syncPolicy: Type.Optional(SyncPolicy),
  ignoreDifferences: Type.Optional(Type.Array(ResourceIgnoreDifferences)),
  info: Type.Optional(Type.Array(Info)),
  revisionHistoryLimit: Type.Optional(Type.Integer({ minimum: 0, description: "Default 10" })),
});
export type ApplicationSpec = Static<typeof ApplicationSpec>;

/** Identifies one resource of an app (selective sync, results, status). */
export const ResourceRef = Type.Object({
  group: Type.Optional(Type.String()),
  kind: Type.String(),
  name: Type.String(),
  namespace: Type.Optional(Type.String()),
});
export type ResourceRef = Static<typeof ResourceRef>;

export const SyncStrategyApply = Type.Object({
  force: Type.Optional(Type.Boolean()),
});
export type SyncStrategyApply = Static<typeof SyncStrategyApply>;

/** `apply` skips hooks; `hook` (the default) runs them. */
export const SyncStrategy = Type.Object({
  apply: Type.Optional(SyncStrategyApply),
  hook: Type.Optional(SyncStrategyApply),
});
export type SyncStrategy = Static<typeof SyncStrategy>;

export const SyncOperation = Type.Object({
  revision: Type.Optional(Type.String()),
  revisions: Type.Optional(Type.Array(Type.String())),
  prune: Type.Optional(Type.Boolean()),
  dryRun: Type.Optional(Type.Boolean()),
  resources: Type.Optional(Type.Array(ResourceRef, { description: "Selective sync; hooks are skipped" })),
  syncOptions: Type.Optional(Type.Array(Type.String())),
  syncStrategy: Type.Optional(SyncStrategy),
  source: Type.Optional(ApplicationSource),
  sources: Type.Optional(Type.Array(ApplicationSource)),
});
export type SyncOperation = Static<typeof SyncOperation>;

export const OperationInitiator = Type.Object({
  username: Type.Optional(Type.String()),
  automated: Type.Optional(Type.Boolean()),
});
export type OperationInitiator = Static<typeof OperationInitiator>;

/**
 * A requested operation. Clients (`slipway app sync`) write it at the top level, the
 * controller runs it, records `status.operationState` and removes it, as Argo CD does.
 */
export const Operation = Type.Object({
  sync: Type.Optional(SyncOperation),
  initiatedBy: Type.Optional(OperationInitiator),
  info: Type.Optional(Type.Array(Info)),
  retry: Type.Optional(RetryStrategy),
});
export type Operation = Static<typeof Operation>;

export const SyncStatusCode = StringEnum(["Synced", "OutOfSync", "Unknown"]);
export type SyncStatusCode = Static<typeof SyncStatusCode>;

export const OperationPhase = StringEnum(["Running", "Terminating", "Failed", "Error", "Succeeded"]);
export type OperationPhase = Static<typeof OperationPhase>;

export const ResultCode = StringEnum(["Synced", "SyncFailed", "Pruned", "PruneSkipped"]);
export type ResultCode = Static<typeof ResultCode>;

export const HookType = StringEnum([
  "PreSync",
  "Sync",
  "PostSync",
  "SyncFail",
  "Skip",
  "PreDelete",
  "PostDelete",
]);
export type HookType = Static<typeof HookType>;

export const SyncPhase = StringEnum(["PreSync", "Sync", "PostSync", "SyncFail"]);
export type SyncPhase = Static<typeof SyncPhase>;

export const HealthStatus = Type.Object({
  status: HealthStatusCode,
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.Optional(Timestamp()),
});
export type HealthStatus = Static<typeof HealthStatus>;

export const ComparedTo = Type.Object({
  source: Type.Optional(ApplicationSource),
  sources: Type.Optional(Type.Array(ApplicationSource)),
  destination: ApplicationDestination,
  ignoreDifferences: Type.Optional(Type.Array(ResourceIgnoreDifferences)),
});
export type ComparedTo = Static<typeof ComparedTo>;

export const SyncStatus = Type.Object({
  status: SyncStatusCode,
  comparedTo: Type.Optional(ComparedTo),
  revision: Type.Optional(Type.String()),
  revisions: Type.Optional(Type.Array(Type.String())),
});
export type SyncStatus = Static<typeof SyncStatus>;

/** One managed resource as the last comparison saw it. */
export const ResourceStatus = Type.Object({
  ...ResourceRef.properties,
  version: Type.Optional(Type.String()),
  status: Type.Optional(SyncStatusCode),
  health: Type.Optional(HealthStatus),
  hook: Type.Optional(Type.Boolean()),
  requiresPruning: Type.Optional(Type.Boolean()),
  syncWave: Type.Optional(Type.Integer()),
});
export type ResourceStatus = Static<typeof ResourceStatus>;

export const RevisionHistory = Type.Object({
  id: Type.Integer({ minimum: 0 }),
  revision: Type.Optional(Type.String()),
  revisions: Type.Optional(Type.Array(Type.String())),
  deployedAt: Timestamp(),
  deployStartedAt: Type.Optional(Timestamp()),
  source: Type.Optional(ApplicationSource),
  sources: Type.Optional(Type.Array(ApplicationSource)),
  initiatedBy: Type.Optional(OperationInitiator),
});
export type RevisionHistory = Static<typeof RevisionHistory>;

export const ResourceResult = Type.Object({
  ...ResourceRef.properties,
  version: Type.Optional(Type.String()),
  status: Type.Optional(ResultCode),
  message: Type.Optional(Type.String()),
  hookType: Type.Optional(HookType),
  hookPhase: Type.Optional(Type.String({ description: "Running, Succeeded, Failed, Error or Terminating" })),
  syncPhase: Type.Optional(SyncPhase),
});
export type ResourceResult = Static<typeof ResourceResult>;

export const SyncOperationResult = Type.Object({
  resources: Type.Optional(Type.Array(ResourceResult)),
  revision: Type.String(),
  revisions: Type.Optional(Type.Array(Type.String())),
  source: Type.Optional(ApplicationSource),
  sources: Type.Optional(Type.Array(ApplicationSource)),
});
export type SyncOperationResult = Static<typeof SyncOperationResult>;

export const OperationState = Type.Object({
  operation: Operation,
  phase: OperationPhase,
  message: Type.Optional(Type.String()),
  syncResult: Type.Optional(SyncOperationResult),
  startedAt: Timestamp(),
  finishedAt: Type.Optional(Timestamp()),
  retryCount: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type OperationState = Static<typeof OperationState>;

/** Types: InvalidSpecError, ComparisonError, SyncError, DeletionError, UnknownError, *Warning. */
export const ApplicationCondition = Type.Object({
  type: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.Optional(Timestamp()),
});
export type ApplicationCondition = Static<typeof ApplicationCondition>;

export const ApplicationSummary = Type.Object({
  externalURLs: Type.Optional(Type.Array(Type.String())),
  images: Type.Optional(Type.Array(Type.String())),
});
export type ApplicationSummary = Static<typeof ApplicationSummary>;

/** How a source was rendered. */
export const SourceType = StringEnum(["Directory", "Kustomize", "Helm", "Jsonnet"]);
export type SourceType = Static<typeof SourceType>;

export const ApplicationStatus = Type.Object({
  sync: Type.Optional(SyncStatus),
  health: Type.Optional(HealthStatus),
  resources: Type.Optional(Type.Array(ResourceStatus)),
  history: Type.Optional(Type.Array(RevisionHistory)),
  operationState: Type.Optional(OperationState),
  conditions: Type.Optional(Type.Array(ApplicationCondition)),
  reconciledAt: Type.Optional(Timestamp()),
  observedAt: Type.Optional(Timestamp()),
  sourceType: Type.Optional(SourceType),
  sourceTypes: Type.Optional(Type.Array(SourceType)),
  summary: Type.Optional(ApplicationSummary),
  controllerNamespace: Type.Optional(Type.String()),
});
export type ApplicationStatus = Static<typeof ApplicationStatus>;

export const Application = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("Application"),
  metadata: ObjectMeta,
  spec: ApplicationSpec,
  operation: Type.Optional(Operation),
  status: Type.Optional(ApplicationStatus),
});
export type Application = Static<typeof Application>;
