/**
 * `node dist/api/v1alpha1/gen-install.js`: writes install.yaml (see install-bundle.ts) and copies
 * the generated CRDs into charts/slipway/crds/. test/unit/install-bundle.test.ts fails when the
 * committed files differ from what this would write. Run `npm run gen:crds` first.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderCrdFiles } from "./crds.js";
import { renderInstallYaml } from "./install-bundle.js";

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error("cannot find the repository root (no package.json above this script)");
    dir = parent;
  }
  return dir;
}

async function write(file: string, text: string): Promise<void> {
  const old = existsSync(file) ? await readFile(file, "utf8") : undefined;
  if (old === text) return;
  await writeFile(file, text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

async function main(): Promise<void> {
  const root = repoRoot();
  await write(path.join(root, "install.yaml"), renderInstallYaml());
  const chartCrds = path.join(root, "charts", "slipway", "crds");
  await mkdir(chartCrds, { recursive: true });
  const files = renderCrdFiles();
  for (const [name, text] of files) await write(path.join(chartCrds, name), text);
  for (const name of await readdir(chartCrds)) {
    if (name.endsWith(".yaml") && !files.has(name)) {
      await rm(path.join(chartCrds, name));
      process.stdout.write(`removed ${path.relative(process.cwd(), path.join(chartCrds, name))}\n`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
