/**
 * The Prometheus series the sandbox serves at `/sim/metrics`, named and labelled like a typical
 * service mesh's, so real AnalysisTemplates query them unchanged:
 * `http_requests_total{namespace,service,pod,rollouts_pod_template_hash,code,mirrored}` and
 * `http_request_duration_seconds{namespace,service,rollouts_pod_template_hash,mirrored}`.
 */
import { Counter, Histogram, Registry } from "prom-client";

const REQUEST_LABELS = [
  "namespace",
  "service",
  "pod",
  "rollouts_pod_template_hash",
  "code",
  "mirrored",
] as const;
const DURATION_LABELS = ["namespace", "service", "rollouts_pod_template_hash", "mirrored"] as const;

/**
 * Dense around common latency objectives (100–500 ms) so histogram_quantile interpolates well where
 * analysis thresholds usually sit.
 */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 10,
];

type RequestLabels = Record<(typeof REQUEST_LABELS)[number], string>;

interface PendingCount {
  labels: RequestLabels;
  count: number;
}

export class TrafficMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  private readonly duration: Histogram<(typeof DURATION_LABELS)[number]>;
  /** Counter increments gathered during a tick and applied once per series in flush(). */
  private readonly pending = new Map<string, PendingCount>();

  constructor(registry?: Registry) {
    this.registry = registry ?? new Registry();
    this.requests = new Counter({
      name: "http_requests_total",
      help: "Simulated HTTP requests by the pod that answered them (pod is empty when no pod did).",
      labelNames: REQUEST_LABELS,
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "Simulated response time of requests answered by a pod.",
      labelNames: DURATION_LABELS,
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
  }

  /**
   * Counts one request. `latencySeconds` is undefined when no pod answered (the proxy did, at once):
   * such requests are counted but kept out of the latency histogram.
   */
  record(
    namespace: string,
    service: string,
    pod: string,
    hash: string,
    code: number,
    mirrored: boolean,
    latencySeconds: number | undefined,
  ): void {
    const mirroredLabel = mirrored ? "true" : "false";
    const codeLabel = String(code);
    const key = `${namespace}\0${service}\0${pod}\0${hash}\0${codeLabel}\0${mirroredLabel}`;
    const pending = this.pending.get(key);
    if (pending) pending.count++;
    else {
      this.pending.set(key, {
        labels: {
          namespace,
          service,
          pod,
          rollouts_pod_template_hash: hash,
          code: codeLabel,
          mirrored: mirroredLabel,
        },
        count: 1,
      });
    }
    if (latencySeconds !== undefined) {
      this.duration.observe(
        { namespace, service, rollouts_pod_template_hash: hash, mirrored: mirroredLabel },
        latencySeconds,
      );
    }
  }

  /** Applies the gathered counts; called at the end of every tick so a scrape sees whole ticks. */
  flush(): void {
    for (const { labels, count } of this.pending.values()) this.requests.inc(labels, count);
    this.pending.clear();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
