/**
 * `createAnalysisRunController`: the AnalysisRun reconciler wired to the runtime — shared
 * informers for AnalysisRuns and the Jobs the job provider creates (a Job's change wakes its
 * run through the owner reference), Events, metrics and a work queue. `slipway controller`
 * calls it and starts the result with the other controllers.
 */
import type { V1Job } from "@kubernetes/client-node";
import axios, { type AxiosInstance } from "axios";
import pino, { type Logger } from "pino";
import type { Registry } from "prom-client";
import { API_VERSION, GROUP } from "../../api/v1alpha1/common.js";
import type { ClusterClient } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import type { InformerScope } from "../../controller/kube/informer.js";
import type { InformerFactory } from "../../controller/kube/informer-factory.js";
import type { Clock } from "../../controller/queue/clock.js";
import type { WorkQueue } from "../../controller/queue/work-queue.js";
import { Controller, type InformerEvent } from "../../controller/runtime/controller.js";
import { controllerOwnerKey } from "../../controller/runtime/key-mappers.js";
import { RUN_UID_LABEL } from "../providers/job/index.js";
import { AnalysisMetrics } from "./metrics.js";
import { type AnalysisRunObject, AnalysisRunReconciler } from "./run-reconciler.js";

export interface AnalysisRunControllerOptions {
  client: ClusterClient;
  informers: InformerFactory;
  clock?: Clock;
  registry?: Registry;
  log?: Logger;
  /** Default: a recorder on `client` with component "slipway-controller". */
  recorder?: EventRecorder;
  /** Runs reconciled at once: a reconcile mostly waits on a provider and a status write, so many. Default 64. */
  concurrency?: number;
  /** Only runs in this namespace; all namespaces when omitted. */
  namespace?: string;
  /** Prometheus address for metrics that leave `address` out. */
  defaultPrometheusAddress?: string;
  /** HTTP client for prometheus and web measurements. Default: one shared axios instance. */
  http?: AxiosInstance;
  /** A running Job is looked at again after this long without a watch event. Default 30 s. */
  jobRecheckAfterMs?: number;
  /** Work queue; default an in-memory one. A Redis queue lets replicas divide the work. */
  queue?: WorkQueue;
  /** Names the controller in logs and metrics. Default "analysisruns". */
  name?: string;
}

/**
 * Reconciles on spec changes (`terminate`), deletion and creation, not on the status writes it
 * makes itself: its own timers say when the next measurement is due, and an update of the
 * status alone (our write coming back through the watch) has nothing new to act on.
 */
function specOrLifecycleChanged(event: InformerEvent<AnalysisRunObject>): boolean {
  if (event.type !== "update") return true;
  const before = event.old.metadata;
  const after = event.object.metadata;
  return (
    before?.generation !== after?.generation ||
    Boolean(before?.deletionTimestamp) !== Boolean(after?.deletionTimestamp) ||
    before?.uid !== after?.uid
  );
}

export function createAnalysisRunController(options: AnalysisRunControllerOptions): Controller {
  const log = options.log ?? pino({ name: "slipway" });
  const scope: InformerScope = options.namespace ? { namespace: options.namespace } : {};
  const runs = options.informers.forResource<AnalysisRunObject>(
    { apiVersion: API_VERSION, kind: "AnalysisRun" },
    scope,
  );
  const jobs = options.informers.forResource<V1Job>(
    { group: "batch", version: "v1", resource: "jobs" },
    { ...scope, labelSelector: RUN_UID_LABEL },
  );
  const recorder =
    options.recorder ??
    new EventRecorder(options.client, { log, ...(options.clock ? { clock: options.clock } : {}) });
  const reconciler = new AnalysisRunReconciler({
    client: options.client,
    runs,
    jobs,
    metrics: new AnalysisMetrics(options.registry),
    recorder,
    http: options.http ?? axios.create(),
    log,
    ...(options.defaultPrometheusAddress
      ? { defaultPrometheusAddress: options.defaultPrometheusAddress }
      : {}),
    ...(options.jobRecheckAfterMs !== undefined ? { jobRecheckAfterMs: options.jobRecheckAfterMs } : {}),
  });
  return new Controller({
    reconciler,
    name: options.name ?? reconciler.name,
    concurrency: options.concurrency ?? 64,
    log,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
  })
    .watch(runs, { filter: specOrLifecycleChanged })
    .watch(jobs, { map: controllerOwnerKey("AnalysisRun", GROUP) });
}
