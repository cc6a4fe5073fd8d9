/**
 * Work queue metrics, the set client-go's workqueue exports (depth, adds, queue latency, work
 * duration, retries) under the `slipway_` prefix and labelled by the controller that owns the
 * queue. Several queues share one Registry, so each metric is registered once and labelled.
 */
import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";

/** Returns the metric `name` already in `registry`, or registers the one `create` makes. */
export function registerOnce<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/** Seconds, from 1 ms to 10 min: queue waits and reconciles span that range. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

export interface QueueMetrics {
  depth(n: number): void;
  added(): void;
  /** Seconds from being queued to being handed out. */
  waited(seconds: number): void;
  /** Seconds from being handed out to `done`. */
  worked(seconds: number): void;
  retried(): void;
}

export const noQueueMetrics: QueueMetrics = {
  depth: () => undefined,
  added: () => undefined,
  waited: () => undefined,
  worked: () => undefined,
  retried: () => undefined,
};

export function queueMetrics(registry: Registry, name: string): QueueMetrics {
  const labels = { controller: name };
  const depth = registerOnce(
    registry,
    "slipway_workqueue_depth",
    () =>
      new Gauge({
        name: "slipway_workqueue_depth",
        help: "Keys waiting in the work queue",
        labelNames: ["controller"],
        registers: [registry],
      }),
  ).labels(labels);
  const adds = registerOnce(
    registry,
    "slipway_workqueue_adds_total",
    () =>
      new Counter({
        name: "slipway_workqueue_adds_total",
        help: "Keys added to the work queue (after dedupe)",
        labelNames: ["controller"],
        registers: [registry],
      }),
  ).labels(labels);
  const waited = registerOnce(
    registry,
    "slipway_workqueue_queue_duration_seconds",
    () =>
      new Histogram({
        name: "slipway_workqueue_queue_duration_seconds",
        help: "How long a key waits in the work queue before a worker takes it",
        labelNames: ["controller"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  ).labels(labels);
  const worked = registerOnce(
    registry,
    "slipway_workqueue_work_duration_seconds",
    () =>
      new Histogram({
        name: "slipway_workqueue_work_duration_seconds",
        help: "How long processing a key from the work queue takes",
        labelNames: ["controller"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  ).labels(labels);
  const retries = registerOnce(
    registry,
    "slipway_workqueue_retries_total",
    () =>
      new Counter({
        name: "slipway_workqueue_retries_total",
        help: "Keys re-queued with backoff after a failure",
        labelNames: ["controller"],
        registers: [registry],
      }),
  ).labels(labels);
  return {
    depth: (n) => depth.set(n),
    added: () => adds.inc(),
    waited: (s) => waited.observe(s),
    worked: (s) => worked.observe(s),
    retried: () => retries.inc(),
  };
}
