export {
  InvalidRouteError,
  InvalidSpecError,
  RouteNotFoundError,
  TrafficRouterError,
  type TrafficRouterErrorReason,
  UnsupportedError,
} from "./errors.js";
export { GATEWAY_API_PLUGIN, routerFor } from "./factory.js";
export { GatewayApiRouter } from "./gateway-api/index.js";
export { IstioRouter } from "./istio/index.js";
export { MultiRouter } from "./multi-router.js";
export { NginxRouter } from "./nginx/index.js";
export { NoRouter } from "./none/index.js";
export {
  DEFAULT_FIELD_MANAGER,
  type HeaderRoute,
  type HeaderRouteStep,
  MANAGED_ROUTES_ANNOTATION,
  type MirrorRoute,
  type MirrorRouteStep,
  POD_TEMPLATE_HASH_LABEL,
  type RouterCallOptions,
  type RouterClient,
  type RouterDeps,
  type RouterType,
  type TrafficRouter,
  type TrafficState,
  type VerifyResult,
} from "./router.js";
