/**
 * The Rollout controller: canary and blue-green delivery over ReplicaSets, Services, a traffic
 * router and AnalysisRuns, matching Argo Rollouts field for field.
 *
 * | file                | what                                                                 |
 * | ------------------- | -------------------------------------------------------------------- |
 * | `controller.ts`     | `createRolloutController`: informers, indexes, event mapping         |
 * | `reconciler.ts`     | context from caches → plan → execute → one status write               |
 * | `context.ts`        | the rollout context, actions and the plan builder                    |
 * | `plan.ts`           | the pure planner: validation, first deploy, retry, abort, status     |
 * | `canary.ts`         | canary steps, promotion                                              |
 * | `bluegreen.ts`      | preview, promotion gates, the active switch, post-promotion analysis |
 * | `abort.ts`          | abort causes, abort and retry                                        |
 * | `analysis.ts`       | AnalysisRun names, building, failure messages                        |
 * | `pause.ts`          | pause conditions, timed pauses, promote                              |
 * | `trafficrouting.ts` | header/mirror routes per step, the router verification memo          |
 * | `replicaset.ts`     | ReplicaSet names, revisions, scaling, deadlines, pod metadata        |
 * | `replica-math.ts`   | replica counts per weight, with and without a router                 |
 * | `service.ts`        | Service selectors                                                    |
 * | `status.ts`         | conditions, phase, progress                                          |
 * | `executor.ts`       | the actions' API requests and router calls                           |
 * | `recent-writes.ts`  | read-your-writes over the informer caches                            |
 *
 * Decisions (where Argo is silent or where slipway does better):
 * - A Service selector, and router weight, move to a set only when its pods are available; traffic
 *   goes to 0 before a canary Service moves off a set; old sets are scaled down only once nothing
 *   selects or routes to them (#1826, #2064).
 * - A step counts as done only after the router's `verify` confirmed the state it asked for.
 * - The stable set never shrinks for canary pods that are not available (a basic canary's stable
 *   set shrinks as canary pods become available; at the last step the canary is brought to full
 *   size before the stable set is touched); with a router the stable set stays at full size. With
 *   `dynamicStableScale` an abort returns traffic to stable as fast as stable has pods for it
 *   (#3372) rather than all at once to an undersized set.
 * - HPA (#2857): the scale subresource reports `status.HPAReplicas` (Argo's field and path): with
 *   a router the stable set alone, which spec.replicas sizes, so the canary's pods never inflate
 *   what an HPA reads back; blue-green the active set. A routed canary's stable set follows
 *   spec.replicas both ways (up before the canary, down after the traffic write), so it can take
 *   back 100% whatever the HPA did.
 * - Abort: traffic to stable first (one router write), then Services, then scale-down after
 *   `abortScaleDownDelaySeconds` (a basic canary goes once stable is back at full size). The
 *   step index stays where the abort happened; retry (`status.abort=false`) starts from the
 *   first step under a new attempt, whose AnalysisRuns get a `.N` suffix.
 * - `rollbackWindow`: a template back to a set created before the stable one, with fewer than
 *   `revisions` sets created in between, is promoted as by `promote --full` (steps, pauses and
 *   analysis skipped; a SkipSteps Event), Argo's creation-time rule.
 * - promote = clear `status.pauseConditions` (leave `controllerPause`); `promote --full` =
 *   `status.promoteFull=true`; abort = `status.abort=true`.
 * - Events: NewReplicaSetCreated, ScalingReplicaSet, SwitchService, TrafficWeightUpdated,
 *   TrafficRoutingDrift (Warning), AnalysisRunCreated, RolloutUpdated, RolloutStepCompleted,
 *   RolloutPaused, RolloutResumed, RolloutPromoted, RolloutAborted (Warning, with the failing
 *   metric and value), RolloutRetried, RolloutCompleted, RestartingPod, RolloutRestarted,
 *   ScalingDeployment, InvalidSpec (Warning), ProgressDeadlineExceeded (Warning).
 * - AnalysisRuns are named `<rollout>-<hash>-<step>|bg|pre|post[.<attempt>]`: one per step per
 *   revision per attempt, created once whatever the restarts.
 */

export * from "./constants.js";
export type {
  Action,
  DesiredTraffic,
  Plan,
  PlannedEvent,
  RolloutContext,
  TrafficObservation,
} from "./context.js";
export {
  createRolloutController,
  type RolloutController,
  type RolloutControllerOptions,
} from "./controller.js";
export type { RouterFactory } from "./executor.js";
export { podTemplateHash } from "./hash.js";
export { RolloutMetrics } from "./metrics.js";
export { planRollout } from "./plan.js";
export { RolloutReconciler } from "./reconciler.js";
export { basicCanaryCounts, routedCanaryReplicas } from "./replica-math.js";
export { computePhase } from "./status.js";
export type { AnalysisRunObject, RolloutObject } from "./types.js";
