/**
 * Jsonnet files in directory sources, evaluated with the `jsonnet` binary (C++ or Go version)
 * the way Argo CD evaluates them: the app directory plus `directory.jsonnet.libs` (relative to
 * the repo root) on the import path, `extVars` and `tlas` as strings or code. The output is one
 * object or an array of objects.
 *
 * The binary happily imports absolute paths and `../../..`, so before running it every
 * `import`/`importstr`/`importbin` reachable from the file is resolved here and must stay in the
 * repository. Jsonnet only allows string literals as import paths, so reading them from the
 * source text finds all of them (a commented-out import may be refused too: harmless).
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import type { JsonnetVar } from "../../../api/v1alpha1/application.js";
import { PathEscapeError, RenderError, ToolMissingError } from "./errors.js";
import { findTool, runTool } from "./exec.js";
import { collectObject, type ParsedManifest } from "./manifests.js";
import { isInside, repoRelative, resolveInside } from "./paths.js";
import type { RenderContext } from "./types.js";

const IMPORT = /\bimport(str|bin)?\s*@?(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')/g;

function varArgs(flag: "ext" | "tla", vars: JsonnetVar[] | undefined): string[] {
  const args: string[] = [];
  for (const v of vars ?? []) {
    if (!v.name || v.name.includes("=")) {
      throw new RenderError(`invalid jsonnet ${flag === "ext" ? "extVar" : "tla"} name "${v.name}"`, {
        reason: "InvalidSource",
      });
    }
    args.push(`--${flag}-${v.code ? "code" : "str"}`, `${v.name}=${v.value}`);
  }
  return args;
}

/** Checks every import reachable from `entry`; returns the repo-relative files visited. */
async function checkImports(ctx: RenderContext, entry: string, jpaths: string[]): Promise<string[]> {
  const visited = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (visited.has(file)) continue;
    visited.add(file);
    const from = repoRelative(ctx.root, file);
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(IMPORT)) {
      const code = match[1] === undefined;
      const raw = (match[2] ?? match[3] ?? "").replace(/\\(.)/g, "$1");
      const what = `jsonnet import "${raw}"`;
      let found: string | undefined;
      if (isAbsolute(raw)) {
        // Must be a path inside the checkout; a missing one is left for jsonnet to report.
        found = await resolveInside(ctx.root, ctx.root, raw, { what, from });
      } else {
        // The importing file's directory first, then the library path (as jsonnet searches).
        for (const base of [dirname(file), ...jpaths]) {
          const candidate = resolve(base, raw);
          if (!isInside(ctx.root, candidate)) {
            throw new PathEscapeError(
              `${what} points outside the repository (referenced from ${from})`,
              from,
            );
          }
          found = await resolveInside(ctx.root, base, raw, { what, from });
          if (found) break;
        }
      }
      if (found && code) pending.push(found);
    }
  }
  return [...visited].map((f) => repoRelative(ctx.root, f));
}

/** Evaluates one `.jsonnet` file of a directory source. `file` is its repo-relative path. */
export async function renderJsonnetFile(
  ctx: RenderContext,
  abs: string,
  file: string,
): Promise<ParsedManifest[]> {
  const settings = ctx.source.directory?.jsonnet ?? {};
  const jpaths = [ctx.appDir];
  for (const lib of settings.libs ?? []) {
    const dir = await resolveInside(ctx.root, ctx.root, lib, {
      what: `jsonnet library path "${lib}"`,
      absoluteFromRoot: true,
    });
    if (!dir) {
      throw new RenderError(`jsonnet library path "${lib}" does not exist in the repository`, {
        reason: "InvalidPath",
        file: lib,
      });
    }
    jpaths.push(dir);
  }
  for (const visited of await checkImports(ctx, abs, jpaths)) {
    if (!ctx.files.includes(visited)) ctx.files.push(visited);
  }
  // Imports are checked before looking for the binary: a path escape is reported even where jsonnet is missing.
  const bin = await findTool("jsonnet", ctx.options.tools, ctx.options.pathEnv);
  if (!bin) {
    throw new ToolMissingError(
      "jsonnet",
      `jsonnet is not installed on the controller's PATH; install it or render ${file} to plain YAML/JSON`,
      file,
    );
  }
  const args = [
    ...jpaths.flatMap((p) => ["-J", p]),
    ...varArgs("ext", settings.extVars),
    ...varArgs("tla", settings.tlas),
    abs,
  ];
  const stdout = await runTool(bin, args, {
    label: "jsonnet",
    cwd: dirname(abs),
    timeoutMs: ctx.limits.timeoutMs,
    maxOutputBytes: ctx.limits.maxOutputBytes,
    file,
    pathEnv: ctx.options.pathEnv,
  });
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (error) {
    throw new RenderError(`${file}: jsonnet output is not JSON: ${(error as Error).message}`, {
      reason: "InvalidManifest",
      file,
      cause: error,
    });
  }
  const out: ParsedManifest[] = [];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectObject(v, { file, document: i + 1 }, out);
  } else collectObject(value, { file, document: 1 }, out);
  return out;
}
