/**
 * Several routers at once (Argo allows e.g. Istio and NGINX on one Rollout, for traffic entering
 * through both): each call goes to each router in turn, and `verify` passes when all pass.
 */
import type {
  HeaderRouteStep,
  MirrorRouteStep,
  RouterCallOptions,
  TrafficRouter,
  TrafficState,
  VerifyResult,
} from "./router.js";

export class MultiRouter implements TrafficRouter {
  readonly type = "multiple";

  constructor(readonly routers: readonly TrafficRouter[]) {}

  async setWeight(canaryWeight: number, opts?: RouterCallOptions): Promise<void> {
    for (const router of this.routers) await router.setWeight(canaryWeight, opts);
  }

  async setHeaderRoute(route: HeaderRouteStep, opts?: RouterCallOptions): Promise<void> {
    for (const router of this.routers) await router.setHeaderRoute(route, opts);
  }

  async setMirrorRoute(route: MirrorRouteStep, opts?: RouterCallOptions): Promise<void> {
    for (const router of this.routers) await router.setMirrorRoute(route, opts);
  }

  async apply(state: TrafficState, opts?: RouterCallOptions): Promise<void> {
    for (const router of this.routers) await router.apply(state, opts);
  }

  async verify(expected: TrafficState, opts?: RouterCallOptions): Promise<VerifyResult> {
    for (const router of this.routers) {
      const result = await router.verify(expected, opts);
      if (!result.ok) return { ok: false, reason: `${router.type}: ${result.reason}` };
    }
    return { ok: true };
  }

  async removeManagedRoutes(opts?: RouterCallOptions): Promise<void> {
    for (const router of this.routers) await router.removeManagedRoutes(opts);
  }
}
