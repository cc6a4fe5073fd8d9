/**
 * Rollout, with Argo Rollouts' field names (docs/features/specification.md) so an
 * `argoproj.io/v1alpha1` Rollout moves over by changing its apiVersion. Routers slipway does
 * not drive (ALB, SMI, Ambassador, ...) and experiment steps are left out on purpose.
 */
import { type Static, Type } from "@sinclair/typebox";
import { AnalysisPhase, Argument, DryRun, MeasurementRetention } from "./analysis.js";
import {
  API_VERSION,
  ConditionStatus,
  FreeFormObject,
  IntOrString,
  LabelSelector,
  ObjectMeta,
  OpenObject,
  PodTemplateMetadata,
  StringEnum,
  StringMap,
  Timestamp,
} from "./common.js";

/**
 * A pod template. slipway reads labels, annotations and container images; the rest belongs
 * to Kubernetes (core/v1 PodSpec) and is kept exactly as written.
 */
export const PodTemplate = OpenObject({
  metadata: Type.Optional(PodTemplateMetadata),
  spec: OpenObject({
    containers: Type.Array(
      OpenObject({
        name: Type.String(),
        image: Type.Optional(Type.String()),
      }),
    ),
  }),
});
export type PodTemplate = Static<typeof PodTemplate>;

/** Lets a Rollout take its pod template from an existing Deployment instead of `template`. */
export const WorkloadRef = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  scaleDown: Type.Optional(StringEnum(["never", "onsuccess", "progressively"])),
});
export type WorkloadRef = Static<typeof WorkloadRef>;

export const AnalysisTemplateRef = Type.Object({
  templateName: Type.String(),
  clusterScope: Type.Optional(Type.Boolean({ description: "Refer to a ClusterAnalysisTemplate" })),
});
export type AnalysisTemplateRef = Static<typeof AnalysisTemplateRef>;

/** Templates plus the args to fill them with; used by steps, background and blue-green analysis. */
export const RolloutAnalysis = Type.Object({
  templates: Type.Optional(Type.Array(AnalysisTemplateRef)),
  args: Type.Optional(Type.Array(Argument)),
  dryRun: Type.Optional(Type.Array(DryRun)),
  measurementRetention: Type.Optional(Type.Array(MeasurementRetention)),
  analysisRunMetadata: Type.Optional(PodTemplateMetadata),
});
export type RolloutAnalysis = Static<typeof RolloutAnalysis>;

/** Background analysis: runs from `startingStep` until the rollout completes. */
export const RolloutAnalysisBackground = Type.Object({
  ...RolloutAnalysis.properties,
  startingStep: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RolloutAnalysisBackground = Static<typeof RolloutAnalysisBackground>;

export const RolloutPause = Type.Object({
  duration: Type.Optional(
    IntOrString({ description: "Seconds or a duration string (10s, 5m); omitted waits for promote" }),
  ),
});
export type RolloutPause = Static<typeof RolloutPause>;

/** Scales the canary independently of its traffic weight. */
export const SetCanaryScale = Type.Object({
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  replicas: Type.Optional(Type.Integer({ minimum: 0 })),
  matchTrafficWeight: Type.Optional(Type.Boolean()),
});
export type SetCanaryScale = Static<typeof SetCanaryScale>;

/** One of exact, prefix or regex. */
export const StringMatch = Type.Object({
  exact: Type.Optional(Type.String()),
  prefix: Type.Optional(Type.String()),
  regex: Type.Optional(Type.String()),
});
export type StringMatch = Static<typeof StringMatch>;

export const HeaderRoutingMatch = Type.Object({
  headerName: Type.String(),
  headerValue: StringMatch,
});
export type HeaderRoutingMatch = Static<typeof HeaderRoutingMatch>;

/** A/B: requests matching any entry go to the canary; a step with only `name` removes the route. */
export const SetHeaderRoute = Type.Object({
  name: Type.String({ description: "Must be listed in trafficRouting.managedRoutes" }),
  match: Type.Optional(Type.Array(HeaderRoutingMatch)),
});
export type SetHeaderRoute = Static<typeof SetHeaderRoute>;

/** Fields AND within one entry, entries OR across the list (Argo semantics). */
export const RouteMatch = Type.Object({
  method: Type.Optional(StringMatch),
  path: Type.Optional(StringMatch),
  headers: Type.Optional(Type.Record(Type.String(), StringMatch)),
});
export type RouteMatch = Static<typeof RouteMatch>;

/** Shadow traffic: copies matching requests to the canary and discards its answers. */
export const SetMirrorRoute = Type.Object({
  name: Type.String({ description: "Must be listed in trafficRouting.managedRoutes" }),
  match: Type.Optional(Type.Array(RouteMatch)),
  percentage: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: "Default 100" })),
});
export type SetMirrorRoute = Static<typeof SetMirrorRoute>;

