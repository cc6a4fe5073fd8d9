/**
 * Where an Application's resources live: its `spec.destination` resolved to a cluster, with that
 * cluster's client and live-state cache. The controller's own cluster (`https://kubernetes.default.svc`,
 * `in-cluster`, or its API server's own URL) uses the controller's client and informers; any other
 * destination must name a cluster registered by a Secret (controller/clusters), whose client and
 * informers the registry makes on first use and closes when the Secret goes.
 *
 * Resolving never waits on a cluster: a cluster whose last connection check failed is reported at
 * once (`Unavailable`), so its apps cost no request and hold no worker until a check says it
 * answers again; then `onClusterBack` wakes them.
 */
import type { Logger } from "pino";
import type { ApplicationDestination } from "../../api/v1alpha1/application.js";
import type { Cluster, ClusterRegistry } from "../clusters/cluster-registry.js";
import { normalizeServer } from "../clusters/cluster-secret.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import type { InformerFactory } from "../kube/informer-factory.js";
import { LiveStateCache } from "./live-state.js";
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from "./project.js";

/** A destination cluster, usable for this reconcile (look it up again for the next). */
export interface Target {
  name: string;
  server: string;
  inCluster: boolean;
  client: ClusterClient;
  live: LiveStateCache;
}

export type TargetResult =
  | { ok: true; target: Target }
  /** `NotRegistered`: no such cluster; `Invalid`: the destination names none; `Unavailable`: its check failed. */
  | {
      ok: false;
      reason: "NotRegistered" | "Invalid" | "Unavailable";
      message: string;
      retryAfterMs?: number;
    };

/** Where a destination points, before any client is made: what the queue groups keys by. */
export type DestinationRef =
  | { kind: "in-cluster" }
  | { kind: "cluster"; cluster: Cluster }
  | { kind: "unresolved"; reason: "NotRegistered" | "Invalid"; message: string };

export interface ClusterTargetsOptions {
  /** The controller's own client and informers: the in-cluster destination. */
  client: ClusterClient;
  informers: InformerFactory;
  /** Registered clusters; without it only the in-cluster destination resolves. */
  clusters?: ClusterRegistry;
  /** The controller's namespace (named in messages: where cluster Secrets go). */
  namespace: string;
  /** Names of apps whose tracked (or desired) objects changed in some cluster. */
  onChange: (apps: readonly string[]) => void;
  log?: Logger;
  /** Longest wait for a remote cluster's informer to list once. Default 10 s. */
  remoteSyncTimeoutMs?: number;
}

/** The queue group of an app: `cluster/<name>/` per destination cluster, so limits apply per cluster. */
export function clusterGroup(ref: DestinationRef, inClusterName = IN_CLUSTER_NAME): string | undefined {
  const name = destinationName(ref, inClusterName);
  if (name === undefined) return undefined;
  // A `/` in a name would end the group early: keep one path segment per cluster.
  return `cluster/${encodeURIComponent(name)}/`;
}

/** The registered name of the cluster a destination resolved to (undefined when it did not resolve). */
export function destinationName(ref: DestinationRef, inClusterName = IN_CLUSTER_NAME): string | undefined {
  if (ref.kind === "unresolved") return undefined;
  return ref.kind === "in-cluster" ? inClusterName : ref.cluster.name;
}

export class ClusterTargets {
  readonly inCluster: Target;
  /** Per registered cluster (by server): the cluster entry the cache was made for, and the cache. */
  private readonly remote = new Map<string, { cluster: Cluster; live: LiveStateCache }>();
  private readonly unsubscribes: (() => void)[] = [];

  constructor(private readonly options: ClusterTargetsOptions) {
    this.inCluster = {
      name: IN_CLUSTER_NAME,
      server: IN_CLUSTER_SERVER,
      inCluster: true,
      client: options.client,
      live: new LiveStateCache(options.informers, {
        onChange: options.onChange,
        ...(options.log ? { log: options.log } : {}),
      }),
    };
    const clusters = options.clusters;
    if (clusters) {
      // A removed cluster's informers are stopped by the registry: detach from them.
      this.unsubscribes.push(clusters.onChange(() => this.dropStale()));
    }
  }

  get clusters(): ClusterRegistry | undefined {
    return this.options.clusters;
  }

