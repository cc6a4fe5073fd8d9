/**
 * The `slipway` command tree: global flags and every noun's commands. Kept apart from main.ts
 * (which runs the program on import) so the CLI reference generator can walk the same tree; the
 * noun modules load their `*-actions.ts` only when a command runs.
 */
import { Command, Option } from "commander";
import { registerAnalysis } from "./analysis.js";
import { registerApp } from "./app.js";
import { registerCluster } from "./cluster.js";
import { registerController } from "./controller.js";
import { registerDemo } from "./demo.js";
import { registerInstall } from "./install.js";
import { registerQueue } from "./queue.js";
import { registerRepo } from "./repo.js";
import { registerRollout } from "./rollout.js";
import { registerSandbox } from "./sandbox.js";

export function buildProgram(name = "slipway"): Command {
  const program = new Command();
  program
    .name(name)
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
