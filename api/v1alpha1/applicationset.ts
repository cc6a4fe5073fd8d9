/**
 * ApplicationSet, with Argo CD's field names (docs/operator-manual/applicationset/). Supported
 * generators: list, clusters, git (directories and files), matrix and merge.
 */
import { type Static, Type } from "@sinclair/typebox";
import { ApplicationSpec, ResourceStatus } from "./application.js";
import {
  AnyJson,
  API_VERSION,
  ConditionStatus,
  FreeFormObject,
  IntOrString,
  LabelSelector,
  LabelSelectorRequirement,
  ObjectMeta,
  StringEnum,
  StringMap,
  Timestamp,
} from "./common.js";

/** The metadata an Application is stamped out with; every string may contain template parameters. */
export const ApplicationSetTemplateMeta = Type.Object({
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
  finalizers: Type.Optional(Type.Array(Type.String())),
});
export type ApplicationSetTemplateMeta = Static<typeof ApplicationSetTemplateMeta>;

export const ApplicationSetTemplate = Type.Object({
  metadata: ApplicationSetTemplateMeta,
  spec: ApplicationSpec,
});
export type ApplicationSetTemplate = Static<typeof ApplicationSetTemplate>;

/**
 * A generator's own template override. Argo merges it over the set's template, so any part
 * may be missing; it is kept as written and validated after the merge.
 */
const TemplateOverride = FreeFormObject({
  description: "Partial Application template merged over spec.template",
});

export const ListGenerator = Type.Object({
  elements: Type.Optional(Type.Array(AnyJson(), { description: "One parameter set per element" })),
  elementsYaml: Type.Optional(Type.String()),
  template: Type.Optional(TemplateOverride),
});
export type ListGenerator = Static<typeof ListGenerator>;

/** Registered clusters (cluster Secrets) matching `selector`, plus the local one when it matches. */
export const ClusterGenerator = Type.Object({
  selector: Type.Optional(LabelSelector),
  values: Type.Optional(StringMap({ description: "Extra parameters, exposed as values.<key>" })),
  flatList: Type.Optional(Type.Boolean()),
  template: Type.Optional(TemplateOverride),
});
export type ClusterGenerator = Static<typeof ClusterGenerator>;

export const GitPathItem = Type.Object({
  path: Type.String({ description: "Glob relative to the repo root" }),
  exclude: Type.Optional(Type.Boolean()),
});
export type GitPathItem = Static<typeof GitPathItem>;

export const GitGenerator = Type.Object({
  repoURL: Type.String(),
  revision: Type.Optional(Type.String()),
  directories: Type.Optional(Type.Array(GitPathItem)),
  files: Type.Optional(Type.Array(GitPathItem)),
  pathParamPrefix: Type.Optional(Type.String()),
  values: Type.Optional(StringMap()),
  requeueAfterSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  template: Type.Optional(TemplateOverride),
});
export type GitGenerator = Static<typeof GitGenerator>;

/**
 * Generators that may appear inside matrix/merge. A CRD schema cannot recurse, so (as in Argo)
 * a nested matrix or merge is kept free-form and parsed by the reconciler.
 */
export const NestedGenerator = Type.Object({
  list: Type.Optional(ListGenerator),
  clusters: Type.Optional(ClusterGenerator),
  git: Type.Optional(GitGenerator),
  matrix: Type.Optional(FreeFormObject()),
  merge: Type.Optional(FreeFormObject()),
  selector: Type.Optional(LabelSelector),
});
export type NestedGenerator = Static<typeof NestedGenerator>;

/** Cartesian product of exactly two child generators. */
export const MatrixGenerator = Type.Object({
  generators: Type.Array(NestedGenerator, { minItems: 2, maxItems: 2 }),
  template: Type.Optional(TemplateOverride),
});
export type MatrixGenerator = Static<typeof MatrixGenerator>;

/** The first generator's parameter sets, overridden by later ones that agree on `mergeKeys`. */
export const MergeGenerator = Type.Object({
  generators: Type.Array(NestedGenerator, { minItems: 1 }),
  mergeKeys: Type.Array(Type.String(), { minItems: 1 }),
  template: Type.Optional(TemplateOverride),
});
export type MergeGenerator = Static<typeof MergeGenerator>;

