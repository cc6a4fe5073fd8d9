/**
 * Gateway API HTTPRoute (gateway.networking.k8s.io/v1): the first rule with a matching `matches[]`
 * entry wins; its `backendRefs` split traffic by weight; `RequestMirror` filters copy a share of it.
 * https://gateway-api.sigs.k8s.io/reference/spec/#httproute
 */
import type { KubeObject } from "../core/types.js";
import { fullMatchRegex, num, objects, pathHasPrefix, record, str, weightedIndex } from "./match.js";
import type { Delivery, RouteContext, RouteDecision, SimRequest } from "./route-types.js";
import { deliverToService } from "./service.js";

export function resolveHttpRoute(route: KubeObject, request: SimRequest, ctx: RouteContext): RouteDecision {
  const namespace = route.metadata.namespace ?? "default";
  for (const rule of objects(route.spec?.rules)) {
    const matches = objects(rule.matches);
    // No matches means one implicit PathPrefix "/" match, i.e. everything.
    if (matches.length > 0 && !matches.some((m) => matchesRequest(m, request, route, ctx))) continue;

    const backendRefs = objects(rule.backendRefs);
    const chosen = weightedIndex(
      backendRefs.map((ref) => num(ref.weight) ?? 1),
      ctx.random,
    );
    const backend = chosen >= 0 ? backendRefs[chosen] : undefined;
    // A rule whose backends all have weight 0 (or none) cannot serve: counted as a 503 by the proxy.
    const primary = backend ? deliverToBackendRef(backend, namespace, route, ctx) : noBackend(namespace);
    const mirrors: Delivery[] = [];
    addMirrors(objects(rule.filters), namespace, route, ctx, mirrors);
    if (backend) addMirrors(objects(backend.filters), namespace, route, ctx, mirrors);
    return { primary, mirrors };
  }
  return { primary: { namespace, service: "", code: 404 }, mirrors: [] };
}

function matchesRequest(
  match: Record<string, unknown>,
  request: SimRequest,
  route: KubeObject,
  ctx: RouteContext,
): boolean {
  const path = record(match.path);
  const pathType = str(path.type) ?? "PathPrefix";
  const pathValue = str(path.value) ?? "/";
  if (pathType === "Exact") {
    if (request.path !== pathValue) return false;
  } else if (pathType === "RegularExpression") {
    if (!regexMatches(pathValue, request.path, route, ctx)) return false;
  } else if (!pathHasPrefix(request.path, pathValue)) {
    return false;
  }

  for (const header of objects(match.headers)) {
    const name = str(header.name)?.toLowerCase();
    const expected = str(header.value);
    if (name === undefined || expected === undefined) return false;
    const actual = request.headers[name];
    if (actual === undefined) return false;
    if (header.type === "RegularExpression") {
      if (!regexMatches(expected, actual, route, ctx)) return false;
    } else if (actual !== expected) {
      return false;
    }
  }
  // Generated requests are GETs without a query string.
  const method = str(match.method);
  if (method !== undefined && method !== "GET") return false;
  if (objects(match.queryParams).length > 0) return false;
  return true;
}

function regexMatches(pattern: string, value: string, route: KubeObject, ctx: RouteContext): boolean {
  const regex = fullMatchRegex(pattern);
  if (!regex) {
    ctx.warn?.(route, "InvalidSimRoute", `regular expression ${JSON.stringify(pattern)} does not compile`);
    return false;
  }
  return regex.test(value);
}

/** A backendRef names a core Service; its namespace defaults to the route's. */
function deliverToBackendRef(
  ref: Record<string, unknown>,
  routeNamespace: string,
  route: KubeObject,
  ctx: RouteContext,
): Delivery {
  const namespace = str(ref.namespace) ?? routeNamespace;
  const name = str(ref.name) ?? "";
  const kind = str(ref.kind) ?? "Service";
  const group = str(ref.group) ?? "";
  if (kind !== "Service" || (group !== "" && group !== "core")) {
    ctx.warn?.(route, "InvalidSimRoute", `backendRef ${group}/${kind} ${name} is not a Service`);
    return { namespace, service: name, code: 503 };
  }
  return deliverToService(ctx, namespace, name);
}

function noBackend(namespace: string): Delivery {
  return { namespace, service: "", code: 503 };
}

/** `RequestMirror` copies `percent` (or `fraction`) of the rule's requests; 100% when neither is set. */
function addMirrors(
  filters: Record<string, unknown>[],
  routeNamespace: string,
  route: KubeObject,
  ctx: RouteContext,
  out: Delivery[],
): void {
  for (const filter of filters) {
    if (filter.type !== "RequestMirror") continue;
    const mirror = record(filter.requestMirror);
    const ref = record(mirror.backendRef);
    const fraction = record(mirror.fraction);
    const percent = num(mirror.percent);
    const numerator = num(fraction.numerator);
    let share = 1;
    if (percent !== undefined) share = percent / 100;
    else if (numerator !== undefined) share = numerator / (num(fraction.denominator) ?? 100);
    if (ctx.random.next() < share) out.push(deliverToBackendRef(ref, routeNamespace, route, ctx));
  }
}
