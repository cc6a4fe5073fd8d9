/**
 * Directory sources: plain `.yaml`/`.yml`/`.json` manifests (and `.jsonnet`, evaluated), as
 * Argo CD's repo-server reads them. `recurse` descends into subdirectories; `include` and
 * `exclude` are globs matched against the path relative to the app directory, `exclude` wins.
 *
 * Glob semantics follow Argo CD's (gobwas/glob without separators): `*` also matches `/`, so
 * `include: "*.yaml"` with `recurse: true` takes YAML files at every depth, and `{a,b}` lists
 * alternatives. picomatch's `bash` mode gives exactly that.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import picomatch from "picomatch";
import type { ApplicationSourceDirectory } from "../../../api/v1alpha1/application.js";
import { RenderError } from "./errors.js";
import { renderJsonnetFile } from "./jsonnet.js";
import { type ParsedManifest, parseJsonManifests, parseYamlManifests } from "./manifests.js";
import { repoRelative } from "./paths.js";
import type { RenderContext } from "./types.js";

const MANIFEST_FILE = /\.(ya?ml|json|jsonnet)$/;

/** A glob matcher with Argo CD's semantics (see the module comment). */
export function argoGlob(pattern: string): (path: string) => boolean {
  return picomatch(pattern, { bash: true, dot: true });
}

/** Lists manifest files of the app dir (repo-relative to the app dir, sorted), honouring the options. */
export async function listManifestFiles(
  appDir: string,
  directory: ApplicationSourceDirectory = {},
): Promise<string[]> {
  const include = directory.include ? argoGlob(directory.include) : undefined;
  const exclude = directory.exclude ? argoGlob(directory.exclude) : undefined;
  const files: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      // Like filepath.Walk, directory symlinks are not descended into; file symlinks are read
      // (the checkout-wide symlink check has already made sure they stay inside the repo).
      if (entry.isDirectory()) {
        if (directory.recurse && entry.name !== ".git") await walk(join(dir, entry.name), relPath);
        continue;
      }
      if (!MANIFEST_FILE.test(entry.name)) continue;
      if (entry.isSymbolicLink()) {
        const info = await stat(join(dir, entry.name)).catch(() => undefined);
        if (!info?.isFile()) continue;
      } else if (!entry.isFile()) {
        continue;
      }
      if (exclude?.(relPath)) continue;
      if (include && !include(relPath)) continue;
      files.push(relPath);
    }
  }
  await walk(appDir, "");
  return files;
}

export async function renderDirectory(ctx: RenderContext): Promise<ParsedManifest[]> {
  const directory = ctx.source.directory ?? {};
  const files = await listManifestFiles(ctx.appDir, directory);
  const out: ParsedManifest[] = [];
  let total = 0;
  for (const relToApp of files) {
    const abs = join(ctx.appDir, relToApp);
    const file = repoRelative(ctx.root, abs);
    ctx.files.push(file);
    if (relToApp.endsWith(".jsonnet")) {
      out.push(...(await renderJsonnetFile(ctx, abs, file)));
      continue;
    }
    const info = await stat(abs);
    if (info.size > ctx.limits.maxFileBytes) {
      throw new RenderError(
        `${file} is ${info.size} bytes, over the ${ctx.limits.maxFileBytes}-byte limit per file`,
        {
          reason: "TooLarge",
          file,
        },
      );
    }
    total += info.size;
    if (total > ctx.limits.maxTotalBytes) {
      throw new RenderError(
        `the manifests under ${ctx.appPath} exceed ${ctx.limits.maxTotalBytes} bytes in total (at ${file})`,
        { reason: "TooLarge", file },
      );
    }
    const text = await readFile(abs, "utf8");
    out.push(
      ...(relToApp.endsWith(".json") ? parseJsonManifests(text, file) : parseYamlManifests(text, file)),
    );
  }
  if (files.length === 0)
    ctx.warnings.push(`no manifest files (.yaml, .yml, .json, .jsonnet) in ${ctx.appPath}`);
  return out;
}
