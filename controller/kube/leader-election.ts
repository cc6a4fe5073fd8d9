/**
 * Leader election on a `coordination.k8s.io/v1` Lease, following client-go's
 * `tools/leaderelection`: candidates try to acquire the Lease every `retryPeriod`; the holder
 * renews it every `retryPeriod` and gives up leading when it could not renew for
 * `renewDeadline`; another candidate takes over once the Lease record has not changed for
 * `leaseDuration` as measured on *its own* clock (so clock skew between nodes does not matter).
 * Writes use the Lease's resourceVersion, so two candidates can never both win.
 *
 * Differences from client-go, on purpose: after losing the Lease the elector campaigns again
 * instead of returning (callers decide whether to exit), and on `stop()` it releases the Lease
 * only after `onStoppedLeading` has finished, so the next leader never overlaps with work still
 * running here.
 */
import pino, { type Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { type Clock, sleep, systemClock } from "../queue/clock.js";
import { registerOnce } from "../queue/metrics.js";
import { isNotFound } from "./errors.js";
import type { KubeRequester } from "./requester.js";

export interface LeaderElectionOptions {
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** This candidate's identity (pod name + a random suffix is usual); must be unique. */
  identity: string;
  /** How long a lease is valid without renewal. Default 15 000 ms (whole seconds in the Lease). */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying to renew before it stops leading. Default 10 000 ms. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 000 ms (acquiring: jittered up to +20 %). */
  retryPeriodMs?: number;
  /** Release the Lease on `stop()` so a successor need not wait for it to expire. Default true. */
  releaseOnStop?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (lost or stopped); awaited before the Lease is released. */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called whenever a different holder is observed (including this candidate). */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  log?: Logger;
  /** Registers `slipway_leader{lease}` (1 while leading) here. */
  registry?: Registry;
  random?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly gauge: { set(value: number): void };
  private readonly path: string;

  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private leading = false;
  /** The Lease as last read or written, and when (by our clock) its record last changed. */
  private observed: Lease | undefined;
  private observedRecord = "";
  private observedAt = 0;
  private reportedLeader: string | undefined;

  constructor(
    private readonly requester: KubeRequester,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new RangeError("leaseDurationMs must be greater than renewDeadlineMs");
    }
    if (!(this.renewDeadlineMs > this.retryPeriodMs && this.retryPeriodMs > 0)) {
      throw new RangeError("renewDeadlineMs must be greater than retryPeriodMs, which must be > 0");
    }
    if (!options.identity) throw new RangeError("leader election needs an identity");
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? pino({ level: "silent" })).child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.random = options.random ?? Math.random;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
    const lease = `${options.namespace}/${options.name}`;
    this.gauge = options.registry
      ? registerOnce(
          options.registry,
          "slipway_leader",
          () =>
            new Gauge({
              name: "slipway_leader",
              help: "1 while this process holds the Lease",
              labelNames: ["lease"],
              registers: [options.registry!],
            }),
        ).labels({ lease })
      : { set: () => undefined };
    this.gauge.set(0);
  }

  /** Starts campaigning in the background. Calling it again does nothing. */
  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
  }

  /** Stops campaigning; when leading, stops leading (awaiting `onStoppedLeading`) and releases. */
  async stop(): Promise<void> {
    this.abort?.abort();
    const running = this.running;
    this.running = undefined;
    await running;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed, if any. */
  leader(): string | undefined {
    return this.observed?.spec?.holderIdentity || undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.acquire(signal))) break;
      const leadership = new AbortController();
      this.leading = true;
      this.gauge.set(1);
      this.log.info("became leader");
      const started = (async () => this.options.onStartedLeading(leadership.signal))().catch(
        (error: unknown) => this.log.error({ err: error }, "onStartedLeading failed"),
      );
      await this.renew(signal);
      this.leading = false;
      this.gauge.set(0);
      leadership.abort();
      await started;
      try {
        await this.options.onStoppedLeading?.();
      } catch (error) {
        this.log.error({ err: error }, "onStoppedLeading failed");
      }
      if (signal.aborted) {
        if (this.options.releaseOnStop ?? true) await this.release();
        this.log.info("stopped leading");
      } else this.log.warn("lost the lease; campaigning again");
    }
  }

  /** Tries every retryPeriod (+ up to 20 % jitter, as client-go) until acquired or stopped. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal, this.renewDeadlineMs)) return true;
      await sleep(this.clock, this.retryPeriodMs * (1 + 0.2 * this.random()), signal);
    }
    return false;
  }

  /** Renews every retryPeriod; returns when stopped or when renewing failed for renewDeadline. */
  private async renew(signal: AbortSignal): Promise<void> {
    let renewedAt = this.clock.now();
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      const left = this.renewDeadlineMs - (this.clock.now() - renewedAt);
      if (left > 0 && (await this.tryAcquireOrRenew(signal, left))) {
        renewedAt = this.clock.now();
        continue;
      }
      if (this.clock.now() - renewedAt >= this.renewDeadlineMs) {
        this.log.warn({ deadlineMs: this.renewDeadlineMs }, "could not renew the lease in time");
        return;
      }
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    const now = this.clock.now();
    const leaseSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    const { identity, namespace, name } = this.options;
    let current: Lease | undefined;
    try {
      current = await this.requester.request<Lease>("GET", `${this.path}/${encodeURIComponent(name)}`, {
        signal,
        timeoutMs,
      });
    } catch (error) {
      if (!isNotFound(error)) {
        if (!signal.aborted) this.log.warn({ err: error }, "could not read the lease");
        return false;
      }
    }
    if (!current) {
      const lease: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        this.observe(
          await this.requester.request<Lease>("POST", this.path, { body: lease, signal, timeoutMs }),
        );
        return true;
      } catch (error) {
        if (!signal.aborted) this.log.debug({ err: error }, "could not create the lease");
        return false;
      }
    }
    this.observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const validForMs = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder && holder !== identity && this.observedAt + validForMs > now) return false;
    const mine = holder === identity;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      // PUT with the resourceVersion we read: a concurrent writer makes this fail with 409.
      this.observe(
        await this.requester.request<Lease>("PUT", `${this.path}/${encodeURIComponent(name)}`, {
          body: next,
          signal,
          timeoutMs,
        }),
      );
      return true;
    } catch (error) {
      if (!signal.aborted) this.log.debug({ err: error }, "could not update the lease");
      return false;
    }
  }

  /** Notes the Lease, restarting the expiry clock whenever its record changes. */
  private observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity,
      spec.renewTime,
      spec.leaseTransitions,
      spec.acquireTime,
    ]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = this.clock.now();
    }
    this.observed = lease;
    const holder = spec.holderIdentity;
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log.info({ leader: holder }, "new leader observed");
      this.options.onNewLeader?.(holder);
    }
  }

  /** Empties the holder so a successor acquires at once instead of waiting for expiry. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || lease.spec?.holderIdentity !== this.options.identity) return;
    const now = this.clock.now();
    try {
      this.observe(
        await this.requester.request<Lease>("PUT", `${this.path}/${encodeURIComponent(this.options.name)}`, {
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: "",
              leaseDurationSeconds: 1,
              renewTime: microTime(now),
              acquireTime: microTime(now),
            },
          },
          timeoutMs: this.renewDeadlineMs,
        }),
      );
    } catch (error) {
      this.log.warn({ err: error }, "could not release the lease; it expires by itself");
    }
  }
}
