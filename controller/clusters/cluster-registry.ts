/**
 * The clusters slipway delivers to: the controller's own cluster (`in-cluster`,
 * `https://kubernetes.default.svc`) plus one per Secret labelled `slipway.dev/secret-type=cluster`
 * in the controller's namespace (Argo CD's format, see cluster-secret.ts), kept current from a
 * watch on those Secrets.
 *
 * - Each cluster's `ClusterClient` and `InformerFactory` are made on first use and closed when
 *   its Secret goes (or its server or credentials change: the next use makes fresh ones).
 * - `lookup({ server })` / `lookup({ name })` is a map read: it never waits on a cluster.
 * - Every `checkIntervalMs` each cluster gets a connection check (connection-check.ts), all at once
 *   and independently, so an unreachable cluster is `Failed: <reason>` and slows no other.
 * - A Secret slipway cannot use (bad JSON, no server, two Secrets for one server or name…) is
 *   logged, reported as a Warning Event on the Secret (`InvalidClusterSecret`) and in
 *   `problems()`, and otherwise ignored: it never stops the controller.
 * - A Secret for `https://kubernetes.default.svc` only renames the in-cluster entry (and gives it
 *   labels); the controller keeps using its own client for it, as its address is only meaningful
 *   inside the cluster.
 */
import type { V1Secret } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { ClusterClient, type ClusterClientOptions } from "../kube/cluster-client.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { InformerSettings, SharedInformer } from "../kube/informer.js";
import { InformerFactory } from "../kube/informer-factory.js";
import { objectKey } from "../kube/resource.js";
import { type Clock, systemClock, type TimerHandle } from "../queue/clock.js";
import { registerOnce } from "../queue/metrics.js";
import {
  CLUSTER_SECRET_SELECTOR,
  type ClusterSpec,
  IN_CLUSTER_NAME,
  IN_CLUSTER_SERVER,
  kubeConfigFor,
  normalizeServer,
  parseClusterSecret,
} from "./cluster-secret.js";
import { type ConnectionState, checkConnection, NOT_CHECKED } from "./connection-check.js";

/** One cluster, as reconcilers use it. Look it up again per reconcile: handles go stale. */
export interface Cluster {
  readonly name: string;
  readonly server: string;
  readonly inCluster: boolean;
  /** `namespace/name` of its Secret (none for the built-in in-cluster entry). */
  readonly secret: string | undefined;
  /** The Secret's labels (what an ApplicationSet clusters generator selects on). */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly connectionState: ConnectionState;
  /** Its client, made on first use. */
  client(): ClusterClient;
  /** Its shared informers, made (and started) on first use, stopped when the cluster goes. */
  informers(): InformerFactory;
}

export type ClusterRef = { server: string; name?: undefined } | { name: string; server?: undefined };

export interface ClusterProblem {
  /** `namespace/name` of the Secret. */
  secret: string;
  message: string;
}

export interface ClusterRegistryOptions {
  /** The controller's own client: the in-cluster entry. */
  client: ClusterClient;
  /** The controller's own informers: used to watch the cluster Secrets, and for the in-cluster entry. */
  informers: InformerFactory;
  /** Where cluster Secrets live (the controller's namespace). */
  namespace: string;
  /** Time between connection checks. Default 30 s. */
  checkIntervalMs?: number;
  /** Timeout of one connection check. Default 5 s. */
  checkTimeoutMs?: number;
  /** For each cluster's client (request timeout, observers…); `name` is the cluster's. */
  clientOptions?: Omit<ClusterClientOptions, "name" | "registry" | "clock">;
  informerSettings?: Omit<InformerSettings, "cluster" | "registry" | "log" | "clock">;
  recorder?: EventRecorder;
  registry?: Registry;
  log?: Logger;
  clock?: Clock;
}

