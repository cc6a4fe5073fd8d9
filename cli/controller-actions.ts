import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseDuration } from "../analysis/duration.js";
import { loadKubeConfig } from "../controller/kube/kubeconfig.js";
import { type ControllerFactory, ControllerManager } from "../controller/manager.js";

export interface ControllerFlags {
  namespace?: string;
  httpAddr: string;
  redis?: string;
  appResync: string;
  workers: string;
  repoCacheDir?: string;
  leaderElection: boolean;
}

/** The reconcilers this build runs; each issue's controller is added here as it lands. */
async function controllerFactories(): Promise<ControllerFactory[]> {
  return [];
}

export async function runController(
  flags: ControllerFlags,
  globals: { kubeconfig?: string; context?: string; namespace?: string },
): Promise<void> {
  const redis = flags.redis ?? process.env.SLIPWAY_REDIS_URL;
  if (redis) {
    throw new Error(
      "--redis is not supported by this build yet: the Redis-backed queue comes with ApplicationSets (run without --redis to use the in-memory queue)",
    );
  }
  const appResyncMs = parseDuration(flags.appResync);
  const workers = Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`--workers must be a positive integer, got "${flags.workers}"`);
  const manager = new ControllerManager({
    kubeConfig: loadKubeConfig(globals),
    namespace: globals.namespace ?? "slipway-system",
    httpAddr: flags.httpAddr,
    appResyncMs,
    workers,
    repoCacheDir: resolve(
      flags.repoCacheDir ?? join(process.env.SLIPWAY_HOME ?? join(homedir(), ".slipway"), "repos"),
    ),
    controllers: await controllerFactories(),
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
        .catch((error: unknown) => manager.log.error({ err: error }, "error during shutdown"))
        .finally(done);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
  });
}
