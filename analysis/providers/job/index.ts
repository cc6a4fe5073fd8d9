/**
 * Job metrics, as Argo Rollouts' job provider: each measurement is a Kubernetes Job made from
 * `provider.job{metadata, spec}` and owned by the AnalysisRun; the Job's `Complete` condition is a
 * Successful measurement, `Failed` a Failed one. While the Job runs the measurement is in flight
 * (phase Running, `metadata.job-name`), and every later step looks at the Job again.
 * https://argo-rollouts.readthedocs.io/en/stable/analysis/job/
 *
 * Jobs are named `<run>-<metric>-<n>`, where n is the measurement's ordinal computed from the
 * run's status, so a controller restarted between creating a Job and recording it finds its own
 * Job (AlreadyExists, owned by this run) instead of starting a second one.
 */

import { createHash } from "node:crypto";
import type { V1Job, V1JobCondition } from "@kubernetes/client-node";
import { cloneJson } from "../../../api/json.js";
import type { Measurement, Metric } from "../../../api/v1alpha1/analysis.js";
import { API_VERSION } from "../../../api/v1alpha1/common.js";
import type { DynamicClient } from "../../../controller/kube/dynamic-client.js";
import { isAlreadyExists } from "../../../controller/kube/errors.js";
import {
  type DecidedMeasurement,
  type InFlightMeasurement,
  type MeasureInfo,
  type MetricProvider,
  ProviderError,
} from "../provider.js";

/** Measurement metadata keys, Argo's spelling. */
export const JOB_NAME_KEY = "job-name";
export const JOB_NAMESPACE_KEY = "job-namespace";
/** Labels linking a Job to the run and metric it measures. */
export const RUN_NAME_LABEL = "slipway.dev/analysis-run";
export const RUN_UID_LABEL = "slipway.dev/analysis-run-uid";
export const METRIC_LABEL = "slipway.dev/analysis-metric";
export const ORDINAL_LABEL = "slipway.dev/measurement";

const MAX_NAME = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const hash8 = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 8);

/** `<run>-<metric>` when that is a DNS label leaving `reserve` characters free; else a cleaned, hashed form. */
function jobBase(run: string, metric: string, reserve: number): string {
  const plain = `${run}-${metric}`;
  if (DNS_LABEL.test(plain) && plain.length + reserve <= MAX_NAME) return plain;
  const tag = `-${hash8(`${run}/${metric}`)}`;
  const cleaned = plain
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, MAX_NAME - reserve - tag.length)
    .replace(/-+$/, "");
  return `${cleaned || "job"}${tag}`;
}

/**
 * `<run>-<metric>-<n>` when that is a valid Job name (a DNS label of at most 63 characters, as
 * the `job-name` label needs); otherwise a cleaned, shortened form with a hash of the original.
 */
export function jobName(run: string, metric: string, ordinal: number): string {
  const suffix = `-${ordinal}`;
  return jobBase(run, metric, suffix.length) + suffix;
}

/** A name as a label value (hashed when it cannot be one). */
export function labelValue(name: string): string {
  if (name.length <= MAX_NAME && LABEL_VALUE.test(name)) return name;
  return `h-${hash8(name)}`;
}

/** The AnalysisRun a provider instance measures for. */
export interface JobRunRef {
  name: string;
  namespace: string;
  uid: string;
}

/** Reading Jobs from a watch-backed cache (a `SharedInformer<V1Job>`). */
export interface JobLister {
  get(namespace: string | undefined, name: string): V1Job | undefined;
  list(namespace?: string): V1Job[];
}

export interface JobProviderOptions {
  run: JobRunRef;
  /** Writes go through the API; `get` is used only when the cache does not have a Job yet. */
  client: Pick<DynamicClient, "create" | "get" | "delete">;
  jobs: JobLister;
  /**
   * Look at a running Job again after this long even without a watch event (a safety net;
   * Job events normally wake the reconciler). Default 30 s.
   */
  recheckAfterMs?: number;
}

function condition(job: V1Job, type: string): V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

function ownedBy(job: V1Job, uid: string): boolean {
  return (job.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid);
}

export class JobProvider implements MetricProvider {
  readonly type = "Job";
  private readonly recheckAfterMs: number;

  constructor(private readonly options: JobProviderOptions) {
    this.recheckAfterMs = options.recheckAfterMs ?? 30_000;
  }

  /** Creates the measurement's Job (or adopts the one a previous controller created). */
  async measure(
    metric: Metric,
    signal?: AbortSignal,
    info?: MeasureInfo,
  ): Promise<InFlightMeasurement | DecidedMeasurement> {
    const cfg = metric.provider?.job;
    if (!cfg) throw new ProviderError(`metric ${metric.name} has no job provider`);
    const { run } = this.options;
    const job = this.jobFor(metric, info?.ordinal);
    let created: V1Job;
    try {
      created = await this.options.client.create(job, signal ? { signal } : {});
    } catch (error) {
      const name = job.metadata?.name;
      if (!name || !isAlreadyExists(error))
        throw new ProviderError(`could not create job: ${messageOf(error)}`);
      const existing = await this.find(run.namespace, name, signal);
      if (!existing || !ownedBy(existing, run.uid)) {
        throw new ProviderError(`job ${run.namespace}/${name} already exists and is not owned by this run`);
      }
      created = existing;
    }
    return this.outcome(created);
  }

