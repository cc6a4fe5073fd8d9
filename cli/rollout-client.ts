/**
 * Cluster access for `slipway rollout`: reading a Rollout with everything `get` draws (its
 * ReplicaSets, pods, AnalysisRuns, Jobs and routing objects), writing a command's effect with
 * the resourceVersion it was decided on, recording the command as an Event, and watch-backed
 * caches for `get --watch` and `status`.
 */

import type { AnalysisRun } from "../api/v1alpha1/analysis.js";
import { GROUP, VERSION } from "../api/v1alpha1/common.js";
import type { Rollout } from "../api/v1alpha1/rollout.js";
import { ClusterClient } from "../controller/kube/cluster-client.js";
import { isConflict } from "../controller/kube/errors.js";
import { SharedInformer } from "../controller/kube/informer.js";
import { resourcePath } from "../controller/kube/resource.js";
import {
  CRDS_MISSING,
  describeApiError,
  type GlobalOptions,
  isObjectNotFound,
  isTypeNotFound,
  LazyCluster,
} from "./kube-client.js";
import { CommandRefused, type Effect, rfc3339 } from "./rollout-commands.js";
import {
  type JobJson,
  ownedAnalysisRuns,
  ownedReplicaSets,
  POD_HASH_LABEL,
  type PodJson,
  podHashOf,
  type ReplicaSetJson,
  type RolloutSnapshot,
  type RouteObjectJson,
  type RouterReading,
  routerRefs,
} from "./rollout-state.js";

const ROLLOUTS = { group: GROUP, version: VERSION, resource: "rollouts" };
const ANALYSIS_RUNS = { group: GROUP, version: VERSION, resource: "analysisruns" };
const REPLICA_SETS = { group: "apps", version: "v1", resource: "replicasets" };
const PODS = { group: "", version: "v1", resource: "pods" };
const JOBS = { group: "batch", version: "v1", resource: "jobs" };

interface ListBody<T> {
  items?: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** The Rollout list as the API returns it (for `-o json|yaml`). */
export interface RolloutList {
  apiVersion: string;
  kind: string;
  metadata?: Record<string, unknown>;
  items: Rollout[];
}

export class RolloutClient {
  readonly cluster: LazyCluster;
  private clientValue: ClusterClient | undefined;

  constructor(readonly globals: GlobalOptions) {
    this.cluster = new LazyCluster(globals);
  }

  get client(): ClusterClient {
    this.clientValue ??= new ClusterClient(this.cluster.config(), { name: "cli" });
    return this.clientValue;
  }

  namespace(): string {
    return this.cluster.namespace();
  }

  close(): void {
    this.clientValue?.close();
  }

  private server(): string | undefined {
    return this.clientValue?.server ?? this.cluster.server();
  }

  /** An API failure as one line: CRDs missing, rollout not found, or the server's message. */
  failure(error: unknown, what: string, name?: string): Error {
    if (error instanceof CommandRefused) return error;
    if (isTypeNotFound(error)) return new Error(CRDS_MISSING);
    if (name !== undefined && isObjectNotFound(error)) return this.notFound(name);
    return new Error(describeApiError(error, what, this.server()));
  }

  notFound(name: string): Error {
    const ns = this.namespace();
    return new Error(
      `rollout "${name}" not found in namespace "${ns}" (list them with "slipway rollout list -n ${ns}")`,
    );
  }

  rolloutPath(name?: string, subresource?: string, namespace = this.namespace()): string {
    return resourcePath(ROLLOUTS, namespace, name, subresource);
  }

  async getRollout(name: string): Promise<Rollout> {
    try {
      return await this.client.request<Rollout>("GET", this.rolloutPath(name));
    } catch (error) {
      throw this.failure(error, `read rollout "${name}"`, name);
    }
  }

  async listRollouts(allNamespaces: boolean): Promise<RolloutList> {
    const path = allNamespaces ? resourcePath(ROLLOUTS) : this.rolloutPath();
    try {
      const list = await this.client.request<RolloutList>("GET", path);
      return { ...list, items: list.items ?? [] };
    } catch (error) {
      throw this.failure(error, "list rollouts");
    }
  }

  private async list<T>(resource: typeof PODS, namespace: string, labelSelector?: string): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.request<ListBody<T>>("GET", resourcePath(resource, namespace), {
        query: { labelSelector, limit: 500, continue: token },
      });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  /** The routing objects named by the Rollout, each read or with the reason it could not be. */
  async readRouters(rollout: Rollout): Promise<RouterReading[]> {
    return Promise.all(
      routerRefs(rollout).map(async (ref): Promise<RouterReading> => {
        const path = resourcePath(
          { group: ref.group, version: ref.version, resource: ref.plural },
          ref.namespace,
          ref.name,
        );
        try {
          return { ref, object: await this.client.request<RouteObjectJson>("GET", path) };
        } catch (error) {
          if (isObjectNotFound(error)) return { ref, error: "not found" };
          if (isTypeNotFound(error))
            return { ref, error: `the cluster does not serve ${ref.plural}.${ref.group}` };
          return { ref, error: describeApiError(error, `read ${ref.kind} ${ref.name}`, this.server()) };
        }
      }),
    );
  }

