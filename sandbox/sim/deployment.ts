/**
 * The Deployment controller: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`),
 * rolling updates within maxSurge/maxUnavailable, Recreate, pause, proportional scaling, revision
 * history and the progress deadline — with the status and conditions `kubectl rollout status`
 * reads. The logic follows pkg/controller/deployment step by step (sync.go, rolling.go,
 * recreate.go, progress.go and util/deployment_util.go):
 * https://github.com/kubernetes/kubernetes/tree/v1.32.0/pkg/controller/deployment
 */
import { cloneJson } from "../../api/json.js";
import { jsonEqual } from "../core/api.js";
import { ApiError } from "../core/errors.js";
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
  isPodTerminal,
  keyOf,
  newControllerRef,
  objectKey,
  omitZero,
  ownerKeys,
  podsMatching,
  safeEncodeHash,
  scaledValue,
  selectorMatches,
  splitKey,
  timestamp,
  writeStatus,
} from "./common.js";

export const POD_TEMPLATE_HASH = "pod-template-hash";
export const REVISION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** Deployment annotations that are not copied to its ReplicaSets (annotationsToSkip). */
const SKIP_ANNOTATIONS = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  "deprecated.deployment.rollback.to",
]);
/** Revision history annotations are capped in length, as with --deployment-controller's default. */
const MAX_REVISION_HISTORY_CHARS = 2000;

// Condition reasons (util/deployment_util.go).
const NEW_RS_REASON = "NewReplicaSetCreated";
const FOUND_NEW_RS_REASON = "FoundNewReplicaSet";
const RS_UPDATED_REASON = "ReplicaSetUpdated";
const NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable";
const TIMED_OUT_REASON = "ProgressDeadlineExceeded";
const PAUSED_REASON = "DeploymentPaused";
const RESUMED_REASON = "DeploymentResumed";
const MIN_AVAILABLE_REASON = "MinimumReplicasAvailable";
const MIN_UNAVAILABLE_REASON = "MinimumReplicasUnavailable";

/** progressDeadlineSeconds of MaxInt32 means "no deadline". */
const MAX_INT32 = 2147483647;

interface DeploymentCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

// ---- small accessors ------------------------------------------------------------------------

const specReplicas = (o: KubeObject | undefined) => (o ? asInt(o.spec?.replicas, 1) : 0);
const statusNum = (o: KubeObject | undefined, field: string) => (o ? asInt(o.status?.[field], 0) : 0);
const revisionOf = (rs: KubeObject) => {
  const v = Number(rs.metadata.annotations?.[REVISION] ?? "0");
  return Number.isFinite(v) ? v : 0;
};
const sum = (list: KubeObject[], f: (o: KubeObject) => number) => list.reduce((n, o) => n + f(o), 0);
const active = (list: KubeObject[]) => list.filter((rs) => specReplicas(rs) > 0);

function byCreation(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1;
}

function isRolling(d: KubeObject): boolean {
  return (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

/** ResolveFenceposts: maxSurge rounds up, maxUnavailable down; both zero means one unavailable. */
function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const desired = specReplicas(d);
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = scaledValue(ru.maxSurge ?? "25%", desired, true) ?? 0;
  let unavailable = scaledValue(ru.maxUnavailable ?? "25%", desired, false) ?? 0;
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function maxSurge(d: KubeObject): number {
  return isRolling(d) ? fenceposts(d).surge : 0;
}

function maxUnavailable(d: KubeObject): number {
  const desired = specReplicas(d);
  if (!isRolling(d) || desired === 0) return 0;
  return Math.min(fenceposts(d).unavailable, desired);
}

function hasProgressDeadline(d: KubeObject): boolean {
  const v = d.spec?.progressDeadlineSeconds;
  return typeof v === "number" && v !== MAX_INT32;
}

/** The template without the pod-template-hash label: what two ReplicaSets are compared by. */
function templateWithoutHash(template: unknown): unknown {
  if (!isObj(template)) return template;
  const t = cloneJson(template);
  const meta = isObj(t.metadata) ? t.metadata : undefined;
  if (meta && isObj(meta.labels)) {
    delete meta.labels[POD_TEMPLATE_HASH];
    if (Object.keys(meta.labels).length === 0) delete meta.labels;
  }
  if (meta && meta.creationTimestamp === null) delete meta.creationTimestamp;
  return t;
}

/** EqualIgnoreHash: the same pod template but for the pod-template-hash label. */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  return jsonEqual(templateWithoutHash(a), templateWithoutHash(b));
}

/** controller.ComputeHash of a pod template (and the collision count, to step past collisions). */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  return safeEncodeHash(
    fnv32a(templateWithoutHash(template), collisionCount ? String(collisionCount) : undefined),
  );
}

