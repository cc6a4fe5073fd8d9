/**
 * `createRolloutController`: the Rollout reconciler wired to the runtime — shared informers for
 * Rollouts and everything a Rollout reads (its ReplicaSets and AnalysisRuns by owner, the
 * Services, templates and Deployments it names, its pods), Events, metrics and a work queue.
 * `slipway controller` calls it and starts the result with the other controllers.
 */
import type { KubernetesObject, V1Deployment, V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import type { Registry } from "prom-client";
import { API_VERSION, GROUP } from "../../api/v1alpha1/common.js";
import type { Rollout } from "../../api/v1alpha1/rollout.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import { EventRecorder } from "../kube/event-recorder.js";
import type { InformerScope } from "../kube/informer.js";
import type { InformerFactory } from "../kube/informer-factory.js";
import { keyOf, objectKey } from "../kube/resource.js";
import type { Clock } from "../queue/clock.js";
import { systemClock } from "../queue/clock.js";
import type { WorkQueue } from "../queue/work-queue.js";
import { Controller, type InformerEvent } from "../runtime/controller.js";
import { controllerOwnerKey } from "../runtime/key-mappers.js";
import { POD_HASH_LABEL } from "./constants.js";
import type { RouterFactory } from "./executor.js";
import { RolloutMetrics } from "./metrics.js";
import { type RolloutInformers, RolloutReconciler } from "./reconciler.js";
import { routerFor } from "./traffic/factory.js";
import type { AnalysisRunObject, AnalysisTemplateObject, RolloutObject } from "./types.js";

export interface RolloutControllerOptions {
  client: ClusterClient;
  informers: InformerFactory;
  clock?: Clock;
  registry?: Registry;
  log?: Logger;
  /** Default: a recorder on `client` with component "slipway-controller". */
  recorder?: EventRecorder;
  /** Rollouts reconciled at once. Default 10 (Argo's rollout threads). */
  concurrency?: number;
  /** Only Rollouts in this namespace; all namespaces when omitted. */
  namespace?: string;
  /** Default: `routerFor` of controller/rollouts/traffic. */
  routerFactory?: RouterFactory;
  /** A router state verified once is checked again after this long (hand edits). Default 5 min. */
  trafficResyncMs?: number;
  /** Work queue; default an in-memory one. A Redis queue lets replicas divide the work. */
  queue?: WorkQueue;
  /** Names the controller in logs and metrics. Default "rollouts". */
  name?: string;
}

/** Index names on the Rollout informer: what each Rollout refers to, for mapping events back. */
const BY_SERVICE = "rollouts:service";
const BY_TEMPLATE = "rollouts:analysis-template";
const BY_DEPLOYMENT = "rollouts:workload";

function referencedTemplates(ro: RolloutObject): string[] {
  const ns = ro.metadata.namespace ?? "";
  const s = ro.spec.strategy ?? {};
  const analyses = [
    ...(s.canary?.steps ?? []).flatMap((step) => (step.analysis ? [step.analysis] : [])),
    ...(s.canary?.analysis ? [s.canary.analysis] : []),
    ...(s.blueGreen?.prePromotionAnalysis ? [s.blueGreen.prePromotionAnalysis] : []),
    ...(s.blueGreen?.postPromotionAnalysis ? [s.blueGreen.postPromotionAnalysis] : []),
  ];
  return [
    ...new Set(
      analyses.flatMap((a) =>
        (a.templates ?? []).map((t) =>
          t.clusterScope ? `cluster/${t.templateName}` : `${ns}/${t.templateName}`,
        ),
      ),
    ),
  ];
}

/** An AnalysisRun matters to its Rollout when it appears, goes, or changes phase. */
function runPhaseChanged(event: InformerEvent<AnalysisRunObject>): boolean {
  if (event.type !== "update") return true;
  return event.old.status?.phase !== event.object.status?.phase;
}

/** A ReplicaSet matters when its spec or pod counts change, not on every status heartbeat. */
function replicaSetChanged(event: InformerEvent<V1ReplicaSet>): boolean {
  if (event.type !== "update") return true;
  const a = event.old;
  const b = event.object;
  return (
    a.metadata?.generation !== b.metadata?.generation ||
    a.status?.replicas !== b.status?.replicas ||
    a.status?.readyReplicas !== b.status?.readyReplicas ||
    a.status?.availableReplicas !== b.status?.availableReplicas ||
    a.status?.observedGeneration !== b.status?.observedGeneration ||
    JSON.stringify(a.metadata?.annotations ?? {}) !== JSON.stringify(b.metadata?.annotations ?? {}) ||
    JSON.stringify(a.metadata?.ownerReferences ?? []) !== JSON.stringify(b.metadata?.ownerReferences ?? [])
  );
}

export interface RolloutController extends Controller {
  /** The reconciler, for tests and benchmarks. */
  readonly rolloutReconciler: RolloutReconciler;
}

export function createRolloutController(options: RolloutControllerOptions): RolloutController {
  const log = options.log ?? pino({ name: "slipway" });
  const clock = options.clock ?? systemClock;
  const scope: InformerScope = options.namespace ? { namespace: options.namespace } : {};
  const f = options.informers;
  const informers: RolloutInformers = {
    rollouts: f.forResource<RolloutObject>({ apiVersion: API_VERSION, kind: "Rollout" }, scope),
    replicaSets: f.forResource<V1ReplicaSet>(
      { group: "apps", version: "v1", resource: "replicasets" },
      { ...scope, labelSelector: POD_HASH_LABEL },
    ),
    services: f.forResource<V1Service>({ group: "", version: "v1", resource: "services" }, scope),
    analysisRuns: f.forResource<AnalysisRunObject>({ apiVersion: API_VERSION, kind: "AnalysisRun" }, scope),
    analysisTemplates: f.forResource<AnalysisTemplateObject>(
      { apiVersion: API_VERSION, kind: "AnalysisTemplate" },
      scope,
    ),
    clusterAnalysisTemplates: f.forResource<AnalysisTemplateObject>({
      apiVersion: API_VERSION,
      kind: "ClusterAnalysisTemplate",
    }),
    deployments: f.forResource<V1Deployment>(
      { group: "apps", version: "v1", resource: "deployments" },
      scope,
    ),
    pods: f.forResource<V1Pod>(
      { group: "", version: "v1", resource: "pods" },
      { ...scope, labelSelector: POD_HASH_LABEL },
    ),
  };
  const { rollouts } = informers;
  rollouts.addIndex(BY_SERVICE, (ro) => {
    const ns = ro.metadata.namespace ?? "";
    const c = ro.spec.strategy?.canary;
    const bg = ro.spec.strategy?.blueGreen;
    return [c?.canaryService, c?.stableService, bg?.activeService, bg?.previewService]
      .filter((n): n is string => Boolean(n))
      .map((n) => `${ns}/${n}`);
  });
  rollouts.addIndex(BY_TEMPLATE, referencedTemplates);
  rollouts.addIndex(BY_DEPLOYMENT, (ro) =>
    ro.spec.workloadRef ? [`${ro.metadata.namespace ?? ""}/${ro.spec.workloadRef.name}`] : [],
  );
  const recorder = options.recorder ?? new EventRecorder(options.client, { log, clock });
  const reconciler = new RolloutReconciler({
    client: options.client,
    informers,
    recorder,
    metrics: new RolloutMetrics(options.registry),
    routerFactory: options.routerFactory ?? ((ro, deps) => routerFor(ro as unknown as Rollout, deps)),
    clock,
    ...(options.trafficResyncMs !== undefined ? { trafficResyncMs: options.trafficResyncMs } : {}),
  });
  const byIndex =
    (index: string, keyFor: (o: KubernetesObject) => string) =>
    (o: KubernetesObject): string[] =>
      rollouts.byIndex(index, keyFor(o)).map(objectKey);
  const nsName = (o: KubernetesObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  const podOwner = (pod: V1Pod): string[] => {
    const ref = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === "ReplicaSet");
    if (!ref) return [];
    const rs = informers.replicaSets.get(pod.metadata?.namespace, ref.name);
    const owner = rs?.metadata?.ownerReferences?.find((r) => r.controller && r.kind === "Rollout");
    return owner ? [keyOf(pod.metadata?.namespace, owner.name)] : [];
  };
  const controller = new Controller({
    reconciler,
    name: options.name ?? reconciler.name,
    concurrency: options.concurrency ?? 10,
    log,
    clock,
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
  })
    .watch(rollouts)
    .watch(informers.replicaSets, { map: controllerOwnerKey("Rollout", GROUP), filter: replicaSetChanged })
    .watch(informers.analysisRuns, { map: controllerOwnerKey("Rollout", GROUP), filter: runPhaseChanged })
    .watch(informers.services, { map: byIndex(BY_SERVICE, nsName) })
    .watch(informers.analysisTemplates, { map: byIndex(BY_TEMPLATE, nsName) })
    .watch(informers.clusterAnalysisTemplates, {
      map: byIndex(BY_TEMPLATE, (o) => `cluster/${o.metadata?.name ?? ""}`),
    })
    .watch(informers.deployments, { map: byIndex(BY_DEPLOYMENT, nsName) })
    .watch(informers.pods, {
      map: podOwner,
      filter: (e) =>
        e.type !== "update" || e.old.metadata?.creationTimestamp !== e.object.metadata?.creationTimestamp,
    });
  return Object.assign(controller, { rolloutReconciler: reconciler });
}
