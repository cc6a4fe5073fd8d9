/**
 * `npm run gen:cli-docs` (after `npm run build`): rewrites docs/cli.md and the CLI reference
 * table of README.md from the commander definitions (see cli-reference.ts).
 * test/unit/cli-reference.test.ts fails when the committed files differ from what this writes.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderCliDoc, renderReadmeSection, spliceReadme } from "./cli-reference.js";
import { buildProgram } from "./program.js";

// This file runs as dist/cli/gen-cli-docs.js: the repository is two levels up.
const root = fileURLToPath(new URL("../..", import.meta.url));

async function write(file: string, text: string): Promise<void> {
  const old = existsSync(file) ? await readFile(file, "utf8") : undefined;
  if (old === text) return;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

async function main(): Promise<void> {
  const program = buildProgram("slipway");
  const readme = path.join(root, "README.md");
  await write(readme, spliceReadme(await readFile(readme, "utf8"), renderReadmeSection(program)));
  await write(path.join(root, "docs", "cli.md"), renderCliDoc(program));
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