  /** Where `destination` points (a map read). */
  locate(destination: ApplicationDestination | undefined): DestinationRef {
    const server = destination?.server ? normalizeServer(destination.server) : undefined;
    const name = destination?.name;
    const clusters = this.options.clusters;
    if (server) {
      const ref: DestinationRef =
        server === IN_CLUSTER_SERVER || server === this.options.client.server
          ? { kind: "in-cluster" }
          : this.byServer(server);
      // Both spellings given: they must name the same cluster (Argo refuses both outright).
      if (name && ref.kind !== "unresolved") {
        const byName = this.locate({ name });
        const same =
          (byName.kind === "in-cluster" && ref.kind === "in-cluster") ||
          (byName.kind === "cluster" && ref.kind === "cluster" && byName.cluster === ref.cluster);
        if (!same)
          return {
            kind: "unresolved",
            reason: "Invalid",
            message: `spec.destination names server ${server} and cluster "${name}", which are not the same cluster; give one of them`,
          };
      }
      return ref;
    }
    if (name) {
      const cluster = clusters?.lookup({ name });
      if (cluster) return cluster.inCluster ? { kind: "in-cluster" } : { kind: "cluster", cluster };
      if (name === IN_CLUSTER_NAME) return { kind: "in-cluster" };
      return { kind: "unresolved", reason: "NotRegistered", message: this.notRegistered(`name "${name}"`) };
    }
    return { kind: "unresolved", reason: "Invalid", message: "spec.destination needs a server or a name" };
  }

  private byServer(server: string): DestinationRef {
    const cluster = this.options.clusters?.lookup({ server });
    if (cluster) return cluster.inCluster ? { kind: "in-cluster" } : { kind: "cluster", cluster };
    return { kind: "unresolved", reason: "NotRegistered", message: this.notRegistered(`server ${server}`) };
  }

  /** The destination's cluster with its client and live state, or why it cannot be used now. */
  resolve(destination: ApplicationDestination | undefined): TargetResult {
    const ref = this.locate(destination);
    if (ref.kind === "unresolved") return { ok: false, reason: ref.reason, message: ref.message };
    if (ref.kind === "in-cluster") {
      const name = this.options.clusters?.lookup({ server: IN_CLUSTER_SERVER })?.name ?? IN_CLUSTER_NAME;
      return { ok: true, target: { ...this.inCluster, name } };
    }
    const cluster = ref.cluster;
    if (cluster.connectionState.status === "Unknown") {
      // Its first check (bounded) is running; a cluster that does not answer must not hold this
      // worker for a request timeout. The check's result wakes the app (onConnectionChange).
      return {
        ok: false,
        reason: "Unavailable",
        message: `cluster "${cluster.name}" (${cluster.server}) has not answered its first connection check yet`,
        retryAfterMs: 5_000,
      };
    }
    if (cluster.connectionState.status === "Failed") {
      return {
        ok: false,
        reason: "Unavailable",
        message: `cluster "${cluster.name}" (${cluster.server}) is unreachable: ${cluster.connectionState.message ?? "connection check failed"}`,
        retryAfterMs: this.options.clusters?.checkIntervalMs ?? 30_000,
      };
    }
    let held = this.remote.get(cluster.server);
    if (held && held.cluster !== cluster) {
      // Same server, new credentials: the registry made a new entry (and closed the old one).
      held.live.close();
      held = undefined;
    }
    if (!held) {
      held = {
        cluster,
        live: new LiveStateCache(cluster.informers(), {
          onChange: this.options.onChange,
          syncTimeoutMs: this.options.remoteSyncTimeoutMs ?? 10_000,
          ...(this.options.log ? { log: this.options.log.child({ cluster: cluster.name }) } : {}),
        }),
      };
      this.remote.set(cluster.server, held);
    }
    return {
      ok: true,
      target: {
        name: cluster.name,
        server: cluster.server,
        inCluster: false,
        client: cluster.client(),
        live: held.live,
      },
    };
  }

  /**
   * A request to a remote cluster failed in a way that suggests it is gone (refused, timed out):
   * check it now rather than at the next interval, so its apps turn Unknown promptly.
   */
  suspect(target: Target, error: unknown): void {
    if (target.inCluster || !this.options.clusters || !looksUnreachable(error)) return;
    void this.options.clusters.checkNow(target.name).catch(() => undefined);
  }

  /** Forgets which resources `app` renders, in every cluster. */
  forgetDesired(app: string): void {
    this.inCluster.live.forgetDesired(app);
    for (const { live } of this.remote.values()) live.forgetDesired(app);
  }

  close(): void {
    for (const u of this.unsubscribes.splice(0)) u();
    this.inCluster.live.close();
    for (const { live } of this.remote.values()) live.close();
    this.remote.clear();
  }

  private dropStale(): void {
    const clusters = this.options.clusters;
    for (const [server, held] of this.remote) {
      if (clusters?.lookup({ server }) === held.cluster) continue;
      held.live.close();
      this.remote.delete(server);
    }
  }

  private notRegistered(what: string): string {
    return `cluster with ${what} has not been configured: no Secret labelled slipway.dev/secret-type=cluster in ${this.options.namespace} names it (add it with "slipway cluster add")`;
  }
}

/** Errors of a cluster that does not answer (as opposed to one that answered with an error). */
function looksUnreachable(error: unknown): boolean {
  const e = error as
    | { name?: string; code?: string; message?: string; cause?: { code?: string } }
    | undefined;
  const code = e?.code ?? e?.cause?.code;
  if (code && /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)$/.test(code))
    return true;
  if (e?.name === "TimeoutError") return true;
  return /ECONNREFUSED|socket hang up|timed out|not available yet|fetch failed/i.test(e?.message ?? "");
}
