/**
 * Traffic router errors. `reason` is a stable code the reconciler turns into a condition reason
 * and an Event; the message is user-facing and names the object and the field at fault.
 */

export type TrafficRouterErrorReason =
  /** The routing object named by the Rollout does not exist. */
  | "RouteNotFound"
  /** The routing object exists but cannot carry the split (no backend to the stable Service...). */
  | "InvalidRoute"
  /** The Rollout asks for something inconsistent (route not in managedRoutes, weight out of range). */
  | "InvalidSpec"
  /** The router cannot do this at all (NGINX mirroring). */
  | "Unsupported"
  /** An object slipway would manage belongs to someone else. */
  | "NotOwned"
  /** Every attempt met a 409: someone else keeps writing the object. */
  | "Conflict"
  /** A request to the API server failed (validation, admission, permissions, unreachable). */
  | "ApiError";

export class TrafficRouterError extends Error {
  override name = "TrafficRouterError";
  readonly reason: TrafficRouterErrorReason;

  constructor(reason: TrafficRouterErrorReason, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

/** `route object "shop" (HTTPRoute) not found in namespace "x"`. */
export class RouteNotFoundError extends TrafficRouterError {
  override name = "RouteNotFoundError";
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly namespace: string,
  ) {
    super("RouteNotFound", `route object "${objectName}" (${kind}) not found in namespace "${namespace}"`);
  }
}

/** `HTTPRoute "shop" has no rule with backendRefs to "shop-stable"`. */
export class InvalidRouteError extends TrafficRouterError {
  override name = "InvalidRouteError";
  constructor(message: string) {
    super("InvalidRoute", message);
  }
}

export class InvalidSpecError extends TrafficRouterError {
  override name = "InvalidSpecError";
  constructor(message: string) {
    super("InvalidSpec", message);
  }
}

export class UnsupportedError extends TrafficRouterError {
  override name = "UnsupportedError";
  constructor(message: string) {
    super("Unsupported", message);
  }
}
