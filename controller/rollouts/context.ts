/**
 * The rolloutContext of STYLE.md rule 2: everything one reconcile of a Rollout reads (the
 * Rollout, its ReplicaSets, Services, AnalysisRuns, templates, the traffic router's last known
 * state), built once from the informer caches, and the plan the strategy code computes from it —
 * ordered actions, the new status and the events — which the reconciler then carries out and
 * persists once. Nothing in here does I/O.
 */

import type { V1Deployment, V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import { cloneJson } from "../../api/json.js";
import type { AnalysisTemplateSpec } from "../../api/v1alpha1/analysis.js";
import type {
  HeaderRoutingMatch,
  PodTemplate,
  RolloutStatus,
  RouteMatch,
} from "../../api/v1alpha1/rollout.js";
import { POD_HASH_LABEL } from "./constants.js";
import type { AnalysisRunObject, RolloutObject } from "./types.js";

/** What the router is asked to realise, plus the pod hashes subset-level routing selects. */
export interface DesiredTraffic {
  canaryWeight: number;
  headerRoutes: { name: string; match: HeaderRoutingMatch[] }[];
  mirrorRoutes: { name: string; percentage?: number; match: RouteMatch[] }[];
  canaryHash: string;
  stableHash: string;
}

/** What the reconciler knows of the router before planning. */
export interface TrafficObservation {
  /** Whether the router was seen realising exactly `state` (this reconcile or recently). */
  verified(state: DesiredTraffic): boolean;
  /** A router error met this reconcile: the spec or the route object is at fault. */
  error?: { reason: string; message: string };
}

export interface RolloutContext {
  readonly rollout: RolloutObject;
  /** ms since the epoch, from the controller's clock. */
  readonly now: number;
  /** `spec.template`, or the workloadRef Deployment's template; undefined when neither is usable. */
  readonly template: PodTemplate | undefined;
  /** Hash of `template` ("" without one). */
  readonly podHash: string;
  /** ReplicaSets this Rollout controls (controller ownerReference), any order. */
  readonly replicaSets: readonly V1ReplicaSet[];
  /** A ReplicaSet with the new set's name this Rollout does not control. */
  readonly nameTaken?: V1ReplicaSet;
  /** Services by name (only those that exist). */
  readonly services: ReadonlyMap<string, V1Service>;
  /** AnalysisRuns this Rollout controls. */
  readonly analysisRuns: readonly AnalysisRunObject[];
  /** An AnalysisTemplate (or ClusterAnalysisTemplate) spec by name; undefined when unknown. */
  analysisTemplate(name: string, clusterScope: boolean): AnalysisTemplateSpec | undefined;
  /** The workloadRef Deployment, when there is one. */
  readonly deployment?: V1Deployment;
  /** Pods of this Rollout's ReplicaSets. */
  readonly pods: readonly V1Pod[];
  /** Whether a traffic router is configured (canary `trafficRouting`). */
  readonly routed: boolean;
  readonly traffic: TrafficObservation;
}

export type EventType = "Normal" | "Warning";

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

/** A JSON merge patch of a ReplicaSet. */
export interface ReplicaSetPatch {
  metadata?: {
    labels?: Record<string, string | null>;
    annotations?: Record<string, string | null>;
    ownerReferences?: NonNullable<V1ReplicaSet["metadata"]>["ownerReferences"];
  };
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    template?: {
      metadata?: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> };
    };
  };
}

/** One write, carried out in plan order; `event` is recorded only when it succeeds. */
export type Action =
  | { type: "createReplicaSet"; replicaSet: V1ReplicaSet; event?: PlannedEvent }
  | { type: "patchReplicaSet"; name: string; patch: ReplicaSetPatch; event?: PlannedEvent }
  | { type: "deleteReplicaSet"; name: string; uid?: string; event?: PlannedEvent }
  | { type: "switchService"; service: string; hash: string; from?: string; event?: PlannedEvent }
  /**
   * Make the router realise `state`. `gate`: a failure stops the actions after it (moving
   * forward); without it (abort, completion) the remaining actions still run.
   */
  | { type: "traffic"; state: DesiredTraffic; gate: boolean; event?: PlannedEvent }
  | { type: "createAnalysisRun"; run: AnalysisRunObject; event?: PlannedEvent }
  | { type: "terminateAnalysisRun"; name: string }
  | { type: "deleteAnalysisRun"; name: string }
  | { type: "scaleDeployment"; name: string; replicas: number; event?: PlannedEvent }
  | {
      type: "patchPod";
      name: string;
      metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> };
    }
  | { type: "deletePod"; name: string; uid?: string; event?: PlannedEvent };

