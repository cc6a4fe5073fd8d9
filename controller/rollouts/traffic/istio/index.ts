/**
 * Istio router: the VirtualService(s) of `trafficRouting.istio`, and in subset-level routing the
 * DestinationRule whose subsets select each version by pod-template hash.
 *
 * Write order (argo-rollouts #1826, #2064: no request may reach a pod set that is not ready):
 * before a VirtualService write, the DestinationRule is brought to the hashes given. When that moves
 * the canary subset to other pods (a new revision), everything that sends requests to the canary
 * subset (its weight, header and mirror routes) is taken off it first, in one VirtualService write;
 * then the DestinationRule is written; then the VirtualService gets what was asked. Moving the
 * stable subset (promotion: to the pods that were the canary, ready by then) is written before the
 * weight goes back to stable. The caller asks for a canary weight only once the canary is ready.
 */
import type { IstioTrafficRouting } from "../../../../api/v1alpha1/rollout.js";
import type { ObjectRef } from "../../../kube/dynamic-client.js";
import { InvalidSpecError, RouteNotFoundError } from "../errors.js";
import { sameJson } from "../json.js";
import { checkRouteName, checkState, checkWeight, managedNames } from "../managed-routes.js";
import { describeRef, differenceFrom, ObjectWriter } from "../object-writer.js";
import {
  type HeaderRouteStep,
  headerRouteOf,
  type MirrorRouteStep,
  mirrorRouteOf,
  POD_TEMPLATE_HASH_LABEL,
  type RouterCallOptions,
  type TrafficRouter,
  type TrafficState,
  type VerifyResult,
} from "../router.js";
import type { RouterSettings } from "../settings.js";
import {
  type DestinationRule,
  type IstioRouteConfig,
  removeManagedRoutes,
  removeRoute,
  render,
  sendsToCanary,
  setHeaderRoute,
  setMirrorRoute,
  setWeight,
  subsetHash,
  type VirtualService,
  withSubsetHashes,
} from "./transform.js";

/** v1beta1 is served by every Istio since 1.5 (v1 only since 1.22). */
export const ISTIO_API_VERSION = "networking.istio.io/v1beta1";

interface VirtualServiceTarget {
  ref: ObjectRef;
  config: IstioRouteConfig;
}

export class IstioRouter implements TrafficRouter {
  readonly type = "istio";
  private readonly writer: ObjectWriter;
  private readonly targets: VirtualServiceTarget[];
  private readonly destinationRule?: {
    ref: ObjectRef;
    subsets: { stable: string; canary: string };
  };

  constructor(
    private readonly settings: RouterSettings,
    istio: IstioTrafficRouting,
  ) {
    this.writer = new ObjectWriter(settings.client, settings);
    const dr = istio.destinationRule;
    const subsets = dr ? { stable: dr.stableSubsetName, canary: dr.canarySubsetName } : undefined;
    if (dr) {
      this.destinationRule = {
        ref: {
          apiVersion: ISTIO_API_VERSION,
          kind: "DestinationRule",
          name: dr.name,
          namespace: settings.namespace,
        },
        subsets: subsets!,
      };
    }
    const services = [
      ...(istio.virtualService ? [istio.virtualService] : []),
      ...(istio.virtualServices ?? []),
    ];
    if (services.length === 0) {
      throw new InvalidSpecError(
        `Rollout "${settings.rolloutName}": trafficRouting.istio needs virtualService (or virtualServices)`,
      );
    }
    this.targets = services.map((vs) => ({
      ref: {
        apiVersion: ISTIO_API_VERSION,
        kind: "VirtualService",
        name: vs.name,
        namespace: settings.namespace,
      },
      config: {
        stableService: settings.stableService,
        canaryService: settings.canaryService,
        namespace: settings.namespace,
        maxTrafficWeight: settings.maxTrafficWeight,
        managedRoutes: settings.managedRoutes,
        ...(subsets ? { subsets } : {}),
        ...(vs.routes && vs.routes.length > 0 ? { routes: vs.routes } : {}),
      },
    }));
  }

  async setWeight(canaryWeight: number, opts: RouterCallOptions = {}): Promise<void> {
    checkWeight(canaryWeight, this.settings.maxTrafficWeight);
    await this.eachVirtualService(opts, (live, config) => setWeight(live, canaryWeight, config));
  }

