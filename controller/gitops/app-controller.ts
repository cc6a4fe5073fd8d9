/**
 * `createApplicationController`: the Application reconciler wired to its informers, work queue,
 * Git cache and webhook — what `slipway controller` starts (and tests start in-process).
 *
 *   const apps = createApplicationController({ client, informers, repoCacheDir, registry, log, recorder });
 *   http.setWebhookHandler(apps.webhookHandler);
 *   informers.start();
 *   await apps.start();   // waits for the caches, then runs workers
 *   ...
 *   await apps.stop();
 *
 * Inputs come only from informers: Applications and AppProjects in the controller namespace,
 * Secrets there (repository credentials, `slipway-secret` for webhook secrets), and the live
 * objects of every kind an app renders or recorded (live-state.ts), in the app's destination
 * cluster: the controller's own, or one registered in `clusters` (cluster-targets.ts).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import type { Registry } from "prom-client";
import type { Application } from "../../api/v1alpha1/application.js";
import type { AppProject } from "../../api/v1alpha1/appproject.js";
import { API_VERSION } from "../../api/v1alpha1/common.js";
import { DEFAULT_NAMESPACE } from "../../api/v1alpha1/crds.js";
import type { ClusterRegistry } from "../clusters/cluster-registry.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { InformerFactory } from "../kube/informer-factory.js";
import { keyOf, objectKey } from "../kube/resource.js";
import { type Clock, systemClock } from "../queue/clock.js";
import type { BackoffOptions } from "../queue/rate-limiter.js";
import type { WorkQueue } from "../queue/work-queue.js";
import { Controller } from "../runtime/controller.js";
import type { WebhookHandler } from "../server/http-server.js";
import { type AppDeps, type AppSettings, DEFAULT_APP_SETTINGS } from "./app-deps.js";
import { ApplicationReconciler, memoStore } from "./app-reconciler.js";
import { AppWriter } from "./app-writer.js";
import { ClusterTargets, clusterGroup, destinationName } from "./cluster-targets.js";
import { appMetrics, noAppMetrics } from "./metrics.js";
import { objectCache } from "./object-cache.js";
import { DEFAULT_OPERATION_SETTINGS } from "./operation.js";
import { IN_CLUSTER_SERVER } from "./project.js";
import type { ToolPaths } from "./render/exec.js";
import { RenderCache } from "./render-cache.js";
import { RepositoryCredentials, type SecretObject, secretValue } from "./repo-credentials.js";
import { RepoCache } from "./source/repo-cache.js";
import { SECRET_TYPE_LABEL } from "./sync/annotations.js";
import { sameRepo, WEBHOOK_SECRET_KEYS, WEBHOOK_SECRET_NAME, type WebhookSecrets } from "./webhook.js";
import { createWebhookHandler } from "./webhook-handler.js";

export interface ApplicationControllerOptions {
  client: ClusterClient;
  /** The process's shared informer factory (started by the caller). */
  informers: InformerFactory;
  /** Where Applications, AppProjects and slipway's Secrets live. Default `slipway-system`. */
  namespace?: string;
  /**
   * Registered clusters (shared with the ApplicationSet controller; started and stopped by the
   * caller). Without it only the controller's own cluster is a valid destination.
   */
  clusters?: ClusterRegistry;
  /** A Git cache to use; give `credentials` too, built into it as `credentialsFor: credentials.provider`. */
  repoCache?: RepoCache;
  credentials?: RepositoryCredentials;
  /** Without `repoCache`: where to create one (credentials from repository Secrets wired in). */
  repoCacheDir?: string;
  clock?: Clock;
  registry?: Registry;
  log?: Logger;
  recorder?: EventRecorder;
  /** Apps reconciled at once (never one app twice). Default 10. */
  concurrency?: number;
  /** Periodic refresh per app (jittered); 0 disables. Default 180 s. Git refs are re-checked as often. */
  resyncMs?: number;
  resyncJitter?: number;
  /** Render tool locations (`null` = not installed). */
  tools?: ToolPaths;
  operationTimeoutMs?: number;
  hookTimeoutMs?: number;
  selfHealTimeoutMs?: number;
  /** Parallel requests within a sync wave. Default 32. */
  applyConcurrency?: number;
  /** Work queue (default: an in-memory queue) and its backoff. */
  queue?: WorkQueue;
  backoff?: BackoffOptions;
  random?: () => number;
}

export interface ApplicationController {
  readonly name: "applications";
  readonly controller: Controller;
  readonly reconciler: ApplicationReconciler;
  /** For `ControllerHttpServer.setWebhookHandler` (POST /api/webhook). */
  readonly webhookHandler: WebhookHandler;
  readonly repoCache: RepoCache;
  readonly renders: RenderCache;
  readonly credentials: RepositoryCredentials;
  readonly writer: AppWriter;
  /** Waits for the caches, then runs the workers. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Queues every app and resolves once each has been reconciled since the call (a forced resync). */
  resyncAll(): Promise<void>;
  /** Queues one app (`namespace/name`). */
  refresh(key: string): void;
  /**
   * The concurrency group of an app key for the work queue: `cluster/<name>/` of its destination
   * (undefined when the app or its cluster is unknown). Give it to a queue with per-cluster limits.
   */
  queueGroup(key: string): string | undefined;
  /**
   * The shard of an app key: the place of its destination cluster among the registered clusters
   * in name order (undefined when the app or its cluster is unknown). Replicas sharing a Redis
   * queue divide the shards, so each watches only its own clusters; consecutive clusters go to
   * different replicas, which spreads them evenly (Argo CD's round-robin sharding).
   */
  queueShard(key: string): number | undefined;
}