class Entry implements Cluster {
  secret: string | undefined;
  labels: Record<string, string> = {};
  annotations: Record<string, string> = {};
  connectionState: ConnectionState = NOT_CHECKED;
  checking: Promise<void> | undefined;
  private madeClient: ClusterClient | undefined;
  private madeInformers: InformerFactory | undefined;

  constructor(
    public name: string,
    readonly server: string,
    /** Server + config: a change means new credentials, so new clients. */
    readonly fingerprint: string,
    private readonly make: {
      client(): ClusterClient;
      informers(client: ClusterClient): InformerFactory;
    },
    readonly inCluster = false,
  ) {}

  client(): ClusterClient {
    this.madeClient ??= this.make.client();
    return this.madeClient;
  }

  informers(): InformerFactory {
    if (!this.madeInformers) {
      this.madeInformers = this.make.informers(this.client());
      this.madeInformers.start();
    }
    return this.madeInformers;
  }

  /** Stops what this entry made (the in-cluster entry made nothing: it borrows the controller's). */
  async close(): Promise<void> {
    if (this.inCluster) return;
    const informers = this.madeInformers;
    const client = this.madeClient;
    this.madeInformers = undefined;
    this.madeClient = undefined;
    await informers?.stop();
    client?.close();
  }
}

export class ClusterRegistry {
  private readonly namespace: string;
  /** Time between connection checks: how long an app on a failed cluster waits before it looks again. */
  readonly checkIntervalMs: number;
  private readonly checkTimeoutMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly secrets: SharedInformer<V1Secret>;
  private readonly inCluster: Entry;
  /** By server. */
  private byServer = new Map<string, Entry>();
  private byName = new Map<string, Entry>();
  private invalid: ClusterProblem[] = [];
  /** Last problem reported per Secret, so each is reported once, not on every event. */
  private readonly reported = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private readonly connectionListeners = new Set<(cluster: Cluster) => void>();
  private unsubscribe: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private rebuildQueued = false;
  private stopped = false;
  private readonly connected: Gauge | undefined;

