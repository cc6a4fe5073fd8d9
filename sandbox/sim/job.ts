/**
 * The Job controller: runs pods until `completions` succeeded (at most `parallelism` at a time),
 * retries failures with exponential backoff up to `backoffLimit`, honours `suspend`,
 * `activeDeadlineSeconds` and `ttlSecondsAfterFinished`, and finishes with the conditions
 * `kubectl wait --for=condition=complete|failed` reads (v1.31+ adds SuccessCriteriaMet /
 * FailureTarget before Complete / Failed).
 * https://github.com/kubernetes/kubernetes/blob/v1.32.0/pkg/controller/job/job_controller.go
 *
 * Simplified: no pod-tracking finalizers (counts are kept monotonic instead), no
 * podFailurePolicy, successPolicy or backoffLimitPerIndex.
 */
import { cloneJson } from "../../api/json.js";
import type { GroupVersionResource, KubeObject, SandboxApi, WatchEvent } from "../core/types.js";
import {
  asInt,
  CONTROLLER_MANAGER,
  Controller,
  type ControllerOptions,
  controllerRef,
  GVR,
  ignoreNotFound,
  isPodActive,
  isPodReady,
  objectKey,
  omitZero,
  ownerKeys,
  podCondition,
  podFromTemplate,
  splitKey,
  timestamp,
  writeStatus,
} from "./common.js";
import { podsToDelete } from "./replicaset.js";

const COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
/** The label by which a Job finds its pods (the API server puts it in the Job's selector). */
const CONTROLLER_UID = "batch.kubernetes.io/controller-uid";

interface JobCondition {
  type: string;
  status: "True" | "False";
  lastProbeTime: string;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface JobControllerOptions extends ControllerOptions {
  /** First retry delay after a failed pod (doubles per failure, capped at 6 minutes). Default 10s, as Kubernetes. */
  backoffBaseMs?: number;
}

const MAX_BACKOFF_MS = 6 * 60 * 1000;

/** "0-2,4,6-7" from a set of indexes (status.completedIndexes). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

export function parseIndexes(text: unknown): Set<number> {
  const out = new Set<number>();
  if (typeof text !== "string") return out;
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to && i - from < 100_000; i++) out.add(i);
  }
  return out;
}

function podIndex(pod: KubeObject): number | undefined {
  const v = pod.metadata.annotations?.[COMPLETION_INDEX];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** When a finished pod stopped: its containers' finishedAt, else its Ready transition. */
function finishedAt(pod: KubeObject): number {
  let latest = Number.NaN;
  for (const c of Array.isArray(pod.status?.containerStatuses) ? pod.status.containerStatuses : []) {
    const t = Date.parse(c?.state?.terminated?.finishedAt ?? "");
    if (!Number.isNaN(t) && !(t <= latest)) latest = t;
  }
  if (Number.isNaN(latest)) latest = Date.parse(podCondition(pod, "Ready")?.lastTransitionTime ?? "");
  return latest;
}

export class JobController extends Controller {
  private readonly backoffBaseMs: number;

  constructor(api: SandboxApi, options: JobControllerOptions = {}) {
    super(api, "job-controller", options);
    this.backoffBaseMs = options.backoffBaseMs ?? 10_000;
  }

  protected watches(): [GroupVersionResource, (e: WatchEvent) => Iterable<string>][] {
    return [
      [GVR.jobs, (e) => [objectKey(e.object)]],
      [GVR.pods, (e) => ownerKeys(e.object, "Job")],
    ];
  }

  protected initialKeys(): Iterable<string> {
    return this.keysOfAll(GVR.jobs);
  }

