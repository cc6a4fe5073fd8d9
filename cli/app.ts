/**
 * `slipway app ...`: command definitions only. The work lives in app-actions.ts (cluster reads
 * and writes) and app-local.ts (Git + render + diff in this process), loaded when a command runs
 * so that `slipway --help` starts fast.
 *
 * Flags and messages follow `argocd app` (docs/user-guide/commands/argocd_app*.md), so a user's
 * muscle memory and scripts carry over: same flag names, same exit codes for `diff`, same
 * refusals ("another operation is already in progress", "rollback cannot be initiated when
 * auto-sync is enabled").
 */
import { type Command, Option } from "commander";
import type {
  CreateOptions,
  DeleteOptions,
  GetOptions,
  ListOptions,
  RollbackOptions,
  SetOptions,
  SyncOptions,
  WaitOptions,
} from "./app-actions.js";
import type { AppGlobals } from "./app-client.js";
import type { DiffOptions, ManifestsOptions } from "./app-local.js";

/** Repeatable flags; no commander default, so help does not print `(default: [])`. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `--cascade`, `--cascade=true`, `--cascade=false`. */
function parseBool(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`expected true or false, got "${value}"`);
}

const globalsOf = (cmd: Command) => cmd.optsWithGlobals() as AppGlobals;

const SYNC_POLICY = ["auto", "automated", "automatic", "none", "manual"];

