/**
 * The sandbox's node: registers `sandbox-node`, binds new pods to it (the scheduler's part) and
 * runs them (the kubelet's part) — an IP, Running, containers started, and Ready after
 * `sim.slipway.dev/ready-after`. Pods of Jobs (restartPolicy Never/OnFailure) run for
 * `sim.slipway.dev/duration` and exit with `sim.slipway.dev/exit-code`.
 *
 * Status shapes follow what a v1.32 kubelet reports (pkg/kubelet/status, generateAPIPodStatus), so
 * `kubectl get pods`, `kubectl wait --for=condition=Ready` and client libraries read them as usual.
 */

import { createHash } from "node:crypto";
import { cloneJson } from "../../api/json.js";
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  ANNOTATION_DURATION,
  ANNOTATION_EXIT_CODE,
  ANNOTATION_READY_AFTER,
  Controller,
  type ControllerOptions,
  GVR,
  ignoreNotFound,
  isObj,
  isPodTerminal,
  NODE_IP,
  NODE_NAME,
  objectKey,
  parseDurationMs,
  splitKey,
  timestamp,
  writeStatus,
} from "./common.js";

const KUBELET = "kubelet";
const SCHEDULER = "kube-scheduler";
/** The queue key for "make sure the node exists" (pod keys always contain a slash). */
const NODE_KEY = "node";

interface Container {
  name: string;
  image?: string;
}

interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: Record<string, Record<string, unknown>>;
  lastState: Record<string, Record<string, unknown>>;
}

interface PodCondition {
  type: string;
  status: "True" | "False";
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/** What the kubelet remembers about a pod it runs (keyed by namespace/name, checked by uid). */
interface PodState {
  uid: string;
  /** When the current container instance started, in ms (precise, unlike status timestamps). */
  startedMs?: number;
  /** The pod's IP, released when the pod goes. */
  ip?: string;
  warned: Set<string>;
}

/** Containerd's image reference normalisation: `nginx:1.25` → `docker.io/library/nginx:1.25`. */
export function normalizeImage(image: string): string {
  let ref = image;
  const slash = ref.indexOf("/");
  const first = slash >= 0 ? ref.slice(0, slash) : "";
  if (slash < 0) ref = `docker.io/library/${ref}`;
  else if (!first.includes(".") && !first.includes(":") && first !== "localhost") ref = `docker.io/${ref}`;
  const lastPart = ref.slice(ref.lastIndexOf("/") + 1);
  if (!lastPart.includes(":") && !ref.includes("@")) ref = `${ref}:latest`;
  return ref;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function imageId(image: string): string {
  const normalized = normalizeImage(image);
  const repo = normalized.includes("@")
    ? normalized.slice(0, normalized.indexOf("@"))
    : normalized.replace(/:[^:/]+$/, "");
  return `${repo}@sha256:${sha256(normalized)}`;
}

/** Sets one condition, keeping lastTransitionTime when the status does not change. */
function setCondition(
  conditions: PodCondition[],
  type: string,
  status: "True" | "False",
  now: string,
  reason?: string,
  message?: string,
): void {
  const i = conditions.findIndex((c) => c.type === type);
  const previous = i >= 0 ? conditions[i] : undefined;
  const next: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
}

const CONDITION_ORDER = [
  "PodReadyToStartContainers",
  "Initialized",
  "Ready",
  "ContainersReady",
  "PodScheduled",
];

function sortConditions(conditions: PodCondition[]): PodCondition[] {
  const rank = (t: string) => {
    const i = CONDITION_ORDER.indexOf(t);
    return i < 0 ? CONDITION_ORDER.length : i;
  };
  return [...conditions].sort((a, b) => rank(a.type) - rank(b.type));
}

/** Every `/ready-after`, `/duration` problem is reported once per pod as this Event reason. */
export const INVALID_SIM_ANNOTATION = "InvalidSimAnnotation";

export class Kubelet extends Controller {
  private readonly pods = new Map<string, PodState>();
  /** Next host number to try in 10.244.0.0/16, so freed IPs are not reused at once (as host-local IPAM). */
  private ipCursor = 2;
  /** Pod IPs in use; filled from the store on first use, then kept up to date. */
  private usedIps: Set<string> | undefined;

  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "kubelet", options);
  }