/** Exactly one action per step, as in Argo. */
export const CanaryStep = Type.Object({
  setWeight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  pause: Type.Optional(RolloutPause),
  analysis: Type.Optional(RolloutAnalysis),
  setCanaryScale: Type.Optional(SetCanaryScale),
  setHeaderRoute: Type.Optional(SetHeaderRoute),
  setMirrorRoute: Type.Optional(SetMirrorRoute),
});
export type CanaryStep = Static<typeof CanaryStep>;

/**
 * Gateway API router, configured inline. Argo spells it as the plugin
 * `plugins: {argoproj-labs/gatewayAPI: {httpRoute, namespace}}`; the controller reads both.
 */
export const GatewayAPITrafficRouting = Type.Object({
  httpRoute: Type.String({ description: "HTTPRoute whose backendRef weights are managed" }),
  namespace: Type.Optional(Type.String({ description: "Defaults to the Rollout's namespace" })),
});
export type GatewayAPITrafficRouting = Static<typeof GatewayAPITrafficRouting>;

export const IstioVirtualService = Type.Object({
  name: Type.String(),
  routes: Type.Optional(
    Type.Array(Type.String(), { description: "HTTP routes to manage; default: the only one" }),
  ),
});
export type IstioVirtualService = Static<typeof IstioVirtualService>;

export const IstioDestinationRule = Type.Object({
  name: Type.String(),
  canarySubsetName: Type.String(),
  stableSubsetName: Type.String(),
});
export type IstioDestinationRule = Static<typeof IstioDestinationRule>;

export const IstioTrafficRouting = Type.Object({
  virtualService: Type.Optional(IstioVirtualService),
  virtualServices: Type.Optional(Type.Array(IstioVirtualService)),
  destinationRule: Type.Optional(IstioDestinationRule),
});
export type IstioTrafficRouting = Static<typeof IstioTrafficRouting>;

export const NginxTrafficRouting = Type.Object({
  stableIngress: Type.Optional(Type.String()),
  stableIngresses: Type.Optional(Type.Array(Type.String())),
  annotationPrefix: Type.Optional(Type.String({ description: "Default nginx.ingress.kubernetes.io" })),
  additionalIngressAnnotations: Type.Optional(StringMap()),
  canaryIngressAnnotations: Type.Optional(StringMap()),
});
export type NginxTrafficRouting = Static<typeof NginxTrafficRouting>;

export const ManagedRoute = Type.Object({
  name: Type.String(),
});
export type ManagedRoute = Static<typeof ManagedRoute>;

export const RolloutTrafficRouting = Type.Object({
  gatewayAPI: Type.Optional(GatewayAPITrafficRouting),
  istio: Type.Optional(IstioTrafficRouting),
  nginx: Type.Optional(NginxTrafficRouting),
  plugins: Type.Optional(
    FreeFormObject({ description: "Argo plugin configs; argoproj-labs/gatewayAPI is honoured" }),
  ),
  managedRoutes: Type.Optional(
    Type.Array(ManagedRoute, { description: "Header/mirror routes, highest precedence first" }),
  ),
  maxTrafficWeight: Type.Optional(Type.Integer({ minimum: 1, description: "Default 100" })),
});
export type RolloutTrafficRouting = Static<typeof RolloutTrafficRouting>;

export const PreferredDuringSchedulingIgnoredDuringExecution = Type.Object({
  weight: Type.Integer({ minimum: 1, maximum: 100 }),
});
export type PreferredDuringSchedulingIgnoredDuringExecution = Static<
  typeof PreferredDuringSchedulingIgnoredDuringExecution
>;

/** Keeps canary and stable pods off the same nodes. */
export const AntiAffinity = Type.Object({
  preferredDuringSchedulingIgnoredDuringExecution: Type.Optional(
    PreferredDuringSchedulingIgnoredDuringExecution,
  ),
  requiredDuringSchedulingIgnoredDuringExecution: Type.Optional(Type.Object({})),
});
export type AntiAffinity = Static<typeof AntiAffinity>;