export interface Plan {
  actions: Action[];
  status: RolloutStatus;
  /** Recorded after the status is written. */
  events: PlannedEvent[];
  requeueAfterMs?: number;
  /** The traffic state asked of the router, when there is one. */
  traffic?: DesiredTraffic;
  notes: ReadonlySet<string>;
}

/** Collects a plan: strategy code pushes actions and events and edits `status` in place. */
export class PlanBuilder {
  readonly old: RolloutStatus;
  readonly status: RolloutStatus;
  readonly actions: Action[] = [];
  readonly events: PlannedEvent[] = [];
  traffic: DesiredTraffic | undefined;
  /** Retry attempt of the new revision (names its AnalysisRuns). */
  attempt = 0;
  /** A rollback within `rollbackWindow`: steps, pauses and analysis are skipped, as promote --full. */
  fastRollback = false;
  /** Things the reconciler reports once the status is written ("aborted", "completed"...). */
  readonly notes = new Set<string>();
  private requeue: number | undefined;

  constructor(readonly ctx: RolloutContext) {
    this.old = ctx.rollout.status ?? {};
    this.status = cloneJson(this.old);
  }

  get rollout(): RolloutObject {
    return this.ctx.rollout;
  }

  get name(): string {
    return this.ctx.rollout.metadata.name ?? "";
  }

  nowIso(): string {
    return new Date(this.ctx.now).toISOString();
  }

  act(action: Action): void {
    this.actions.push(action);
  }

  event(type: EventType, reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  /** Look again after `ms` (the earliest request wins). */
  requeueAfter(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    if (this.requeue === undefined || v < this.requeue) this.requeue = v;
  }

  /** Look again at an absolute time. */
  requeueAt(atMs: number): void {
    this.requeueAfter(atMs - this.ctx.now);
  }

  /** The pod hash a Service will select once the actions planned so far have run. */
  selectorAfter(name: string | undefined): string | undefined {
    if (!name) return undefined;
    for (let i = this.actions.length - 1; i >= 0; i--) {
      const a = this.actions[i]!;
      if (a.type === "switchService" && a.service === name) return a.hash;
    }
    return this.ctx.services.get(name)?.spec?.selector?.[POD_HASH_LABEL];
  }

  build(): Plan {
    return {
      actions: this.actions,
      status: this.status,
      events: this.events,
      notes: this.notes,
      ...(this.requeue !== undefined ? { requeueAfterMs: this.requeue } : {}),
      ...(this.traffic ? { traffic: this.traffic } : {}),
    };
  }
}

export function hashOf(rs: V1ReplicaSet | undefined): string | undefined {
  return rs?.metadata?.labels?.[POD_HASH_LABEL];
}

export function specReplicas(rs: V1ReplicaSet | undefined): number {
  return rs?.spec?.replicas ?? 0;
}

export function availableReplicas(rs: V1ReplicaSet | undefined): number {
  return rs?.status?.availableReplicas ?? 0;
}

export function readyReplicas(rs: V1ReplicaSet | undefined): number {
  return rs?.status?.readyReplicas ?? 0;
}

/**
 * Pods counted from a ReplicaSet's status are only trusted once the ReplicaSet controller has
 * seen its latest spec; before that, nothing is known to be available.
 */
export function observedAvailable(rs: V1ReplicaSet | undefined): number {
  if (!rs) return 0;
  const gen = rs.metadata?.generation;
  const observed = rs.status?.observedGeneration;
  if (gen !== undefined && observed !== undefined && observed < gen) {
    return Math.min(availableReplicas(rs), specReplicas(rs));
  }
  return availableReplicas(rs);
}
