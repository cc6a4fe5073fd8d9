/**
 * Carries out a plan's actions in order, through the Kubernetes API (the only I/O of a
 * reconcile besides the status write). Writes are idempotent merge patches, creates that
 * treat "already exists" as done (deterministic names), and router calls; each result goes
 * into the read-your-writes overlay, and each action's event is recorded once it succeeded.
 */
import type { V1Deployment, V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ClusterClient } from "../kube/cluster-client.js";
import { isAlreadyExists } from "../kube/errors.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { Clock } from "../queue/clock.js";
import {
  FIELD_MANAGER,
  MANAGED_BY_ANNOTATION,
  POD_HASH_LABEL,
  SLIPWAY_MANAGED_BY_ANNOTATION,
} from "./constants.js";
import type { Action, DesiredTraffic } from "./context.js";
import { digest } from "./hash.js";
import type { RecentWrites } from "./recent-writes.js";
import { TrafficRouterError } from "./traffic/errors.js";
import type { RouterDeps, TrafficRouter } from "./traffic/router.js";
import { type TrafficMemo, trafficDigest } from "./trafficrouting.js";
import type { AnalysisRunObject, RolloutObject } from "./types.js";

export type RouterFactory = (rollout: RolloutObject, deps: RouterDeps) => TrafficRouter;

/** Router errors no retry fixes: the spec or the routing object must change. */
const PERMANENT = new Set(["RouteNotFound", "InvalidRoute", "InvalidSpec", "Unsupported", "NotOwned"]);

export interface ExecutorDeps {
  client: ClusterClient;
  recorder: EventRecorder;
  routerFactory: RouterFactory;
  memo: TrafficMemo;
  replicaSets: RecentWrites<V1ReplicaSet>;
  analysisRuns: RecentWrites<AnalysisRunObject>;
  services: RecentWrites<V1Service>;
  clock: Clock;
  /** A verified router state is checked again after this long (hand edits). */
  trafficResyncMs: number;
  log: Logger;
}

export interface ExecuteResult {
  /** A router error that needs a change of the spec or the routing object. */
  routerError?: { reason: string; message: string };
  /** Requests made. */
  writes: number;
}

