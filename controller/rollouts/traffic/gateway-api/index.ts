/**
 * Gateway API router: drives the HTTPRoute(s) named in `trafficRouting.gatewayAPI` (or Argo's
 * `plugins: {argoproj-labs/gatewayAPI: ...}`), one read-modify-write per HTTPRoute and call.
 * The rules themselves are computed by the pure functions in `transform.ts`.
 */
import type { ObjectRef } from "../../../kube/dynamic-client.js";
import { RouteNotFoundError } from "../errors.js";
import { checkRouteName, checkState, checkWeight } from "../managed-routes.js";
import { describeRef, differenceFrom, ObjectWriter } from "../object-writer.js";
import {
  type HeaderRouteStep,
  headerRouteOf,
  type MirrorRouteStep,
  mirrorRouteOf,
  type RouterCallOptions,
  type TrafficRouter,
  type TrafficState,
  type VerifyResult,
} from "../router.js";
import type { RouterSettings } from "../settings.js";
import {
  type GatewayRouteConfig,
  type HTTPRoute,
  removeManagedRoutes,
  removeRoute,
  render,
  setHeaderRoute,
  setMirrorRoute,
  setWeight,
} from "./transform.js";

export const HTTPROUTE_API_VERSION = "gateway.networking.k8s.io/v1";

export interface HTTPRouteTarget {
  name: string;
  namespace: string;
  /** Whether header and mirror routes go on this HTTPRoute (the plugin's `useHeaderRoutes`). */
  managedRoutes: boolean;
}

export class GatewayApiRouter implements TrafficRouter {
  readonly type = "gatewayAPI";
  private readonly writer: ObjectWriter;
  private readonly config: GatewayRouteConfig;

  constructor(
    settings: RouterSettings,
    private readonly targets: readonly HTTPRouteTarget[],
  ) {
    this.writer = new ObjectWriter(settings.client, settings);
    this.config = {
      stableService: settings.stableService,
      canaryService: settings.canaryService,
      serviceNamespace: settings.namespace,
      maxTrafficWeight: settings.maxTrafficWeight,
      managedRoutes: settings.managedRoutes,
    };
  }

  async setWeight(canaryWeight: number, opts: RouterCallOptions = {}): Promise<void> {
    checkWeight(canaryWeight, this.config.maxTrafficWeight);
    for (const target of this.targets) {
      await this.writer.update<HTTPRoute>(
        refOf(target),
        (live) => setWeight(live, canaryWeight, this.config),
        opts.signal,
      );
    }
  }

  async setHeaderRoute(step: HeaderRouteStep, opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setHeaderRoute", step.name, this.config.managedRoutes);
    const route = headerRouteOf(step);
    for (const target of this.targets.filter((t) => t.managedRoutes)) {
      await this.writer.update<HTTPRoute>(
        refOf(target),
        (live) =>
          route ? setHeaderRoute(live, route, this.config) : removeRoute(live, step.name, this.config),
        opts.signal,
      );
    }
  }

  async setMirrorRoute(step: MirrorRouteStep, opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setMirrorRoute", step.name, this.config.managedRoutes);
    const route = mirrorRouteOf(step);
    for (const target of this.targets.filter((t) => t.managedRoutes)) {
      await this.writer.update<HTTPRoute>(
        refOf(target),
        (live) =>
          route ? setMirrorRoute(live, route, this.config) : removeRoute(live, step.name, this.config),
        opts.signal,
      );
    }
  }

  async apply(state: TrafficState, opts: RouterCallOptions = {}): Promise<void> {
    checkState(state, this.config.managedRoutes, this.config.maxTrafficWeight);
    for (const target of this.targets) {
      await this.writer.update<HTTPRoute>(
        refOf(target),
        (live) => render(live, state, this.config, { managedRoutes: target.managedRoutes }),
        opts.signal,
      );
    }
  }

  async verify(expected: TrafficState, opts: RouterCallOptions = {}): Promise<VerifyResult> {
    checkState(expected, this.config.managedRoutes, this.config.maxTrafficWeight);
    for (const target of this.targets) {
      const ref = refOf(target);
      const live = await this.writer.find<HTTPRoute>(ref, opts.signal);
      if (!live)
        return { ok: false, reason: new RouteNotFoundError(ref.kind, ref.name, target.namespace).message };
      const difference = differenceFrom(live, () =>
        render(live, expected, this.config, { managedRoutes: target.managedRoutes }),
      );
      if (difference) return { ok: false, reason: `${describeRef(ref)}: ${difference}` };
    }
    return { ok: true };
  }

  async removeManagedRoutes(opts: RouterCallOptions = {}): Promise<void> {
    for (const target of this.targets) {
      await this.writer.update<HTTPRoute>(
        refOf(target),
        (live) => removeManagedRoutes(live, this.config),
        opts.signal,
      );
    }
  }
}

function refOf(target: HTTPRouteTarget): ObjectRef {
  return {
    apiVersion: HTTPROUTE_API_VERSION,
    kind: "HTTPRoute",
    name: target.name,
    namespace: target.namespace,
  };
}
