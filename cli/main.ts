#!/usr/bin/env node
/**
 * Entry point of `slipway` (and `kubectl-slipway`). The only place that turns errors into exit
 * codes: everything below returns values or throws typed errors.
 */
import { CommanderError } from "commander";
import { formatError } from "./output.js";
import { buildProgram } from "./program.js";

// `slipway ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

async function main(): Promise<void> {
  const program = buildProgram(process.argv[1]?.endsWith("kubectl-slipway") ? "kubectl slipway" : "slipway");
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help, a version or a usage error.
      process.exitCode = error.exitCode;
      return;
    }
    const debug = process.argv.includes("--debug");
    process.stderr.write(`${formatError(error, debug)}\n`);
    process.exitCode = 1;
  }
}

await main();