function condition(status: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

function newCondition(
  type: string,
  status: DeploymentCondition["status"],
  reason: string,
  message: string,
  now: string,
): DeploymentCondition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

/** SetDeploymentCondition: no change for the same status and reason; transition time kept for the same status. */
function setCondition(status: DeploymentStatus, c: DeploymentCondition): void {
  const current = condition(status, c.type);
  if (current && current.status === c.status && current.reason === c.reason) return;
  const next =
    current && current.status === c.status ? { ...c, lastTransitionTime: current.lastTransitionTime } : c;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), next];
}

function removeCondition(status: DeploymentStatus, type: string): void {
  status.conditions = (status.conditions ?? []).filter((x) => x.type !== type);
}

/** DeploymentComplete: every replica updated and available, and the latest spec observed. */
function deploymentComplete(d: KubeObject, s: DeploymentStatus): boolean {
  const n = specReplicas(d);
  return (
    (s.updatedReplicas ?? 0) === n &&
    (s.replicas ?? 0) === n &&
    (s.availableReplicas ?? 0) === n &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** The state of one reconcile: the deployment and its ReplicaSets as last written. */
interface Sync {
  d: KubeObject;
  /** All ReplicaSets the deployment controls, kept current as the sync writes them. */
  rsList: KubeObject[];
}

export class DeploymentController extends Controller {
  constructor(api: SandboxApi, options: ControllerOptions = {}) {
    super(api, "deployment-controller", options);
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.deployments, (e) => [objectKey(e.object)]],
      [GVR.replicaSets, (e) => this.keysForReplicaSet(e)],
      // Recreate waits for the old pods to be gone.
      [GVR.pods, (e) => (e.type === "DELETED" ? this.deploymentOfPod(e.object) : [])],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.deployments);
  }

  private keysForReplicaSet(event: WatchEvent): string[] {
    const owners = ownerKeys(event.object, "Deployment");
    if (owners.length > 0 || event.type === "DELETED" || controllerRef(event.object)) return owners;
    return this.api
      .list(GVR.deployments, { namespace: event.object.metadata.namespace! })
      .filter((d) => selectorMatches(d.spec?.selector, event.object.metadata.labels))
      .map(objectKey);
  }

  private deploymentOfPod(pod: KubeObject): string[] {
    const ref = controllerRef(pod);
    if (ref?.kind !== "ReplicaSet") return [];
    const rs = this.api.get(GVR.replicaSets, pod.metadata.namespace, ref.name);
    return rs ? ownerKeys(rs, "Deployment") : [];
  }

  private now(): string {
    return timestamp(this.clock.now());
  }

  // ---- syncDeployment -----------------------------------------------------------------------

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const d = this.api.get(GVR.deployments, namespace, name);
    if (!d) return;
    const s: Sync = { d, rsList: this.claimReplicaSets(d) };
    if (d.metadata.deletionTimestamp) {
      this.syncStatusOnly(s);
      return;
    }
    this.checkPausedConditions(s);
    if (d.spec?.paused) {
      this.sync(s);
      return;
    }
    if (this.isScalingEvent(s)) {
      this.sync(s);
      return;
    }
    if (isRolling(s.d)) this.rolloutRolling(s);
    else this.rolloutRecreate(s);
  }

  /** ReplicaSets this deployment controls, adopting matching orphans and releasing non-matching ones. */
  private claimReplicaSets(d: KubeObject): KubeObject[] {
    const out: KubeObject[] = [];
    for (const rs of this.api.list(GVR.replicaSets, { namespace: d.metadata.namespace! })) {
      const ref = controllerRef(rs);
      const matches = selectorMatches(d.spec?.selector, rs.metadata.labels);
      if (ref?.uid === d.metadata.uid) {
        if (matches || d.metadata.deletionTimestamp) out.push(rs);
        else {
          const refs = (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid);
          ignoreNotFound(() =>
            this.api.patch(
              GVR.replicaSets,
              rs.metadata.namespace,
              rs.metadata.name!,
              "merge",
              { metadata: { ownerReferences: refs.length > 0 ? refs : null } },
              { fieldManager: CONTROLLER_MANAGER },
            ),
          );
        }
      } else if (!ref && matches && !rs.metadata.deletionTimestamp && !d.metadata.deletionTimestamp) {
        const adopted = ignoreNotFound(() =>
          this.api.patch(
            GVR.replicaSets,
            rs.metadata.namespace,
            rs.metadata.name!,
            "merge",
            {
              metadata: {
                ownerReferences: [...(rs.metadata.ownerReferences ?? []), newControllerRef(d)],
                resourceVersion: rs.metadata.resourceVersion,
              },
            },
            { fieldManager: CONTROLLER_MANAGER },
          ),
        );
        if (adopted) out.push(adopted);
      }
    }
    return out;
  }

  private replace(s: Sync, rs: KubeObject): void {
    s.rsList = s.rsList.map((x) => (x.metadata.uid === rs.metadata.uid ? rs : x));
    if (!s.rsList.some((x) => x.metadata.uid === rs.metadata.uid)) s.rsList.push(rs);
  }

  /** FindNewReplicaSet: the oldest ReplicaSet whose template equals the deployment's. */
  private findNew(s: Sync): KubeObject | undefined {
    return [...s.rsList]
      .sort(byCreation)
      .find((rs) => equalIgnoreHash(rs.spec?.template, s.d.spec?.template));
  }

  private split(s: Sync): { newRS: KubeObject | undefined; oldRSs: KubeObject[] } {
    const newRS = this.findNew(s);
    return { newRS, oldRSs: s.rsList.filter((rs) => rs !== newRS) };
  }

  /**
   * getAllReplicaSetsAndSyncRevision / getNewReplicaSet: finds (or creates) the new ReplicaSet and
   * gives it the next revision — which is how a rollback to an old template reuses its ReplicaSet.
   */
  private newReplicaSet(s: Sync, create: boolean): { newRS: KubeObject | undefined; oldRSs: KubeObject[] } {
    const { newRS: existing, oldRSs } = this.split(s);
    const maxOldRevision = Math.max(0, ...oldRSs.map(revisionOf));
    const newRevision = String(maxOldRevision + 1);
    if (existing) {
      const copy = cloneJson(existing);
      const annotationsChanged = this.setNewReplicaSetAnnotations(s.d, copy, newRevision, true);
      const minReady = asInt(s.d.spec?.minReadySeconds, 0);
      const minReadyChanged = asInt(copy.spec?.minReadySeconds, 0) !== minReady;
      let newRS = existing;
      if (annotationsChanged || minReadyChanged) {
        copy.spec = { ...copy.spec, minReadySeconds: minReady };
        if (minReady === 0 && existing.spec?.minReadySeconds === undefined) delete copy.spec.minReadySeconds;
        newRS = this.api.update(GVR.replicaSets, copy, { fieldManager: CONTROLLER_MANAGER });
        this.replace(s, newRS);
      }
      const status: DeploymentStatus = cloneJson(s.d.status ?? {});
      let statusChanged = false;
      if (hasProgressDeadline(s.d) && !condition(status, "Progressing")) {
        setCondition(
          status,
          newCondition(
            "Progressing",
            "True",
            FOUND_NEW_RS_REASON,
            `Found new replica set "${newRS.metadata.name}"`,
            this.now(),
          ),
        );
        statusChanged = true;
      }
      this.setDeploymentRevision(s, newRS.metadata.annotations?.[REVISION] ?? newRevision);
      if (statusChanged) s.d = writeStatus(this.api, GVR.deployments, s.d, { ...status });
      return { newRS, oldRSs };
    }
    if (!create) return { newRS: undefined, oldRSs };

    const collisionCount = asInt(s.d.status?.collisionCount, 0);
    const hash = podTemplateHash(s.d.spec?.template, collisionCount);
    const template = cloneJson(s.d.spec?.template ?? {});
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
    };
    const selector = cloneJson(s.d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const minReady = asInt(s.d.spec?.minReadySeconds, 0);
    const rs: KubeObject = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${s.d.metadata.name}-${hash}`,
        namespace: s.d.metadata.namespace!,
        labels: template.metadata.labels,
        ownerReferences: [newControllerRef(s.d)],
      },
      spec: {
        replicas: 0,
        ...(minReady > 0 ? { minReadySeconds: minReady } : {}),
        selector,
        template,
      },
    };
    const all = [...oldRSs, rs];
    const replicas = this.newRSNewReplicas(s.d, all, rs);
    rs.spec.replicas = replicas;
    this.setNewReplicaSetAnnotations(s.d, rs, newRevision, false);
    let created: KubeObject;
    let alreadyExisted = false;
    try {
      created = this.api.create(GVR.replicaSets, rs, { fieldManager: CONTROLLER_MANAGER });
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409 && error.reason === "AlreadyExists")) throw error;
      const clash = this.api.get(GVR.replicaSets, rs.metadata.namespace, rs.metadata.name!);
      if (
        clash &&
        controllerRef(clash)?.uid === s.d.metadata.uid &&
        equalIgnoreHash(clash.spec?.template, s.d.spec?.template)
      ) {
        created = clash;
        alreadyExisted = true;
      } else {
        // A hash collision: count it so the next hash differs, and try again (as Kubernetes does).
        writeStatus(this.api, GVR.deployments, s.d, { ...s.d.status, collisionCount: collisionCount + 1 });
        throw error;
      }
    }
    this.replace(s, created);
    if (!alreadyExisted && replicas > 0) {
      this.api.recordEvent(
        s.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`,
      );
    }
    this.setDeploymentRevision(s, newRevision);
    if (!alreadyExisted && hasProgressDeadline(s.d)) {
      const status: DeploymentStatus = cloneJson(s.d.status ?? {});
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          NEW_RS_REASON,
          `Created new replica set "${created.metadata.name}"`,
          this.now(),
        ),
      );
      s.d = writeStatus(this.api, GVR.deployments, s.d, { ...status });
    }
    return { newRS: created, oldRSs };
  }

  /** SetNewReplicaSetAnnotations: copied annotations, the revision (and its history), replica annotations. */
  private setNewReplicaSetAnnotations(
    d: KubeObject,
    rs: KubeObject,
    newRevision: string,
    exists: boolean,
  ): boolean {
    const annotations: Record<string, string> = { ...(rs.metadata.annotations ?? {}) };
    let changed = false;
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (SKIP_ANNOTATIONS.has(k) || annotations[k] === v) continue;
      annotations[k] = v;
      changed = true;
    }
    const oldRevision = annotations[REVISION];
    const oldNum = Number(oldRevision ?? "0");
    const newNum = Number(newRevision);
    if (!(oldNum >= newNum)) {
      annotations[REVISION] = newRevision;
      changed = true;
      if (oldRevision !== undefined && oldRevision !== "") {
        const history = annotations[REVISION_HISTORY];
        let next = history ? `${history},${oldRevision}` : oldRevision;
        while (next.length > MAX_REVISION_HISTORY_CHARS && next.includes(","))
          next = next.slice(next.indexOf(",") + 1);
        annotations[REVISION_HISTORY] = next;
      }
    }
    if (!exists) {
      annotations[DESIRED_REPLICAS] = String(specReplicas(d));
      annotations[MAX_REPLICAS] = String(specReplicas(d) + maxSurge(d));
      changed = true;
    }
    rs.metadata.annotations = annotations;
    return changed;
  }

  /** SetDeploymentRevision: the deployment carries the revision of its newest ReplicaSet. */
  private setDeploymentRevision(s: Sync, revision: string): void {
    if (s.d.metadata.annotations?.[REVISION] === revision) return;
    s.d = this.api.patch(
      GVR.deployments,
      s.d.metadata.namespace,
      s.d.metadata.name!,
      "merge",
      { metadata: { annotations: { [REVISION]: revision } } },
      { fieldManager: CONTROLLER_MANAGER },
    );
  }

  /** NewRSNewReplicas: how far the new ReplicaSet may grow now. */
  private newRSNewReplicas(d: KubeObject, all: KubeObject[], newRS: KubeObject): number {
    if (!isRolling(d)) return specReplicas(d);
    const current = sum(all, specReplicas);
    const maxTotal = specReplicas(d) + maxSurge(d);
    if (current >= maxTotal) return specReplicas(newRS);
    const scaleUp = Math.min(maxTotal - current, specReplicas(d) - specReplicas(newRS));
    return specReplicas(newRS) + scaleUp;
  }

  /** scaleReplicaSetAndRecordEvent: sets replicas and the replica annotations; an Event when the size changes. */
  private scaleReplicaSet(s: Sync, rs: KubeObject, newScale: number): boolean {
    const desired = String(specReplicas(s.d));
    const max = String(specReplicas(s.d) + maxSurge(s.d));
    const sizeChanged = specReplicas(rs) !== newScale;
    const annotationsChanged =
      rs.metadata.annotations?.[DESIRED_REPLICAS] !== desired ||
      rs.metadata.annotations?.[MAX_REPLICAS] !== max;
    if (!sizeChanged && !annotationsChanged) return false;
    const copy = cloneJson(rs);
    copy.spec = { ...copy.spec, replicas: newScale };
    copy.metadata.annotations = {
      ...(copy.metadata.annotations ?? {}),
      [DESIRED_REPLICAS]: desired,
      [MAX_REPLICAS]: max,
    };
    const updated = this.api.update(GVR.replicaSets, copy, { fieldManager: CONTROLLER_MANAGER });
    this.replace(s, updated);
    if (sizeChanged) {
      const op = specReplicas(rs) < newScale ? "up" : "down";
      this.api.recordEvent(
        s.d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${op} replica set ${rs.metadata.name} from ${specReplicas(rs)} to ${newScale}`,
      );
    }
    return sizeChanged;
  }

  private current(s: Sync, rs: KubeObject): KubeObject {
    return s.rsList.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
  }

  // ---- rolling update (rolling.go) ----------------------------------------------------------

  private rolloutRolling(s: Sync): void {
    const { newRS, oldRSs } = this.newReplicaSet(s, true);
    const rs = newRS!;
    if (this.reconcileNewReplicaSet(s, rs)) {
      this.syncRolloutStatus(s);
      return;
    }
    if (this.reconcileOldReplicaSets(s, active(oldRSs.map((o) => this.current(s, o))), this.current(s, rs))) {
      this.syncRolloutStatus(s);
      return;
    }
    if (deploymentComplete(s.d, s.d.status ?? {})) this.cleanupDeployment(s, oldRSs);
    this.syncRolloutStatus(s);
  }

  private reconcileNewReplicaSet(s: Sync, newRS: KubeObject): boolean {
    const want = specReplicas(s.d);
    if (specReplicas(newRS) === want) return false;
    if (specReplicas(newRS) > want) return this.scaleReplicaSet(s, newRS, want);
    return this.scaleReplicaSet(s, newRS, this.newRSNewReplicas(s.d, s.rsList, newRS));
  }

  private reconcileOldReplicaSets(s: Sync, oldActive: KubeObject[], newRS: KubeObject): boolean {
    if (sum(oldActive, specReplicas) === 0) return false;
    const allPods = sum(s.rsList, specReplicas);
    const minAvailable = specReplicas(s.d) - maxUnavailable(s.d);
    const newUnavailable = specReplicas(newRS) - statusNum(newRS, "availableReplicas");
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const cleaned = this.cleanupUnhealthyReplicas(s, oldActive, maxScaledDown);
    const scaled = this.scaleDownOldForRollingUpdate(
      s,
      oldActive.map((o) => this.current(s, o)),
    );
    return cleaned + scaled > 0;
  }

  /** Scales down old ReplicaSets' unavailable pods first: they do not count towards availability. */
  private cleanupUnhealthyReplicas(s: Sync, oldRSs: KubeObject[], maxCleanup: number): number {
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanup) break;
      const replicas = specReplicas(rs);
      const available = statusNum(rs, "availableReplicas");
      if (replicas === 0 || replicas === available) continue;
      const down = Math.min(maxCleanup - total, replicas - available);
      this.scaleReplicaSet(s, rs, replicas - down);
      total += down;
    }
    return total;
  }

  /** Scales old ReplicaSets down as far as availability above minAvailable allows, oldest first. */
  private scaleDownOldForRollingUpdate(s: Sync, oldRSs: KubeObject[]): number {
    const minAvailable = specReplicas(s.d) - maxUnavailable(s.d);
    const available = sum(s.rsList, (rs) => statusNum(rs, "availableReplicas"));
    if (available <= minAvailable) return 0;
    const totalDown = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= totalDown) break;
      if (specReplicas(rs) === 0) continue;
      const down = Math.min(specReplicas(rs), totalDown - total);
      this.scaleReplicaSet(s, rs, specReplicas(rs) - down);
      total += down;
    }
    return total;
  }

  // ---- recreate (recreate.go) ---------------------------------------------------------------

  private rolloutRecreate(s: Sync): void {
    let { newRS, oldRSs } = this.newReplicaSet(s, false);
    let scaledDown = false;
    for (const rs of active(oldRSs)) {
      if (this.scaleReplicaSet(s, this.current(s, rs), 0)) scaledDown = true;
    }
    if (scaledDown) {
      this.syncRolloutStatus(s);
      return;
    }
    if (this.oldPodsRunning(s, oldRSs)) {
      this.syncRolloutStatus(s);
      return;
    }
    if (!newRS) ({ newRS, oldRSs } = this.newReplicaSet(s, true));
    this.scaleReplicaSet(s, this.current(s, newRS!), specReplicas(s.d));
    if (deploymentComplete(s.d, s.d.status ?? {})) this.cleanupDeployment(s, oldRSs);
    this.syncRolloutStatus(s);
  }

  private oldPodsRunning(s: Sync, oldRSs: KubeObject[]): boolean {
    const current = oldRSs.map((o) => this.current(s, o));
    if (sum(current, (rs) => statusNum(rs, "replicas")) > 0) return true;
    const uids = new Set(current.map((rs) => rs.metadata.uid));
    return podsMatching(this.api, s.d.metadata.namespace!, s.d.spec?.selector).some(
      (p) => uids.has(controllerRef(p)?.uid) && !isPodTerminal(p),
    );
  }

  // ---- scaling and pause (sync.go) ----------------------------------------------------------

  /** isScalingEvent: a ReplicaSet's desired-replicas annotation disagrees with spec.replicas. */
  private isScalingEvent(s: Sync): boolean {
    const { newRS, oldRSs } = this.newReplicaSet(s, false);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])].map((o) => this.current(s, o));
    return active(all).some((rs) => {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      return desired !== undefined && Number(desired) !== specReplicas(s.d);
    });
  }

  /** sync: scale (proportionally) and clean up without rolling out, for pauses and scaling events. */
  private sync(s: Sync): void {
    const { newRS, oldRSs } = this.newReplicaSet(s, false);
    this.scale(
      s,
      newRS && this.current(s, newRS),
      oldRSs.map((o) => this.current(s, o)),
    );
    if (s.d.spec?.paused) this.cleanupDeployment(s, oldRSs);
    this.syncStatusOnly(s);
  }

  private scale(s: Sync, newRS: KubeObject | undefined, oldRSs: KubeObject[]): void {
    const want = specReplicas(s.d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (specReplicas(activeOrLatest) !== want) this.scaleReplicaSet(s, activeOrLatest, want);
      return;
    }
    if (newRS && isSaturated(s.d, newRS)) {
      for (const rs of active(oldRSs)) this.scaleReplicaSet(s, rs, 0);
      return;
    }
    if (!isRolling(s.d)) return;
    const all = active([...oldRSs, ...(newRS ? [newRS] : [])]);
    const allowed = want > 0 ? want + maxSurge(s.d) : 0;
    const toAdd = allowed - sum(all, specReplicas);
    // Larger first; among equals the newer when adding, the older when removing.
    all.sort((a, b) => {
      if (specReplicas(a) !== specReplicas(b)) return specReplicas(b) - specReplicas(a);
      return toAdd > 0 ? byCreation(b, a) : byCreation(a, b);
    });
    let added = 0;
    const sizes = new Map<string, number>();
    for (const rs of all) {
      if (toAdd !== 0) {
        const p = this.proportion(s.d, rs, toAdd, added);
        sizes.set(rs.metadata.name!, specReplicas(rs) + p);
        added += p;
      } else {
        sizes.set(rs.metadata.name!, specReplicas(rs));
      }
    }
    all.forEach((rs, i) => {
      let size = sizes.get(rs.metadata.name!)!;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      this.scaleReplicaSet(s, this.current(s, rs), size);
    });
  }

  /** GetProportion: a ReplicaSet's share of a scaling, from its max-replicas annotation. */
  private proportion(d: KubeObject, rs: KubeObject, toAdd: number, added: number): number {
    if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
    let fraction: number;
    if (specReplicas(d) === 0) fraction = -specReplicas(rs);
    else {
      const deploymentReplicas = specReplicas(d) + maxSurge(d);
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? d.status?.replicas ?? 0);
      fraction =
        annotated > 0
          ? Math.round((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs)
          : 0;
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  /** checkPausedConditions: Progressing Unknown while paused (unless the deadline already passed). */
  private checkPausedConditions(s: Sync): void {
    if (!hasProgressDeadline(s.d)) return;
    const status: DeploymentStatus = cloneJson(s.d.status ?? {});
    const cond = condition(status, "Progressing");
    if (cond?.reason === TIMED_OUT_REASON) return;
    const pausedExists = cond?.reason === PAUSED_REASON;
    if (s.d.spec?.paused && !pausedExists) {
      setCondition(
        status,
        newCondition("Progressing", "Unknown", PAUSED_REASON, "Deployment is paused", this.now()),
      );
    } else if (!s.d.spec?.paused && pausedExists) {
      setCondition(
        status,
        newCondition("Progressing", "Unknown", RESUMED_REASON, "Deployment is resumed", this.now()),
      );
    } else return;
    s.d = writeStatus(this.api, GVR.deployments, s.d, { ...status });
  }

  /** cleanupDeployment: deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private cleanupDeployment(s: Sync, oldRSs: KubeObject[]): void {
    const limit = s.d.spec?.revisionHistoryLimit;
    if (typeof limit !== "number") return;
    const cleanable = oldRSs.map((o) => this.current(s, o)).filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (const rs of cleanable.slice(0, diff)) {
      if (
        statusNum(rs, "replicas") !== 0 ||
        specReplicas(rs) !== 0 ||
        (rs.metadata.generation ?? 0) > statusNum(rs, "observedGeneration")
      )
        continue;
      ignoreNotFound(() => this.api.delete(GVR.replicaSets, rs.metadata.namespace, rs.metadata.name!));
      s.rsList = s.rsList.filter((x) => x.metadata.uid !== rs.metadata.uid);
    }
  }

  // ---- status (sync.go calculateStatus, progress.go syncRolloutStatus) ----------------------

  private calculateStatus(s: Sync, newRS: KubeObject | undefined): DeploymentStatus {
    const all = s.rsList;
    const available = sum(all, (rs) => statusNum(rs, "availableReplicas"));
    const total = sum(all, specReplicas);
    const status: DeploymentStatus = {
      ...omitZero({
        observedGeneration: s.d.metadata.generation,
        replicas: sum(all, (rs) => statusNum(rs, "replicas")),
        updatedReplicas: statusNum(newRS, "replicas"),
        readyReplicas: sum(all, (rs) => statusNum(rs, "readyReplicas")),
        availableReplicas: available,
        unavailableReplicas: Math.max(0, total - available),
        collisionCount: s.d.status?.collisionCount,
      }),
      conditions: cloneJson(s.d.status?.conditions ?? []),
    };
    if (available >= specReplicas(s.d) - maxUnavailable(s.d)) {
      setCondition(
        status,
        newCondition(
          "Available",
          "True",
          MIN_AVAILABLE_REASON,
          "Deployment has minimum availability.",
          this.now(),
        ),
      );
    } else {
      setCondition(
        status,
        newCondition(
          "Available",
          "False",
          MIN_UNAVAILABLE_REASON,
          "Deployment does not have minimum availability.",
          this.now(),
        ),
      );
    }
    return status;
  }

  private syncStatusOnly(s: Sync): void {
    const { newRS } = this.split(s);
    const status = this.calculateStatus(s, newRS);
    this.writeDeploymentStatus(s, status);
  }

  private syncRolloutStatus(s: Sync): void {
    const { newRS } = this.split(s);
    const status = this.calculateStatus(s, newRS);
    const d = s.d;
    const old: DeploymentStatus = d.status ?? {};
    if (!hasProgressDeadline(d)) removeCondition(status, "Progressing");
    const cond = condition(old, "Progressing");
    const complete =
      (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && cond?.reason === NEW_RS_AVAILABLE_REASON;
    const now = this.now();
    if (hasProgressDeadline(d) && !complete) {
      const rsName = newRS?.metadata.name;
      if (deploymentComplete(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has successfully progressed.`
          : `Deployment "${d.metadata.name}" has successfully progressed.`;
        setCondition(status, newCondition("Progressing", "True", NEW_RS_AVAILABLE_REASON, msg, now));
      } else if (this.progressing(old, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" is progressing.`
          : `Deployment "${d.metadata.name}" is progressing.`;
        const c = newCondition("Progressing", "True", RS_UPDATED_REASON, msg, now);
        const current = condition(status, "Progressing");
        if (current) {
          if (current.status === "True") c.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, "Progressing");
        }
        setCondition(status, c);
      } else if (this.timedOut(d, status)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has timed out progressing.`
          : `Deployment "${d.metadata.name}" has timed out progressing.`;
        setCondition(status, newCondition("Progressing", "False", TIMED_OUT_REASON, msg, now));
      }
    }
    this.writeDeploymentStatus(s, status);
    this.requeueStuck(s, status);
  }

  /** DeploymentProgressing: more updated, ready or available replicas, or fewer old ones. */
  private progressing(old: DeploymentStatus, next: DeploymentStatus): boolean {
    const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
    const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
    return (
      (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
      newOld < oldOld ||
      (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
      (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
    );
  }

  /** DeploymentTimedOut: no progress for progressDeadlineSeconds since the condition's lastUpdateTime. */
  private timedOut(d: KubeObject, status: DeploymentStatus): boolean {
    const cond = condition(status, "Progressing");
    if (!cond || cond.reason === NEW_RS_AVAILABLE_REASON) return false;
    if (cond.reason === TIMED_OUT_REASON) return true;
    const from = Date.parse(cond.lastUpdateTime);
    return from + asInt(d.spec?.progressDeadlineSeconds, 600) * 1000 < this.clock.now().getTime();
  }

  /** requeueStuckDeployment: look again when the deadline of a rollout in progress runs out. */
  private requeueStuck(s: Sync, status: DeploymentStatus): void {
    const cond = condition(status, "Progressing");
    if (!hasProgressDeadline(s.d) || !cond || cond.status !== "True") return;
    if (cond.reason === NEW_RS_AVAILABLE_REASON || deploymentComplete(s.d, status)) return;
    const deadline = Date.parse(cond.lastUpdateTime) + asInt(s.d.spec?.progressDeadlineSeconds, 600) * 1000;
    // The check is strict (`from + deadline < now`): wake just after the deadline.
    this.queue.addAfter(
      keyOf(s.d.metadata.namespace, s.d.metadata.name!),
      deadline - this.clock.now().getTime() + 5,
    );
  }

  private writeDeploymentStatus(s: Sync, status: DeploymentStatus): void {
    const next: Record<string, unknown> = { ...status };
    if (!status.conditions?.length) delete next.conditions;
    s.d = writeStatus(this.api, GVR.deployments, s.d, next);
  }
}

/** FindActiveOrLatest: the only active ReplicaSet, or the newest one when none is active. */
function findActiveOrLatest(newRS: KubeObject | undefined, oldRSs: KubeObject[]): KubeObject | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const sortedOld = [...oldRSs].sort((a, b) => byCreation(b, a));
  const all = active([...sortedOld, ...(newRS ? [newRS] : [])]);
  if (all.length === 0) return newRS ?? sortedOld[0];
  if (all.length === 1) return all[0];
  return undefined;
}

/** IsSaturated: the new ReplicaSet has all the deployment's replicas, all available. */
function isSaturated(d: KubeObject, rs: KubeObject): boolean {
  const want = specReplicas(d);
  return (
    Number(rs.metadata.annotations?.[DESIRED_REPLICAS]) === want &&
    specReplicas(rs) === want &&
    statusNum(rs, "availableReplicas") === want
  );
}
