/**
 * `npm run gen:crds`: writes crds/<plural>.slipway.dev.yaml from the TypeBox kinds, and removes
 * CRD files for kinds that no longer exist. The test in test/unit/crds.test.ts fails when the
 * committed files differ from what this would write.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderCrdFiles } from "./crds.js";

/** The repo root, found from this file so it works from api/ (tsx) and dist/api/ alike. */
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

async function main(): Promise<void> {
  const outDir = path.resolve(process.argv[2] ?? path.join(repoRoot(), "crds"));
  await mkdir(outDir, { recursive: true });
  const files = renderCrdFiles();
  for (const [name, text] of files) {
    const file = path.join(outDir, name);
    const old = existsSync(file) ? await readFile(file, "utf8") : undefined;
    if (old === text) continue;
    await writeFile(file, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
  for (const name of await readdir(outDir)) {
    if (name.endsWith(".slipway.dev.yaml") && !files.has(name)) {
      await rm(path.join(outDir, name));
      process.stdout.write(`removed ${path.relative(process.cwd(), path.join(outDir, name))}\n`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