  /** Everything `rollout get` draws, read at once. */
  async snapshot(name: string): Promise<RolloutSnapshot> {
    const rollout = await this.getRollout(name);
    const namespace = rollout.metadata.namespace ?? this.namespace();
    try {
      const [allSets, runs, routes] = await Promise.all([
        this.list<ReplicaSetJson>(REPLICA_SETS, namespace, POD_HASH_LABEL),
        this.list<AnalysisRun>(ANALYSIS_RUNS, namespace),
        this.readRouters(rollout),
      ]);
      const replicaSets = ownedReplicaSets(rollout, allSets);
      const analysisRuns = ownedAnalysisRuns(rollout, runs);
      const hashes = [...new Set(replicaSets.map((rs) => podHashOf(rs.metadata)).filter((h) => h))];
      const [pods, jobs] = await Promise.all([
        hashes.length > 0
          ? this.list<PodJson>(PODS, namespace, `${POD_HASH_LABEL} in (${hashes.join(",")})`)
          : Promise.resolve([]),
        analysisRuns.some(usesJobs) ? this.list<JobJson>(JOBS, namespace) : Promise.resolve([]),
      ]);
      return { rollout, replicaSets, pods, analysisRuns, jobs, routes };
    } catch (error) {
      throw this.failure(error, `read the objects of rollout "${name}"`);
    }
  }

  /** The owned ReplicaSets (for `undo`). */
  async replicaSets(rollout: Rollout): Promise<ReplicaSetJson[]> {
    const namespace = rollout.metadata.namespace ?? this.namespace();
    try {
      return ownedReplicaSets(
        rollout,
        await this.list<ReplicaSetJson>(REPLICA_SETS, namespace, POD_HASH_LABEL),
      );
    } catch (error) {
      throw this.failure(error, `list the ReplicaSets of rollout "${rollout.metadata.name}"`);
    }
  }

  /**
   * Reads the rollout, plans with `plan`, and writes the effect with the resourceVersion it was
   * planned on; on a conflict (someone else wrote in between) it reads and plans again.
   */
  async apply(
    name: string,
    what: string,
    plan: (rollout: Rollout) => Effect | Promise<Effect>,
  ): Promise<{ effect: Effect; rollout: Rollout }> {
    for (let attempt = 0; ; attempt++) {
      const rollout = await this.getRollout(name);
      const effect = await plan(rollout);
      if (effect.noop) return { effect, rollout };
      try {
        let current = rollout;
        const rv = () => ({ resourceVersion: current.metadata.resourceVersion });
        if (effect.status) {
          current = await this.client.request<Rollout>(
            "PATCH",
            this.rolloutPath(name, "status", rollout.metadata.namespace),
            {
              body: { metadata: rv(), status: effect.status },
              contentType: "application/merge-patch+json",
            },
          );
        }
        if (effect.spec) {
          current = await this.client.request<Rollout>(
            "PATCH",
            this.rolloutPath(name, undefined, rollout.metadata.namespace),
            {
              body: { metadata: rv(), spec: effect.spec },
              contentType: "application/merge-patch+json",
            },
          );
        }
        if (effect.jsonPatch) {
          current = await this.client.request<Rollout>(
            "PATCH",
            this.rolloutPath(name, undefined, rollout.metadata.namespace),
            {
              body: effect.jsonPatch,
              contentType: "application/json-patch+json",
            },
          );
        }
        await this.recordEvent(current, effect.event.reason, effect.event.message);
        return { effect, rollout: current };
      } catch (error) {
        // A failed JSON patch `test` of the resourceVersion is a conflict too (422 or 409).
        const testFailed = effect.jsonPatch && (error as { code?: number }).code === 422;
        if ((isConflict(error) || testFailed) && attempt < 5) continue;
        throw this.failure(error, `${what} rollout "${name}"`, name);
      }
    }
  }

