/**
 * The Rollout reconciler (STYLE.md rules 1–2): build the rollout context once from the informer
 * caches, plan (plan.ts, pure), carry the plan out (executor.ts), and write the status once
 * through the status subresource, only when it changed. A reconcile of an unchanged Rollout
 * makes no API request.
 *
 * When the plan moved traffic, the router's verification is known only after the actions ran; the
 * planner is then asked once more with it, so a step whose traffic was just verified completes in
 * the same reconcile (its remaining actions, such as the promotion's Service switch, run too).
 */
import type { V1Deployment, V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import type { PodTemplate } from "../../api/v1alpha1/rollout.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { SharedInformer } from "../kube/informer.js";
import { keyOf, splitKey } from "../kube/resource.js";
import type { Clock } from "../queue/clock.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../runtime/reconciler.js";
import { FIELD_MANAGER, POD_HASH_LABEL } from "./constants.js";
import type { Plan, RolloutContext, TrafficObservation } from "./context.js";
import { PlanExecutor, type RouterFactory } from "./executor.js";
import { canonicalJson, podTemplateHash } from "./hash.js";
import type { RolloutMetrics } from "./metrics.js";
import { planRollout } from "./plan.js";
import { RecentWrites } from "./recent-writes.js";
import { replicaSetName } from "./replicaset.js";
import { TrafficMemo } from "./trafficrouting.js";
import type { AnalysisRunObject, AnalysisTemplateObject, RolloutObject } from "./types.js";

/** Informer index: ReplicaSets / AnalysisRuns by the uid of the Rollout controlling them. */
export const OWNER_INDEX = "rollouts:owner-uid";
/** Informer index: pods by `namespace/rollouts-pod-template-hash`. */
export const POD_HASH_INDEX = "rollouts:pod-hash";

export interface RolloutInformers {
  rollouts: SharedInformer<RolloutObject>;
  replicaSets: SharedInformer<V1ReplicaSet>;
  services: SharedInformer<V1Service>;
  analysisRuns: SharedInformer<AnalysisRunObject>;
  analysisTemplates: SharedInformer<AnalysisTemplateObject>;
  clusterAnalysisTemplates: SharedInformer<AnalysisTemplateObject>;
  deployments: SharedInformer<V1Deployment>;
  pods: SharedInformer<V1Pod>;
}

export interface RolloutReconcilerOptions {
  client: ClusterClient;
  informers: RolloutInformers;
  recorder: EventRecorder;
  metrics: RolloutMetrics;
  routerFactory: RouterFactory;
  /** A verified router state is checked again after this long. Default 5 min. */
  trafficResyncMs?: number;
  clock: Clock;
}

export function controllerOwnerUid(o: {
  metadata?: { ownerReferences?: { controller?: boolean; kind: string; uid: string }[] };
}): string[] {
  const ref = o.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === "Rollout");
  return ref ? [ref.uid] : [];
}

export class RolloutReconciler implements Reconciler {
  readonly name = "rollouts";
  readonly memo = new TrafficMemo();
  private readonly rollouts: RecentWrites<RolloutObject>;
  private readonly replicaSets: RecentWrites<V1ReplicaSet>;
  private readonly analysisRuns: RecentWrites<AnalysisRunObject>;
  private readonly services: RecentWrites<V1Service>;
  private readonly trafficResyncMs: number;

  constructor(private readonly options: RolloutReconcilerOptions) {
    const { informers, clock } = options;
    informers.replicaSets.addIndex(OWNER_INDEX, controllerOwnerUid);
    informers.analysisRuns.addIndex(OWNER_INDEX, controllerOwnerUid);
    informers.pods.addIndex(POD_HASH_INDEX, (p) => {
      const hash = p.metadata?.labels?.[POD_HASH_LABEL];
      return hash ? [`${p.metadata?.namespace ?? ""}/${hash}`] : [];
    });
    this.rollouts = new RecentWrites(informers.rollouts, clock);
    this.replicaSets = new RecentWrites(informers.replicaSets, clock);
    this.analysisRuns = new RecentWrites(informers.analysisRuns, clock);
    this.services = new RecentWrites(informers.services, clock);
    this.trafficResyncMs = options.trafficResyncMs ?? 300_000;
  }