  protected reconcile(key: string): void {
    const [namespace, name] = splitKey(key);
    const job = this.api.get(GVR.jobs, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const conditions: JobCondition[] = cloneJson(job.status?.conditions ?? []);
    const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === "True");
    if (isTrue("Complete") || isTrue("Failed")) {
      this.expire(job, conditions);
      return;
    }
    const nowDate = this.clock.now();
    const now = timestamp(nowDate);
    const setCondition = (type: string, status: "True" | "False", reason: string, message: string) => {
      const i = conditions.findIndex((c) => c.type === type);
      const previous = i >= 0 ? conditions[i] : undefined;
      if (previous && previous.status === status && previous.reason === reason) return;
      const next: JobCondition = {
        type,
        status,
        lastProbeTime: now,
        lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now,
        reason,
        message,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };

    const pods = this.api
      .list(GVR.pods, {
        namespace: job.metadata.namespace!,
        labelSelector: `${CONTROLLER_UID}=${job.metadata.uid}`,
      })
      .filter((p) => controllerRef(p)?.uid === job.metadata.uid);
    const activePods = pods.filter(isPodActive);
    const succeededPods = pods.filter((p) => p.status?.phase === "Succeeded");
    const failedPods = pods.filter((p) => p.status?.phase === "Failed");
    const indexed = job.spec?.completionMode === "Indexed";
    const completions: number | undefined =
      typeof job.spec?.completions === "number" ? job.spec.completions : undefined;
    const parallelism = asInt(job.spec?.parallelism, 1);
    const completedIndexes = parseIndexes(job.status?.completedIndexes);
    if (indexed) {
      for (const p of succeededPods) {
        const i = podIndex(p);
        if (i !== undefined && i < (completions ?? 0)) completedIndexes.add(i);
      }
    }
    // Without tracking finalizers, deleted pods would vanish from the counts: keep them monotonic.
    const succeeded = indexed
      ? completedIndexes.size
      : Math.max(asInt(job.status?.succeeded, 0), succeededPods.length);
    let failed = Math.max(asInt(job.status?.failed, 0), failedPods.length);
    let startTime: string | undefined = job.status?.startTime;
    let completionTime: string | undefined;
    let active = activePods;

    const base = () => ({
      ...(startTime ? { startTime } : {}),
      ...(completionTime ? { completionTime } : {}),
      ...omitZero({ active: active.length, succeeded, failed }),
      ...(indexed && completedIndexes.size > 0 ? { completedIndexes: formatIndexes(completedIndexes) } : {}),
      ...(conditions.length > 0 ? { conditions } : {}),
      ready: active.filter(isPodReady).length,
      terminating: 0,
      uncountedTerminatedPods: {},
    });

    if (job.spec?.suspend === true) {
      const wasSuspended = isTrue("Suspended");
      for (const pod of activePods) this.deletePod(job, pod);
      active = [];
      setCondition("Suspended", "True", "JobSuspended", "Job suspended");
      if (!wasSuspended) this.api.recordEvent(job, "Normal", "Suspended", "Job suspended");
      writeStatus(this.api, GVR.jobs, job, base());
      return;
    }
    if (isTrue("Suspended")) {
      setCondition("Suspended", "False", "JobResumed", "Job resumed");
      this.api.recordEvent(job, "Normal", "Resumed", "Job resumed");
      startTime = now;
    }
    startTime ??= now;

    const backoffLimit = asInt(job.spec?.backoffLimit, 6);
    const deadline = job.spec?.activeDeadlineSeconds;
    let failure: [string, string] | undefined;
    if (failed > backoffLimit || this.pastBackoffLimitOnFailure(job, activePods, backoffLimit)) {
      failure = ["BackoffLimitExceeded", "Job has reached the specified backoff limit"];
    } else if (typeof deadline === "number" && nowDate.getTime() - Date.parse(startTime) >= deadline * 1000) {
      failure = ["DeadlineExceeded", "Job was active longer than specified deadline"];
    }
    if (failure) {
      for (const pod of activePods) this.deletePod(job, pod);
      // Pods removed because the Job failed count as failed.
      failed += activePods.length;
      active = [];
      setCondition("FailureTarget", "True", failure[0], failure[1]);
      setCondition("Failed", "True", failure[0], failure[1]);
      this.api.recordEvent(job, "Warning", failure[0], failure[1]);
      const written = writeStatus(this.api, GVR.jobs, job, base());
      this.expire(written, conditions);
      return;
    }

    const done =
      completions !== undefined ? succeeded >= completions : succeeded > 0 && activePods.length === 0;
    if (done) {
      for (const pod of activePods) this.deletePod(job, pod);
      active = [];
      completionTime = now;
      setCondition(
        "SuccessCriteriaMet",
        "True",
        "CompletionsReached",
        "Reached expected number of succeeded pods",
      );
      setCondition("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods");
      this.api.recordEvent(job, "Normal", "Completed", "Job completed");
      const written = writeStatus(this.api, GVR.jobs, job, base());
      this.expire(written, conditions);
      return;
    }

    const want =
      completions === undefined
        ? succeeded > 0
          ? activePods.length
          : parallelism
        : Math.max(0, Math.min(parallelism, completions - succeeded));
    if (activePods.length > want) {
      const surplus = podsToDelete(activePods, activePods.length - want);
      for (const pod of surplus) this.deletePod(job, pod);
      active = activePods.filter((p) => !surplus.includes(p));
    } else if (activePods.length < want) {
      const wait = this.backoffRemaining(failedPods, nowDate.getTime());
      if (wait > 0) this.queue.addAfter(objectKey(job), wait);
      else
        active = [
          ...activePods,
          ...this.createPods(job, want - activePods.length, activePods, completedIndexes),
        ];
    }
    if (typeof deadline === "number") {
      this.queue.addAfter(objectKey(job), Date.parse(startTime) + deadline * 1000 - nowDate.getTime() + 5);
    }
    writeStatus(this.api, GVR.jobs, job, base());
  }

  /** pastBackoffLimitOnFailure: with OnFailure, container restarts count against backoffLimit. */
  private pastBackoffLimitOnFailure(
    job: KubeObject,
    activePods: KubeObject[],
    backoffLimit: number,
  ): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== "OnFailure") return false;
    let restarts = 0;
    for (const pod of activePods) {
      for (const field of ["initContainerStatuses", "containerStatuses"]) {
        const list = pod.status?.[field];
        if (Array.isArray(list)) for (const c of list) restarts += asInt(c?.restartCount, 0);
      }
    }
    return backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit;
  }

