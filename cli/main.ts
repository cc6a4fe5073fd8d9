#!/usr/bin/env node
/**
 * Entry point of `slipway` (and `kubectl-slipway`). The only place that turns errors into exit
 * codes: everything below returns values or throws typed errors.
 */
import { Command, CommanderError, Option } from "commander";
import { registerAnalysis } from "./analysis.js";
import { registerApp } from "./app.js";
import { registerCluster } from "./cluster.js";
import { registerController } from "./controller.js";
import { registerDemo } from "./demo.js";
import { registerInstall } from "./install.js";
import { formatError } from "./output.js";
import { registerQueue } from "./queue.js";
import { registerRepo } from "./repo.js";
import { registerRollout } from "./rollout.js";
import { registerSandbox } from "./sandbox.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name(process.argv[1]?.endsWith("kubectl-slipway") ? "kubectl slipway" : "slipway")
    .description("GitOps delivery and progressive rollouts for Kubernetes")
    .version("0.1.0")
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use")
    .option("-n, --namespace <ns>", "namespace of the objects")
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "wide", "yaml", "json"]),
    )
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerSandbox(program);
  registerInstall(program);
  registerController(program);
  registerDemo(program);
  registerAnalysis(program);
  registerApp(program);
  registerRepo(program);
  registerCluster(program);
  registerQueue(program);
  registerRollout(program);
  return program;
}

// `slipway ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help, a version or a usage error.
      process.exitCode = error.exitCode;
      return;
    }
    const debug = process.argv.includes("--debug");
    process.stderr.write(`${formatError(error, debug)}\n`);
    process.exitCode = 1;
  }
}

await main();