  constructor(private readonly options: ClusterRegistryOptions) {
    this.namespace = options.namespace;
    this.checkIntervalMs = options.checkIntervalMs ?? 30_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? pino({ level: "silent" })).child({ component: "clusters" });
    this.secrets = options.informers.forResource<V1Secret>(
      { group: "", version: "v1", resource: "secrets" },
      { namespace: this.namespace, labelSelector: CLUSTER_SECRET_SELECTOR },
    );
    this.inCluster = new Entry(
      IN_CLUSTER_NAME,
      IN_CLUSTER_SERVER,
      "in-cluster",
      { client: () => options.client, informers: () => options.informers },
      true,
    );
    this.byServer.set(IN_CLUSTER_SERVER, this.inCluster);
    this.byName.set(IN_CLUSTER_NAME, this.inCluster);
    const registry = options.registry;
    this.connected = registry
      ? registerOnce(
          registry,
          "slipway_cluster_connected",
          () =>
            new Gauge({
              name: "slipway_cluster_connected",
              help: "1 when the cluster's last connection check succeeded, 0 when it failed",
              labelNames: ["cluster"],
              registers: [registry],
            }),
        )
      : undefined;
  }

  /** Watches the cluster Secrets and starts the periodic connection checks. */
  start(): void {
    if (this.unsubscribe || this.stopped) return;
    const changed = () => this.queueRebuild();
    this.unsubscribe = this.secrets.addHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    this.secrets.start();
    void this.checkAll();
    this.scheduleChecks();
  }

  /** Resolves true once the cluster Secrets have been listed (and the registry built from them). */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const synced = await this.secrets.waitForSync(signal);
    if (synced) this.rebuild();
    return synced;
  }

  /** The cluster with this server URL or name. Never waits on a cluster. */
  lookup(ref: ClusterRef): Cluster | undefined {
    if (ref.server !== undefined) return this.byServer.get(normalizeServer(ref.server));
    return this.byName.get(ref.name);
  }

  /** Every cluster, by name. */
  list(): Cluster[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Cluster Secrets that could not be used, and why. */
  problems(): ClusterProblem[] {
    return [...this.invalid];
  }

  /** Calls `listener` whenever the set of clusters (or their names or labels) changes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` when a cluster's connection status changes (e.g. `Failed` → `Successful`). */
  onConnectionChange(listener: (cluster: Cluster) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** Checks every cluster now (or the named one) and resolves when those checks are done. */
  async checkNow(name?: string): Promise<void> {
    if (name === undefined) return this.checkAll();
    const entry = this.byName.get(name);
    if (entry) await this.check(entry);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const entries = [...this.byServer.values()];
    await Promise.all(entries.map((e) => e.checking));
    await Promise.all(entries.map((e) => e.close()));
  }

  private queueRebuild(): void {
    // One rebuild per burst of events (the initial list delivers every Secret as an add).
    if (this.rebuildQueued) return;
    this.rebuildQueued = true;
    queueMicrotask(() => {
      this.rebuildQueued = false;
      if (!this.stopped) this.rebuild();
    });
  }

  /** Recomputes the clusters from the cached Secrets; keeps clients whose server and config stayed. */
  private rebuild(): void {
    const secrets = [...this.secrets.list()].sort(
      (a, b) =>
        (a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0) -
          (b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0) ||
        objectKey(a).localeCompare(objectKey(b)),
    );
    const byServer = new Map<string, Entry>();
    const byName = new Map<string, Entry>();
    /** Secret key → why it is not used. */
    const problems = new Map<string, string>();
    const previous = this.byServer;
    let inClusterSecret: V1Secret | undefined;
    let inClusterName = IN_CLUSTER_NAME;

    for (const secret of secrets) {
      const key = objectKey(secret);
      let spec: ClusterSpec;
      try {
        spec = parseClusterSecret(secret);
      } catch (error) {
        problems.set(key, (error as Error).message);
        continue;
      }
      const holder =
        spec.server === IN_CLUSTER_SERVER
          ? inClusterSecret && objectKey(inClusterSecret)
          : byServer.get(spec.server)?.secret;
      if (holder) {
        problems.set(key, `server ${spec.server} is already registered by ${holder}`);
        continue;
      }
      if (spec.server === IN_CLUSTER_SERVER) {
        inClusterSecret = secret;
        inClusterName = spec.name;
        continue;
      }
      const fingerprint = JSON.stringify([spec.server, spec.config]);
      const old = previous.get(spec.server);
      const entry =
        old && !old.inCluster && old.fingerprint === fingerprint ? old : this.newEntry(spec, fingerprint);
      entry.name = spec.name;
      entry.secret = key;
      entry.labels = { ...(secret.metadata?.labels ?? {}) };
      entry.annotations = clusterAnnotations(secret);
      byServer.set(spec.server, entry);
    }

    this.inCluster.name = inClusterName;
    this.inCluster.secret = inClusterSecret ? objectKey(inClusterSecret) : undefined;
    this.inCluster.labels = { ...(inClusterSecret?.metadata?.labels ?? {}) };
    this.inCluster.annotations = clusterAnnotations(inClusterSecret);
    byServer.set(IN_CLUSTER_SERVER, this.inCluster);
    // Names: the in-cluster entry first, then Secrets in age order; a later duplicate is refused.
    byName.set(this.inCluster.name, this.inCluster);
    for (const [server, entry] of [...byServer]) {
      if (entry.inCluster) continue;
      const holder = byName.get(entry.name);
      if (holder) {
        byServer.delete(server);
        problems.set(
          entry.secret ?? "",
          `cluster name "${entry.name}" is already used by ${holder.secret ?? "the in-cluster entry"}`,
        );
        continue;
      }
      byName.set(entry.name, entry);
    }
    for (const secret of secrets) this.report(secret, problems.get(objectKey(secret)));

    const before = this.describe();
    const gone = [...previous.values()].filter((e) => byServer.get(e.server) !== e);
    this.byServer = byServer;
    this.byName = byName;
    this.invalid = [...problems].map(([secret, message]) => ({ secret, message }));
    for (const key of [...this.reported.keys()]) if (!this.secrets.getByKey(key)) this.reported.delete(key);

    for (const entry of gone) {
      this.log.info(
        { cluster: entry.name, server: entry.server },
        "cluster removed or changed; closing its client",
      );
      this.connected?.remove({ cluster: entry.name });
      void entry
        .close()
        .catch((error: unknown) => this.log.warn({ err: error }, "closing a cluster client failed"));
    }
    for (const entry of byServer.values()) {
      if (!previous.has(entry.server) || previous.get(entry.server) !== entry) void this.check(entry);
    }
    if (this.describe() !== before) for (const listener of this.listeners) listener();
  }

  private newEntry(spec: ClusterSpec, fingerprint: string): Entry {
    const { clientOptions, informerSettings, registry, log } = this.options;
    return new Entry(spec.name, spec.server, fingerprint, {
      client: () =>
        new ClusterClient(kubeConfigFor(spec), {
          ...clientOptions,
          name: spec.name,
          clock: this.clock,
          ...(registry ? { registry } : {}),
        }),
      informers: (client) =>
        new InformerFactory(client, {
          ...informerSettings,
          cluster: spec.name,
          clock: this.clock,
          ...(registry ? { registry } : {}),
          ...(log ? { log } : {}),
        }),
    });
  }

  /** Logs and records a Warning Event once per new problem of a Secret; forgets fixed ones. */
  private report(secret: V1Secret, message: string | undefined): void {
    const key = objectKey(secret);
    if (message === undefined) {
      this.reported.delete(key);
      return;
    }
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    this.log.warn({ secret: key, problem: message }, "ignoring an unusable cluster Secret");
    this.options.recorder?.recordEvent(
      { apiVersion: "v1", kind: "Secret", ...secret },
      "Warning",
      "InvalidClusterSecret",
      `cluster Secret ignored: ${message}`,
    );
  }

  /** Names, servers and labels: what listeners care about. */
  private describe(): string {
    return JSON.stringify(this.list().map((c) => [c.name, c.server, c.labels]));
  }

  private scheduleChecks(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(() => {
      void this.checkAll().finally(() => this.scheduleChecks());
    }, this.checkIntervalMs);
  }

  private async checkAll(): Promise<void> {
    await Promise.all([...this.byServer.values()].map((entry) => this.check(entry)));
  }

  /** One check per cluster at a time; a check already running is joined, not repeated. */
  private check(entry: Entry): Promise<void> {
    if (this.stopped) return Promise.resolve();
    entry.checking ??= (async () => {
      try {
        const state = await checkConnection(entry.client(), {
          timeoutMs: this.checkTimeoutMs,
          now: () => this.clock.now(),
        });
        if (
          state.status !== entry.connectionState.status ||
          state.message !== entry.connectionState.message
        ) {
          const log = state.status === "Failed" ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
          log(
            { cluster: entry.name, server: entry.server, state: state.status, reason: state.message },
            "cluster connection",
          );
        }
        const changed = state.status !== entry.connectionState.status;
        entry.connectionState = state;
        if (this.byServer.get(entry.server) === entry) {
          this.connected?.set({ cluster: entry.name }, state.status === "Successful" ? 1 : 0);
          if (changed) for (const listener of this.connectionListeners) listener(entry);
        }
      } finally {
        entry.checking = undefined;
      }
    })();
    return entry.checking;
  }
}

/**
 * A cluster Secret's annotations as generators see them, without `kubectl apply`'s
 * last-applied-configuration: that copy of the whole Secret holds the cluster's credentials, which
 * must not become template parameters (and would make every generated parameter set kilobytes long).
 */
function clusterAnnotations(secret: V1Secret | undefined): Record<string, string> {
  const { [LAST_APPLIED]: _credentials, ...rest } = secret?.metadata?.annotations ?? {};
  return rest;
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