  /** The exponential backoff before replacing a failed pod: base × 2^(failures-1), from the last failure. */
  private backoffRemaining(failedPods: KubeObject[], nowMs: number): number {
    if (failedPods.length === 0) return 0;
    const last = Math.max(...failedPods.map(finishedAt).filter((t) => !Number.isNaN(t)), 0);
    if (last === 0) return 0;
    const delay = Math.min(MAX_BACKOFF_MS, this.backoffBaseMs * 2 ** (failedPods.length - 1));
    return last + delay - nowMs;
  }

  private createPods(
    job: KubeObject,
    count: number,
    activePods: KubeObject[],
    completedIndexes: Set<number>,
  ): KubeObject[] {
    const name = job.metadata.name!;
    const uid = job.metadata.uid!;
    const labels = {
      [CONTROLLER_UID]: uid,
      "batch.kubernetes.io/job-name": name,
      "controller-uid": uid,
      "job-name": name,
    };
    const indexes: (number | undefined)[] = [];
    if (job.spec?.completionMode === "Indexed") {
      const busy = new Set(activePods.map(podIndex));
      const completions = asInt(job.spec?.completions, 1);
      for (let i = 0; i < completions && indexes.length < count; i++) {
        if (!completedIndexes.has(i) && !busy.has(i)) indexes.push(i);
      }
    } else {
      for (let i = 0; i < count; i++) indexes.push(undefined);
    }
    const created: KubeObject[] = [];
    for (const index of indexes) {
      const pod = podFromTemplate(
        job.spec?.template,
        job,
        { generateName: index === undefined ? `${name}-` : `${name}-${index}-` },
        index === undefined
          ? { labels }
          : {
              labels: { ...labels, [COMPLETION_INDEX]: String(index) },
              annotations: { [COMPLETION_INDEX]: String(index) },
            },
      );
      if (index !== undefined) pod.spec.hostname ??= `${name}-${index}`;
      const p = this.api.create(GVR.pods, pod, { fieldManager: CONTROLLER_MANAGER });
      this.api.recordEvent(job, "Normal", "SuccessfulCreate", `Created pod: ${p.metadata.name}`);
      created.push(p);
    }
    return created;
  }

  private deletePod(job: KubeObject, pod: KubeObject): void {
    ignoreNotFound(() => this.api.delete(GVR.pods, pod.metadata.namespace, pod.metadata.name!));
    this.api.recordEvent(job, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`);
  }

  /** The TTL-after-finished controller: deletes a finished Job (and its pods) once its TTL is up. */
  private expire(job: KubeObject, conditions: JobCondition[]): void {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== "number") return;
    const finished =
      job.status?.completionTime ??
      conditions.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")
        ?.lastTransitionTime;
    const at = Date.parse(finished ?? "");
    if (Number.isNaN(at)) return;
    const wait = at + ttl * 1000 - this.clock.now().getTime();
    if (wait > 0) {
      this.queue.addAfter(objectKey(job), wait);
      return;
    }
    ignoreNotFound(() =>
      this.api.delete(GVR.jobs, job.metadata.namespace, job.metadata.name!, {
        propagationPolicy: "Foreground",
      }),
    );
  }
}
