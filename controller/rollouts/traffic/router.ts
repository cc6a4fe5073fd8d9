/**
 * The one interface every traffic router implements (Argo Rollouts' `trafficrouting.TrafficRoutingReconciler`,
 * reduced to what slipway's steps need). A router is built per Rollout reconcile by `routerFor`,
 * holds no state between calls, and reads the live routing object on every call: the routing
 * object itself is the record of what was applied.
 */
import type { HeaderRoutingMatch, RouteMatch } from "../../../api/v1alpha1/rollout.js";
import type { DynamicClient } from "../../kube/dynamic-client.js";

/** A/B route: requests matching any entry of `match` go to the canary. */
export interface HeaderRoute {
  name: string;
  match: HeaderRoutingMatch[];
}

/** Shadow route: `percentage` (default 100) of the requests matching `match` are copied to the canary. */
export interface MirrorRoute {
  name: string;
  percentage?: number;
  match: RouteMatch[];
}

/** Everything a router is asked to realise: what `verify` checks and `apply` writes. */
export interface TrafficState {
  /** In units of `maxTrafficWeight` (default 100). */
  canaryWeight: number;
  headerRoutes: HeaderRoute[];
  mirrorRoutes: MirrorRoute[];
}

/** A step's `setHeaderRoute`: without `match` (or with an empty one) it removes the route. */
export interface HeaderRouteStep {
  name: string;
  match?: HeaderRoutingMatch[];
}

/** A step's `setMirrorRoute`: without `match` (or with an empty one) it removes the route. */
export interface MirrorRouteStep {
  name: string;
  percentage?: number;
  match?: RouteMatch[];
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export interface RouterCallOptions {
  signal?: AbortSignal;
}

export type RouterType = "gatewayAPI" | "istio" | "nginx" | "none" | "multiple";

/**
 * Every call makes at most one write per routing object it manages (a full update carrying the
 * live resourceVersion, retried on 409 after a fresh read), and writes nothing when the live
 * object already says what was asked. Only the fields the router manages change.
 */
export interface TrafficRouter {
  readonly type: RouterType;
  /** Sends `canaryWeight / maxTrafficWeight` of the traffic to the canary, the rest to stable. */
  setWeight(canaryWeight: number, opts?: RouterCallOptions): Promise<void>;
  /** Adds (or replaces) a header route above the user's routes, or removes it (no `match`). */
  setHeaderRoute(route: HeaderRouteStep, opts?: RouterCallOptions): Promise<void>;
  /** Adds (or replaces) a mirror route above the user's routes, or removes it (no `match`). */
  setMirrorRoute(route: MirrorRouteStep, opts?: RouterCallOptions): Promise<void>;
  /**
   * Reads the live routing objects back and says whether they realise `expected` exactly (and
   * nothing more: a managed route not in `expected` fails too). A hand edit mid-rollout shows
   * here, with the first difference as the reason; `apply(expected)` puts it right.
   */
  verify(expected: TrafficState, opts?: RouterCallOptions): Promise<VerifyResult>;
  /** Writes the whole of `state` in one write per object (abort: weight 0 and no managed routes). */
  apply(state: TrafficState, opts?: RouterCallOptions): Promise<void>;
  /** Removes every header and mirror route slipway added; the weights stay as they are. */
  removeManagedRoutes(opts?: RouterCallOptions): Promise<void>;
}

/** What routers need of the Kubernetes client (`ClusterClient.dynamic` in the controller). */
export type RouterClient = Pick<DynamicClient, "get" | "create" | "replace">;

/** The outside world a router is built with. */
export interface RouterDeps {
  client: RouterClient;
  /** Default: `spec.strategy.canary.canaryService`. */
  canaryService?: string;
  /** Default: `spec.strategy.canary.stableService`. */
  stableService?: string;
  /** Default: `trafficRouting.maxTrafficWeight`, else 100. */
  maxTrafficWeight?: number;
  /** Istio subset-level routing: pod-template hash the canary subset selects. */
  canaryHash?: string;
  /** Istio subset-level routing: pod-template hash the stable subset selects. */
  stableHash?: string;
  /** Field manager of every write. Default `slipway-rollouts`. */
  fieldManager?: string;
  /** Re-reads after a 409 before giving up. Default 5. */
  maxConflictRetries?: number;
}

export const DEFAULT_FIELD_MANAGER = "slipway-rollouts";
export const DEFAULT_MAX_TRAFFIC_WEIGHT = 100;
/** Lists, on a routing object, the names of the routes slipway added to it (JSON array, in order). */
export const MANAGED_ROUTES_ANNOTATION = "slipway.dev/managed-routes";
/** The label Istio subsets select a version by (as Argo Rollouts writes it). */
export const POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash";

/** An empty `match` removes the route, as a step with only `name` does in Argo. */
export function headerRouteOf(step: HeaderRouteStep): HeaderRoute | undefined {
  return step.match && step.match.length > 0 ? { name: step.name, match: step.match } : undefined;
}

export function mirrorRouteOf(step: MirrorRouteStep): MirrorRoute | undefined {
  if (!step.match || step.match.length === 0) return undefined;
  return {
    name: step.name,
    match: step.match,
    ...(step.percentage !== undefined ? { percentage: step.percentage } : {}),
  };
}
