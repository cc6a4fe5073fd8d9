/**
 * `slipway cluster add|list|rm`: command definitions only; the work lives in cluster-actions.ts,
 * loaded when a command runs so that `slipway --help` starts fast.
 */
import { type Command, Option } from "commander";
import type { AppGlobals } from "./app-client.js";
import type { AddClusterOptions, ListClusterOptions, RemoveClusterOptions } from "./cluster-actions.js";

const globalsOf = (cmd: Command) => cmd.optsWithGlobals() as AppGlobals;

export function registerCluster(program: Command): void {
  const cluster = program
    .command("cluster")
    .description("clusters the controller delivers to (Secrets it reads, as Argo CD's cluster Secrets)")
    .addOption(
      new Option(
        "-N, --app-namespace <ns>",
        "the controller's namespace, where cluster Secrets live (default: slipway-system)",
      ).env("SLIPWAY_APP_NAMESPACE"),
    );

  cluster
    .command("add")
    .description("register a cluster from a kubeconfig context, after checking that it answers")
    .argument("<name>", "the cluster's name in slipway (Applications target it by this name or its server)")
    .option("--from-kubeconfig <file>", "kubeconfig to read the cluster from (default: the one in use)")
    .option("--from-context <name>", "context of that kubeconfig (default: its current context)")
    .option("--server-override <url>", "API server URL the controller should use instead of the context's")
    .option("--skip-check", "store it without checking that the cluster answers")
    .option("--upsert", "replace a cluster already registered under this name")
    .addHelpText(
      "after",
      `
The cluster to add is read from --from-kubeconfig / --from-context: its server, CA (or
insecure-skip-tls-verify, tls-server-name) and its user's token, client certificate or
username/password. The Secret is written to the cluster the global --kubeconfig / --context
point at (where the controller runs), in the controller's namespace (-N, default slipway-system),
labelled slipway.dev/secret-type=cluster with keys name, server and config (Argo CD's format).
Unlike "argocd cluster add", no ServiceAccount is created in the added cluster: the context's own
credentials are stored, so use one meant for the controller. Exec and auth-provider credentials
(cloud plugins) cannot be stored and are refused.

Examples:
  slipway cluster add east --from-kubeconfig east.kubeconfig
  slipway cluster add west --from-context kind-west --server-override https://west.internal:6443`,
    )
    .action(async (name: string, options: AddClusterOptions, cmd: Command) => {
      const { addCluster } = await import("./cluster-actions.js");
      await addCluster(name, options, globalsOf(cmd));
    });

  cluster
    .command("list")
    .description("list clusters with their connection state (checked now, from here) and Application count")
    .option("--timeout <duration>", "how long each connection check may take", "5s")
    .addHelpText(
      "after",
      `
Columns: NAME, SERVER, STATUS (Successful, or Failed: reason, from a GET /version made by this
command), APPS (Applications whose destination is the cluster), AGE. in-cluster is the cluster
the controller runs in (https://kubernetes.default.svc), checked through the current kubeconfig.
Secrets the controller cannot use are listed with STATUS "Invalid: reason".
-o json|yaml prints every field except credentials.`,
    )
    .action(async (options: ListClusterOptions, cmd: Command) => {
      const { listClusters } = await import("./cluster-actions.js");
      await listClusters(options, globalsOf(cmd));
    });

  cluster
    .command("rm")
    .alias("remove")
    .description("remove a cluster (deletes its Secret; the controller closes its connections)")
    .argument("<name>", "cluster name (or server URL)")
    .action(async (name: string, options: RemoveClusterOptions, cmd: Command) => {
      const { removeCluster } = await import("./cluster-actions.js");
      await removeCluster(name, options, globalsOf(cmd));
    });
}
