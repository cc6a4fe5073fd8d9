/**
 * `slipway controller`: runs the controller process (see DESIGN.md "Process contract").
 */
import type { Command } from "commander";
import type { ControllerFlags } from "./controller-actions.js";

export function registerController(program: Command): void {
  program
    .command("controller")
    .description("run the slipway controller (prints `listening <url>` once its HTTP server is up)")
    .option(
      "--http-addr <host:port>",
      "address of the HTTP server (/metrics, /healthz, /readyz, /api/webhook)",
      "127.0.0.1:8080",
    )
    .option("--app-resync <duration>", "how often every Application is compared with Git (jittered)", "180s")
    .option("--workers <n>", "reconcile workers per controller", "4")
    .option("--redis <url>", "Redis URL for the shared work queue (also $SLIPWAY_REDIS_URL)")
    .option(
      "--cluster-concurrency <n>",
      "with --redis: most Applications of one destination cluster reconciled at once, over all replicas",
    )
    .option("--repo-cache-dir <dir>", "where Git repositories are cached (default ~/.slipway/repos)")
    .option("--no-leader-election", "reconcile without taking the slipway-controller Lease")
    .option("--prometheus <url>", "Prometheus for analysis metrics that leave out their address")
    .option(
      "--log-level <level>",
      "JSON log level: fatal, error, warn, info, debug (one line per reconcile), trace (also $SLIPWAY_LOG_LEVEL)",
    )
    .addHelpText(
      "after",
      "\nThe controller's namespace (Applications, AppProjects, repository Secrets) is -n/--namespace,\ndefault slipway-system. It reaches the cluster through --kubeconfig/--context, or in-cluster\nwith its service account.",
    )
    .action(async (flags: ControllerFlags, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as { kubeconfig?: string; context?: string; namespace?: string };
      const { runController } = await import("./controller-actions.js");
      await runController(flags, globals);
    });
}