export class PlanExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /**
   * Runs `actions` in order, skipping those whose digest is in `done` (already run this
   * reconcile) and adding the ones it runs. A gating router failure stops the rest.
   */
  async execute(
    rollout: RolloutObject,
    actions: readonly Action[],
    done: Set<string>,
    signal?: AbortSignal,
  ): Promise<ExecuteResult> {
    const result: ExecuteResult = { writes: 0 };
    for (const action of actions) {
      const key = digest(action);
      if (done.has(key)) continue;
      done.add(key);
      if (signal?.aborted) throw new Error("controller stopping");
      if (action.type === "traffic") {
        const error = await this.traffic(rollout, action.state, action.event, signal);
        result.writes++;
        if (error) {
          result.routerError = error;
          if (action.gate) break;
        }
        continue;
      }
      await this.run(rollout, action, signal);
      result.writes++;
      if ("event" in action && action.event) {
        this.deps.recorder.recordEvent(rollout, action.event.type, action.event.reason, action.event.message);
      }
    }
    return result;
  }

  private ref(rollout: RolloutObject, apiVersion: string, kind: string, name: string) {
    return { apiVersion, kind, name, namespace: rollout.metadata.namespace ?? "default" };
  }

  private async run(
    rollout: RolloutObject,
    action: Exclude<Action, { type: "traffic" }>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { client } = this.deps;
    const dyn = client.dynamic;
    const ns = rollout.metadata.namespace ?? "default";
    const opts = { fieldManager: FIELD_MANAGER, ...(signal ? { signal } : {}) };
    switch (action.type) {
      case "createReplicaSet": {
        try {
          this.deps.replicaSets.wrote(await dyn.create(action.replicaSet, opts));
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
          const live = await dyn.get<V1ReplicaSet>(
            this.ref(rollout, "apps/v1", "ReplicaSet", action.replicaSet.metadata?.name ?? ""),
            signal,
          );
          if (live) this.deps.replicaSets.wrote(live);
        }
        return;
      }
      case "patchReplicaSet":
        this.deps.replicaSets.wrote(
          await dyn.patch<V1ReplicaSet>(
            this.ref(rollout, "apps/v1", "ReplicaSet", action.name),
            action.patch,
            "merge",
            opts,
          ),
        );
        return;
      case "deleteReplicaSet":
        await dyn.delete(this.ref(rollout, "apps/v1", "ReplicaSet", action.name), {
          propagationPolicy: "Background",
          ...(action.uid ? { preconditions: { uid: action.uid } } : {}),
          ...(signal ? { signal } : {}),
        });
        this.deps.replicaSets.deleted(ns, action.name);
        return;
      case "switchService": {
        const name = rollout.metadata.name ?? "";
        const patch = {
          metadata: { annotations: { [MANAGED_BY_ANNOTATION]: name, [SLIPWAY_MANAGED_BY_ANNOTATION]: name } },
          spec: { selector: { [POD_HASH_LABEL]: action.hash } },
        };
        this.deps.services.wrote(
          await dyn.patch<V1Service>(
            this.ref(rollout, "v1", "Service", action.service),
            patch,
            "merge",
            opts,
          ),
        );
        return;
      }
      case "createAnalysisRun":
        try {
          this.deps.analysisRuns.wrote(await dyn.create(action.run, opts));
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
        return;
      case "terminateAnalysisRun":
        this.deps.analysisRuns.wrote(
          await dyn.patch<AnalysisRunObject>(
            this.ref(rollout, "slipway.dev/v1alpha1", "AnalysisRun", action.name),
            { spec: { terminate: true } },
            "merge",
            opts,
          ),
        );
        return;
      case "deleteAnalysisRun":
        await dyn.delete(
          this.ref(rollout, "slipway.dev/v1alpha1", "AnalysisRun", action.name),
          signal ? { signal } : {},
        );
        this.deps.analysisRuns.deleted(ns, action.name);
        return;
      case "scaleDeployment":
        await dyn.patch<V1Deployment>(
          this.ref(rollout, "apps/v1", "Deployment", action.name),
          { spec: { replicas: action.replicas } },
          "merge",
          opts,
        );
        return;
      case "patchPod":
        await dyn.patch<V1Pod>(
          this.ref(rollout, "v1", "Pod", action.name),
          { metadata: action.metadata },
          "merge",
          opts,
        );
        return;
      case "deletePod":
        await dyn.delete(this.ref(rollout, "v1", "Pod", action.name), {
          ...(action.uid ? { preconditions: { uid: action.uid } } : {}),
          ...(signal ? { signal } : {}),
        });
        return;
    }
  }

  /**
   * Makes the router realise `state` unless it was verified to recently: apply (one write per
   * routing object, none when already so), then verify. A verified state checked again and found
   * changed is a hand edit: a Warning event, then it is put right.
   */
  private async traffic(
    rollout: RolloutObject,
    state: DesiredTraffic,
    event: { type: "Normal" | "Warning"; reason: string; message: string } | undefined,
    signal?: AbortSignal,
  ): Promise<{ reason: string; message: string } | undefined> {
    const { memo, clock, trafficResyncMs, recorder } = this.deps;
    const uid = rollout.metadata.uid ?? "";
    if (!memo.stale(uid, state, clock.now(), trafficResyncMs)) return undefined;
    const wanted = {
      canaryWeight: state.canaryWeight,
      headerRoutes: state.headerRoutes,
      mirrorRoutes: state.mirrorRoutes,
    };
    const opts = signal ? { signal } : {};
    try {
      const router = this.deps.routerFactory(rollout, {
        client: this.deps.client.dynamic,
        canaryHash: state.canaryHash,
        stableHash: state.stableHash,
        fieldManager: FIELD_MANAGER,
      });
      if (memo.lastDigest(uid) === trafficDigest(state)) {
        const check = await router.verify(wanted, opts);
        if (check.ok) {
          memo.record(uid, state, clock.now());
          return undefined;
        }
        recorder.recordEvent(
          rollout,
          "Warning",
          "TrafficRoutingDrift",
          `Routing changed outside slipway (${check.reason}); restoring it`,
        );
      }
      await router.apply(wanted, opts);
      const check = await router.verify(wanted, opts);
      if (check.ok) {
        memo.record(uid, state, clock.now());
        if (event) recorder.recordEvent(rollout, event.type, event.reason, event.message);
      } else {
        memo.forget(uid);
        this.deps.log.info({ reason: check.reason }, "router not yet showing the asked state");
      }
      return undefined;
    } catch (error) {
      if (error instanceof TrafficRouterError && PERMANENT.has(error.reason)) {
        memo.forget(uid);
        return { reason: error.reason, message: error.message };
      }
      throw error;
    }
  }
}