  /** The rollout context from the caches (and this process's own recent writes). */
  buildContext(rollout: RolloutObject, now: number, traffic: TrafficObservation): RolloutContext {
    const { informers } = this.options;
    const ns = rollout.metadata.namespace ?? "";
    const uid = rollout.metadata.uid ?? "";
    const isOwned = (o: {
      metadata?: { ownerReferences?: { controller?: boolean; kind: string; uid: string }[] };
    }) => controllerOwnerUid(o)[0] === uid;
    const replicaSets = this.replicaSets
      .overlay(informers.replicaSets.byIndex(OWNER_INDEX, uid), isOwned)
      .filter(isOwned);
    const analysisRuns = this.analysisRuns
      .overlay(informers.analysisRuns.byIndex(OWNER_INDEX, uid), isOwned)
      .filter(isOwned);
    let deployment: V1Deployment | undefined;
    let template: PodTemplate | undefined = rollout.spec.template;
    const ref = rollout.spec.workloadRef;
    if (ref && !rollout.spec.template) {
      deployment = informers.deployments.get(ns, ref.name);
      template = deployment?.spec?.template as PodTemplate | undefined;
    }
    const podHash = template ? podTemplateHash(template) : "";
    const wanted = replicaSetName(rollout.metadata.name ?? "", podHash);
    const sameName = podHash ? this.replicaSets.get(ns, wanted) : undefined;
    const nameTaken = sameName && !isOwned(sameName) ? sameName : undefined;
    const c = rollout.spec.strategy?.canary;
    const bg = rollout.spec.strategy?.blueGreen;
    const services = new Map<string, V1Service>();
    for (const name of [c?.canaryService, c?.stableService, bg?.activeService, bg?.previewService]) {
      if (!name) continue;
      const svc = this.services.get(ns, name);
      if (svc) services.set(name, svc);
    }
    const pods: V1Pod[] = [];
    for (const rs of replicaSets) {
      const hash = rs.metadata?.labels?.[POD_HASH_LABEL];
      if (hash) pods.push(...informers.pods.byIndex(POD_HASH_INDEX, `${ns}/${hash}`));
    }
    return {
      rollout,
      now,
      template,
      podHash,
      replicaSets,
      ...(nameTaken ? { nameTaken } : {}),
      services,
      analysisRuns,
      analysisTemplate: (name, clusterScope) =>
        clusterScope
          ? informers.clusterAnalysisTemplates.get(undefined, name)?.spec
          : informers.analysisTemplates.get(ns, name)?.spec,
      ...(deployment ? { deployment } : {}),
      pods,
      routed: Boolean(c?.trafficRouting),
      traffic,
    };
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const rollout = this.rollouts.get(namespace, name);
    if (!rollout || rollout.metadata.deletionTimestamp) {
      this.options.metrics.forget(namespace ?? "", name);
      return {};
    }
    const uid = rollout.metadata.uid ?? "";
    const now = ctx.clock.now();
    const executor = new PlanExecutor({
      client: this.options.client,
      recorder: this.options.recorder,
      routerFactory: this.options.routerFactory,
      memo: this.memo,
      replicaSets: this.replicaSets,
      analysisRuns: this.analysisRuns,
      services: this.services,
      clock: ctx.clock,
      trafficResyncMs: this.trafficResyncMs,
      log: ctx.log,
    });
    const observe = (error?: { reason: string; message: string }): TrafficObservation => ({
      verified: (state) => this.memo.verified(uid, state),
      ...(error ? { error } : {}),
    });
    let plan: Plan = planRollout(this.buildContext(rollout, now, observe()));
    const done = new Set<string>();
    const first = await executor.execute(rollout, plan.actions, done, ctx.signal);
    if (plan.traffic || first.routerError) {
      // Plan again with what the router was just verified to realise (and our own writes):
      // actions already carried out are skipped, new ones (the next move) run now.
      const again = planRollout(this.buildContext(rollout, now, observe(first.routerError)));
      const second = await executor.execute(rollout, again.actions, done, ctx.signal);
      plan =
        second.routerError && !first.routerError
          ? planRollout(this.buildContext(rollout, now, observe(second.routerError)))
          : again;
    }
    await this.writeStatus(rollout, plan, ctx);
    const status = plan.status;
    this.options.metrics.observe(namespace ?? "", name, status);
    if (plan.notes.has("aborted")) this.options.metrics.aborted(namespace ?? "", name);
    const resync = plan.traffic ? this.trafficResyncMs : undefined;
    const after = [plan.requeueAfterMs, resync].filter((v): v is number => v !== undefined);
    return after.length ? { requeueAfter: Math.min(...after) } : {};
  }

  private async writeStatus(rollout: RolloutObject, plan: Plan, ctx: ReconcileContext): Promise<void> {
    const changed = canonicalJson(rollout.status ?? {}) !== canonicalJson(plan.status);
    if (changed) {
      const body: RolloutObject = { ...rollout, status: plan.status };
      const written = await this.options.client.dynamic.replace<RolloutObject>(body, {
        subresource: "status",
        fieldManager: FIELD_MANAGER,
        signal: ctx.signal,
      });
      this.rollouts.wrote(written);
    }
    for (const e of plan.events) this.options.recorder.recordEvent(rollout, e.type, e.reason, e.message);
  }

  /** For tests and benchmarks: the key of a Rollout. */
  static key(namespace: string, name: string): string {
    return keyOf(namespace, name);
  }
}
