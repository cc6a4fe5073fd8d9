/**
 * AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun, field for field as Argo Rollouts
 * (https://argo-rollouts.readthedocs.io/en/stable/features/analysis/) so a template moves over by
 * changing its apiVersion. Only the prometheus, web and job providers are carried; other Argo
 * providers would be pruned by the API server, so a run using them fails for want of a provider.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  AnyJson,
  API_VERSION,
  Duration,
  FreeFormObject,
  IntOrString,
  ObjectMeta,
  PodTemplateMetadata,
  StringEnum,
  StringMap,
  Timestamp,
} from "./common.js";

/** One set of phases for runs, metric results and single measurements, as in Argo. */
export const AnalysisPhase = StringEnum([
  "Pending",
  "Running",
  "Successful",
  "Failed",
  "Error",
  "Inconclusive",
]);
export type AnalysisPhase = Static<typeof AnalysisPhase>;

export const SecretKeyRef = Type.Object({
  name: Type.String(),
  key: Type.String(),
});
export type SecretKeyRef = Static<typeof SecretKeyRef>;

export const FieldRef = Type.Object({
  fieldPath: Type.String({ description: "Path into the owning Rollout, e.g. metadata.labels['app']" }),
});
export type FieldRef = Static<typeof FieldRef>;

/**
 * Where an argument's value comes from. Argo splits this into two types (templates read
 * secrets, rollouts read fields and pod hashes); one type keeps both spellings valid.
 */
export const ArgumentValueFrom = Type.Object({
  secretKeyRef: Type.Optional(SecretKeyRef),
  fieldRef: Type.Optional(FieldRef),
  podTemplateHashValue: Type.Optional(StringEnum(["Stable", "Latest"])),
});
export type ArgumentValueFrom = Static<typeof ArgumentValueFrom>;

/** A template argument; without `value`/`valueFrom` it must be supplied by the caller. */
export const Argument = Type.Object({
  name: Type.String(),
  value: Type.Optional(Type.String()),
  valueFrom: Type.Optional(ArgumentValueFrom),
});
export type Argument = Static<typeof Argument>;

export const WebMetricHeader = Type.Object({
  key: Type.String(),
  value: Type.String(),
});
export type WebMetricHeader = Static<typeof WebMetricHeader>;

export const PrometheusMetric = Type.Object({
  address: Type.Optional(Type.String({ description: "Prometheus base URL, e.g. http://prometheus:9090" })),
  query: Type.String(),
  timeout: Type.Optional(
    IntOrString({ description: "Seconds as in Argo Rollouts, or a Go duration string such as 30s" }),
  ),
  insecure: Type.Optional(Type.Boolean()),
  headers: Type.Optional(Type.Array(WebMetricHeader)),
});
export type PrometheusMetric = Static<typeof PrometheusMetric>;

export const WebMetric = Type.Object({
  url: Type.String(),
  method: Type.Optional(StringEnum(["GET", "POST", "PUT"])),
  headers: Type.Optional(Type.Array(WebMetricHeader)),
  body: Type.Optional(Type.String()),
  jsonBody: Type.Optional(AnyJson({ description: "Request body as JSON; wins over body" })),
  jsonPath: Type.Optional(Type.String({ description: "JSONPath into the response, e.g. {$.data.ok}" })),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  insecure: Type.Optional(Type.Boolean()),
});
export type WebMetric = Static<typeof WebMetric>;

/** A Job whose exit status is the measurement (0 passes, anything else fails). */
export const JobMetric = Type.Object({
  metadata: Type.Optional(PodTemplateMetadata),
  spec: FreeFormObject({ description: "batch/v1 JobSpec" }),
});
export type JobMetric = Static<typeof JobMetric>;

/** Exactly one provider should be set; the analysis reconciler reports an Error otherwise. */
export const MetricProvider = Type.Object({
  prometheus: Type.Optional(PrometheusMetric),
  web: Type.Optional(WebMetric),
  job: Type.Optional(JobMetric),
});
export type MetricProvider = Static<typeof MetricProvider>;

/**
 * One metric. Counts and limits are int-or-string because Argo allows `{{args.x}}` there;
 * they are resolved to integers when the run is created.
 */
export const Metric = Type.Object({
  name: Type.String(),
  interval: Type.Optional(
    Duration({ description: "Time between measurements; omitted means one measurement" }),
  ),
  initialDelay: Type.Optional(Duration()),
  count: Type.Optional(
    IntOrString({ description: "Measurements to take; default 1 without interval, unbounded with one" }),
  ),
  successCondition: Type.Optional(Type.String()),
  failureCondition: Type.Optional(Type.String()),
  failureLimit: Type.Optional(IntOrString({ description: "Failures tolerated (default 0, -1 = unlimited)" })),
  inconclusiveLimit: Type.Optional(
    IntOrString({ description: "Inconclusive results tolerated (default 0)" }),
  ),
  consecutiveErrorLimit: Type.Optional(IntOrString({ description: "Errors in a row tolerated (default 4)" })),
  consecutiveSuccessLimit: Type.Optional(
    IntOrString({ description: "Successes in a row that end the metric early (default 0 = off)" }),
  ),
  provider: MetricProvider,
});
export type Metric = Static<typeof Metric>;

