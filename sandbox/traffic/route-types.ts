/**
 * Shapes shared by the routers: the simulated request, the read-only view of the cluster they
 * resolve against, and the decision they return. Routers are pure functions of these, so they are
 * tested with plain objects and the simulator can resolve every request against live state.
 */
import type { KubeObject } from "../core/types.js";
import type { RandomSource } from "./prng.js";

/** A generated request. Header names are lower-case. The method is always GET. */
export interface SimRequest {
  headers: Readonly<Record<string, string>>;
  path: string;
}

/** Read-only view of the live objects a router needs. */
export interface RouteLookup {
  getService(namespace: string, name: string): KubeObject | undefined;
  /** Pods in the namespace whose labels include every selector entry, ready or not, sorted by name. */
  listPods(namespace: string, selector: Readonly<Record<string, string>>): readonly KubeObject[];
  /** The DestinationRule in `namespace` whose host names the service `host` (a cluster FQDN). */
  getDestinationRule(namespace: string, host: string): KubeObject | undefined;
  /** Ingresses in the namespace, sorted by name. */
  listIngresses(namespace: string): readonly KubeObject[];
}

/** Why a router could not use part of a route object; reported once as an Event on `object`. */
export type RouteWarn = (object: KubeObject, reason: string, message: string) => void;

export interface RouteContext {
  lookup: RouteLookup;
  random: RandomSource;
  warn?: RouteWarn;
}

/**
 * Where one copy of a request lands. With no pod, the proxy answers itself: `code` says how
 * (404 no route matched, 503 no ready endpoint or unknown backend).
 */
export interface Delivery {
  namespace: string;
  /** Backend Service name; "" when no route matched. */
  service: string;
  pod?: KubeObject;
  /** Set when `pod` is undefined. */
  code?: number;
}

export interface RouteDecision {
  primary: Delivery;
  /** Mirrored copies: answered by their pods, the answers discarded. */
  mirrors: Delivery[];
}