export function registerApp(program: Command): void {
  const app = program
    .command("app")
    .description("manage Applications: create, inspect, diff, sync, wait, roll back")
    .addOption(
      new Option(
        "-N, --app-namespace <ns>",
        "namespace of the Applications, the controller's (default: slipway-system)",
      ).env("SLIPWAY_APP_NAMESPACE"),
    );

  app
    .command("create")
    .description("create an Application (refuses to change an existing one without --upsert)")
    .argument("[name]", "Application name (or metadata.name of -f)")
    .option("-f, --file <file>", "start from an Application manifest (YAML/JSON); flags override its fields")
    .option("--repo <url>", "Git repository URL")
    .option("--path <path>", "path of the app in the repository")
    .option("--revision <rev>", "branch, tag, commit SHA or HEAD (default HEAD)")
    .option("--dest-server <url>", "destination cluster (default https://kubernetes.default.svc)")
    .option("--dest-name <name>", "destination cluster by name (instead of --dest-server)")
    .option("--dest-namespace <ns>", "namespace the app's namespaced resources go to")
    .option("--project <name>", "AppProject (default: default)")
    .addOption(new Option("--sync-policy <policy>", "automatic or manual sync").choices(SYNC_POLICY))
    .option("--auto-prune", "automated sync prunes resources no longer in Git")
    .option("--self-heal", "automated sync reverts drift in the cluster")
    .option("--allow-empty", "automated sync may prune everything when Git renders nothing")
    .option("--sync-option <K=V>", "sync option, e.g. CreateNamespace=true (repeatable)", collect)
    .option("--directory-recurse", "read manifests in subdirectories too")
    .option("--upsert", "replace the spec of an existing Application with this one")
    .addHelpText(
      "after",
      `
Examples:
  slipway app create guestbook --repo https://git.example.com/apps.git --path guestbook \\
    --dest-namespace guestbook --sync-policy auto --auto-prune --self-heal
  slipway app create -f guestbook-app.yaml --upsert`,
    )
    .action(async (name: string | undefined, options: CreateOptions, cmd: Command) => {
      const { createApp } = await import("./app-actions.js");
      await createApp(name, options, globalsOf(cmd));
    });

  app
    .command("list")
    .description("list Applications with their sync status, health and source")
    .option("-p, --project <name>", "only apps of these projects (repeatable)", collect)
    .option("-l, --selector <selector>", "label selector")
    .option("-r, --repo <url>", "only apps from this repository")
    .action(async (options: ListOptions, cmd: Command) => {
      const { listApps } = await import("./app-actions.js");
      await listApps(options, globalsOf(cmd));
    });

  app
    .command("get")
    .description("show an Application: source, sync and health, operation, resources, conditions")
    .argument("<name>", "Application name")
    .option("--refresh", "ask the controller to compare with Git now, then show the result")
    .option("--hard-refresh", "like --refresh, and drop cached manifests")
    .option("--show-operation", "show the operation's resource results too")
    .action(async (name: string, options: GetOptions, cmd: Command) => {
      const { getApp } = await import("./app-actions.js");
      await getApp(name, options, globalsOf(cmd));
    });

  app
    .command("diff")
    .description("compare the manifests in Git with the live cluster (exit 0: none, 1: diff, 2: error)")
    .argument("<name>", "Application name")
    .option("--revision <rev>", "compare this revision instead of the app's target")
    .option("--local <dir>", "compare the manifests in this local directory instead of Git")
    .option("--hard-refresh", "accepted for argocd compatibility (the CLI always asks the Git host)")
    .addHelpText(
      "after",
      `
The comparison runs in this process: the manifests are rendered from Git (or --local) as the
controller would render them, and compared with the live objects read from the cluster, with the
app's ignoreDifferences and the same normalisation the controller uses. Secret values are masked.

Exit code: 0 when there is no difference, 1 when there is one, 2 on error (as argocd app diff).`,
    )
    .action(async (name: string, options: DiffOptions, cmd: Command) => {
      const { diffApp } = await import("./app-local.js");
      process.exitCode = await diffApp(name, options, globalsOf(cmd));
    });

  app
    .command("manifests")
    .description("print the app's manifests: rendered from Git (with tracking ids) or live")
    .argument("<name>", "Application name")
    .addOption(new Option("--source <source>", "where the manifests come from").choices(["git", "live"]))
    .option("--revision <rev>", "render this revision instead of the app's target (--source git)")
    .option("--local <dir>", "render this local directory instead of Git (--source git)")
    .action(async (name: string, options: ManifestsOptions, cmd: Command) => {
      const { manifestsApp } = await import("./app-local.js");
      await manifestsApp(name, options, globalsOf(cmd));
    });

  app
    .command("sync")
    .description("sync an Application now: sets its operation, then follows it until it completes")
    .argument("<name>", "Application name")
    .option("--prune", "delete resources that are no longer in Git")
    .option("--dry-run", "run the sync with dry-run: report what it would do, change nothing")
    .option("--revision <rev>", "sync this revision instead of the app's target")
    .option(
      "--resource <GROUP:KIND:NAME>",
      "sync only this resource, [GROUP]:KIND:[NAMESPACE/]NAME (repeatable; hooks are skipped)",
      collect,
    )
    .option("--sync-option <K=V>", "sync option for this operation (repeatable)", collect)
    .option(
      "--prune-budget <n>",
      "allow up to n prunes in this sync without confirmation (implies --prune; sync option PruneBudget=n)",
    )
    .option("--force", "replace resources that cannot be patched")
    .option("--async", "do not wait for the operation: return once it is set")
    .option("--timeout <duration>", "give up waiting after this long (e.g. 30s, 5m)")
    .action(async (name: string, options: SyncOptions, cmd: Command) => {
      const { syncApp } = await import("./app-actions.js");
      process.exitCode = await syncApp(name, options, globalsOf(cmd));
    });

  app
    .command("wait")
    .description("wait until an Application is synced, healthy and has no operation running")
    .argument("<name>", "Application name")
    .option("--sync", "wait until Synced")
    .option("--health", "wait until Healthy")
    .option("--operation", "wait until no operation is in progress")
    .option("--suspended", "wait until health is Suspended")
    .option("--degraded", "wait until health is Degraded")
    .option("--timeout <duration>", "give up after this long (e.g. 30s, 5m); exit code 1")
    .addHelpText(
      "after",
      `
Without a condition flag it waits for --sync, --health and --operation together.
Exit code: 0 when reached; 1 on timeout, after printing the state it saw last.`,
    )
    .action(async (name: string, options: WaitOptions, cmd: Command) => {
      const { waitApp } = await import("./app-actions.js");
      process.exitCode = await waitApp(name, options, globalsOf(cmd));
    });

  app
    .command("history")
    .description("the app's deployment history: ID, DATE, REVISION")
    .argument("<name>", "Application name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { historyApp } = await import("./app-actions.js");
      await historyApp(name, globalsOf(cmd));
    });

  app
    .command("rollback")
    .description("sync a previous deployment again (refused while auto-sync is enabled)")
    .argument("<name>", "Application name")
    .argument("[id]", "history ID (default: the deployment before the current one)")
    .option("--prune", "delete resources that are not in that deployment")
    .option("--dry-run", "report what the rollback would do, change nothing")
    .option("--async", "do not wait for the operation")
    .option("--timeout <duration>", "give up waiting after this long (e.g. 30s, 5m)")
    .action(async (name: string, id: string | undefined, options: RollbackOptions, cmd: Command) => {
      const { rollbackApp } = await import("./app-actions.js");
      process.exitCode = await rollbackApp(name, id, options, globalsOf(cmd));
    });

  app
    .command("refresh")
    .description("ask the controller to compare the app with Git now")
    .argument("<name>", "Application name")
    .option("--hard", "drop cached manifests and ask the Git host again")
    .option("--timeout <duration>", "how long to wait for the controller to pick it up (default 10s)")
    .action(async (name: string, options: { hard?: boolean; timeout?: string }, cmd: Command) => {
      const { refreshApp } = await import("./app-actions.js");
      await refreshApp(name, options, globalsOf(cmd));
    });

  app
    .command("delete")
    .description("delete an Application and, with --cascade (the default), the resources it manages")
    .argument("<name>", "Application name")
    .option("--cascade [bool]", "delete the app's resources too (--cascade=false keeps them)", parseBool)
    .addOption(
      new Option("--propagation-policy <policy>", "how cascaded resources are deleted").choices([
        "foreground",
        "background",
      ]),
    )
    .option("-y, --yes", "do not ask for confirmation")
    .option("--wait", "wait until the Application is gone")
    .option("--timeout <duration>", "with --wait: give up after this long")
    .action(async (name: string, options: DeleteOptions, cmd: Command) => {
      const { deleteApp } = await import("./app-actions.js");
      process.exitCode = await deleteApp(name, options, globalsOf(cmd));
    });

  app
    .command("set")
    .description("change fields of an Application's spec")
    .argument("<name>", "Application name")
    .option("--repo <url>", "Git repository URL")
    .option("--path <path>", "path of the app in the repository")
    .option("--revision <rev>", "branch, tag, commit SHA or HEAD")
    .option("--dest-server <url>", "destination cluster")
    .option("--dest-name <name>", "destination cluster by name")
    .option("--dest-namespace <ns>", "destination namespace")
    .option("--project <name>", "AppProject")
    .addOption(new Option("--sync-policy <policy>", "automatic or manual sync").choices(SYNC_POLICY))
    .option("--auto-prune", "automated sync prunes")
    .option("--no-auto-prune", "automated sync does not prune")
    .option("--self-heal", "automated sync reverts drift")
    .option("--no-self-heal", "automated sync does not revert drift")
    .option("--allow-empty", "automated sync may prune everything when Git renders nothing")
    .option("--no-allow-empty", "automated sync never prunes everything")
    .option("--sync-option <K=V>", "set a sync option (repeatable; K=V replaces an earlier K)", collect)
    .option("--directory-recurse", "read manifests in subdirectories too")
    .option("--no-directory-recurse", "read only the app directory itself")
    .action(async (name: string, options: SetOptions, cmd: Command) => {
      const { setApp } = await import("./app-actions.js");
      await setApp(name, options, globalsOf(cmd));
    });

  app
    .command("terminate-op")
    .description("stop the app's running operation")
    .argument("<name>", "Application name")
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const { terminateOp } = await import("./app-actions.js");
      await terminateOp(name, globalsOf(cmd));
    });
}