export function createApplicationController(options: ApplicationControllerOptions): ApplicationController {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const clock = options.clock ?? systemClock;
  const log = (options.log ?? pino({ name: "slipway" })).child({ component: "applications" });
  const settings: AppSettings = {
    ...DEFAULT_OPERATION_SETTINGS,
    ...DEFAULT_APP_SETTINGS,
    ...(options.resyncMs !== undefined ? { resyncMs: options.resyncMs } : {}),
    ...(options.resyncJitter !== undefined ? { resyncJitter: options.resyncJitter } : {}),
    ...(options.operationTimeoutMs !== undefined ? { operationTimeoutMs: options.operationTimeoutMs } : {}),
    ...(options.hookTimeoutMs !== undefined ? { hookTimeoutMs: options.hookTimeoutMs } : {}),
    ...(options.selfHealTimeoutMs !== undefined ? { selfHealTimeoutMs: options.selfHealTimeoutMs } : {}),
    ...(options.applyConcurrency !== undefined ? { applyConcurrency: options.applyConcurrency } : {}),
  };

  const informers = options.informers;
  const appInformer = informers.forResource({ apiVersion: API_VERSION, kind: "Application" }, { namespace });
  const projectInformer = informers.forResource(
    { apiVersion: API_VERSION, kind: "AppProject" },
    { namespace },
  );
  const apps = objectCache<Application>(appInformer);
  const projects = objectCache<AppProject>(projectInformer);
  const secrets = informers.forResource<SecretObject>({ apiVersion: "v1", kind: "Secret" }, { namespace });

  const credentials = options.credentials ?? new RepositoryCredentials();
  credentials.bind(secrets);
  let repoCache = options.repoCache;
  if (!repoCache) {
    if (!options.repoCacheDir) throw new Error("createApplicationController needs repoCache or repoCacheDir");
    repoCache = new RepoCache({
      dir: options.repoCacheDir,
      credentialsFor: credentials.provider,
      // A resync should see a moved ref: check at least as often as apps resync (jitter included).
      refCheckIntervalMs:
        settings.resyncMs > 0
          ? Math.max(1000, settings.resyncMs * (1 - settings.resyncJitter) - 1000)
          : 180_000,
      now: () => clock.now(),
    });
  }
  const metrics = options.registry ? appMetrics(options.registry) : noAppMetrics;
  const renders = new RenderCache({
    repoCache,
    renderOptions: options.tools ? { tools: options.tools } : {},
    now: () => clock.now(),
  });
  const writer = new AppWriter(options.client.dynamic, apps);
  const memos = memoStore();

  let controller: Controller | undefined;
  const enqueue = (key: string) => controller?.enqueue(key);
  const targets = new ClusterTargets({
    client: options.client,
    informers,
    ...(options.clusters ? { clusters: options.clusters } : {}),
    namespace,
    onChange: (names) => {
      for (const name of names) enqueue(keyOf(namespace, name));
    },
    log,
  });
  const appKey = (a: Application) => objectKey(a as unknown as KubernetesObject);
  const clusterWatches: (() => void)[] = [];
  if (options.clusters) {
    // Clusters added, removed or renamed: apps that name one may resolve differently now.
    clusterWatches.push(
      options.clusters.onChange(() => {
        for (const a of apps.list(namespace))
          if (targets.locate(a.spec.destination).kind !== "in-cluster") enqueue(appKey(a));
      }),
      // A cluster came back (or went): its apps look at once rather than at their next retry.
      options.clusters.onConnectionChange((cluster) => {
        for (const a of apps.list(namespace)) {
          const ref = targets.locate(a.spec.destination);
          if (ref.kind === "cluster" && ref.cluster.server === cluster.server) enqueue(appKey(a));
        }
      }),
    );
  }

  const deps: AppDeps = {
    namespace,
    client: options.client,
    apps,
    projects,
    writer,
    repoCache,
    renders,
    targets,
    ...(options.recorder ? { recorder: options.recorder } : {}),
    metrics,
    settings,
    log,
    random: options.random ?? Math.random,
    memo: memos.memo,
    forgetMemo: memos.forgetMemo,
  };
  const reconciler = new ApplicationReconciler(deps);
  const ctrl = new Controller({
    reconciler,
    name: "applications",
    concurrency: options.concurrency ?? 10,
    clock,
    log,
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });
  controller = ctrl;
  const sourceOf = (app: Application) => app.spec.source ?? app.spec.sources?.[0];
  ctrl.watch(appInformer);
  ctrl.watch(projectInformer, {
    map: (project) =>
      apps
        .list(namespace)
        .filter((a) => (a.spec.project || "default") === project.metadata?.name)
        .map((a) => objectKey(a as unknown as KubernetesObject)),
  });
  ctrl.watch(secrets, {
    filter: (event) => {
      const type = event.object.metadata?.labels?.[SECRET_TYPE_LABEL];
      return type === "repository" || type === "repo-creds";
    },
    map: (secret) => {
      const url = secretValue(secret, "url");
      if (!url) return [];
      return apps
        .list(namespace)
        .filter((a) => {
          const source = sourceOf(a);
          return source !== undefined && (sameRepo(source.repoURL, url) || source.repoURL.startsWith(url));
        })
        .map((a) => objectKey(a as unknown as KubernetesObject));
    },
  });

  const cache = repoCache;
  // New or changed credentials make the cached (failed) ref checks of their repositories stale.
  const forgetRefs = (secret: SecretObject) => {
    const type = secret.metadata?.labels?.[SECRET_TYPE_LABEL];
    if (type !== "repository" && type !== "repo-creds") return;
    const url = secretValue(secret, "url");
    if (!url) return;
    for (const app of apps.list(namespace)) {
      const source = sourceOf(app);
      if (source && (sameRepo(source.repoURL, url) || source.repoURL.startsWith(url)))
        cache.invalidate(source.repoURL);
    }
  };
  secrets.addHandler({
    onAdd: forgetRefs,
    onUpdate: (_old, secret) => forgetRefs(secret),
    onDelete: forgetRefs,
  });

  const webhookSecrets = (): WebhookSecrets => {
    const secret = secrets.get(namespace, WEBHOOK_SECRET_NAME);
    const out: WebhookSecrets = {};
    for (const [provider, key] of Object.entries(WEBHOOK_SECRET_KEYS) as [keyof WebhookSecrets, string][]) {
      const value = secretValue(secret, key);
      if (value) out[provider] = value;
    }
    return out;
  };
  const webhookHandler = createWebhookHandler({
    secrets: webhookSecrets,
    apps: () => apps.list(namespace),
    invalidate: (url) => cache.invalidate(url),
    enqueue: (app) => enqueue(keyOf(app.metadata.namespace, app.metadata.name!)),
    log,
  });

  /** Where an app key's destination resolves to, for the work queue (undefined: no such app). */
  const locateKey = (key: string) => {
    const slash = key.indexOf("/");
    const app = apps.get(key.slice(0, slash), key.slice(slash + 1));
    if (!app) return undefined;
    const inClusterName = options.clusters?.lookup({ server: IN_CLUSTER_SERVER })?.name;
    return { ref: targets.locate(app.spec.destination), inClusterName };
  };
  /** Cluster name → shard, rebuilt after the registered clusters change. */
  let shardOfCluster: Map<string, number> | undefined;
  if (options.clusters) clusterWatches.push(options.clusters.onChange(() => (shardOfCluster = undefined)));

  return {
    name: "applications",
    controller: ctrl,
    reconciler,
    webhookHandler,
    repoCache,
    renders,
    credentials,
    writer,
    start: () => ctrl.start(),
    async stop() {
      await ctrl.stop();
      for (const off of clusterWatches.splice(0)) off();
      targets.close();
    },
    refresh: (key) => enqueue(key),
    queueGroup(key) {
      const at = locateKey(key);
      return at && clusterGroup(at.ref, at.inClusterName);
    },
    queueShard(key) {
      const at = locateKey(key);
      const name = at && destinationName(at.ref, at.inClusterName);
      if (name === undefined || !options.clusters) return undefined;
      if (!shardOfCluster) {
        // The registry lists in-cluster too. Code-point order, the same on every replica.
        const names = options.clusters.list().map((c) => c.name);
        names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        shardOfCluster = new Map(names.map((n, i) => [n, i]));
      }
      return shardOfCluster.get(name);
    },
    resyncAll() {
      const since = clock.now();
      const pending = new Set(apps.list(namespace).map((a) => objectKey(a as unknown as KubernetesObject)));
      if (pending.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const off = reconciler.onReconciled((key, startedAt) => {
          if (startedAt < since) return;
          pending.delete(key);
          if (pending.size === 0) {
            off();
            resolve();
          }
        });
        for (const key of pending) enqueue(key);
      });
    },
  };
}

/**
 * The factory `slipway controller` plugs into its manager (structurally a `ControllerFactory`):
 * the manager's shared client, informers, metrics registry, event recorder, namespace, resync,
 * workers and Git cache directory.
 */
export function applicationControllerFactory(deps: {
  client: ClusterClient;
  informers: InformerFactory;
  registry: Registry;
  recorder: EventRecorder;
  log: Logger;
  namespace: string;
  appResyncMs: number;
  workers: number;
  repoCacheDir: string;
}): ApplicationController {
  return createApplicationController({
    client: deps.client,
    informers: deps.informers,
    registry: deps.registry,
    recorder: deps.recorder,
    log: deps.log,
    namespace: deps.namespace,
    resyncMs: deps.appResyncMs,
    concurrency: deps.workers,
    repoCacheDir: deps.repoCacheDir,
  });
}
