/**
 * The ReplicaSet controller: keeps `spec.replicas` pods of the template alive and reports how many
 * are ready and available. Matches pkg/controller/replicaset (manageReplicas, calculateStatus):
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/replicaset/replica_set.go
 */
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  asInt,
  CONTROLLER_MANAGER,
  Controller,
  type ControllerOptions,
  controllerRef,
  GVR,
  ignoreNotFound,
  isObj,
  isPodActive,
  isPodReady,
  newControllerRef,
  objectKey,
  omitZero,
  ownerKeys,
  podAvailability,
  podCondition,
  podFromTemplate,
  podsMatching,
  selectorMatches,
  splitKey,
  writeStatus,
} from "./common.js";

/** `controller.kubernetes.io/pod-deletion-cost`: lower-cost pods are deleted first. */
const DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

export class ReplicaSetController extends Controller {
  /** ReplicaSet key → names of owned pods seen relabelled out of its selector. */
  private readonly releases = new Map<string, Set<string>>();

  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "replicaset-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.replicaSets, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => this.keysForPod(e)],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.replicaSets);
  }

  /** The pod's ReplicaSet, or for an orphan every ReplicaSet that could adopt it. */
  private keysForPod(event: WatchEvent): string[] {
    const pod = event.object;
    const owners = ownerKeys(pod, "ReplicaSet");
    if (owners.length > 0 && event.type === "MODIFIED") {
      // Relabelled out of its ReplicaSet's selector: the ReplicaSet lets go of it.
      const ref = controllerRef(pod)!;
      const rs = this.api.get(GVR.replicaSets, pod.metadata.namespace, ref.name);
      if (rs?.metadata.uid === ref.uid && !selectorMatches(rs.spec?.selector, pod.metadata.labels)) {
        const set = this.releases.get(owners[0]!) ?? new Set<string>();
        set.add(pod.metadata.name!);
        this.releases.set(owners[0]!, set);
      }
    }
    if (owners.length > 0 || event.type === "DELETED" || controllerRef(pod)) return owners;
    return this.api
      .list(GVR.replicaSets, { namespace: event.object.metadata.namespace! })
      .filter((rs) => selectorMatches(rs.spec?.selector, event.object.metadata.labels))
      .map(objectKey);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const rs = this.api.get(GVR.replicaSets, namespace, name);
    const released = this.releases.get(key);
    this.releases.delete(key);
    if (!rs) return;
    for (const podName of released ?? []) {
      const pod = this.api.get(GVR.pods, namespace, podName);
      if (
        pod &&
        controllerRef(pod)?.uid === rs.metadata.uid &&
        !selectorMatches(rs.spec?.selector, pod.metadata.labels)
      )
        this.release(pod, rs);
    }
    const pods = this.claimPods(rs);
    const active = pods.filter(isPodActive);
    if (!rs.metadata.deletionTimestamp) this.manageReplicas(rs, active);
    this.updateStatus(rs);
  }

  /**
   * ClaimPods: the pods this ReplicaSet controls, adopting matching orphans (as the
   * ControllerRefManager does). Only pods matching the selector are looked at; owned pods that
   * were relabelled out of it are released as their change arrives (see keysForPod).
   */
  private claimPods(rs: KubeObject): KubeObject[] {
    const out: KubeObject[] = [];
    for (const pod of podsMatching(this.api, rs.metadata.namespace!, rs.spec?.selector)) {
      const ref = controllerRef(pod);
      if (ref?.uid === rs.metadata.uid) out.push(pod);
      else if (!ref && !pod.metadata.deletionTimestamp && !rs.metadata.deletionTimestamp) {
        out.push(this.adopt(pod, rs) ?? pod);
      }
    }
    return out;
  }

  private adopt(pod: KubeObject, rs: KubeObject): KubeObject | undefined {
    return ignoreNotFound(() =>
      this.api.patch(
        GVR.pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        "merge",
        {
          metadata: {
            ownerReferences: [...(pod.metadata.ownerReferences ?? []), newControllerRef(rs)],
            resourceVersion: pod.metadata.resourceVersion,
          },
        },
        { fieldManager: CONTROLLER_MANAGER },
      ),
    );
  }

  private release(pod: KubeObject, rs: KubeObject): void {
    const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
    ignoreNotFound(() =>
      this.api.patch(
        GVR.pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        "merge",
        { metadata: { ownerReferences: refs.length > 0 ? refs : null } },
        { fieldManager: CONTROLLER_MANAGER },
      ),
    );
  }

  /** manageReplicas: create the missing pods or delete the surplus, the least valuable first. */
  private manageReplicas(rs: KubeObject, active: KubeObject[]): void {
    const wanted = asInt(rs.spec?.replicas, 1);
    const diff = active.length - wanted;
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) {
        const pod = this.api.create(
          GVR.pods,
          podFromTemplate(rs.spec?.template, rs, { generateName: `${rs.metadata.name}-` }),
          { fieldManager: CONTROLLER_MANAGER },
        );
        this.api.recordEvent(rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`);
      }
    } else if (diff > 0) {
      for (const pod of podsToDelete(active, diff)) {
        ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
        this.api.recordEvent(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
      }
    }
  }

  /** calculateStatus, written only when it changed. */
  private updateStatus(rs: KubeObject): void {
    const current = this.api.get(GVR.replicaSets, rs.metadata.namespace, rs.metadata.name!);
    if (!current || current.metadata.uid !== rs.metadata.uid) return;
    const pods = podsMatching(this.api, rs.metadata.namespace!, current.spec?.selector).filter(
      (p) => controllerRef(p)?.uid === rs.metadata.uid && isPodActive(p),
    );
    const templateLabels: Record<string, string> = isObj(rs.spec?.template?.metadata?.labels)
      ? rs.spec.template.metadata.labels
      : {};
    const minReady = asInt(rs.spec?.minReadySeconds, 0);
    const now = this.clock.now();
    let available = 0;
    let nextCheck: number | undefined;
    for (const pod of pods) {
      const a = podAvailability(pod, minReady, now);
      if (a.available) available++;
      else if (a.inMs !== undefined) nextCheck = Math.min(nextCheck ?? a.inMs, a.inMs);
    }
    if (nextCheck !== undefined) this.queue.addAfter(objectKey(rs), nextCheck);
    const status: Record<string, unknown> = {
      replicas: pods.length,
      ...omitZero({
        fullyLabeledReplicas: pods.filter((p) =>
          Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
        ).length,
        readyReplicas: pods.filter(isPodReady).length,
        availableReplicas: available,
        observedGeneration: current.metadata.generation,
      }),
      ...(Array.isArray(current.status?.conditions) && current.status.conditions.length > 0
        ? { conditions: current.status.conditions }
        : {}),
    };
    writeStatus(this.api, GVR.replicaSets, current, status);
  }
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * controller.ActivePodsWithRanks ordering: the pods Kubernetes deletes first when scaling down —
 * unscheduled before scheduled, pending before running, unready before ready, lower deletion cost,
 * ready for a shorter time, more restarts, and newer before older.
 */
export function podsToDelete(pods: KubeObject[], count: number): KubeObject[] {
  const restarts = (p: KubeObject) =>
    (Array.isArray(p.status?.containerStatuses) ? p.status.containerStatuses : []).reduce(
      (n: number, c: { restartCount?: number }) => Math.max(n, c.restartCount ?? 0),
      0,
    );
  const cost = (p: KubeObject) => {
    const v = Number(p.metadata.annotations?.[DELETION_COST] ?? 0);
    return Number.isFinite(v) ? v : 0;
  };
  const time = (t: string | undefined) => (t ? Date.parse(t) : Number.NaN);
  const sorted = [...pods].sort((a, b) => {
    const sa = a.spec?.nodeName ? 1 : 0;
    const sb = b.spec?.nodeName ? 1 : 0;
    if (sa !== sb) return sa - sb;
    const pa = PHASE_RANK[a.status?.phase as string] ?? 0;
    const pb = PHASE_RANK[b.status?.phase as string] ?? 0;
    if (pa !== pb) return pa - pb;
    const ra = isPodReady(a) ? 1 : 0;
    const rb = isPodReady(b) ? 1 : 0;
    if (ra !== rb) return ra - rb;
    if (cost(a) !== cost(b)) return cost(a) - cost(b);
    if (ra === 1) {
      const ta = time(podCondition(a, "Ready")?.lastTransitionTime);
      const tb = time(podCondition(b, "Ready")?.lastTransitionTime);
      if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
    }
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    const ca = time(a.metadata.creationTimestamp);
    const cb = time(b.metadata.creationTimestamp);
    if (ca !== cb && !Number.isNaN(ca) && !Number.isNaN(cb)) return cb - ca;
    // Same second: the later name in creation order is unknown, so fall back to a stable order.
    return (b.metadata.name ?? "").localeCompare(a.metadata.name ?? "");
  });
  return sorted.slice(0, count);
}
