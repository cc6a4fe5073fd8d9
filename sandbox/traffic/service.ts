/**
 * Plain Service routing, and the step every router ends with: from a Service to one of its ready
 * pods, picked evenly (kube-proxy's random mode).
 */
import type { KubeObject } from "../core/types.js";
import { isRecord, record, str } from "./match.js";
import type { Delivery, RouteContext, RouteDecision, RouteLookup, SimRequest } from "./route-types.js";

/** Ready means a Ready=True condition and no deletion under way (terminating pods leave endpoints). */
export function isPodReady(pod: KubeObject): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const conditions: unknown = pod.status?.conditions;
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c) => isRecord(c) && c.type === "Ready" && c.status === "True");
}

/** The hash label analysis queries group by: Rollouts' label first, then the Deployment one. */
export function podTemplateHash(pod: KubeObject | undefined): string {
  const labels = pod?.metadata.labels;
  return labels?.["rollouts-pod-template-hash"] ?? labels?.["pod-template-hash"] ?? "";
}

const readyCache = new WeakMap<readonly KubeObject[], readonly KubeObject[]>();

/**
 * Ready pods matching the selector. The lookup returns the same array until pods change, so the
 * filtered list is memoised on it instead of being rebuilt per request.
 */
export function readyPods(
  lookup: RouteLookup,
  namespace: string,
  selector: Readonly<Record<string, string>>,
): readonly KubeObject[] {
  const pods = lookup.listPods(namespace, selector);
  let ready = readyCache.get(pods);
  if (!ready) {
    ready = pods.every(isPodReady) ? pods : pods.filter(isPodReady);
    readyCache.set(pods, ready);
  }
  return ready;
}

const selectors = new WeakMap<KubeObject, Readonly<Record<string, string>> | null>();

/**
 * The Service's label selector, or undefined when it has none (then it has no pod endpoints).
 * Memoised per object, so the index can memoise pod selections on the selector's identity.
 */
export function serviceSelector(service: KubeObject): Readonly<Record<string, string>> | undefined {
  let selector = selectors.get(service);
  if (selector === undefined) {
    const spec = record(service.spec);
    const entries = Object.entries(record(spec.selector)).filter(
      (e): e is [string, string] => typeof e[1] === "string",
    );
    selector = spec.type === "ExternalName" || entries.length === 0 ? null : Object.fromEntries(entries);
    selectors.set(service, selector);
  }
  return selector ?? undefined;
}

/**
 * Sends a request to a Service: one of its ready pods, evenly. `subsetLabels` narrows the pods
 * further (Istio DestinationRule subsets). No Service or no ready pod: the proxy answers 503.
 */
export function deliverToService(
  ctx: RouteContext,
  namespace: string,
  name: string,
  subsetLabels?: Readonly<Record<string, string>>,
): Delivery {
  const service = ctx.lookup.getService(namespace, name);
  const selector = service ? serviceSelector(service) : undefined;
  if (!selector) return { namespace, service: name, code: 503 };
  let effective: Readonly<Record<string, string>> = selector;
  if (subsetLabels) {
    for (const [key, value] of Object.entries(subsetLabels)) {
      // A subset that contradicts the Service's selector selects nothing.
      if (key in selector && selector[key] !== value) return { namespace, service: name, code: 503 };
    }
    effective = { ...selector, ...subsetLabels };
  }
  const pods = readyPods(ctx.lookup, namespace, effective);
  if (pods.length === 0) return { namespace, service: name, code: 503 };
  return { namespace, service: name, pod: pods[Math.floor(ctx.random.next() * pods.length)] };
}

/** A Service annotated with `sim.slipway.dev/rps`: its ready endpoints, evenly. */
export function resolveService(service: KubeObject, _request: SimRequest, ctx: RouteContext): RouteDecision {
  const namespace = service.metadata.namespace ?? "default";
  return { primary: deliverToService(ctx, namespace, str(service.metadata.name) ?? ""), mirrors: [] };
}
