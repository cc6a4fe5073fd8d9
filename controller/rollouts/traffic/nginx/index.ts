/**
 * NGINX router: a canary Ingress per stable Ingress of `trafficRouting.nginx`, created on first use
 * and owned by the Rollout (so it goes with it), written in one create or update per call. The
 * stable Ingress is only read.
 */
import type { NginxTrafficRouting } from "../../../../api/v1alpha1/rollout.js";
import type { ObjectRef } from "../../../kube/dynamic-client.js";
import { InvalidSpecError, UnsupportedError } from "../errors.js";
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
  canaryIngress,
  canaryIngressName,
  DEFAULT_ANNOTATION_PREFIX,
  type Ingress,
  liveHeaderRoute,
  type NginxConfig,
  render,
  unsupported,
} from "./transform.js";

const INGRESS_API_VERSION = "networking.k8s.io/v1";

export class NginxRouter implements TrafficRouter {
  readonly type = "nginx";
  private readonly writer: ObjectWriter;
  private readonly config: NginxConfig;
  private readonly stableIngresses: string[];

  constructor(
    private readonly settings: RouterSettings,
    nginx: NginxTrafficRouting,
  ) {
    this.writer = new ObjectWriter(settings.client, settings);
    this.stableIngresses = [
      ...new Set([...(nginx.stableIngress ? [nginx.stableIngress] : []), ...(nginx.stableIngresses ?? [])]),
    ];
    if (this.stableIngresses.length === 0) {
      throw new InvalidSpecError(
        `Rollout "${settings.rolloutName}": trafficRouting.nginx needs stableIngress (or stableIngresses)`,
      );
    }
    this.config = {
      rolloutName: settings.rolloutName,
      stableService: settings.stableService,
      canaryService: settings.canaryService,
      annotationPrefix: (nginx.annotationPrefix ?? DEFAULT_ANNOTATION_PREFIX).replace(/\/+$/, ""),
      additionalIngressAnnotations: nginx.additionalIngressAnnotations ?? {},
      canaryIngressAnnotations: nginx.canaryIngressAnnotations ?? {},
      maxTrafficWeight: settings.maxTrafficWeight,
      ...(settings.owner ? { owner: settings.owner } : {}),
    };
  }

  async setWeight(canaryWeight: number, opts: RouterCallOptions = {}): Promise<void> {
    checkWeight(canaryWeight, this.config.maxTrafficWeight);
    await this.eachCanary(opts, (stable, live) => canaryIngress(stable, live, { canaryWeight }, this.config));
  }

  async setHeaderRoute(step: HeaderRouteStep, opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setHeaderRoute", step.name, this.settings.managedRoutes);
    const route = headerRouteOf(step);
    await this.eachCanary(opts, (stable, live) => {
      const current = liveHeaderRoute(live);
      if (!route) {
        return live && current === step.name
          ? canaryIngress(stable, live, { headerRoute: null }, this.config)
          : live;
      }
      if (current && current !== route.name) {
        throw new UnsupportedError(
          `the nginx router holds one header route at a time: "${current}" is set; remove it before setting "${route.name}"`,
        );
      }
      return canaryIngress(stable, live, { headerRoute: route }, this.config);
    });
  }

  async setMirrorRoute(step: MirrorRouteStep, _opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setMirrorRoute", step.name, this.settings.managedRoutes);
    const route = mirrorRouteOf(step);
    // Removing a mirror that cannot exist is a no-op, so aborts and cleanups never fail on it.
    if (route) {
      throw new UnsupportedError(
        unsupported({ canaryWeight: 0, headerRoutes: [], mirrorRoutes: [route] }) ??
          "mirroring is unsupported",
      );
    }
  }

  async apply(state: TrafficState, opts: RouterCallOptions = {}): Promise<void> {
    checkState(state, this.settings.managedRoutes, this.config.maxTrafficWeight);
    const why = unsupported(state);
    if (why) throw new UnsupportedError(why);
    await this.eachCanary(opts, (stable, live) =>
      render(stable, live, state, this.settings.managedRoutes, this.config),
    );
  }

  async removeManagedRoutes(opts: RouterCallOptions = {}): Promise<void> {
    await this.eachCanary(opts, (stable, live) =>
      live && liveHeaderRoute(live) ? canaryIngress(stable, live, { headerRoute: null }, this.config) : live,
    );
  }

  async verify(expected: TrafficState, opts: RouterCallOptions = {}): Promise<VerifyResult> {
    checkState(expected, this.settings.managedRoutes, this.config.maxTrafficWeight);
    const why = unsupported(expected);
    if (why) return { ok: false, reason: why };
    for (const name of this.stableIngresses) {
      const stableRef = this.ref(name);
      const stable = await this.writer.find<Ingress>(stableRef, opts.signal);
      if (!stable)
        return {
          ok: false,
          reason: `route object "${name}" (Ingress) not found in namespace "${this.settings.namespace}"`,
        };
      const canaryRef = this.ref(canaryIngressName(this.settings.rolloutName, name));
      const live = await this.writer.find<Ingress>(canaryRef, opts.signal);
      if (!live) return { ok: false, reason: `the canary ${describeRef(canaryRef)} does not exist` };
      const difference = differenceFrom(live, () =>
        render(stable, live, expected, this.settings.managedRoutes, this.config),
      );
      if (difference) return { ok: false, reason: `${describeRef(canaryRef)}: ${difference}` };
    }
    return { ok: true };
  }

  /** Reads each stable Ingress, then creates or updates its canary with `build` (undefined: no write). */
  private async eachCanary(
    opts: RouterCallOptions,
    build: (stable: Ingress, live: Ingress | undefined) => Ingress | undefined,
  ): Promise<void> {
    for (const name of this.stableIngresses) {
      const stable = await this.writer.read<Ingress>(this.ref(name), opts.signal);
      await this.writer.write<Ingress>(
        this.ref(canaryIngressName(this.settings.rolloutName, name)),
        (live) => build(stable, live),
        opts.signal,
      );
    }
  }

  private ref(name: string): ObjectRef {
    return { apiVersion: INGRESS_API_VERSION, kind: "Ingress", name, namespace: this.settings.namespace };
  }
}
