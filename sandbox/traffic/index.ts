/** The sandbox's simulated traffic: generator, routers and the `/sim/*` endpoints. */
export * from "./annotations.js";
export { EventReporter } from "./event-reporter.js";
export { resolveHttpRoute } from "./httproute.js";
export { isCanaryIngress, resolveIngress } from "./ingress.js";
export { ObjectIndex } from "./object-index.js";
export {
  DEFAULT_BEHAVIOUR,
  ERROR_CODE,
  LATENCY_SIGMA,
  type PodBehaviour,
  podBehaviour,
  type SimResponse,
  sampleResponse,
} from "./pod-behaviour.js";
export { deriveSeed, Prng, type RandomSource } from "./prng.js";
export { type RouteKind, resolveRoute, routeKindOf } from "./route-resolver.js";
export type {
  Delivery,
  RouteContext,
  RouteDecision,
  RouteLookup,
  RouteWarn,
  SimRequest,
} from "./route-types.js";
export { deliverToService, isPodReady, podTemplateHash, readyPods, resolveService } from "./service.js";
export { DEFAULT_REPORT_WINDOW_SECONDS, handleSimEndpoint } from "./sim-endpoints.js";
export { DURATION_BUCKETS, TrafficMetrics } from "./traffic-metrics.js";
export { TrafficSimulator, type TrafficSimulatorOptions, WATCHED_RESOURCES } from "./traffic-simulator.js";
export type { RouteTraffic, TrafficReport } from "./traffic-window.js";
export { resolveVirtualService, serviceFqdn, serviceOfHost } from "./virtualservice.js";
