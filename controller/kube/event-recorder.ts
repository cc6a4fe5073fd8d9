/**
 * Kubernetes Events on the objects slipway acts on (`kubectl describe` shows them), written as
 * client-go's `record.EventRecorder` does: asynchronously, never failing or slowing the
 * reconcile that records them, and deduplicated — the same event on the same object again bumps
 * `count` and `lastTimestamp` of the Event already written instead of creating another
 * (client-go's `EventCorrelator` / `eventLogger`). client-go's similar-message aggregation and
 * spam filter are not reproduced: reconciles only record events when they act, and failures are
 * already rate-limited by the work queue's backoff.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { type Clock, systemClock } from "../queue/clock.js";
import { isNotFound } from "./errors.js";
import type { KubeRequester } from "./requester.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  /** `source.component` / `reportingComponent`. Default "slipway-controller". */
  component?: string;
  /** `source.host` / `reportingInstance` (the pod name). */
  host?: string;
  clock?: Clock;
  log?: Logger;
  /** Events remembered for deduplication (least recently used are forgotten). Default 4096. */
  cacheSize?: number;
}

interface Recorded {
  namespace: string;
  name: string;
  count: number;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class EventRecorder {
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, Recorded>();
  /** Writes per dedupe key run one after another, so a burst yields one Event with a count. */
  private readonly chains = new Map<string, Promise<void>>();
  private seq = 0;

  constructor(
    private readonly requester: KubeRequester,
    options: EventRecorderOptions = {},
  ) {
    this.component = options.component ?? "slipway-controller";
    this.host = options.host;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? pino({ level: "silent" });
    this.cacheSize = options.cacheSize ?? 4096;
  }

  /**
   * Records an event on `object` in the background. Errors are logged, never thrown.
   * Events of cluster-scoped objects go to the "default" namespace, as client-go's do.
   */
  recordEvent(object: KubernetesObject, type: EventType, reason: string, message: string): void {
    const meta = object.metadata ?? {};
    const involvedObject = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    };
    const key = JSON.stringify([
      this.component,
      object.apiVersion,
      object.kind,
      meta.namespace ?? "",
      meta.name,
      meta.uid ?? "",
      type,
      reason,
      message,
    ]);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.write(key, involvedObject, meta.namespace || "default", type, reason, message))
      .catch((error: unknown) => {
        this.log.warn({ err: error, reason, object: involvedObject }, "could not record event");
      })
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  /** Resolves when every event recorded so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async write(
    key: string,
    involvedObject: Record<string, unknown>,
    namespace: string,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.clock.now();
    const seen = this.cache.get(key);
    if (seen) {
      try {
        await this.requester.request(
          "PATCH",
          `/api/v1/namespaces/${encodeURIComponent(seen.namespace)}/events/${encodeURIComponent(seen.name)}`,
          {
            body: { count: seen.count + 1, lastTimestamp: rfc3339(now), message },
            contentType: "application/merge-patch+json",
          },
        );
        seen.count++;
        this.touch(key, seen);
        return;
      } catch (error) {
        // The Event expired (the API server drops them after an hour): write a new one.
        if (!isNotFound(error)) throw error;
        this.cache.delete(key);
      }
    }
    const name = `${String(involvedObject.name)}.${(BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
    const timestamp = rfc3339(now);
    await this.requester.request("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
      body: {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject,
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: timestamp,
        lastTimestamp: timestamp,
        source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
        reportingComponent: this.component,
        ...(this.host ? { reportingInstance: this.host } : {}),
      },
    });
    this.touch(key, { namespace, name, count: 1 });
  }

  private touch(key: string, recorded: Recorded): void {
    this.cache.delete(key);
    this.cache.set(key, recorded);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}
