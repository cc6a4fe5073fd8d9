/**
 * One entry point over the four routers: which kinds of object can carry simulated traffic, and how
 * each one resolves a request.
 */
import type { KubeObject } from "../core/types.js";
import { resolveHttpRoute } from "./httproute.js";
import { resolveIngress } from "./ingress.js";
import { apiGroup } from "./match.js";
import type { RouteContext, RouteDecision, SimRequest } from "./route-types.js";
import { resolveService } from "./service.js";
import { resolveVirtualService } from "./virtualservice.js";

export type RouteKind = "Service" | "HTTPRoute" | "VirtualService" | "Ingress";

/** The router kind of an object, or undefined when traffic cannot enter through it. */
export function routeKindOf(object: KubeObject): RouteKind | undefined {
  const group = apiGroup(object.apiVersion);
  switch (object.kind) {
    case "Service":
      return group === "" ? "Service" : undefined;
    case "HTTPRoute":
      return group === "gateway.networking.k8s.io" ? "HTTPRoute" : undefined;
    case "VirtualService":
      return group === "networking.istio.io" ? "VirtualService" : undefined;
    case "Ingress":
      return group === "networking.k8s.io" ? "Ingress" : undefined;
    default:
      return undefined;
  }
}

/** Resolves one request entering through `route`: where it lands, and which copies are mirrored. */
export function resolveRoute(route: KubeObject, request: SimRequest, ctx: RouteContext): RouteDecision {
  switch (routeKindOf(route)) {
    case "Service":
      return resolveService(route, request, ctx);
    case "HTTPRoute":
      return resolveHttpRoute(route, request, ctx);
    case "VirtualService":
      return resolveVirtualService(route, request, ctx);
    case "Ingress":
      return resolveIngress(route, request, ctx);
    default: {
      const namespace = route.metadata.namespace ?? "default";
      return { primary: { namespace, service: "", code: 404 }, mirrors: [] };
    }
  }
}
