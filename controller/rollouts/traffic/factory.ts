/**
 * Picks the router(s) of a Rollout: one folder per router behind TrafficRouter, one line each here
 * (as Argo Rollouts' `NewTrafficRoutingReconciler`). Built per reconcile; routers keep no state.
 */
import type { Rollout } from "../../../api/v1alpha1/rollout.js";
import { InvalidSpecError } from "./errors.js";
import { GatewayApiRouter, type HTTPRouteTarget } from "./gateway-api/index.js";
import { IstioRouter } from "./istio/index.js";
import { isRecord, records, str } from "./json.js";
import { MultiRouter } from "./multi-router.js";
import { NginxRouter } from "./nginx/index.js";
import { NoRouter } from "./none/index.js";
import type { RouterDeps, TrafficRouter } from "./router.js";
import { resolveSettings } from "./settings.js";

/** Argo's name for the Gateway API plugin, honoured under `trafficRouting.plugins`. */
export const GATEWAY_API_PLUGIN = "argoproj-labs/gatewayAPI";

/**
 * The router for `rollout`: Gateway API, Istio, NGINX (several at once when several are configured),
 * or NoRouter (replica-count weights) when the Rollout has no `trafficRouting`.
 * Throws InvalidSpecError when the configuration cannot work (missing Services, no route named).
 */
export function routerFor(rollout: Rollout, deps: RouterDeps): TrafficRouter {
  const routing = rollout.spec.strategy.canary?.trafficRouting;
  if (!routing || !(gatewayTargets(rollout) || routing.istio || routing.nginx)) return new NoRouter();
  const settings = resolveSettings(rollout, deps);
  const routers: TrafficRouter[] = [];
  const httpRoutes = gatewayTargets(rollout);
  if (httpRoutes) routers.push(new GatewayApiRouter(settings, httpRoutes));
  if (routing.istio) routers.push(new IstioRouter(settings, routing.istio));
  if (routing.nginx) routers.push(new NginxRouter(settings, routing.nginx));
  return routers.length === 1 ? routers[0]! : new MultiRouter(routers);
}

/** HTTPRoutes from `trafficRouting.gatewayAPI`, or from Argo's plugin configuration. */
function gatewayTargets(rollout: Rollout): HTTPRouteTarget[] | undefined {
  const routing = rollout.spec.strategy.canary?.trafficRouting;
  const namespace = rollout.metadata.namespace ?? "default";
  if (routing?.gatewayAPI) {
    const { httpRoute, namespace: routeNamespace } = routing.gatewayAPI;
    return [{ name: httpRoute, namespace: routeNamespace ?? namespace, managedRoutes: true }];
  }
  const plugin = routing?.plugins?.[GATEWAY_API_PLUGIN];
  if (!isRecord(plugin)) return undefined;
  const routeNamespace = str(plugin.namespace) ?? namespace;
  const single = str(plugin.httpRoute);
  if (single) return [{ name: single, namespace: routeNamespace, managedRoutes: true }];
  const many = records(plugin.httpRoutes).flatMap((r) => {
    const name = str(r.name);
    return name ? [{ name, namespace: routeNamespace, managedRoutes: r.useHeaderRoutes === true }] : [];
  });
  if (many.length === 0) {
    throw new InvalidSpecError(
      `Rollout "${rollout.metadata.name ?? ""}": plugin ${GATEWAY_API_PLUGIN} needs httpRoute or httpRoutes[].name`,
    );
  }
  return many;
}
