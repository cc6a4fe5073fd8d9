/**
 * The AnalysisRun reconciler (Argo's analysis controller reconcileAnalysisRun) on the controller
 * runtime's one contract: read the run from the informer cache, take the measurements that are
 * due through `stepRun` with the real providers and the controller's clock, write `status`
 * through the status subresource only when it changed, record Events for metrics and runs that
 * just completed, and ask to be called again when the next measurement is due.
 *
 * Everything needed to continue is in the run's status: a controller killed at any point and
 * started again measures on, without repeating a stored measurement. Writes carry the cached
 * resourceVersion, so a reconcile that read a stale cache is refused (409) instead of storing
 * measurements twice; Jobs are named after the measurement's ordinal, so one created just before
 * a crash is found again rather than duplicated.
 */
import { setMaxListeners } from "node:events";
import type { KubernetesObject, V1Job } from "@kubernetes/client-node";
import { Value } from "@sinclair/typebox/value";
import type { AxiosInstance } from "axios";
import type { Logger } from "pino";
import { AnalysisRunSpec, type AnalysisRunStatus, type Metric } from "../../api/v1alpha1/analysis.js";
import { API_VERSION } from "../../api/v1alpha1/common.js";
import type { ClusterClient } from "../../controller/kube/cluster-client.js";
import { isConflict, isNotFound } from "../../controller/kube/errors.js";
import type { EventRecorder } from "../../controller/kube/event-recorder.js";
import type { SharedInformer } from "../../controller/kube/informer.js";
import { splitKey } from "../../controller/kube/resource.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../controller/runtime/reconciler.js";
import { isCompleted } from "../measurement/phase.js";
import { retentionLimits } from "../measurement/rules.js";
import { type Clock, type StepOptions, type StepResult, stepRun } from "../measurement/step.js";
import { type ProviderDeps, providerFor } from "../providers/index.js";
import { ProviderError } from "../providers/provider.js";
import type { SecretResolver } from "../run-spec.js";
import { PROVIDER_KINDS } from "../validate.js";
import { transitionEvents } from "./events.js";
import type { AnalysisMetrics } from "./metrics.js";
import { readSecretArgs } from "./secrets.js";

/**
 * An AnalysisRun as the informer cache holds it (client-node's metadata types). The spec is
 * checked against the schema before it is used: the cache holds whatever the server sent.
 */
export type AnalysisRunObject = KubernetesObject & { spec: AnalysisRunSpec; status?: AnalysisRunStatus };

/** After a 409 the cache is behind our own write (or someone else's): look again shortly. */
const CONFLICT_RETRY_MS = 100;

export interface AnalysisRunReconcilerOptions {
  client: ClusterClient;
  runs: SharedInformer<AnalysisRunObject>;
  /** Jobs created by the job provider (labelled with the run's uid). */
  jobs: SharedInformer<V1Job>;
  metrics: AnalysisMetrics;
  recorder?: EventRecorder;
  /** One HTTP client for every prometheus and web measurement (keep-alive connections). */
  http?: AxiosInstance;
  /** Prometheus address for metrics that leave `address` out. */
  defaultPrometheusAddress?: string;
  /** How often a running Job is looked at without a watch event. Default 30 s. */
  jobRecheckAfterMs?: number;
  log?: Logger;
}

/** The metric's provider kind for metrics labels (`prometheus`, `web`, `job`, `unknown`). */
function providerKind(metric: Metric): string {
  return PROVIDER_KINDS.find((k) => metric.provider?.[k] !== undefined) ?? "unknown";
}

/** Verdicts by spec object: the cache replaces the object when the run changes, so identity is enough. */
const checkedSpecs = new WeakMap<object, string | undefined>();

/** The spec's first structural problem (a hand-written run the CRD schema let through), if any. */
function specProblem(spec: unknown): string | undefined {
  if (spec === null || typeof spec !== "object") return "spec is missing";
  if (checkedSpecs.has(spec)) return checkedSpecs.get(spec);
  const problem = findSpecProblem(spec);
  checkedSpecs.set(spec, problem);
  return problem;
}

function findSpecProblem(spec: unknown): string | undefined {
  if (Value.Check(AnalysisRunSpec, spec)) return undefined;
  const first = Value.Errors(AnalysisRunSpec, spec).First();
  return first
    ? `spec${first.path.replace(/\//g, ".")}: ${first.message}`
    : "spec is not an AnalysisRun spec";
}

