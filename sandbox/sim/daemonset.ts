/**
 * A minimal DaemonSet controller: one pod on the sandbox's single node (when the node matches the
 * template's nodeSelector), replaced when the template changes (RollingUpdate), with the status
 * fields `kubectl rollout status daemonset` reads.
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/daemon/daemon_controller.go
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
  isObj,
  isPodActive,
  isPodReady,
  isPodTerminal,
  NODE_NAME,
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
import { podsToDelete } from "./replicaset.js";
import { CONTROLLER_REVISION_HASH } from "./statefulset.js";

/** The tolerations the DaemonSet controller adds to its pods (util.AddOrUpdateDaemonPodTolerations). */
const DAEMON_TOLERATIONS = [
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
  "node.kubernetes.io/disk-pressure",
  "node.kubernetes.io/memory-pressure",
  "node.kubernetes.io/pid-pressure",
  "node.kubernetes.io/unschedulable",
].map((key) => ({
  key,
  operator: "Exists",
  effect: key.endsWith("ready") || key.endsWith("unreachable") ? "NoExecute" : "NoSchedule",
}));

export class DaemonSetController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "daemonset-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.daemonSets, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => ownerKeys(e.object, "DaemonSet")],
      [GVR.nodes, () => this.keysOfAll(GVR.daemonSets)],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.daemonSets);
  }

  /** Whether the node exists and matches the template's nodeSelector. */
  private wanted(ds: KubeObject): boolean {
    const node = this.api.get(GVR.nodes, undefined, NODE_NAME);
    if (!node) return false;
    const selector = ds.spec?.template?.spec?.nodeSelector;
    if (!isObj(selector)) return true;
    return Object.entries(selector).every(([k, v]) => node.metadata.labels?.[k] === v);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const ds = this.api.get(GVR.daemonSets, namespace, name);
    if (!ds) return;
    const hash = safeEncodeHash(fnv32a(ds.spec?.template));
    const desired = this.wanted(ds) ? 1 : 0;
    if (!ds.metadata.deletionTimestamp) this.manage(ds, hash, desired);
    this.updateStatus(ds, hash, desired);
  }

  private owned(ds: KubeObject): KubeObject[] {
    return podsMatching(this.api, ds.metadata.namespace!, ds.spec?.selector).filter(
      (p) => controllerRef(p)?.uid === ds.metadata.uid,
    );
  }

  private manage(ds: KubeObject, hash: string, desired: number): void {
    const pods = this.owned(ds);
    for (const pod of pods.filter(isPodTerminal)) {
      ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
    }
    const running = pods.filter(isPodActive);
    if (running.length > desired) {
      for (const pod of podsToDelete(running, running.length - desired)) this.deletePod(ds, pod);
      return;
    }
    if (running.length < desired) {
      this.createPod(ds, hash);
      return;
    }
    const onDelete = ds.spec?.updateStrategy?.type === "OnDelete";
    const stale = running.find((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== hash);
    if (stale && !onDelete) this.deletePod(ds, stale);
  }

  private createPod(ds: KubeObject, hash: string): void {
    const pod = podFromTemplate(
      ds.spec?.template,
      ds,
      { generateName: `${ds.metadata.name}-` },
      {
        labels: {
          [CONTROLLER_REVISION_HASH]: hash,
          "pod-template-generation": String(ds.metadata.generation ?? 1),
        },
      },
    );
    // Daemon pods are pinned to their node through affinity, and tolerate node trouble.
    pod.spec.affinity = {
      ...(pod.spec.affinity ?? {}),
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: "metadata.name", operator: "In", values: [NODE_NAME] }] },
          ],
        },
      },
    };
    const tolerations = Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations : [];
    pod.spec.tolerations = [
      ...tolerations,
      ...DAEMON_TOLERATIONS.filter((t) => !tolerations.some((x: { key?: string }) => x.key === t.key)),
    ];
    const created = this.api.create(GVR.pods, pod, { fieldManager: CONTROLLER_MANAGER });
    this.api.recordEvent(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
  }

  private deletePod(ds: KubeObject, pod: KubeObject): void {
    ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
    this.api.recordEvent(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
  }

  private updateStatus(ds: KubeObject, hash: string, desired: number): void {
    const current = this.api.get(GVR.daemonSets, ds.metadata.namespace, ds.metadata.name!);
    if (!current || current.metadata.uid !== ds.metadata.uid) return;
    const pods = this.owned(current).filter(isPodActive);
    const now = this.clock.now();
    const minReady = asInt(current.spec?.minReadySeconds, 0);
    let available = 0;
    for (const p of pods) {
      const a = podAvailability(p, minReady, now);
      if (a.available) available++;
      else if (a.inMs !== undefined) this.queue.addAfter(objectKey(current), a.inMs);
    }
    const scheduled = Math.min(pods.length, desired);
    const status: Record<string, unknown> = {
      currentNumberScheduled: scheduled,
      numberMisscheduled: desired === 0 ? pods.length : 0,
      desiredNumberScheduled: desired,
      numberReady: pods.filter(isPodReady).length,
      ...omitZero({
        observedGeneration: current.metadata.generation,
        updatedNumberScheduled: pods.filter((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash)
          .length,
        numberAvailable: available,
        numberUnavailable: Math.max(0, desired - available),
      }),
    };
    writeStatus(this.api, GVR.daemonSets, current, status);
  }
}
