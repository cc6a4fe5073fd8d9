/**
 * The EndpointSlice controller: for every Service with a selector, EndpointSlices
 * `<service>-<5 chars>` labelled `kubernetes.io/service-name`, owned by the Service, listing each
 * selected pod with its ready/serving/terminating conditions. One slice per distinct port mapping
 * (normally exactly one); an empty placeholder slice when nothing is selected, as Kubernetes keeps.
 * Written only on change, so watchers see no churn.
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/staging/src/k8s.io/endpointslice/reconciler.go
 */
import { jsonEqual } from "../core/api.js";
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  CONTROLLER_MANAGER,
  Controller,
  type ControllerOptions,
  GVR,
  ignoreNotFound,
  keyOf,
  newControllerRef,
  objectKey,
  splitKey,
} from "./common.js";
import { servicesOfNamespace } from "./endpoints.js";
import {
  endpointLabels,
  groupByPorts,
  hasSelector,
  type PodEndpoint,
  serviceEndpoints,
  targetRef,
} from "./service-endpoints.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY = "endpointslice-controller.k8s.io";

interface SliceContent {
  labels: Record<string, string>;
  endpoints: Record<string, unknown>[];
  ports?: Record<string, unknown>[];
}

function endpoint(service: KubeObject, e: PodEndpoint): Record<string, unknown> {
  const spec = e.pod.spec ?? {};
  return {
    addresses: [e.ip],
    conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
    ...(spec.hostname && spec.subdomain === service.metadata.name ? { hostname: spec.hostname } : {}),
    ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
    targetRef: targetRef(e.pod),
  };
}

export class EndpointSliceController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "endpointslice-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.services, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => servicesOfNamespace(this.api, e.object)],
      [
        GVR.endpointSlices,
        (e) => {
          const service = e.object.metadata.labels?.[SERVICE_NAME_LABEL];
          const managed = e.object.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
          return service && managed ? [keyOf(e.object.metadata.namespace, service)] : [];
        },
      ],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.services);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const service = this.api.get(GVR.services, namespace, name);
    const slices = this.api.list(GVR.endpointSlices, {
      namespace: namespace!,
      labelSelector: `${SERVICE_NAME_LABEL}=${name},${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    });
    const remove = (slice: KubeObject) =>
      ignoreNotFound(() => this.api.delete(GVR.endpointSlices, namespace, slice.metadata.name!));
    if (!service || !hasSelector(service)) {
      for (const slice of slices) remove(slice);
      return;
    }
    const owned = slices.filter((s) =>
      s.metadata.ownerReferences?.some((r) => r.uid === service.metadata.uid),
    );
    for (const slice of slices) if (!owned.includes(slice)) remove(slice);

    const labels = {
      ...endpointLabels(service),
      [SERVICE_NAME_LABEL]: name,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    };
    const groups = [...groupByPorts(serviceEndpoints(this.api, service, true)).values()];
    const wanted: SliceContent[] =
      groups.length === 0
        ? [{ labels, endpoints: [] }]
        : groups.map((group) => ({
            labels,
            endpoints: group.map((e) => endpoint(service, e)),
            ports: group[0]!.ports.map((p) => ({ name: p.name ?? "", ...p })),
          }));

    const unused = [...owned];
    const take = (match: (s: KubeObject) => boolean) => {
      const i = unused.findIndex(match);
      return i >= 0 ? unused.splice(i, 1)[0] : undefined;
    };
    const assigned = wanted.map((content) => ({
      content,
      slice: take((s) => jsonEqual(s.ports ?? [], content.ports ?? [])),
    }));
    for (const a of assigned) {
      a.slice ??= take(() => true);
      this.write(service, a.slice, a.content);
    }
    for (const slice of unused) remove(slice);
  }

  private write(service: KubeObject, slice: KubeObject | undefined, content: SliceContent): void {
    if (!slice) {
      this.api.create(
        GVR.endpointSlices,
        {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            generateName: `${service.metadata.name}-`,
            namespace: service.metadata.namespace!,
            labels: content.labels,
            ownerReferences: [newControllerRef(service)],
          },
          addressType: "IPv4",
          endpoints: content.endpoints,
          ...(content.ports ? { ports: content.ports } : {}),
        },
        { fieldManager: CONTROLLER_MANAGER },
      );
      return;
    }
    if (
      jsonEqual(slice.metadata.labels ?? {}, content.labels) &&
      jsonEqual(slice.endpoints ?? [], content.endpoints) &&
      jsonEqual(slice.ports ?? [], content.ports ?? [])
    ) {
      return;
    }
    const next: KubeObject = {
      ...slice,
      metadata: { ...slice.metadata, labels: content.labels },
      endpoints: content.endpoints,
    };
    if (content.ports) next.ports = content.ports;
    else delete next.ports;
    this.api.update(GVR.endpointSlices, next, { fieldManager: CONTROLLER_MANAGER });
  }
}