  /** Decides the in-flight measurement from its Job's conditions. */
  async resume(
    _metric: Metric,
    measurement: Measurement,
    signal?: AbortSignal,
  ): Promise<InFlightMeasurement | DecidedMeasurement> {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    if (!name) throw new ProviderError(`the in-flight measurement has no ${JOB_NAME_KEY}`);
    const namespace = measurement.metadata?.[JOB_NAMESPACE_KEY] || this.options.run.namespace;
    const job = await this.find(namespace, name, signal);
    if (!job) throw new ProviderError(`job ${namespace}/${name} not found (deleted before it finished?)`);
    return this.outcome(job);
  }

  /** Deletes the running Job (and its pods) of a terminating run. */
  async terminate(_metric: Metric, measurement: Measurement, signal?: AbortSignal): Promise<void> {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    if (!name) return;
    const namespace = measurement.metadata?.[JOB_NAMESPACE_KEY] || this.options.run.namespace;
    try {
      await this.options.client.delete(
        { apiVersion: "batch/v1", kind: "Job", namespace, name },
        { propagationPolicy: "Background", ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      throw new ProviderError(`could not delete job ${namespace}/${name}: ${messageOf(error)}`);
    }
  }

  /**
   * Deletes this metric's Jobs beyond the newest `keep` (by measurement ordinal), as Argo's
   * GarbageCollect does for `measurementRetention`. Reads the cache; writes only when there is
   * something to delete.
   */
  async garbageCollect(metric: Metric, keep: number, signal?: AbortSignal): Promise<void> {
    const { run } = this.options;
    const label = labelValue(metric.name);
    const jobs = this.options.jobs
      .list(run.namespace)
      .filter(
        (j) =>
          j.metadata?.labels?.[RUN_UID_LABEL] === run.uid &&
          j.metadata?.labels?.[METRIC_LABEL] === label &&
          !j.metadata?.deletionTimestamp,
      )
      .sort(newestFirst);
    const excess = jobs.slice(Math.max(0, keep));
    await Promise.all(
      excess.map((j) =>
        this.options.client.delete(
          { apiVersion: "batch/v1", kind: "Job", namespace: run.namespace, name: j.metadata!.name! },
          {
            propagationPolicy: "Background",
            ...(j.metadata?.uid ? { preconditions: { uid: j.metadata.uid } } : {}),
            ...(signal ? { signal } : {}),
          },
        ),
      ),
    );
  }

  /** The Job for one measurement: the metric's spec, our labels, owned by the run. */
  jobFor(metric: Metric, ordinal: number | undefined): V1Job {
    const cfg = metric.provider.job!;
    const { run } = this.options;
    const labels: Record<string, string> = {
      ...cfg.metadata?.labels,
      [RUN_NAME_LABEL]: labelValue(run.name),
      [RUN_UID_LABEL]: run.uid,
      [METRIC_LABEL]: labelValue(metric.name),
      ...(ordinal !== undefined ? { [ORDINAL_LABEL]: String(ordinal) } : {}),
    };
    return {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        ...(ordinal !== undefined
          ? { name: jobName(run.name, metric.name, ordinal) }
          : { generateName: `${jobBase(run.name, metric.name, 6)}-` }),
        namespace: run.namespace,
        labels,
        ...(cfg.metadata?.annotations ? { annotations: { ...cfg.metadata.annotations } } : {}),
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: "AnalysisRun",
            name: run.name,
            uid: run.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      // The schema keeps the JobSpec free-form; the API server validates it when the Job is created.
      spec: cloneJson(cfg.spec) as unknown as V1Job["spec"],
    };
  }

  private async find(namespace: string, name: string, signal?: AbortSignal): Promise<V1Job | undefined> {
    // A Job created a moment ago may not have reached the cache yet: ask the API then.
    const cached = this.options.jobs.get(namespace, name);
    if (cached) return cached;
    return this.options.client.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", namespace, name }, signal);
  }

  private outcome(job: V1Job): InFlightMeasurement | DecidedMeasurement {
    const metadata = {
      [JOB_NAME_KEY]: job.metadata?.name ?? "",
      [JOB_NAMESPACE_KEY]: job.metadata?.namespace ?? this.options.run.namespace,
    };
    const failed = condition(job, "Failed");
    if (failed) {
      const why = [failed.reason, failed.message].filter(Boolean).join(": ");
      return {
        phase: "Failed",
        message: `job ${metadata[JOB_NAME_KEY]} failed${why ? `: ${why}` : ""}`,
        metadata,
      };
    }
    if (condition(job, "Complete")) return { phase: "Successful", metadata };
    return { inFlight: true, metadata, recheckAfterMs: this.recheckAfterMs };
  }
}

/** Newest first: by measurement ordinal, then by age (Jobs made with generateName have no ordinal). */
function newestFirst(a: V1Job, b: V1Job): number {
  const ordinal = (j: V1Job) => Number(j.metadata?.labels?.[ORDINAL_LABEL] ?? 0) || 0;
  const created = (j: V1Job) => Date.parse(String(j.metadata?.creationTimestamp ?? "")) || 0;
  return ordinal(b) - ordinal(a) || created(b) - created(a);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
