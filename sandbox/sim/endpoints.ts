/**
 * The Endpoints controller: for every Service with a selector, an Endpoints object of the same
 * name listing the selected pods — ready ones under `addresses`, the others under
 * `notReadyAddresses` — with the ports their targetPorts resolve to. Written only on change.
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/endpoint/endpoints_controller.go
 */
import { jsonEqual } from "../core/api.js";
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  CONTROLLER_MANAGER,
  Controller,
  type ControllerOptions,
  GVR,
  ignoreNotFound,
  objectKey,
  splitKey,
} from "./common.js";
import {
  endpointLabels,
  groupByPorts,
  hasSelector,
  type PodEndpoint,
  serviceEndpoints,
  targetRef,
} from "./service-endpoints.js";

/** Keys of the Services in a pod's namespace that might list it (any with a selector). */
export function servicesOfNamespace(api: SandboxApi, pod: KubeObject): string[] {
  return api.list(GVR.services, { namespace: pod.metadata.namespace! }).filter(hasSelector).map(objectKey);
}

function address(service: KubeObject, e: PodEndpoint): Record<string, unknown> {
  const spec = e.pod.spec ?? {};
  return {
    ip: e.ip,
    ...(spec.hostname && spec.subdomain === service.metadata.name ? { hostname: spec.hostname } : {}),
    ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
    targetRef: targetRef(e.pod),
  };
}

export class EndpointsController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "endpoints-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.services, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => servicesOfNamespace(this.api, e.object)],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.services);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const service = this.api.get(GVR.services, namespace, name);
    const existing = this.api.get(GVR.endpoints, namespace, name);
    if (!service) {
      if (existing) ignoreNotFound(() => this.api.delete(GVR.endpoints, namespace, name));
      return;
    }
    if (!hasSelector(service)) return;
    const subsets = [...groupByPorts(serviceEndpoints(this.api, service, false)).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, group]) => {
        const ready = group.filter((e) => e.ready).map((e) => address(service, e));
        const notReady = group.filter((e) => !e.ready).map((e) => address(service, e));
        const ports = group[0]!.ports;
        return {
          ...(ready.length > 0 ? { addresses: ready } : {}),
          ...(notReady.length > 0 ? { notReadyAddresses: notReady } : {}),
          ...(ports.length > 0 ? { ports } : {}),
        };
      });
    const labels = endpointLabels(service);
    if (existing) {
      const sameLabels = jsonEqual(existing.metadata.labels ?? {}, labels);
      if (sameLabels && jsonEqual(existing.subsets ?? [], subsets)) return;
      const next: KubeObject = { ...existing, metadata: { ...existing.metadata } };
      if (Object.keys(labels).length > 0) next.metadata.labels = labels;
      else delete next.metadata.labels;
      if (subsets.length > 0) next.subsets = subsets;
      else delete next.subsets;
      this.api.update(GVR.endpoints, next, { fieldManager: CONTROLLER_MANAGER });
      return;
    }
    this.api.create(
      GVR.endpoints,
      {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: {
          name,
          namespace: namespace!,
          ...(Object.keys(labels).length > 0 ? { labels } : {}),
        },
        ...(subsets.length > 0 ? { subsets } : {}),
      },
      { fieldManager: CONTROLLER_MANAGER },
    );
  }
}
