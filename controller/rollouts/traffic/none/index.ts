/**
 * No traffic router: Argo Rollouts' basic canary. The Service selects the pods of both versions,
 * so a weight is realised by the replica counts the rollout reconciler sets (10 replicas at 40%:
 * 4 canary, 6 stable; the share a request lands on is then the share of ready pods), not by any
 * routing object. `setWeight` therefore writes nothing, and `verify` always passes: the weight is
 * as true as the ReplicaSets' ready counts, which the reconciler checks itself.
 *
 * Header and mirror routes need a router to match requests: asking for one fails with
 * UnsupportedError (Argo rejects such steps without trafficRouting); removing one is a no-op.
 */
import { UnsupportedError } from "../errors.js";
import {
  type HeaderRouteStep,
  headerRouteOf,
  type MirrorRouteStep,
  mirrorRouteOf,
  type TrafficRouter,
  type TrafficState,
  type VerifyResult,
} from "../router.js";

export class NoRouter implements TrafficRouter {
  readonly type = "none";

  async setWeight(_canaryWeight: number): Promise<void> {}

  async setHeaderRoute(step: HeaderRouteStep): Promise<void> {
    if (headerRouteOf(step)) throw needsRouter("setHeaderRoute", step.name);
  }

  async setMirrorRoute(step: MirrorRouteStep): Promise<void> {
    if (mirrorRouteOf(step)) throw needsRouter("setMirrorRoute", step.name);
  }

  async apply(state: TrafficState): Promise<void> {
    const route = state.headerRoutes[0] ?? state.mirrorRoutes[0];
    if (route) throw needsRouter(state.headerRoutes[0] ? "setHeaderRoute" : "setMirrorRoute", route.name);
  }

  async verify(_expected: TrafficState): Promise<VerifyResult> {
    return { ok: true };
  }

  async removeManagedRoutes(): Promise<void> {}
}

function needsRouter(step: string, name: string): UnsupportedError {
  return new UnsupportedError(
    `${step} "${name}" needs spec.strategy.canary.trafficRouting: without a router, traffic is split by replica counts only`,
  );
}
