/**
 * The simulator's view of the cluster, kept current from watch events: Services, pods, Ingresses and
 * DestinationRules by namespace, with the pod selections routers ask for memoised until a pod in
 * that namespace changes. Routers resolve every request against it, so routing always follows the
 * live objects without listing the store per request.
 */
import type { KubeObject } from "../core/types.js";
import { apiGroup } from "./match.js";
import type { RouteLookup } from "./route-types.js";
import { serviceFqdn, serviceOfHost } from "./virtualservice.js";

type ByName = Map<string, KubeObject>;

/** The kinds the index keeps, by "group/kind" (core group is ""). */
const INDEXED = new Set([
  "/Service",
  "/Pod",
  "networking.k8s.io/Ingress",
  "networking.istio.io/DestinationRule",
]);

export class ObjectIndex implements RouteLookup {
  private readonly services = new Map<string, ByName>();
  private readonly pods = new Map<string, ByName>();
  private readonly ingresses = new Map<string, ByName>();
  private readonly destinationRules = new Map<string, ByName>();
  /** Namespace → selector key → matching pods, sorted by name. Dropped when a pod in it changes. */
  private readonly podSelections = new Map<string, Map<string, readonly KubeObject[]>>();
  private readonly sortedIngresses = new Map<string, readonly KubeObject[]>();
  private readonly ruleHosts = new WeakMap<KubeObject, string>();

  /** Whether the index keeps objects of this kind (others need not be passed to it). */
  static indexes(object: KubeObject): boolean {
    return INDEXED.has(`${apiGroup(object.apiVersion)}/${object.kind}`);
  }

  upsert(object: KubeObject): void {
    this.update(object, false);
  }

  remove(object: KubeObject): void {
    this.update(object, true);
  }

  clear(): void {
    for (const map of [this.services, this.pods, this.ingresses, this.destinationRules]) map.clear();
    this.podSelections.clear();
    this.sortedIngresses.clear();
  }

  getService(namespace: string, name: string): KubeObject | undefined {
    return this.services.get(namespace)?.get(name);
  }

  listPods(namespace: string, selector: Readonly<Record<string, string>>): readonly KubeObject[] {
    const key = selectorKey(selector);
    let selections = this.podSelections.get(namespace);
    const cached = selections?.get(key);
    if (cached) return cached;
    const matching: KubeObject[] = [];
    for (const pod of this.pods.get(namespace)?.values() ?? []) {
      if (labelsMatch(pod.metadata.labels, selector)) matching.push(pod);
    }
    matching.sort(byName);
    if (!selections) {
      selections = new Map();
      this.podSelections.set(namespace, selections);
    }
    selections.set(key, matching);
    return matching;
  }

  getDestinationRule(namespace: string, host: string): KubeObject | undefined {
    const rules = this.destinationRules.get(namespace);
    if (!rules) return undefined;
    let found: KubeObject | undefined;
    for (const rule of rules.values()) {
      // Several rules for one host: the first by name wins, so the choice does not depend on event order.
      if (this.ruleHosts.get(rule) === host && (!found || byName(rule, found) < 0)) found = rule;
    }
    return found;
  }

  listIngresses(namespace: string): readonly KubeObject[] {
    let sorted = this.sortedIngresses.get(namespace);
    if (!sorted) {
      sorted = [...(this.ingresses.get(namespace)?.values() ?? [])].sort(byName);
      this.sortedIngresses.set(namespace, sorted);
    }
    return sorted;
  }

  private update(object: KubeObject, deleted: boolean): void {
    const namespace = object.metadata.namespace ?? "default";
    const name = object.metadata.name ?? "";
    let table: Map<string, ByName>;
    switch (`${apiGroup(object.apiVersion)}/${object.kind}`) {
      case "/Service":
        table = this.services;
        break;
      case "/Pod":
        table = this.pods;
        this.podSelections.delete(namespace);
        break;
      case "networking.k8s.io/Ingress":
        table = this.ingresses;
        this.sortedIngresses.delete(namespace);
        break;
      case "networking.istio.io/DestinationRule": {
        table = this.destinationRules;
        const host = typeof object.spec?.host === "string" ? object.spec.host : "";
        const service = serviceOfHost(host, namespace);
        this.ruleHosts.set(object, serviceFqdn(service.name, service.namespace));
        break;
      }
      default:
        return;
    }
    let byNameTable = table.get(namespace);
    if (deleted) {
      byNameTable?.delete(name);
      if (byNameTable?.size === 0) table.delete(namespace);
      return;
    }
    if (!byNameTable) {
      byNameTable = new Map();
      table.set(namespace, byNameTable);
    }
    byNameTable.set(name, object);
  }
}

const selectorKeys = new WeakMap<object, string>();

/** A canonical string for a selector, memoised per selector object (Services reuse theirs). */
function selectorKey(selector: Readonly<Record<string, string>>): string {
  let key = selectorKeys.get(selector);
  if (key === undefined) {
    key = Object.keys(selector)
      .sort()
      .map((k) => `${k}=${selector[k]}`)
      .join(",");
    selectorKeys.set(selector, key);
  }
  return key;
}

function labelsMatch(
  labels: Readonly<Record<string, string>> | undefined,
  selector: Readonly<Record<string, string>>,
): boolean {
  for (const key in selector) {
    if (labels?.[key] !== selector[key]) return false;
  }
  return true;
}

function byName(a: KubeObject, b: KubeObject): number {
  const x = a.metadata.name ?? "";
  const y = b.metadata.name ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}