  /**
   * Records the command on the Rollout as a Normal Event (source `slipway-cli`), next to the
   * controller's, so `kubectl describe` shows who asked for what. Best effort: a cluster that
   * refuses Events does not fail the command.
   */
  async recordEvent(rollout: Rollout, reason: string, message: string): Promise<void> {
    const namespace = rollout.metadata.namespace ?? this.namespace();
    const name = rollout.metadata.name ?? "";
    const now = new Date();
    const time = rfc3339(now);
    try {
      await this.client.request("POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: {
            name: `${name}.${(now.getTime() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`,
            namespace,
          },
          involvedObject: {
            apiVersion: rollout.apiVersion,
            kind: "Rollout",
            name,
            namespace,
            uid: rollout.metadata.uid,
            resourceVersion: rollout.metadata.resourceVersion,
          },
          reason,
          message,
          type: "Normal",
          source: { component: "slipway-cli" },
          reportingComponent: "slipway-cli",
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (error) {
      if (this.globals.debug) process.stderr.write(`warning: could not record an Event: ${String(error)}\n`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Watching

  /**
   * Watch-backed caches of one rollout and its objects; `onChange` is called after any change.
   * Routers are watched by name as the Rollout names them (followed when its spec changes).
   */
  watchRollout(name: string, onChange: () => void, options: { rolloutOnly?: boolean } = {}): RolloutWatch {
    return new RolloutWatch(this.client, this.namespace(), name, onChange, options.rolloutOnly ?? false);
  }
}

const usesJobs = (run: AnalysisRun): boolean => (run.spec?.metrics ?? []).some((m) => m.provider?.job);

type Informer<T> = SharedInformer<T & { metadata?: { name?: string } }>;

/** The caches behind `get --watch` and `status`. */
export class RolloutWatch {
  private readonly rollouts: Informer<Rollout>;
  private readonly replicaSets: Informer<ReplicaSetJson> | undefined;
  private readonly pods: Informer<PodJson> | undefined;
  private readonly runs: Informer<AnalysisRun> | undefined;
  private jobs: Informer<JobJson> | undefined;
  private readonly routers = new Map<string, Informer<RouteObjectJson>>();
  private readonly all: Informer<never>[] = [];

  constructor(
    private readonly client: ClusterClient,
    private readonly namespace: string,
    private readonly name: string,
    private readonly onChange: () => void,
    rolloutOnly: boolean,
  ) {
    this.rollouts = this.informer(ROLLOUTS, { fieldSelector: `metadata.name=${name}` });
    if (rolloutOnly) return;
    this.replicaSets = this.informer(REPLICA_SETS, { labelSelector: POD_HASH_LABEL });
    this.pods = this.informer(PODS, { labelSelector: POD_HASH_LABEL });
    this.runs = this.informer(ANALYSIS_RUNS, {});
  }

  private informer<T>(
    resource: { group: string; version: string; resource: string },
    scope: { labelSelector?: string; fieldSelector?: string },
    namespace = this.namespace,
  ): Informer<T> {
    const informer = new SharedInformer<T & { metadata?: { name?: string } }>(this.client, resource, {
      namespace,
      ...scope,
    });
    const changed = () => this.onChange();
    informer.addHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    informer.start();
    this.all.push(informer as unknown as Informer<never>);
    return informer;
  }

  /** Resolves once the rollout, its sets, pods and runs are listed (false when stopped first). */
  async synced(): Promise<boolean> {
    if (!(await Promise.all(this.all.map((i) => i.waitForSync()))).every(Boolean)) return false;
    // The routers (and Jobs) to watch are known once the rollout and its runs are read.
    this.snapshot();
    return (await Promise.all(this.all.map((i) => i.waitForSync()))).every(Boolean);
  }

  /** True once the rollout itself has been listed (before that, "no rollout" means "not yet"). */
  rolloutSynced(): boolean {
    return this.rollouts.hasSynced();
  }

  rollout(): Rollout | undefined {
    return this.rollouts.get(this.namespace, this.name);
  }

  /** The objects as cached now, with routers and Jobs watched from now on when newly needed. */
  snapshot(): RolloutSnapshot | undefined {
    const rollout = this.rollout();
    if (!rollout) return undefined;
    const replicaSets = ownedReplicaSets(rollout, this.replicaSets?.list(this.namespace) ?? []);
    const analysisRuns = ownedAnalysisRuns(rollout, this.runs?.list(this.namespace) ?? []);
    if (!this.jobs && analysisRuns.some(usesJobs)) this.jobs = this.informer(JOBS, {});
    const routes: RouterReading[] = routerRefs(rollout).map((ref) => {
      const key = `${ref.group}/${ref.plural}/${ref.namespace}/${ref.name}`;
      let informer = this.routers.get(key);
      if (!informer) {
        informer = this.informer<RouteObjectJson>(
          { group: ref.group, version: ref.version, resource: ref.plural },
          { fieldSelector: `metadata.name=${ref.name}` },
          ref.namespace,
        );
        this.routers.set(key, informer);
      }
      const object = informer.get(ref.namespace, ref.name);
      return object ? { ref, object } : { ref, error: informer.hasSynced() ? "not found" : "not read yet" };
    });
    return {
      rollout,
      replicaSets,
      pods: this.pods?.list(this.namespace) ?? [],
      analysisRuns,
      jobs: this.jobs?.list(this.namespace) ?? [],
      routes,
    };
  }

  /** A key that changes whenever any watched object does (for printing only on change). */
  version(): string {
    return this.all
      .map((i) =>
        i
          .list()
          .map(
            (o) =>
              `${(o as { metadata?: { name?: string; resourceVersion?: string } }).metadata?.name}@${(o as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion}`,
          )
          .sort()
          .join(","),
      )
      .join("|");
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }
}