/** A metric (or `*`) whose outcome is recorded but never decides the run. */
export const DryRun = Type.Object({
  metricName: Type.String(),
});
export type DryRun = Static<typeof DryRun>;

/** How many measurements to keep per metric (Argo keeps 10 by default). */
export const MeasurementRetention = Type.Object({
  metricName: Type.String(),
  limit: Type.Integer({ minimum: 0 }),
});
export type MeasurementRetention = Static<typeof MeasurementRetention>;

export const AnalysisTemplateSpec = Type.Object({
  metrics: Type.Array(Metric, { minItems: 1 }),
  args: Type.Optional(Type.Array(Argument)),
  dryRun: Type.Optional(Type.Array(DryRun)),
  measurementRetention: Type.Optional(Type.Array(MeasurementRetention)),
});
export type AnalysisTemplateSpec = Static<typeof AnalysisTemplateSpec>;

export const AnalysisTemplate = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("AnalysisTemplate"),
  metadata: ObjectMeta,
  spec: AnalysisTemplateSpec,
});
export type AnalysisTemplate = Static<typeof AnalysisTemplate>;

/** Same spec as AnalysisTemplate, shared across namespaces (`clusterScope: true` in a Rollout). */
export const ClusterAnalysisTemplate = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("ClusterAnalysisTemplate"),
  metadata: ObjectMeta,
  spec: AnalysisTemplateSpec,
});
export type ClusterAnalysisTemplate = Static<typeof ClusterAnalysisTemplate>;

/** Deletes finished runs after a while, as Argo's `ttlStrategy`. */
export const TTLStrategy = Type.Object({
  secondsAfterCompletion: Type.Optional(Type.Integer({ minimum: 0 })),
  secondsAfterFailure: Type.Optional(Type.Integer({ minimum: 0 })),
  secondsAfterSuccess: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type TTLStrategy = Static<typeof TTLStrategy>;

/** Args arrive resolved (values filled in from the Rollout) when the controller creates a run. */
export const AnalysisRunSpec = Type.Object({
  metrics: Type.Array(Metric, { minItems: 1 }),
  args: Type.Optional(Type.Array(Argument)),
  terminate: Type.Optional(
    Type.Boolean({ description: "Stop measuring; running metrics end Successful, as in Argo" }),
  ),
  dryRun: Type.Optional(Type.Array(DryRun)),
  measurementRetention: Type.Optional(Type.Array(MeasurementRetention)),
  ttlStrategy: Type.Optional(TTLStrategy),
});
export type AnalysisRunSpec = Static<typeof AnalysisRunSpec>;

export const Measurement = Type.Object({
  phase: AnalysisPhase,
  message: Type.Optional(Type.String()),
  startedAt: Type.Optional(Timestamp()),
  finishedAt: Type.Optional(Timestamp()),
  value: Type.Optional(Type.String({ description: "The provider's result, JSON-encoded when not a scalar" })),
  metadata: Type.Optional(StringMap({ description: "Provider bookkeeping, e.g. the job name" })),
  resumeAt: Type.Optional(
    Timestamp({ description: "When an in-flight measurement should be checked again" }),
  ),
});
export type Measurement = Static<typeof Measurement>;

export const MetricResult = Type.Object({
  name: Type.String(),
  phase: AnalysisPhase,
  measurements: Type.Optional(Type.Array(Measurement)),
  message: Type.Optional(Type.String()),
  count: Type.Optional(
    Type.Integer({ description: "Measurements without Error (successful+failed+inconclusive)" }),
  ),
  successful: Type.Optional(Type.Integer()),
  failed: Type.Optional(Type.Integer()),
  inconclusive: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.Integer()),
  consecutiveError: Type.Optional(Type.Integer()),
  consecutiveSuccess: Type.Optional(Type.Integer()),
  dryRun: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(StringMap()),
});
export type MetricResult = Static<typeof MetricResult>;

export const RunSummary = Type.Object({
  count: Type.Optional(Type.Integer()),
  successful: Type.Optional(Type.Integer()),
  failed: Type.Optional(Type.Integer()),
  inconclusive: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.Integer()),
});
export type RunSummary = Static<typeof RunSummary>;

export const AnalysisRunStatus = Type.Object({
  phase: AnalysisPhase,
  message: Type.Optional(Type.String()),
  startedAt: Type.Optional(Timestamp()),
  completedAt: Type.Optional(Timestamp()),
  metricResults: Type.Optional(Type.Array(MetricResult)),
  runSummary: Type.Optional(RunSummary),
  dryRunSummary: Type.Optional(RunSummary),
});
export type AnalysisRunStatus = Static<typeof AnalysisRunStatus>;

export const AnalysisRun = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("AnalysisRun"),
  metadata: ObjectMeta,
  spec: AnalysisRunSpec,
  status: Type.Optional(AnalysisRunStatus),
});
export type AnalysisRun = Static<typeof AnalysisRun>;
