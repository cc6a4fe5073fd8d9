import type { Command } from "commander";

/** `slipway sandbox up|down|status` — filled in with the sandbox server. */
export function registerSandbox(program: Command): void {
  program.command("sandbox").description("run a local Kubernetes-API-compatible cluster");
}
