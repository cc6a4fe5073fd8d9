/**
 * Istio VirtualService (networking.istio.io v1beta1 / v1): `spec.http[]` in order, the first entry
 * whose `match[]` (any block; all conditions within a block) fits the request routes it; `route[]`
 * splits by weight; `subset` narrows the Service's pods by DestinationRule labels; `mirror` with
 * `mirrorPercentage` (and the newer `mirrors[]`) copies a share.
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/
 */
import type { KubeObject } from "../core/types.js";
import { fullMatchRegex, isRecord, num, objects, record, str, weightedIndex } from "./match.js";
import type { Delivery, RouteContext, RouteDecision, SimRequest } from "./route-types.js";
import { deliverToService } from "./service.js";

export function resolveVirtualService(
  virtualService: KubeObject,
  request: SimRequest,
  ctx: RouteContext,
): RouteDecision {
  const namespace = virtualService.metadata.namespace ?? "default";
  for (const http of objects(virtualService.spec?.http)) {
    const blocks = objects(http.match);
    if (blocks.length > 0 && !blocks.some((b) => blockMatches(b, request, virtualService, ctx))) continue;

    const mirrors: Delivery[] = [];
    const mirror = record(http.mirror);
    if (str(mirror.host)) {
      // mirrorPercentage defaults to 100; the older integer `mirrorPercent` is honoured too.
      const percent = num(record(http.mirrorPercentage).value) ?? num(http.mirrorPercent) ?? 100;
      if (ctx.random.next() * 100 < percent)
        mirrors.push(deliverToDestination(mirror, namespace, virtualService, ctx));
    }
    for (const entry of objects(http.mirrors)) {
      const percent = num(record(entry.percentage).value) ?? 100;
      if (ctx.random.next() * 100 < percent) {
        mirrors.push(deliverToDestination(record(entry.destination), namespace, virtualService, ctx));
      }
    }

    const directResponse = record(http.directResponse);
    const status = num(directResponse.status);
    if (status !== undefined) return { primary: { namespace, service: "", code: status }, mirrors };
    if (isRecord(http.redirect)) return { primary: { namespace, service: "", code: 301 }, mirrors };

    const routes = objects(http.route);
    // One destination takes everything; with several, a missing weight is 0 (as Istio reads it).
    const allUnweighted = routes.every((r) => num(r.weight) === undefined);
    const weights = routes.map((r) => (allUnweighted ? 1 : (num(r.weight) ?? 0)));
    const chosen = weightedIndex(weights, ctx.random);
    const destination = chosen >= 0 ? record(routes[chosen]!.destination) : undefined;
    const primary = destination
      ? deliverToDestination(destination, namespace, virtualService, ctx)
      : { namespace, service: "", code: 503 };
    return { primary, mirrors };
  }
  return { primary: { namespace, service: "", code: 404 }, mirrors: [] };
}

/** Splits an Istio host ("svc", "svc.ns", "svc.ns.svc.cluster.local") into Service name and namespace. */
export function serviceOfHost(host: string, defaultNamespace: string): { name: string; namespace: string } {
  const parts = host.split(".");
  if (parts.length === 1) return { name: host, namespace: defaultNamespace };
  return { name: parts[0]!, namespace: parts[1]! };
}

/** The cluster FQDN of a Service, the form DestinationRule hosts are compared in. */
export function serviceFqdn(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

function deliverToDestination(
  destination: Record<string, unknown>,
  vsNamespace: string,
  virtualService: KubeObject,
  ctx: RouteContext,
): Delivery {
  const host = str(destination.host) ?? "";
  const { name, namespace } = serviceOfHost(host, vsNamespace);
  const subset = str(destination.subset);
  if (subset === undefined) return deliverToService(ctx, namespace, name);

  // Istio looks for the DestinationRule in the client's namespace first, then the Service's.
  const fqdn = serviceFqdn(name, namespace);
  const rule =
    ctx.lookup.getDestinationRule(vsNamespace, fqdn) ??
    (namespace !== vsNamespace ? ctx.lookup.getDestinationRule(namespace, fqdn) : undefined);
  const definition = objects(rule?.spec?.subsets).find((s) => s.name === subset);
  if (!definition) {
    ctx.warn?.(virtualService, "InvalidSimRoute", `no DestinationRule defines subset "${subset}" of ${host}`);
    return { namespace, service: name, code: 503 };
  }
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(record(definition.labels))) {
    if (typeof value === "string") labels[key] = value;
  }
  return deliverToService(ctx, namespace, name, labels);
}

function blockMatches(
  block: Record<string, unknown>,
  request: SimRequest,
  virtualService: KubeObject,
  ctx: RouteContext,
): boolean {
  const ignoreCase = block.ignoreUriCase === true;
  if (isRecord(block.uri) && !stringMatches(block.uri, request.path, ignoreCase, virtualService, ctx)) {
    return false;
  }
  if (isRecord(block.method) && !stringMatches(block.method, "GET", false, virtualService, ctx)) return false;
  for (const [name, condition] of Object.entries(record(block.headers))) {
    const actual = request.headers[name.toLowerCase()];
    if (actual === undefined || !isRecord(condition)) return false;
    if (!stringMatches(condition, actual, false, virtualService, ctx)) return false;
  }
  for (const [name, condition] of Object.entries(record(block.withoutHeaders))) {
    const actual = request.headers[name.toLowerCase()];
    if (
      actual !== undefined &&
      isRecord(condition) &&
      stringMatches(condition, actual, false, virtualService, ctx)
    ) {
      return false;
    }
  }
  // Generated requests carry no query string and come from no workload in the mesh.
  if (Object.keys(record(block.queryParams)).length > 0) return false;
  if (Object.keys(record(block.sourceLabels)).length > 0 || str(block.sourceNamespace)) return false;
  return true;
}

/** Istio StringMatch: exact, prefix or regex (RE2, whole value); an empty one only asks for presence. */
function stringMatches(
  match: Record<string, unknown>,
  value: string,
  ignoreCase: boolean,
  virtualService: KubeObject,
  ctx: RouteContext,
): boolean {
  const exact = str(match.exact);
  if (exact !== undefined) return ignoreCase ? value.toLowerCase() === exact.toLowerCase() : value === exact;
  const prefix = str(match.prefix);
  if (prefix !== undefined) {
    return ignoreCase ? value.toLowerCase().startsWith(prefix.toLowerCase()) : value.startsWith(prefix);
  }
  const pattern = str(match.regex);
  if (pattern !== undefined) {
    const regex = fullMatchRegex(pattern);
    if (!regex) {
      ctx.warn?.(
        virtualService,
        "InvalidSimRoute",
        `regular expression ${JSON.stringify(pattern)} does not compile`,
      );
      return false;
    }
    return regex.test(value);
  }
  return true;
}
