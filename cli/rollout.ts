/**
 * `slipway rollout list|get|status|promote|abort|retry|undo|pause|resume|set image|restart|lint`:
 * command definitions only; the work lives in rollout-actions.ts, loaded when a command runs so
 * that `slipway --help` starts fast. The commands and their effects are kubectl-argo-rollouts'.
 */
import type { Command } from "commander";
import type { GlobalOptions } from "./kube-client.js";
import type { GetOptions } from "./rollout-actions.js";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const globalsOf = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

export function registerRollout(program: Command): void {
  const rollout = program
    .command("rollout")
    .aliases(["rollouts", "ro"])
    .description("watch, promote, abort and lint progressive rollouts");

  rollout
    .command("list")
    .description("list rollouts: strategy, status, step, weight and replicas")
    .option("-A, --all-namespaces", "list rollouts in every namespace")
    .action(async (options: { allNamespaces?: boolean }, cmd: Command) => {
      const { listRollouts } = await import("./rollout-actions.js");
      await listRollouts(options, globalsOf(cmd));
    });

  rollout
    .command("get")
    .description("show a rollout as a tree: revisions, ReplicaSets, pods, steps, weights and analysis")
    .argument("<name>", "Rollout name")
    .option("-w, --watch", "redraw whenever something changes, until Ctrl-C")
    .option("--no-color", "plain text even on a terminal (NO_COLOR is honoured too)")
    .option("--timeout <duration>", "with --watch: stop after this long (e.g. 5m)")
    .addHelpText(
      "after",
      `
The header shows the status and why the rollout is paused or aborted, the current step (i/N: i
steps done of N), the weight the step sets and the weight the router really has (read from the
HTTPRoute, VirtualService or canary Ingress; without a router, the share of available pods).
The tree lists revisions, newest first, with their ReplicaSets (stable, canary, active,
preview, delay: time until an old set is scaled down), pods (ready:1/1) and AnalysisRuns
(✔ successful, ✖ failed measurements, and the last value of each metric).

Icons: ✔ Healthy  ◌ Progressing  ॥ Paused  ✖ Degraded  • ScaledDown  ⚠ Error
-o json|yaml prints the Rollout object.`,
    )
    .action(async (name: string, options: GetOptions, cmd: Command) => {
      const { getRollout } = await import("./rollout-actions.js");
      await getRollout(name, options, globalsOf(cmd));
    });

  rollout
    .command("status")
    .description("wait until the rollout is done, as kubectl rollout status (exit 1 if it degrades)")
    .argument("<name>", "Rollout name")
    .option("--timeout <duration>", "give up after this long (e.g. 10m); default: wait forever")
    .addHelpText(
      "after",
      `
Prints a line whenever the state changes. Exit code 0 once the rollout is Healthy with its
update complete; 1 when it is Degraded (aborted, or past its progress deadline) or when the
timeout passes first, with the last state seen.`,
    )
    .action(async (name: string, options: { timeout?: string }, cmd: Command) => {
      const { rolloutStatus } = await import("./rollout-actions.js");
      await rolloutStatus(name, options, globalsOf(cmd));
    });

  rollout
    .command("promote")
    .description(
      "end the current pause (pause step, blue-green or inconclusive analysis) or skip the current step",
    )
    .argument("<name>", "Rollout name")
    .option("--full", "skip all remaining steps, pauses and analysis: the update becomes stable")
    .addHelpText(
      "after",
      `
Writes status.pauseConditions=null (and spec.paused=false when paused with "pause"); with no
pause, a canary skips its current step (status.currentStepIndex+1). --full writes
status.promoteFull=true; on an aborted rollout it also clears status.abort.
Refused when there is nothing to promote.`,
    )
    .action(async (name: string, options: { full?: boolean }, cmd: Command) => {
      const { promote } = await import("./rollout-actions.js");
      await promote(name, options, globalsOf(cmd));
    });

  rollout
    .command("abort")
    .description("stop the update: traffic goes back to stable first, then the new pods scale down")
    .argument("<name>", "Rollout name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { abort } = await import("./rollout-actions.js");
      await abort(name, globalsOf(cmd));
    });

  rollout
    .command("retry")
    .description("run an aborted update again from its first step (clears status.abort)")
    .argument("<name>", "Rollout name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { retry } = await import("./rollout-actions.js");
      await retry(name, globalsOf(cmd));
    });

  rollout
    .command("pause")
    .description("hold the rollout where it is (spec.paused=true) until resume")
    .argument("<name>", "Rollout name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { pause } = await import("./rollout-actions.js");
      await pause(name, globalsOf(cmd));
    });

  rollout
    .command("resume")
    .description("undo pause (spec.paused=false); pause steps are ended by promote")
    .argument("<name>", "Rollout name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { resume } = await import("./rollout-actions.js");
      await resume(name, globalsOf(cmd));
    });

  rollout
    .command("undo")
    .description("roll the pod template back to an earlier revision (default: the previous one)")
    .argument("<name>", "Rollout name")
    .option("--to-revision <n>", "the revision to go back to (see the tree of rollout get)")
    .action(async (name: string, options: { toRevision?: string }, cmd: Command) => {
      const { undo } = await import("./rollout-actions.js");
      await undo(name, options, globalsOf(cmd));
    });

  const set = rollout.command("set").description("change a rollout's pod template");
  set
    .command("image")
    .description("set container images: CONTAINER=IMAGE for one container, *=IMAGE for all")
    .argument("<name>", "Rollout name")
    .argument("<container=image...>", "one or more CONTAINER=IMAGE")
    .action(async (name: string, assignments: string[], _options: unknown, cmd: Command) => {
      const { setImage } = await import("./rollout-actions.js");
      await setImage(name, assignments, globalsOf(cmd));
    });

  rollout
    .command("restart")
    .description("replace the rollout's pods (spec.restartAt), a few at a time")
    .argument("<name>", "Rollout name")
    .option("--in <duration>", "restart after this long (e.g. 10s) instead of now")
    .action(async (name: string, options: { in?: string }, cmd: Command) => {
      const { restart } = await import("./rollout-actions.js");
      await restart(name, options, globalsOf(cmd));
    });

  rollout
    .command("lint")
    .description("check Rollout and AnalysisTemplate manifests offline (schema and semantics)")
    .option("-f, --filename <file>", "manifest file, - for stdin (repeatable)", collect)
    .addHelpText(
      "after",
      `
Needs no cluster. Checks every Rollout, AnalysisTemplate and ClusterAnalysisTemplate in the
files against slipway's API schema, then what the schema cannot say: one action per step,
weights within maxTrafficWeight, pause durations, canaryService/stableService with
trafficRouting, header and mirror routes listed in managedRoutes, the selector matching the
template labels, and analysis templates: those in the same file are checked for missing
arguments, others are reported as external (a warning).
Exit code: 0 when there are no errors (warnings allowed), 1 otherwise.`,
    )
    .action(async (options: { filename?: string[] }) => {
      const { lint } = await import("./rollout-actions.js");
      process.exitCode = (await lint(options.filename ?? [])) > 0 ? 1 : 0;
    });
}