export class AnalysisRunReconciler implements Reconciler {
  readonly name = "analysisruns";
  private readonly signals = new WeakSet<AbortSignal>();

  constructor(private readonly options: AnalysisRunReconcilerOptions) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    // Requests listen on a signal of this reconcile's own, linked once to the controller's stop
    // signal: the long-lived signal then holds one listener per running reconcile instead of
    // collecting one per request (AbortSignal.any and axios each register on the signal given).
    if (!this.signals.has(ctx.signal)) {
      this.signals.add(ctx.signal);
      setMaxListeners(0, ctx.signal);
    }
    const local = new AbortController();
    const stop = () => local.abort(ctx.signal.reason);
    if (ctx.signal.aborted) stop();
    else ctx.signal.addEventListener("abort", stop, { once: true });
    try {
      return await this.reconcileRun(key, { ...ctx, signal: local.signal });
    } catch (error) {
      // A request cut short by a stopping controller is not a failure: the next process goes on.
      if (ctx.signal.aborted) return {};
      throw error;
    } finally {
      ctx.signal.removeEventListener("abort", stop);
    }
  }

  private async reconcileRun(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace = "", name } = splitKey(key);
    const run = this.options.runs.get(namespace, name);
    if (!run) {
      this.options.metrics.forgetRun(namespace, name);
      return {};
    }
    if (run.metadata?.deletionTimestamp) return {};
    if (isCompleted(run.status?.phase)) {
      this.options.metrics.runPhase(namespace, name, run.status!.phase);
      return this.expire(run, ctx);
    }

    const clock: Clock = { now: () => new Date(ctx.clock.now()) };
    const problem = specProblem(run.spec);
    const step = problem
      ? invalidSpec(run.status, clock, problem)
      : await stepRun(
          { spec: run.spec, ...(run.status ? { status: run.status } : {}) },
          this.hooks(run, clock, ctx, await this.secretsOf(run, ctx)),
        );
    const stepped = ctx.clock.now();
    // Measurements cut short by a stopping controller are not results: the next one retakes them.
    if (ctx.signal.aborted) return {};

    if (step.changed) {
      try {
        await this.options.client.dynamic.replace<AnalysisRunObject>(
          { ...run, apiVersion: API_VERSION, kind: "AnalysisRun", status: step.status },
          { subresource: "status", signal: ctx.signal },
        );
      } catch (error) {
        if (isNotFound(error)) return {};
        if (isConflict(error)) {
          ctx.log.debug("status write conflicted (stale cache); reconciling again");
          return { requeueAfter: CONFLICT_RETRY_MS };
        }
        throw error;
      }
      this.recordTransitions(run, run.status, step.status);
      this.options.metrics.measured(namespace, run.status, step.status);
    }
    this.options.metrics.runPhase(namespace, name, step.status.phase);
    if (!problem) await this.collectJobs(run, ctx);

    if (isCompleted(step.status.phase)) return this.expire({ ...run, status: step.status }, ctx);
    if (step.requeueAfter === undefined) return {};
    // The step's wait was counted from when it measured; the status write took some of it.
    return { requeueAfter: Math.max(1, step.requeueAfter - (ctx.clock.now() - stepped)) };
  }

  /** Secret args, read now (skipped for runs that have none, so an idle reconcile makes no request). */
  private async secretsOf(
    run: AnalysisRunObject,
    ctx: ReconcileContext,
  ): Promise<SecretResolver | undefined> {
    const args = run.spec.args ?? [];
    if (!args.some((a) => a.value === undefined && a.valueFrom?.secretKeyRef)) return undefined;
    return readSecretArgs(this.options.client.dynamic, run.metadata?.namespace ?? "", args, ctx.signal);
  }

  /** stepRun's hooks for this run: providers by metric, timed, and the secrets read for it. */
  private hooks(
    run: AnalysisRunObject,
    clock: Clock,
    ctx: ReconcileContext,
    resolveSecret: SecretResolver | undefined,
  ): StepOptions {
    const namespace = run.metadata?.namespace ?? "";
    const deps: ProviderDeps = {
      ...(this.options.http ? { http: this.options.http } : {}),
      ...(this.options.defaultPrometheusAddress
        ? { defaultPrometheusAddress: this.options.defaultPrometheusAddress }
        : {}),
      job: {
        run: { name: run.metadata?.name ?? "", namespace, uid: run.metadata?.uid ?? "" },
        client: this.options.client.dynamic,
        jobs: this.options.jobs,
        ...(this.options.jobRecheckAfterMs !== undefined
          ? { recheckAfterMs: this.options.jobRecheckAfterMs }
          : {}),
      },
    };
    const timed = async <T>(metric: Metric, call: () => Promise<T>): Promise<T> => {
      const started = ctx.clock.now();
      try {
        return await call();
      } finally {
        this.options.metrics.providerCall(providerKind(metric), (ctx.clock.now() - started) / 1000);
      }
    };
    return {
      clock,
      signal: ctx.signal,
      ...(resolveSecret ? { resolveSecret } : {}),
      measure: (metric, signal, info) =>
        timed(metric, async () => providerFor(metric, deps).measure(metric, signal, info)),
      resume: (metric, measurement, signal) =>
        timed(metric, async () => {
          const provider = providerFor(metric, deps);
          if (!provider.resume) {
            throw new ProviderError(`the ${provider.type} provider has no measurements in flight to resume`);
          }
          return provider.resume(metric, measurement, signal);
        }),
      terminate: async (metric, measurement, signal) => {
        await providerFor(metric, deps).terminate?.(metric, measurement, signal);
      },
    };
  }

  private recordTransitions(
    run: AnalysisRunObject,
    before: AnalysisRunStatus | undefined,
    after: AnalysisRunStatus,
  ): void {
    const recorder = this.options.recorder;
    if (!recorder) return;
    const object = { ...run, apiVersion: API_VERSION, kind: "AnalysisRun" };
    for (const event of transitionEvents(before, after)) {
      recorder.recordEvent(object, event.type, event.reason, event.message);
    }
  }

  /** Deletes Jobs of job metrics beyond their `measurementRetention` (from the cache; writes only to delete). */
  private async collectJobs(run: AnalysisRunObject, ctx: ReconcileContext): Promise<void> {
    const jobMetrics = run.spec.metrics.filter((m) => m.provider?.job);
    if (jobMetrics.length === 0) return;
    try {
      const limits = retentionLimits(run.spec.measurementRetention, run.spec.metrics);
      const provider = providerFor(jobMetrics[0]!, {
        job: {
          run: {
            name: run.metadata?.name ?? "",
            namespace: run.metadata?.namespace ?? "",
            uid: run.metadata?.uid ?? "",
          },
          client: this.options.client.dynamic,
          jobs: this.options.jobs,
        },
      });
      for (const metric of jobMetrics) {
        await provider.garbageCollect?.(metric, limits.get(metric.name) ?? 10, ctx.signal);
      }
    } catch (error) {
      ctx.log.warn({ err: error }, "could not delete old measurement jobs");
    }
  }

  /**
   * `spec.ttlStrategy`: deletes a completed run once its time is up (Argo: secondsAfterSuccess
   * for Successful, secondsAfterFailure for Failed, else secondsAfterCompletion).
   */
  private async expire(run: AnalysisRunObject, ctx: ReconcileContext): Promise<ReconcileResult> {
    const ttl = run.spec?.ttlStrategy;
    const completedAt = Date.parse(run.status?.completedAt ?? "");
    if (!ttl || Number.isNaN(completedAt)) return {};
    const phase = run.status?.phase;
    const seconds =
      (phase === "Successful" ? ttl.secondsAfterSuccess : undefined) ??
      (phase === "Failed" ? ttl.secondsAfterFailure : undefined) ??
      ttl.secondsAfterCompletion;
    if (seconds === undefined) return {};
    const left = completedAt + seconds * 1000 - ctx.clock.now();
    if (left > 0) return { requeueAfter: left };
    await this.options.client.dynamic.delete(
      {
        apiVersion: API_VERSION,
        kind: "AnalysisRun",
        namespace: run.metadata?.namespace ?? "",
        name: run.metadata!.name!,
      },
      { ...(run.metadata?.uid ? { preconditions: { uid: run.metadata.uid } } : {}), signal: ctx.signal },
    );
    ctx.log.info({ ttlSeconds: seconds }, "deleted the completed AnalysisRun (ttlStrategy)");
    return {};
  }
}

/** A run whose spec cannot be read ends Error at once, saying where (Argo would error per measurement). */
function invalidSpec(before: AnalysisRunStatus | undefined, clock: Clock, problem: string): StepResult {
  const now = clock.now().toISOString();
  const status: AnalysisRunStatus = {
    ...(before ?? {}),
    phase: "Error",
    message: `Analysis spec invalid: ${problem}`,
    startedAt: before?.startedAt ?? now,
    completedAt: now,
  };
  return { status, changed: true };
}
