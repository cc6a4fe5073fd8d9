/**
 * `slipway demo`: a self-running tour of the whole mission on the embedded defaults.
 */
import type { Command } from "commander";

export interface DemoOptions {
  keep?: boolean;
  prometheus: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("a self-running tour: GitOps sync, a canary walking its steps, an automatic rollback")
    .option("--keep", "leave the sandbox and controller running at the end, and print how to use them")
    .option(
      "--no-prometheus",
      "judge releases through the sandbox's /sim/traffic even if prometheus is installed",
    )
    .addHelpText(
      "after",
      `
It starts a sandbox cluster, a Git repository made from examples/demo, the controller, and a real
Prometheus when the prometheus binary is on PATH (else the web analysis provider reads the
sandbox's /sim/traffic). Then it tells the story: an Application syncs from Git; a commit ships a
new image and the Rollout walks its canary steps with traffic weights shown live; a second commit
ships a version answering 30% of requests with errors, and analysis aborts it on its own, with all
traffic back on the stable version. Exits 0 when every step happened as described.`,
    )
    .action(async (options: DemoOptions) => {
      const { runDemo } = await import("./demo-actions.js");
      const ok = await runDemo(options);
      process.exitCode = ok ? 0 : 1;
    });
}
