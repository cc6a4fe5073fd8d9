/**
 * A minimal StatefulSet controller: stable pod names `<name>-0..n-1`, created in order (each after
 * the previous one is Running and Ready, unless podManagementPolicy is Parallel), removed from the
 * highest ordinal down, and a RollingUpdate that replaces pods from the highest ordinal down to the
 * partition. Status carries the fields `kubectl rollout status statefulset` reads.
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/statefulset/stateful_set_control.go
 *
 * Not simulated: ControllerRevision objects (so `kubectl rollout history/undo` for StatefulSets),
 * volumeClaimTemplates and persistentVolumeClaimRetentionPolicy.
 */
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  asInt,
  CONTROLLER_MANAGER,
  Controller,
  type ControllerOptions,
  controllerRef,
  fnv32a,
  GVR,
  ignoreNotFound,
  isPodReady,
  isPodTerminal,
  objectKey,
  omitZero,
  ownerKeys,
  podAvailability,
  podFromTemplate,
  podsMatching,
  safeEncodeHash,
  splitKey,
  writeStatus,
} from "./common.js";

export const CONTROLLER_REVISION_HASH = "controller-revision-hash";
const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

export class StatefulSetController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "statefulset-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.statefulSets, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => ownerKeys(e.object, "StatefulSet")],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.statefulSets);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const sts = this.api.get(GVR.statefulSets, namespace, name);
    if (!sts) return;
    const updateRevision = `${name}-${safeEncodeHash(fnv32a(sts.spec?.template))}`;
    if (!sts.metadata.deletionTimestamp) this.manage(sts, updateRevision);
    this.updateStatus(sts, updateRevision);
  }

  private pods(sts: KubeObject): Map<number, KubeObject> {
    const byOrdinal = new Map<number, KubeObject>();
    const prefix = `${sts.metadata.name}-`;
    for (const pod of podsMatching(this.api, sts.metadata.namespace!, sts.spec?.selector)) {
      if (controllerRef(pod)?.uid !== sts.metadata.uid) continue;
      const name = pod.metadata.name!;
      const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : "";
      if (/^\d+$/.test(suffix)) byOrdinal.set(Number(suffix), pod);
    }
    return byOrdinal;
  }

  private manage(sts: KubeObject, updateRevision: string): void {
    const replicas = asInt(sts.spec?.replicas, 1);
    const parallel = sts.spec?.podManagementPolicy === "Parallel";
    const pods = this.pods(sts);
    const healthy = (p: KubeObject) =>
      p.status?.phase === "Running" && isPodReady(p) && !p.metadata.deletionTimestamp;

    for (let i = 0; i < replicas; i++) {
      const pod = pods.get(i);
      if (!pod) {
        const name = `${sts.metadata.name}-${i}`;
        const pod = podFromTemplate(
          sts.spec?.template,
          sts,
          { name },
          {
            labels: {
              [CONTROLLER_REVISION_HASH]: updateRevision,
              [POD_NAME_LABEL]: name,
              [POD_INDEX_LABEL]: String(i),
            },
          },
        );
        // Pods of a StatefulSet get hostname = pod name and subdomain = the governing service.
        pod.spec.hostname = name;
        if (typeof sts.spec?.serviceName === "string" && sts.spec.serviceName !== "")
          pod.spec.subdomain = sts.spec.serviceName;
        this.api.create(GVR.pods, pod, { fieldManager: CONTROLLER_MANAGER });
        this.api.recordEvent(
          sts,
          "Normal",
          "SuccessfulCreate",
          `create Pod ${name} in StatefulSet ${sts.metadata.name} successful`,
        );
        if (!parallel) return;
        continue;
      }
      if (isPodTerminal(pod)) {
        // A failed or finished pod is recreated under the same name.
        ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
        if (!parallel) return;
        continue;
      }
      if (!parallel && !healthy(pod)) return;
    }

    const surplus = [...pods.keys()].filter((i) => i >= replicas).sort((a, b) => b - a);
    for (const i of surplus) {
      const pod = pods.get(i)!;
      if (pod.metadata.deletionTimestamp) return;
      ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
      this.api.recordEvent(
        sts,
        "Normal",
        "SuccessfulDelete",
        `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
      );
      if (!parallel) return;
    }

    if ((sts.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return;
    const partition = asInt(sts.spec?.updateStrategy?.rollingUpdate?.partition, 0);
    for (let i = 0; i < replicas; i++) {
      const pod = pods.get(i);
      if (!pod || !healthy(pod)) return;
    }
    for (let i = replicas - 1; i >= partition; i--) {
      const pod = pods.get(i)!;
      if (pod.metadata.labels?.[CONTROLLER_REVISION_HASH] !== updateRevision) {
        ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
        return;
      }
    }
  }

  private updateStatus(sts: KubeObject, updateRevision: string): void {
    const current = this.api.get(GVR.statefulSets, sts.metadata.namespace, sts.metadata.name!);
    if (!current || current.metadata.uid !== sts.metadata.uid) return;
    const replicas = asInt(current.spec?.replicas, 1);
    const pods = [...this.pods(current).values()].filter((p) => !isPodTerminal(p));
    const now = this.clock.now();
    const minReady = asInt(current.spec?.minReadySeconds, 0);
    let available = 0;
    for (const p of pods) {
      const a = podAvailability(p, minReady, now);
      if (a.available) available++;
      else if (a.inMs !== undefined) this.queue.addAfter(objectKey(current), a.inMs);
    }
    const ready = pods.filter(isPodReady).length;
    const updated = pods.filter(
      (p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === updateRevision,
    ).length;
    let currentRevision: string = current.status?.currentRevision ?? updateRevision;
    let currentReplicas = pods.filter(
      (p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === currentRevision,
    ).length;
    // completeRollingUpdate: once every pod runs the update revision, it becomes the current one.
    if (updated === pods.length && ready === pods.length && pods.length === replicas) {
      currentRevision = updateRevision;
      currentReplicas = updated;
    }
    const status: Record<string, unknown> = {
      ...omitZero({ observedGeneration: current.metadata.generation }),
      replicas: pods.length,
      ...omitZero({
        readyReplicas: ready,
        currentReplicas,
        updatedReplicas: updated,
      }),
      availableReplicas: available,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    };
    writeStatus(this.api, GVR.statefulSets, current, status);
  }
}