/** Exactly one generator kind per entry; `selector` filters the parameter sets it produced. */
export const ApplicationSetGenerator = Type.Object({
  list: Type.Optional(ListGenerator),
  clusters: Type.Optional(ClusterGenerator),
  git: Type.Optional(GitGenerator),
  matrix: Type.Optional(MatrixGenerator),
  merge: Type.Optional(MergeGenerator),
  selector: Type.Optional(LabelSelector),
});
export type ApplicationSetGenerator = Static<typeof ApplicationSetGenerator>;

export const ApplicationsSyncPolicy = StringEnum(["create-only", "create-update", "create-delete", "sync"]);
export type ApplicationsSyncPolicy = Static<typeof ApplicationsSyncPolicy>;

export const ApplicationSetSyncPolicy = Type.Object({
  preserveResourcesOnDeletion: Type.Optional(
    Type.Boolean({ description: "Delete generated Applications without cascading to their resources" }),
  ),
  applicationsSync: Type.Optional(ApplicationsSyncPolicy),
});
export type ApplicationSetSyncPolicy = Static<typeof ApplicationSetSyncPolicy>;

/** A step of a rolling sync: Applications whose labels match, at most `maxUpdate` at a time. */
export const RollingSyncStep = Type.Object({
  matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement)),
  maxUpdate: Type.Optional(IntOrString({ description: "Number or percentage; default 100%" })),
});
export type RollingSyncStep = Static<typeof RollingSyncStep>;

export const ApplicationSetStrategy = Type.Object({
  type: StringEnum(["AllAtOnce", "RollingSync"]),
  rollingSync: Type.Optional(Type.Object({ steps: Type.Array(RollingSyncStep) })),
  deletionOrder: Type.Optional(StringEnum(["AllAtOnce", "Reverse"])),
});
export type ApplicationSetStrategy = Static<typeof ApplicationSetStrategy>;

export const ApplicationSetSpec = Type.Object({
  generators: Type.Array(ApplicationSetGenerator, { minItems: 1 }),
  template: ApplicationSetTemplate,
  templatePatch: Type.Optional(
    Type.String({ description: "Go-templated YAML merged over each Application" }),
  ),
  goTemplate: Type.Optional(Type.Boolean({ description: "{{.param}} Go templates instead of {{param}}" })),
  goTemplateOptions: Type.Optional(Type.Array(Type.String())),
  syncPolicy: Type.Optional(ApplicationSetSyncPolicy),
  strategy: Type.Optional(ApplicationSetStrategy),
  preservedFields: Type.Optional(
    Type.Object({
      annotations: Type.Optional(Type.Array(Type.String())),
      labels: Type.Optional(Type.Array(Type.String())),
    }),
  ),
});
export type ApplicationSetSpec = Static<typeof ApplicationSetSpec>;

/** Types: ErrorOccurred, ParametersGenerated, ResourcesUpToDate, RolloutProgressing. */
export const ApplicationSetCondition = Type.Object({
  type: Type.String(),
  status: ConditionStatus,
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.Optional(Timestamp()),
});
export type ApplicationSetCondition = Static<typeof ApplicationSetCondition>;

/** Progress of one Application through a rolling sync. */
export const ApplicationSetApplicationStatus = Type.Object({
  application: Type.String(),
  status: StringEnum(["Waiting", "Pending", "Progressing", "Healthy"]),
  message: Type.Optional(Type.String()),
  step: Type.Optional(Type.String()),
  targetRevisions: Type.Optional(Type.Array(Type.String())),
  lastTransitionTime: Type.Optional(Timestamp()),
});
export type ApplicationSetApplicationStatus = Static<typeof ApplicationSetApplicationStatus>;

export const ApplicationSetStatus = Type.Object({
  conditions: Type.Optional(Type.Array(ApplicationSetCondition)),
  applicationStatus: Type.Optional(Type.Array(ApplicationSetApplicationStatus)),
  resources: Type.Optional(
    Type.Array(ResourceStatus, {
      description: "Generated Applications with their last known sync and health",
    }),
  ),
  resourcesCount: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ApplicationSetStatus = Static<typeof ApplicationSetStatus>;

export const ApplicationSet = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("ApplicationSet"),
  metadata: ObjectMeta,
  spec: ApplicationSetSpec,
  status: Type.Optional(ApplicationSetStatus),
});
export type ApplicationSet = Static<typeof ApplicationSet>;