  override start(): void {
    this.ensureNode();
    super.start();
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.pods, (e) => [objectKey(e.object)]],
      [GVR.nodes, (e) => (e.type === "DELETED" && e.object.metadata.name === NODE_NAME ? [NODE_KEY] : [])],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.pods);
  }

  protected reconcile(key: string): void {
    if (key === NODE_KEY) {
      this.ensureNode();
      return;
    }
    const [namespace, name] = splitKey(key);
    let pod = this.api.get(GVR.pods, namespace, name);
    let state = this.pods.get(key);
    if (state && state.uid !== pod?.metadata.uid) {
      // Gone, or replaced by a pod of the same name (a StatefulSet's): its IP is free again.
      if (state.ip) this.ips().delete(state.ip);
      this.pods.delete(key);
      state = undefined;
    }
    if (!pod) return;
    if (!state) {
      state = { uid: pod.metadata.uid!, warned: new Set() };
      this.pods.set(key, state);
    }
    const podIP = pod.status?.podIP;
    if (typeof podIP === "string" && state.ip !== podIP) {
      state.ip = podIP;
      this.ips().add(podIP);
    }
    if (pod.metadata.deletionTimestamp || isPodTerminal(pod)) return;
    if (!pod.spec?.nodeName) pod = this.bind(pod);
    if (pod.spec?.nodeName !== NODE_NAME) return;
    if (pod.status?.phase !== "Running" || !Array.isArray(pod.status?.containerStatuses)) {
      this.run(key, pod, state);
    } else {
      this.progress(key, pod, state);
    }
  }

  /** The scheduler's binding: there is one node, and every pod fits on it. */
  private bind(pod: KubeObject): KubeObject {
    const bound = this.api.update(
      GVR.pods,
      { ...pod, spec: { ...pod.spec, nodeName: NODE_NAME } },
      { fieldManager: SCHEDULER },
    );
    const conditions: PodCondition[] = Array.isArray(bound.status?.conditions)
      ? cloneJson(bound.status.conditions)
      : [];
    setCondition(conditions, "PodScheduled", "True", timestamp(this.clock.now()));
    return writeStatus(this.api, GVR.pods, bound, { ...bound.status, conditions }, SCHEDULER);
  }

  /** Starts the containers: Pending → Running with an IP; Ready now or after the annotated delay. */
  private run(key: string, pod: KubeObject, state: PodState): void {
    const nowDate = this.clock.now();
    const now = timestamp(nowDate);
    state.startedMs = nowDate.getTime();
    const readyAfter = this.readyAfterMs(pod, state);
    const ready = readyAfter <= 0;
    const ip = typeof pod.status?.podIP === "string" ? pod.status.podIP : this.allocateIp();
    const containers = this.containers(pod, "containers");
    const initContainers = this.containers(pod, "initContainers");
    const status: Record<string, unknown> = {
      ...pod.status,
      phase: "Running",
      conditions: this.runningConditions(pod, containers, ready, now),
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: pod.status?.startTime ?? now,
      containerStatuses: containers.map((c) => this.runningStatus(pod, c, ready, now, 0)),
      ...(initContainers.length > 0
        ? {
            initContainerStatuses: initContainers.map((c) => ({
              ...this.runningStatus(pod, c, false, now, 0),
              started: false,
              state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } },
            })),
          }
        : {}),
      qosClass: pod.status?.qosClass ?? "BestEffort",
    };
    writeStatus(this.api, GVR.pods, pod, status, KUBELET);
    this.schedule(key, pod, state, readyAfter);
  }

  /** A running pod: becomes Ready when its delay is over; a Job's pod exits when its time is up. */
  private progress(key: string, pod: KubeObject, state: PodState): void {
    const nowDate = this.clock.now();
    const nowMs = nowDate.getTime();
    state.startedMs ??= this.startedFromStatus(pod) ?? nowMs;
    const readyAfter = this.readyAfterMs(pod, state);
    if (this.runsToCompletion(pod)) {
      const endAt = state.startedMs + this.durationMs(pod, state);
      if (nowMs >= endAt) {
        this.finish(key, pod, state, nowDate);
        return;
      }
    }
    const statuses = pod.status.containerStatuses as ContainerStatus[];
    const ready = statuses.every((c) => c.ready);
    if (!ready && nowMs >= state.startedMs + readyAfter) {
      const now = timestamp(nowDate);
      const containers = this.containers(pod, "containers");
      writeStatus(
        this.api,
        GVR.pods,
        pod,
        {
          ...pod.status,
          conditions: this.runningConditions(pod, containers, true, now),
          containerStatuses: statuses.map((c) => ({ ...c, ready: true })),
        },
        KUBELET,
      );
    }
    this.schedule(key, pod, state, readyAfter);
  }

  /** Timers for the next change of this pod: readiness, and the end of a Job's run. */
  private schedule(key: string, pod: KubeObject, state: PodState, readyAfter: number): void {
    const nowMs = this.clock.now().getTime();
    const started = state.startedMs ?? nowMs;
    if (readyAfter > 0 && started + readyAfter > nowMs)
      this.queue.addAfter(key, started + readyAfter - nowMs);
    if (this.runsToCompletion(pod)) {
      this.queue.addAfter(key, Math.max(0, started + this.durationMs(pod, state) - nowMs));
    }
  }

  /** The main containers exit: Succeeded, Failed, or (OnFailure) restarted in place. */
  private finish(key: string, pod: KubeObject, state: PodState, nowDate: Date): void {
    const now = timestamp(nowDate);
    const exitCode = this.exitCode(pod, state);
    const statuses = pod.status.containerStatuses as ContainerStatus[];
    const terminated = (c: ContainerStatus) => ({
      exitCode,
      reason: exitCode === 0 ? "Completed" : "Error",
      startedAt: (c.state.running?.startedAt as string | undefined) ?? now,
      finishedAt: now,
      containerID: c.containerID,
    });
    if (exitCode !== 0 && pod.spec?.restartPolicy === "OnFailure") {
      // The kubelet restarts a failed container in place; the Job controller counts the restarts.
      state.startedMs = nowDate.getTime();
      const readyAfter = this.readyAfterMs(pod, state);
      const ready = readyAfter <= 0;
      const containers = this.containers(pod, "containers");
      writeStatus(
        this.api,
        GVR.pods,
        pod,
        {
          ...pod.status,
          conditions: this.runningConditions(pod, containers, ready, now),
          containerStatuses: statuses.map((c) => ({
            ...c,
            ready,
            restartCount: c.restartCount + 1,
            containerID: `containerd://${sha256(`${pod.metadata.uid}/${c.name}/${c.restartCount + 1}`)}`,
            lastState: { terminated: terminated(c) },
            state: { running: { startedAt: now } },
          })),
        },
        KUBELET,
      );
      this.schedule(key, pod, state, readyAfter);
      return;
    }
    const phase = exitCode === 0 ? "Succeeded" : "Failed";
    const reason = exitCode === 0 ? "PodCompleted" : "PodFailed";
    const conditions: PodCondition[] = cloneJson(pod.status.conditions ?? []);
    setCondition(conditions, "PodReadyToStartContainers", "False", now);
    setCondition(conditions, "Ready", "False", now, reason);
    setCondition(conditions, "ContainersReady", "False", now, reason);
    writeStatus(
      this.api,
      GVR.pods,
      pod,
      {
        ...pod.status,
        phase,
        conditions: sortConditions(conditions),
        containerStatuses: statuses.map((c) => ({
          ...c,
          ready: false,
          started: false,
          state: { terminated: terminated(c) },
        })),
      },
      KUBELET,
    );
  }

  private runsToCompletion(pod: KubeObject): boolean {
    const policy = pod.spec?.restartPolicy;
    return policy === "Never" || policy === "OnFailure";
  }

  private containers(pod: KubeObject, field: "containers" | "initContainers"): Container[] {
    const list = pod.spec?.[field];
    return Array.isArray(list)
      ? (list.filter((c) => isObj(c) && typeof c.name === "string") as Container[])
      : [];
  }

  private runningConditions(
    pod: KubeObject,
    containers: Container[],
    ready: boolean,
    now: string,
  ): PodCondition[] {
    const conditions: PodCondition[] = Array.isArray(pod.status?.conditions)
      ? cloneJson(pod.status.conditions)
      : [];
    const unready = ready
      ? undefined
      : `containers with unready status: [${containers.map((c) => c.name).join(" ")}]`;
    setCondition(conditions, "PodReadyToStartContainers", "True", now);
    setCondition(conditions, "Initialized", "True", now);
    setCondition(
      conditions,
      "Ready",
      ready ? "True" : "False",
      now,
      unready && "ContainersNotReady",
      unready,
    );
    setCondition(
      conditions,
      "ContainersReady",
      ready ? "True" : "False",
      now,
      unready && "ContainersNotReady",
      unready,
    );
    setCondition(conditions, "PodScheduled", "True", now);
    return sortConditions(conditions);
  }

  private runningStatus(
    pod: KubeObject,
    c: Container,
    ready: boolean,
    now: string,
    restartCount: number,
  ): ContainerStatus {
    const image = typeof c.image === "string" ? c.image : "";
    return {
      containerID: `containerd://${sha256(`${pod.metadata.uid}/${c.name}/${restartCount}`)}`,
      image: normalizeImage(image),
      imageID: imageId(image),
      lastState: {},
      name: c.name,
      ready,
      restartCount,
      started: true,
      state: { running: { startedAt: now } },
    };
  }

  private startedFromStatus(pod: KubeObject): number | undefined {
    const statuses = pod.status?.containerStatuses as ContainerStatus[] | undefined;
    const startedAt = statuses?.[0]?.state?.running?.startedAt;
    const ms = typeof startedAt === "string" ? Date.parse(startedAt) : Number.NaN;
    return Number.isNaN(ms) ? undefined : ms;
  }

  // ---- simulation annotations ---------------------------------------------------------------

  private readyAfterMs(pod: KubeObject, state: PodState): number {
    return this.durationAnnotation(pod, state, ANNOTATION_READY_AFTER);
  }

  private durationMs(pod: KubeObject, state: PodState): number {
    return this.durationAnnotation(pod, state, ANNOTATION_DURATION);
  }

  private durationAnnotation(pod: KubeObject, state: PodState, annotation: string): number {
    const value = pod.metadata.annotations?.[annotation];
    if (value === undefined) return 0;
    const ms = parseDurationMs(value);
    if (ms !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
    this.warnOnce(
      pod,
      state,
      annotation,
      `invalid value ${JSON.stringify(value)} for ${annotation}: want a duration like "5s" or a number of seconds; using 0s`,
    );
    return 0;
  }

  private exitCode(pod: KubeObject, state: PodState): number {
    const value = pod.metadata.annotations?.[ANNOTATION_EXIT_CODE];
    if (value === undefined) return 0;
    if (/^\s*\d+\s*$/.test(value) && Number(value) <= 255) return Number(value);
    this.warnOnce(
      pod,
      state,
      ANNOTATION_EXIT_CODE,
      `invalid value ${JSON.stringify(value)} for ${ANNOTATION_EXIT_CODE}: want an exit code from 0 to 255; using 0`,
    );
    return 0;
  }

  private warnOnce(pod: KubeObject, state: PodState, annotation: string, message: string): void {
    if (state.warned.has(annotation)) return;
    state.warned.add(annotation);
    this.api.recordEvent(pod, "Warning", INVALID_SIM_ANNOTATION, message);
  }

  // ---- node and addresses -------------------------------------------------------------------

  /** A free pod IP in 10.244.0.0/16 (the node's pod CIDR), never .0 or .255 in the last octet. */
  private allocateIp(): string {
    const used = this.ips();
    for (let i = 0; i < 1 << 16; i++) {
      const n = (this.ipCursor + i) % (1 << 16);
      if ((n & 0xff) === 0 || (n & 0xff) === 0xff || n < 2) continue;
      const ip = `10.244.${n >> 8}.${n & 0xff}`;
      if (!used.has(ip)) {
        this.ipCursor = n + 1;
        used.add(ip);
        return ip;
      }
    }
    throw new Error("pod IP range 10.244.0.0/16 exhausted");
  }

  private ips(): Set<string> {
    if (!this.usedIps) {
      this.usedIps = new Set();
      for (const p of this.api.list(GVR.pods)) {
        if (typeof p.status?.podIP === "string") this.usedIps.add(p.status.podIP);
      }
    }
    return this.usedIps;
  }

  /** Registers the node as a kubelet does on start-up, with a Ready status. */
  private ensureNode(): void {
    if (this.api.get(GVR.nodes, undefined, NODE_NAME)) return;
    const created = this.api.create(
      GVR.nodes,
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: NODE_NAME,
          labels: {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
          },
          annotations: { "node.alpha.kubernetes.io/ttl": "0" },
        },
        spec: { podCIDR: "10.244.0.0/16", podCIDRs: ["10.244.0.0/16"] },
      },
      { fieldManager: KUBELET },
    );
    const now = timestamp(this.clock.now());
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
      reason,
      message,
    });
    const resources = { cpu: "8", "ephemeral-storage": "104857600Ki", memory: "16Gi", pods: "110" };
    ignoreNotFound(() =>
      writeStatus(
        this.api,
        GVR.nodes,
        created,
        {
          capacity: resources,
          allocatable: resources,
          conditions: [
            condition(
              "MemoryPressure",
              "False",
              "KubeletHasSufficientMemory",
              "kubelet has sufficient memory available",
            ),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition(
              "PIDPressure",
              "False",
              "KubeletHasSufficientPID",
              "kubelet has sufficient PID available",
            ),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
          ],
          addresses: [
            { type: "InternalIP", address: NODE_IP },
            { type: "Hostname", address: NODE_NAME },
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            architecture: "amd64",
            bootID: sha256("boot").slice(0, 36),
            containerRuntimeVersion: "containerd://1.7.24",
            kernelVersion: "6.1.0-slipway",
            kubeProxyVersion: "v1.32.0",
            kubeletVersion: "v1.32.0",
            machineID: sha256("machine").slice(0, 32),
            operatingSystem: "linux",
            osImage: "Slipway Sandbox",
            systemUUID: sha256("system").slice(0, 36),
          },
        },
        KUBELET,
      ),
    );
  }
}