export const CanaryStrategy = Type.Object({
  steps: Type.Optional(Type.Array(CanaryStep)),
  canaryService: Type.Optional(Type.String()),
  stableService: Type.Optional(Type.String()),
  trafficRouting: Type.Optional(RolloutTrafficRouting),
  maxSurge: Type.Optional(IntOrString({ description: "Default 25%" })),
  maxUnavailable: Type.Optional(IntOrString({ description: "Default 25%" })),
  analysis: Type.Optional(RolloutAnalysisBackground),
  antiAffinity: Type.Optional(AntiAffinity),
  canaryMetadata: Type.Optional(PodTemplateMetadata),
  stableMetadata: Type.Optional(PodTemplateMetadata),
  dynamicStableScale: Type.Optional(Type.Boolean()),
  scaleDownDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, description: "Default 30" })),
  scaleDownDelayRevisionLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  abortScaleDownDelaySeconds: Type.Optional(
    Type.Integer({ minimum: 0, description: "Default 30; 0 = never" }),
  ),
  minPodsPerReplicaSet: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type CanaryStrategy = Static<typeof CanaryStrategy>;

export const BlueGreenStrategy = Type.Object({
  activeService: Type.String(),
  previewService: Type.Optional(Type.String()),
  previewReplicaCount: Type.Optional(Type.Integer({ minimum: 0 })),
  autoPromotionEnabled: Type.Optional(Type.Boolean({ description: "Default true" })),
  autoPromotionSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  maxUnavailable: Type.Optional(IntOrString()),
  prePromotionAnalysis: Type.Optional(RolloutAnalysis),
  postPromotionAnalysis: Type.Optional(RolloutAnalysis),
  antiAffinity: Type.Optional(AntiAffinity),
  previewMetadata: Type.Optional(PodTemplateMetadata),
  activeMetadata: Type.Optional(PodTemplateMetadata),
  scaleDownDelaySeconds: Type.Optional(Type.Integer({ minimum: 0, description: "Default 30" })),
  scaleDownDelayRevisionLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  abortScaleDownDelaySeconds: Type.Optional(
    Type.Integer({ minimum: 0, description: "Default 30; 0 = never" }),
  ),
});
export type BlueGreenStrategy = Static<typeof BlueGreenStrategy>;

/** Exactly one of canary or blueGreen. */
export const RolloutStrategy = Type.Object({
  canary: Type.Optional(CanaryStrategy),
  blueGreen: Type.Optional(BlueGreenStrategy),
});
export type RolloutStrategy = Static<typeof RolloutStrategy>;

