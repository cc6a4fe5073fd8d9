/**
 * `slipway repo add|list`: command definitions only; the work lives in repo-actions.ts, loaded
 * when a command runs so that `slipway --help` starts fast.
 */
import { type Command, Option } from "commander";
import type { AppGlobals } from "./app-client.js";
import type { AddOptions } from "./repo-actions.js";

const globalsOf = (cmd: Command) => cmd.optsWithGlobals() as AppGlobals;

export function registerRepo(program: Command): void {
  const repo = program
    .command("repo")
    .description("Git repositories and their credentials (Secrets the controller reads)")
    .addOption(
      new Option(
        "-N, --app-namespace <ns>",
        "the controller's namespace, where repository Secrets live (default: slipway-system)",
      ).env("SLIPWAY_APP_NAMESPACE"),
    );

  repo
    .command("add")
    .description("register a repository and its credentials, after checking that they work")
    .argument("<url>", "repository URL (https://, http:// or file://)")
    .option("--username <user>", "user for HTTP basic auth")
    .option("--password <password>", "password for HTTP basic auth (prefer --password-stdin)")
    .option("--password-stdin", "read the password (or token) from standard input")
    .option("--token <token>", "access token (sent as the basic-auth password)")
    .option("--name <name>", "a display name for the repository")
    .option("--project <project>", "restrict the repository to one AppProject")
    .option("--skip-check", "store it without checking that the repository answers")
    .option("--upsert", "replace the credentials of a repository already registered")
    .addHelpText(
      "after",
      `
Writes a Secret labelled slipway.dev/secret-type=repository (keys url, username, password, and
name/project when given) in the controller's namespace; the controller and "slipway app diff"
use it for every app whose repoURL is that URL (or under it). Credentials are never printed.

Examples:
  slipway repo add https://git.example.com/team/apps.git --username ci --password-stdin < pw.txt
  slipway repo add https://github.com/acme/deploy.git --token "$GITHUB_TOKEN"`,
    )
    .action(async (url: string, options: AddOptions, cmd: Command) => {
      const { addRepo } = await import("./repo-actions.js");
      await addRepo(url, options, globalsOf(cmd));
    });

  repo
    .command("list")
    .description("list registered repositories and check that each one answers")
    .action(async (_options: unknown, cmd: Command) => {
      const { listRepos } = await import("./repo-actions.js");
      await listRepos(globalsOf(cmd));
    });
}
