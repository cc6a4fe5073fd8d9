/**
 * `slipway queue stats`: command definition only; the work lives in queue-actions.ts, loaded
 * when the command runs so that `slipway --help` starts fast.
 */
import { type Command, Option } from "commander";
import type { GlobalOptions } from "./kube-client.js";
import type { QueueStatsOptions } from "./queue-actions.js";

export function registerQueue(program: Command): void {
  const queue = program
    .command("queue")
    .description("the shared Redis work queue of the controller replicas");

  queue
    .command("stats")
    .description("print depth, in-flight, delayed and retrying keys per queue, read from Redis")
    .addOption(new Option("--redis <url>", "Redis URL of the controllers' queue").env("SLIPWAY_REDIS_URL"))
    .addOption(
      new Option("--redis-prefix <prefix>", "key prefix of the slipway installation")
        .env("SLIPWAY_REDIS_PREFIX")
        .default("slipway"),
    )
    .addHelpText(
      "after",
      `
Only controllers started with --redis keep their queue in Redis; the in-memory queue lives inside
one controller process (see its /metrics: slipway_workqueue_depth and friends).
Columns: QUEUE, DEPTH (waiting for a worker), IN-FLIGHT (being processed by any replica),
DELAYED (scheduled for later: requeue timers and backoff), RETRYING (keys that failed since
their last success), OLDEST (how long the first waiting key has waited). -o json|yaml also
gives in-flight keys per concurrency group.`,
    )
    .action(async (options: QueueStatsOptions, cmd: Command) => {
      const { queueStats } = await import("./queue-actions.js");
      await queueStats(options, cmd.optsWithGlobals() as GlobalOptions);
    });
}
