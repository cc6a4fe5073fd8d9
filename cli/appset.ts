/**
 * `slipway appset list|get`: command definitions only; the work lives in appset-actions.ts,
 * loaded when a command runs so that `slipway --help` starts fast. Read-only, as `argocd appset
 * list|get`: ApplicationSets are created with kubectl (or Git), and the controller writes what
 * these commands show.
 */
import { type Command, Option } from "commander";
import type { AppGlobals } from "./app-client.js";
import type { ListAppSetOptions } from "./appset-actions.js";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const globalsOf = (cmd: Command) => cmd.optsWithGlobals() as AppGlobals;

export function registerAppSet(program: Command): void {
  const appset = program
    .command("appset")
    .description("inspect ApplicationSets and the Applications they generated")
    .addOption(
      new Option(
        "-N, --app-namespace <ns>",
        "namespace of the ApplicationSets, the controller's (default: slipway-system)",
      ).env("SLIPWAY_APP_NAMESPACE"),
    );

  appset
    .command("list")
    .description("list ApplicationSets: project, sync policy, conditions, Applications generated")
    .option("-p, --project <name>", "only sets whose template uses these projects (repeatable)", collect)
    .option("-l, --selector <selector>", "label selector")
    .addHelpText(
      "after",
      `
Columns: NAME (namespace/name), PROJECT (the template's), SYNCPOLICY (syncPolicy.applicationsSync,
default sync, and the strategy when it is RollingSync), CONDITIONS (the error and progressing
conditions that are True, or <none>), APPLICATIONS (generated, as the controller last counted;
"-" before it has written a status), AGE. -o wide adds the template's REPO, PATH and TARGET;
-o name prints namespace/name only; -o json|yaml the objects.`,
    )
    .action(async (options: ListAppSetOptions, cmd: Command) => {
      const { listAppSets } = await import("./appset-actions.js");
      await listAppSets(options, globalsOf(cmd));
    });

  appset
    .command("get")
    .description("show an ApplicationSet: generators, template, strategy, conditions, its Applications")
    .argument("<name>", "ApplicationSet name (or namespace/name, as list -o name prints)")
    .addHelpText(
      "after",
      `
Prints the generators in short (e.g. matrix(clusters(selector env=prod), list[3])), the
template's destination, source and sync policy, the strategy with its RollingSync steps, the
conditions, and the generated Applications with the sync and health the controller last saw
(with RollingSync: each one's step and rollout status). -o json|yaml prints the object.`,
    )
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { getAppSet } = await import("./appset-actions.js");
      await getAppSet(name, globalsOf(cmd));
    });
}
