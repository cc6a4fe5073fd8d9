/**
 * What both endpoint controllers derive from a Service: the pods it selects, whether each is
 * ready, serving or terminating, and the ports its targetPorts resolve to on each pod.
 * Mirrors pkg/controller/util/endpoint (ShouldPodBeInEndpoints) and podutil.FindPort.
 */
import type { KubeObject, SandboxApi } from "../core/types.js";
import { GVR, isObj, isPodReady } from "./common.js";

export interface ResolvedPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface PodEndpoint {
  pod: KubeObject;
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** The service's ports as this pod serves them; pods that resolve differently land in different groups. */
  ports: ResolvedPort[];
}

/** A Service the endpoint controllers manage: it has a non-empty selector and is not ExternalName. */
export function hasSelector(service: KubeObject): boolean {
  const selector = service.spec?.selector;
  return isObj(selector) && Object.keys(selector).length > 0 && service.spec?.type !== "ExternalName";
}

export function selects(service: KubeObject, pod: KubeObject): boolean {
  if (!hasSelector(service) || pod.metadata.namespace !== service.metadata.namespace) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => labels[k] === v);
}

/** ShouldPodBeInEndpoints: has an IP, and is not finished for good (per its restart policy). */
function shouldBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (!pod.status?.podIP) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  switch (pod.spec?.restartPolicy) {
    case "Never":
      return phase !== "Failed" && phase !== "Succeeded";
    case "OnFailure":
      return phase !== "Succeeded";
    default:
      return true;
  }
}

/** FindPort: a numeric targetPort as is; a named one through the pod's container ports. */
function findPort(pod: KubeObject, servicePort: Record<string, unknown>): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  const protocol = (servicePort.protocol as string | undefined) ?? "TCP";
  if (typeof target === "number") return target;
  if (typeof target === "string" && /^\d+$/.test(target)) return Number(target);
  if (typeof target !== "string") return undefined;
  for (const c of Array.isArray(pod.spec?.containers) ? pod.spec.containers : []) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (p?.name === target && (p.protocol ?? "TCP") === protocol && typeof p.containerPort === "number") {
        return p.containerPort;
      }
    }
  }
  return undefined;
}

/**
 * The service's endpoints, one per selected pod with an IP, sorted by IP. A pod on which some
 * named targetPort does not resolve serves only the ports that do (as Kubernetes skips it per port).
 */
export function serviceEndpoints(
  api: SandboxApi,
  service: KubeObject,
  includeTerminating: boolean,
): PodEndpoint[] {
  const ports: Record<string, unknown>[] = Array.isArray(service.spec?.ports)
    ? service.spec.ports.filter(isObj)
    : [];
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const out: PodEndpoint[] = [];
  const labelSelector = Object.entries(service.spec.selector as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  for (const pod of api.list(GVR.pods, { namespace: service.metadata.namespace!, labelSelector })) {
    if (!selects(service, pod) || !shouldBeInEndpoints(pod, includeTerminating)) continue;
    const resolved: ResolvedPort[] = [];
    for (const p of ports) {
      const port = findPort(pod, p);
      if (port === undefined) continue;
      resolved.push({
        ...(typeof p.name === "string" && p.name !== "" ? { name: p.name } : {}),
        port,
        protocol: (p.protocol as string | undefined) ?? "TCP",
        ...(typeof p.appProtocol === "string" ? { appProtocol: p.appProtocol } : {}),
      });
    }
    if (ports.length > 0 && resolved.length === 0) continue;
    const terminating = Boolean(pod.metadata.deletionTimestamp);
    const serving = publishNotReady || isPodReady(pod);
    out.push({
      pod,
      ip: pod.status.podIP as string,
      ready: serving && !terminating,
      serving,
      terminating,
      ports: resolved,
    });
  }
  return out.sort((a, b) => compareIp(a.ip, b.ip) || (a.pod.metadata.uid! < b.pod.metadata.uid! ? -1 : 1));
}

function compareIp(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Groups endpoints by the ports they serve (the key is the ports' JSON). */
export function groupByPorts(endpoints: PodEndpoint[]): Map<string, PodEndpoint[]> {
  const groups = new Map<string, PodEndpoint[]>();
  for (const e of endpoints) {
    const key = JSON.stringify(e.ports);
    const list = groups.get(key);
    if (list) list.push(e);
    else groups.set(key, [e]);
  }
  return groups;
}

export function targetRef(pod: KubeObject): Record<string, string> {
  return {
    kind: "Pod",
    namespace: pod.metadata.namespace!,
    name: pod.metadata.name!,
    uid: pod.metadata.uid!,
  };
}

/** Labels the endpoint objects carry: the service's own, plus the headless marker. */
export function endpointLabels(service: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(service.metadata.labels ?? {}) };
  if (service.spec?.clusterIP === "None") labels["service.kubernetes.io/headless"] = "";
  return labels;
}
