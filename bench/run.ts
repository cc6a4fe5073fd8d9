/**
 * `npm run bench`: runs every benchmark in its own process, one after another (they measure CPU
 * and throughput, so they must not overlap), and prints their reports.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Each benchmark is a compiled file beside this one; ones not built in this checkout are skipped.
const BENCHMARKS = ["sandbox.js", "traffic.js", "analysis.js", "gitops.js", "rollouts.js", "fleet.js"].filter(
  (f) => existsSync(fileURLToPath(new URL(f, import.meta.url))),
);
const only = process.argv.slice(2);
let failed = 0;
for (const file of BENCHMARKS) {
  if (only.length > 0 && !only.some((o) => file.startsWith(o))) continue;
  process.stdout.write(`\n=== ${file.replace(/\.js$/, "")} ===\n`);
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], {
    stdio: "inherit",
  });
  if (result.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