export const RolloutSpec = Type.Object({
  replicas: Type.Optional(Type.Integer({ minimum: 0, description: "Default 1" })),
  selector: Type.Optional(LabelSelector),
  template: Type.Optional(PodTemplate),
  workloadRef: Type.Optional(WorkloadRef),
  minReadySeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  revisionHistoryLimit: Type.Optional(Type.Integer({ minimum: 0, description: "Default 10" })),
  progressDeadlineSeconds: Type.Optional(Type.Integer({ minimum: 0, description: "Default 600" })),
  progressDeadlineAbort: Type.Optional(Type.Boolean()),
  restartAt: Type.Optional(Timestamp({ description: "Pods created before this time are replaced" })),
  paused: Type.Optional(Type.Boolean()),
  rollbackWindow: Type.Optional(Type.Object({ revisions: Type.Optional(Type.Integer({ minimum: 0 })) })),
  analysis: Type.Optional(
    Type.Object({
      successfulRunHistoryLimit: Type.Optional(Type.Integer({ minimum: 0 })),
      unsuccessfulRunHistoryLimit: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
  ),
  strategy: RolloutStrategy,
});
export type RolloutSpec = Static<typeof RolloutSpec>;

export const RolloutPhase = StringEnum(["Healthy", "Progressing", "Paused", "Degraded"]);
export type RolloutPhase = Static<typeof RolloutPhase>;

export const PauseReason = StringEnum([
  "CanaryPauseStep",
  "BlueGreenPause",
  "InconclusiveAnalysisRun",
  "InconclusiveExperiment",
]);
export type PauseReason = Static<typeof PauseReason>;

export const PauseCondition = Type.Object({
  reason: PauseReason,
  startTime: Timestamp(),
});
export type PauseCondition = Static<typeof PauseCondition>;

/** Types used: Available, Progressing, Paused, Healthy, Completed, InvalidSpec, ReplicaFailure. */
export const RolloutCondition = Type.Object({
  type: Type.String(),
  status: ConditionStatus,
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastUpdateTime: Type.Optional(Timestamp()),
  lastTransitionTime: Type.Optional(Timestamp()),
});
export type RolloutCondition = Static<typeof RolloutCondition>;

export const RolloutAnalysisRunStatus = Type.Object({
  name: Type.String(),
  status: AnalysisPhase,
  message: Type.Optional(Type.String()),
});
export type RolloutAnalysisRunStatus = Static<typeof RolloutAnalysisRunStatus>;

export const WeightDestination = Type.Object({
  weight: Type.Integer({ minimum: 0 }),
  serviceName: Type.Optional(Type.String()),
  podTemplateHash: Type.Optional(Type.String()),
});
export type WeightDestination = Static<typeof WeightDestination>;

/** The weights last written to the router, and whether `verify` confirmed them. */
export const TrafficWeights = Type.Object({
  canary: WeightDestination,
  stable: WeightDestination,
  additional: Type.Optional(Type.Array(WeightDestination)),
  verified: Type.Optional(Type.Boolean()),
});
export type TrafficWeights = Static<typeof TrafficWeights>;

export const CanaryStatus = Type.Object({
  currentStepAnalysisRunStatus: Type.Optional(RolloutAnalysisRunStatus),
  currentBackgroundAnalysisRunStatus: Type.Optional(RolloutAnalysisRunStatus),
  weights: Type.Optional(TrafficWeights),
});
export type CanaryStatus = Static<typeof CanaryStatus>;

export const BlueGreenStatus = Type.Object({
  activeSelector: Type.Optional(Type.String({ description: "Pod hash the active Service selects" })),
  previewSelector: Type.Optional(Type.String({ description: "Pod hash the preview Service selects" })),
  scaleUpPreviewCheckPoint: Type.Optional(Type.Boolean()),
  prePromotionAnalysisRunStatus: Type.Optional(RolloutAnalysisRunStatus),
  postPromotionAnalysisRunStatus: Type.Optional(RolloutAnalysisRunStatus),
});
export type BlueGreenStatus = Static<typeof BlueGreenStatus>;

/**
 * Argo's status fields. `observedGeneration` is an integer here (Argo writes a string) because
 * generic tooling such as kstatus compares it with metadata.generation as a number.
 */
export const RolloutStatus = Type.Object({
  phase: Type.Optional(RolloutPhase),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.Integer()),
  currentStepIndex: Type.Optional(Type.Integer({ minimum: 0 })),
  currentStepHash: Type.Optional(Type.String()),
  currentPodHash: Type.Optional(Type.String()),
  stableRS: Type.Optional(Type.String({ description: "Pod-template hash of the stable ReplicaSet" })),
  abort: Type.Optional(Type.Boolean()),
  abortedAt: Type.Optional(Timestamp()),
  pauseConditions: Type.Optional(Type.Array(PauseCondition)),
  controllerPause: Type.Optional(Type.Boolean()),
  promoteFull: Type.Optional(Type.Boolean()),
  restartedAt: Type.Optional(Timestamp()),
  collisionCount: Type.Optional(Type.Integer()),
  replicas: Type.Optional(Type.Integer()),
  updatedReplicas: Type.Optional(Type.Integer()),
  readyReplicas: Type.Optional(Type.Integer()),
  availableReplicas: Type.Optional(Type.Integer()),
  HPAReplicas: Type.Optional(
    Type.Integer({
      description:
        "Pods receiving the traffic the replica count is sized for (the scale subresource's status.replicas, what an HPA reads)",
    }),
  ),
  selector: Type.Optional(
    Type.String({ description: "Label selector of the pods receiving traffic, for the scale subresource" }),
  ),
  conditions: Type.Optional(Type.Array(RolloutCondition)),
  canary: Type.Optional(CanaryStatus),
  blueGreen: Type.Optional(BlueGreenStatus),
});
export type RolloutStatus = Static<typeof RolloutStatus>;

export const Rollout = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("Rollout"),
  metadata: ObjectMeta,
  spec: RolloutSpec,
  status: Type.Optional(RolloutStatus),
});
export type Rollout = Static<typeof Rollout>;