  async setHeaderRoute(step: HeaderRouteStep, opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setHeaderRoute", step.name, this.settings.managedRoutes);
    const route = headerRouteOf(step);
    await this.eachVirtualService(opts, (live, config) =>
      route ? setHeaderRoute(live, route, config) : removeRoute(live, step.name, config),
    );
  }

  async setMirrorRoute(step: MirrorRouteStep, opts: RouterCallOptions = {}): Promise<void> {
    checkRouteName("setMirrorRoute", step.name, this.settings.managedRoutes);
    const route = mirrorRouteOf(step);
    await this.eachVirtualService(opts, (live, config) =>
      route ? setMirrorRoute(live, route, config) : removeRoute(live, step.name, config),
    );
  }

  async apply(state: TrafficState, opts: RouterCallOptions = {}): Promise<void> {
    checkState(state, this.settings.managedRoutes, this.settings.maxTrafficWeight);
    await this.eachVirtualService(opts, (live, config) => render(live, state, config));
  }

  async removeManagedRoutes(opts: RouterCallOptions = {}): Promise<void> {
    for (const { ref, config } of this.targets) {
      await this.writer.update<VirtualService>(ref, (live) => removeManagedRoutes(live, config), opts.signal);
    }
  }

  async verify(expected: TrafficState, opts: RouterCallOptions = {}): Promise<VerifyResult> {
    checkState(expected, this.settings.managedRoutes, this.settings.maxTrafficWeight);
    const dr = this.destinationRule;
    if (dr) {
      const live = await this.writer.find<DestinationRule>(dr.ref, opts.signal);
      if (!live) return { ok: false, reason: notFound(dr.ref).message };
      for (const [subset, hash] of [
        [dr.subsets.stable, this.settings.stableHash],
        [dr.subsets.canary, this.settings.canaryHash],
      ] as const) {
        const actual = subsetHash(live, subset);
        if (hash && actual !== hash) {
          return {
            ok: false,
            reason: `${describeRef(dr.ref)}: subset "${subset}" selects ${POD_TEMPLATE_HASH_LABEL} ${JSON.stringify(actual ?? null)}, expected "${hash}"`,
          };
        }
      }
    }
    for (const { ref, config } of this.targets) {
      const live = await this.writer.find<VirtualService>(ref, opts.signal);
      if (!live) return { ok: false, reason: notFound(ref).message };
      const difference = differenceFrom(live, () => render(live, expected, config));
      if (difference) return { ok: false, reason: `${describeRef(ref)}: ${difference}` };
    }
    return { ok: true };
  }

  /** Brings the DestinationRule to the hashes given (in the safe order), then writes each VirtualService. */
  private async eachVirtualService(
    opts: RouterCallOptions,
    transform: (live: VirtualService, config: IstioRouteConfig) => VirtualService,
  ): Promise<void> {
    await this.syncSubsets(opts.signal);
    for (const { ref, config } of this.targets) {
      await this.writer.update<VirtualService>(ref, (live) => transform(live, config), opts.signal);
    }
  }

  private async syncSubsets(signal: AbortSignal | undefined): Promise<void> {
    const dr = this.destinationRule;
    const hashes = {
      ...(this.settings.stableHash ? { stable: this.settings.stableHash } : {}),
      ...(this.settings.canaryHash ? { canary: this.settings.canaryHash } : {}),
    };
    if (!dr || (!hashes.stable && !hashes.canary)) return;
    const live = await this.writer.read<DestinationRule>(dr.ref, signal);
    if (sameJson(withSubsetHashes(live, dr.subsets, hashes), live)) return;
    if (hashes.canary && subsetHash(live, dr.subsets.canary) !== hashes.canary) {
      // The canary subset is about to select other pods: nothing may route to it meanwhile.
      for (const { ref, config } of this.targets) {
        await this.writer.update<VirtualService>(
          ref,
          (vs) =>
            sendsToCanary(vs, config) || managedNames(vs).length > 0
              ? setWeight(removeManagedRoutes(vs, config), 0, config)
              : vs,
          signal,
        );
      }
    }
    await this.writer.update<DestinationRule>(
      dr.ref,
      (rule) => withSubsetHashes(rule, dr.subsets, hashes),
      signal,
    );
  }
}

function notFound(ref: ObjectRef): RouteNotFoundError {
  return new RouteNotFoundError(ref.kind, ref.name, ref.namespace ?? "default");
}
