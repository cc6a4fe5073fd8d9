/**
 * `slipway analysis run|get|list`: command definitions only; the work lives in
 * analysis-actions.ts, loaded when a command runs so that `slipway --help` starts fast.
 */
import type { Command } from "commander";
import type { RunOptions } from "./analysis-actions.js";
import type { GlobalOptions } from "./kube-client.js";

/** Repeatable flags; no commander default, so help does not print `(default: [])`. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function registerAnalysis(program: Command): void {
  const analysis = program
    .command("analysis")
    .description("try analysis templates now, and inspect AnalysisRuns");

  analysis
    .command("run")
    .description(
      "evaluate an AnalysisTemplate now against its real providers (read-only: never writes to the cluster)",
    )
    .option(
      "--template <name|file>",
      "AnalysisTemplate: a YAML/JSON file, or the name of one in the namespace (repeatable)",
      collect,
    )
    .option("--cluster-template <name>", "ClusterAnalysisTemplate by name (repeatable)", collect)
    .option("--arg <name=value>", "value for a template argument (repeatable)", collect)
    .option("--once", "measure every metric once, now, and let that measurement decide it")
    .option("--prometheus <url>", "query this Prometheus instead of the address in the template")
    .addHelpText(
      "after",
      `
The run happens in this process: nothing is created or changed in the cluster. The cluster is
read only for templates given by name and for Secrets behind valueFrom.secretKeyRef arguments.

Without --once the metrics run on their real schedule (interval, count, limits), printing each
measurement as it is taken, until the run completes; Ctrl-C stops it (as "terminate" does) and
prints the verdict so far. With --once each metric is measured once and that measurement decides
it (interval, count, initialDelay and the limits are set aside). Job metrics are refused: they
would create Jobs.

Prints METRIC VALUE PHASE MESSAGE per measurement and a final line "<Phase>: <summary>";
-o json|yaml prints the resulting AnalysisRun (spec and status) instead.
Exit code: 0 when the run is Successful, 1 otherwise.

Examples:
  slipway analysis run --template success-rate.yaml --arg service=checkout --once
  slipway analysis run --template success-rate -n shop --arg service=checkout
  slipway analysis run --cluster-template error-rate --prometheus http://localhost:9090 --arg service=web`,
    )
    .action(async (options: RunOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const { runAnalysis } = await import("./analysis-actions.js");
      const phase = await runAnalysis(options, globals);
      process.exitCode = phase === "Successful" ? 0 : 1;
    });

  analysis
    .command("list")
    .description("list AnalysisRuns with their phase and metric outcomes")
    .option("-A, --all-namespaces", "list runs in every namespace")
    .action(async (options: { allNamespaces?: boolean }, cmd: Command) => {
      const { listRuns } = await import("./analysis-actions.js");
      await listRuns(options, cmd.optsWithGlobals() as GlobalOptions);
    });

  analysis
    .command("get")
    .description("show an AnalysisRun: its metrics, their last measurements, counts and messages")
    .argument("<name>", "AnalysisRun name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { getRun } = await import("./analysis-actions.js");
      await getRun(name, cmd.optsWithGlobals() as GlobalOptions);
    });
}
