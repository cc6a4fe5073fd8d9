/**
 * The `slipway` command tree: global flags and every noun's commands. Kept apart from main.ts
 * (which runs the program on import) so the CLI reference generator can walk the same tree; the
 * noun modules load their `*-actions.ts` only when a command runs.
 */
import { Command, Option } from "commander";
import { registerAnalysis } from "./analysis.js";
import { registerApp } from "./app.js";
import { registerAppSet } from "./appset.js";
import { registerCluster } from "./cluster.js";
import { registerController } from "./controller.js";
import { registerDemo } from "./demo.js";
import { registerInstall } from "./install.js";
import { registerQueue } from "./queue.js";
import { registerRepo } from "./repo.js";
import { registerRollout } from "./rollout.js";
import { registerSandbox } from "./sandbox.js";

/** Commands that print `-o name`; the others would silently draw their table instead. */
const NAME_OUTPUT = new Set(["appset list"]);

/** `appset list` for the list command under appset (the program's own name left out). */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

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
      new Option("-o, --output <format>", "output format (name: only where a command says so)").choices([
        "table",
        "wide",
        "yaml",
        "json",
        "name",
      ]),
    )
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .hook("preAction", (_program, action) => {
      const path = commandPath(action);
      if (action.optsWithGlobals().output === "name" && !NAME_OUTPUT.has(path)) {
        throw new Error(`-o name is not supported by "${path}" (only by: ${[...NAME_OUTPUT].join(", ")})`);
      }
    });
  registerSandbox(program);
  registerInstall(program);
  registerController(program);
  registerDemo(program);
  registerAnalysis(program);
  registerApp(program);
  registerAppSet(program);
  registerRepo(program);
  registerCluster(program);
  registerQueue(program);
  registerRollout(program);
  return program;
}
