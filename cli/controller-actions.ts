import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseDuration } from "../analysis/duration.js";
import { loadKubeConfig } from "../controller/kube/kubeconfig.js";
import { type ControllerFactory, ControllerManager, type ManagerDeps } from "../controller/manager.js";
import type { BullMQQueue, BullMQQueueOptions } from "../controller/queue/bullmq-queue.js";

export interface ControllerFlags {
  namespace?: string;
  httpAddr: string;
  redis?: string;
  appResync: string;
  workers: string;
  repoCacheDir?: string;
  leaderElection: boolean;
  prometheus?: string;
  /** Most Applications of one destination cluster reconciled at once, over all replicas (Redis). */
  clusterConcurrency?: string;
  /** pino level; default $SLIPWAY_LOG_LEVEL or info. */
  logLevel?: string;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"];

/** A controller's work queue in Redis, shared by every replica (`--redis`). */
export type RedisQueues = (
  name: string,
  deps: ManagerDeps,
  options?: Pick<BullMQQueueOptions, "limits" | "groupOf" | "shardOf">,
) => BullMQQueue;

/**
 * The reconcilers this build runs: Applications, AnalysisRuns, Rollouts and ApplicationSets.
 * With `redisQueues` the first three keep their queues in Redis and run on every replica, which
 * divide their keys; ApplicationSet generators stay with the Lease holder (one owner).
 */
export async function controllerFactories(
  flags: Pick<ControllerFlags, "prometheus" | "clusterConcurrency">,
  redisQueues?: RedisQueues,
): Promise<ControllerFactory[]> {
  const [
    { createApplicationController },
    { createAnalysisRunController },
    { createRolloutController },
    { createApplicationSetController },
    { ClusterRegistry },
  ] = await Promise.all([
    import("../controller/gitops/index.js"),
    import("../analysis/reconciler/controller.js"),
    import("../controller/rollouts/index.js"),
    import("../controller/appset/index.js"),
    import("../controller/clusters/cluster-registry.js"),
  ]);
  let appController: ReturnType<typeof createApplicationController> | undefined;
  // One cluster registry for Applications (destinations) and ApplicationSets (generators),
  // started by the first of them to start and stopped by the last to stop.
  let clusters: InstanceType<typeof ClusterRegistry> | undefined;
  let clusterUsers = 0;
  const sharedClusters = (deps: ManagerDeps) => {
    // A short request timeout: a cluster that stops answering must not hold workers for long.
    clusters ??= new ClusterRegistry({ ...deps, log: deps.log, clientOptions: { requestTimeoutMs: 15_000 } });
    const registry = clusters;
    let started = false;
    return {
      registry,
      async start() {
        if (!started) clusterUsers += 1;
        started = true;
        registry.start();
        await registry.waitForSync();
      },
      async stop() {
        if (!started) return;
        started = false;
        clusterUsers -= 1;
        if (clusterUsers === 0) await registry.stop();
      },
    };
  };
  const perCluster = flags.clusterConcurrency === undefined ? undefined : Number(flags.clusterConcurrency);
  if (perCluster !== undefined && (!Number.isInteger(perCluster) || perCluster < 1))
    throw new Error(`--cluster-concurrency must be a positive integer, got "${flags.clusterConcurrency}"`);
  const applications: ControllerFactory = (deps) => {
    const appClusters = sharedClusters(deps);
    // App keys stay `namespace/name`; the queue counts each in its destination's `cluster/<name>/`,
    // and divides the destination clusters between the replicas (each watches only its share).
    const queue = redisQueues?.("applications", deps, {
      shardOf: (key) => apps.queueShard(key),
      ...(perCluster === undefined
        ? {}
        : { limits: { "cluster/*/": perCluster }, groupOf: (key: string) => apps.queueGroup(key) }),
    });
    const apps = createApplicationController({
      clusters: appClusters.registry,
      client: deps.client,
      informers: deps.informers,
      namespace: deps.namespace,
      repoCacheDir: deps.repoCacheDir,
      registry: deps.registry,
      log: deps.log.child({ controller: "applications" }),
      recorder: deps.recorder,
      concurrency: deps.workers,
      resyncMs: deps.appResyncMs,
      ...(queue ? { queue } : {}),
    });
    appController = apps;
    // Redis lost the queue (restart, flush): every app goes back in from the informers.
    queue?.onRefill(() => {
      apps
        .resyncAll()
        .catch((error: unknown) => deps.log.warn({ err: error }, "refill after Redis data loss failed"));
    });
    return {
      name: "applications",
      async start() {
        await appClusters.start();
        await apps.start();
      },
      async stop() {
        await apps.stop();
        await appClusters.stop();
      },
      webhookHandler: apps.webhookHandler,
      everyReplica: queue !== undefined,
    };
  };
  /** Redis lost the queue: every object goes back in from the informers. */
  const refillFrom = (
    queue: BullMQQueue | undefined,
    controller: { requeueAll(): number },
    deps: ManagerDeps,
  ) =>
    queue?.onRefill(() => {
      const keys = controller.requeueAll();
      deps.log.info({ queue: queue.name, keys }, "queue refilled from the informers");
    });
  const analysisRuns: ControllerFactory = (deps) => {
    const queue = redisQueues?.("analysisruns", deps);
    const runs = createAnalysisRunController({
      client: deps.client,
      informers: deps.informers,
      registry: deps.registry,
      log: deps.log.child({ controller: "analysisruns" }),
      recorder: deps.recorder,
      ...(flags.prometheus ? { defaultPrometheusAddress: flags.prometheus } : {}),
      ...(queue ? { queue } : {}),
    });
    refillFrom(queue, runs, deps);
    return {
      name: "analysisruns",
      start: () => runs.start(),
      stop: () => runs.stop(),
      everyReplica: queue !== undefined,
    };
  };
  const rollouts: ControllerFactory = (deps) => {
    const queue = redisQueues?.("rollouts", deps);
    const ro = createRolloutController({
      client: deps.client,
      informers: deps.informers,
      registry: deps.registry,
      log: deps.log.child({ controller: "rollouts" }),
      recorder: deps.recorder,
      concurrency: deps.workers,
      ...(queue ? { queue } : {}),
    });
    refillFrom(queue, ro, deps);
    return {
      name: "rollouts",
      start: () => ro.start(),
      stop: () => ro.stop(),
      everyReplica: queue !== undefined,
    };
  };
  // Generators read clusters from their Secrets and Git through the Application controller's cache.
  const applicationSets: ControllerFactory = (deps) => {
    const log = deps.log.child({ controller: "applicationsets" });
    const setClusters = sharedClusters(deps);
    const sets = createApplicationSetController({
      ...deps,
      clusters: setClusters.registry,
      ...(appController ? { repoCache: appController.repoCache } : {}),
      log,
    });
    return {
      name: "applicationsets",
      async start() {
        await setClusters.start();
        await sets.start();
      },
      async stop() {
        await sets.stop();
        await setClusters.stop();
      },
    };
  };
  return [applications, analysisRuns, rollouts, applicationSets];
}

export async function runController(
  flags: ControllerFlags,
  globals: { kubeconfig?: string; context?: string; namespace?: string },
): Promise<void> {
  const redis = flags.redis ?? process.env.SLIPWAY_REDIS_URL;
  let redisQueues: RedisQueues | undefined;
  const queues: BullMQQueue[] = [];
  if (redis) {
    const { BullMQQueue, DEFAULT_REDIS_PREFIX } = await import("../controller/queue/bullmq-queue.js");
    const prefix = process.env.SLIPWAY_REDIS_PREFIX || DEFAULT_REDIS_PREFIX;
    redisQueues = (name, deps, options) => {
      const queue = new BullMQQueue({
        name,
        connection: redis,
        prefix,
        registry: deps.registry,
        log: deps.log,
        ...options,
      });
      queues.push(queue);
      return queue;
    };
  }
  if (flags.clusterConcurrency !== undefined && !redis)
    throw new Error(
      "--cluster-concurrency needs --redis (the in-memory queue has no per-cluster limits; --workers bounds it)",
    );
  const appResyncMs = parseDuration(flags.appResync);
  const workers = Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers must be a positive integer, got "${flags.workers}"`);
  const logLevel = flags.logLevel ?? process.env.SLIPWAY_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  const { default: pino } = await import("pino");
  const manager = new ControllerManager({
    log: pino({ name: "slipway-controller", level: logLevel }),
    kubeConfig: loadKubeConfig(globals),
    namespace: globals.namespace ?? "slipway-system",
    httpAddr: flags.httpAddr,
    appResyncMs,
    workers,
    repoCacheDir: resolve(
      flags.repoCacheDir ?? join(process.env.SLIPWAY_HOME ?? join(homedir(), ".slipway"), "repos"),
    ),
    controllers: await controllerFactories(flags, redisQueues),
    leaderElection: flags.leaderElection,
    onLostLeadership: () => {
      process.stderr.write(
        "error: lost the slipway-controller Lease; exiting so a fresh process can take over\n",
      );
      process.exit(1);
    },
  });
  const url = await manager.start();
  process.stdout.write(`listening ${url}\n`);
  await new Promise<void>((done) => {
    const shutdown = () => {
      process.off("SIGINT", shutdown);
      process.off("SIGTERM", shutdown);
      manager
        .stop()
        // A standby replica never started its controllers: close their Redis queues here.
        .then(() => Promise.all(queues.map((q) => q.shutdown())))
        .catch((error: unknown) => manager.log.error({ err: error }, "error during shutdown"))
        .finally(done);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  });
}
