/**
 * Helm sources: `helm template`, with Argo CD's argument mapping: release name (default: the
 * Application's name), `--namespace` (the destination), value files (relative to the chart;
 * absolute ones relative to the repo root), `values`/`valuesObject` (the object wins) after the
 * files, then `parameters` as `--set`/`--set-string` and `fileParameters` as `--set-file`; CRDs
 * included unless `skipCrds`. Only runs when `helm` is installed: the controller does not embed
 * a Helm engine, and a missing binary is a clear condition, never a crash.
 *
 * Value and file parameters must be files inside the repository (checked with realpath before
 * helm sees them); remote value URLs are refused so a render never reaches the network.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { RenderError, ToolMissingError } from "./errors.js";
import { findTool, runTool } from "./exec.js";
import { type ParsedManifest, parseYamlManifests } from "./manifests.js";
import { repoRelative, resolveInside } from "./paths.js";
import type { RenderContext } from "./types.js";

/**
 * Escapes commas in a `--set` value, which helm would otherwise split into several
 * assignments; `{a,b}` list syntax is passed as written (as Argo CD does).
 */
export function escapeSetValue(value: string): string {
  if (value.startsWith("{") && value.endsWith("}")) return value;
  return value.replace(/(?<!\\),/g, "\\,");
}

async function chartFile(ctx: RenderContext, ref: string, what: string): Promise<string | undefined> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    throw new RenderError(`${what} "${ref}" is a URL; only files inside the repository are supported`, {
      reason: "InvalidSource",
      file: ref,
    });
  }
  return resolveInside(ctx.root, ctx.appDir, ref, { what: `${what} "${ref}"`, absoluteFromRoot: true });
}

export async function renderHelm(ctx: RenderContext): Promise<ParsedManifest[]> {
  const helm = ctx.source.helm ?? {};
  const chartYaml = join(ctx.appDir, "Chart.yaml");
  const entry = repoRelative(ctx.root, chartYaml);
  const chartText = await readFile(chartYaml, "utf8").catch(() => undefined);
  if (chartText === undefined) {
    throw new RenderError(`no Chart.yaml in ${ctx.appPath}`, { reason: "InvalidSource", file: ctx.appPath });
  }
  ctx.files.push(entry);
  try {
    const chart = parseYaml(chartText, { maxAliasCount: 50 }) as { dependencies?: unknown[] } | null;
    if (Array.isArray(chart?.dependencies) && chart.dependencies.length > 0) {
      ctx.warnings.push(
        `${entry} declares dependencies; they must be vendored in charts/ (the controller does not run helm dependency build)`,
      );
    }
  } catch {
    // helm reports a malformed Chart.yaml itself
  }

  const releaseName = helm.releaseName || ctx.options.appName || "release";
  const args = ["template", releaseName, "."];
  if (!helm.skipCrds) args.push("--include-crds");
  const namespace = helm.namespace || ctx.options.namespace;
  if (namespace) args.push("--namespace", namespace);
  if (helm.skipTests) args.push("--skip-tests");
  if (helm.kubeVersion) args.push("--kube-version", helm.kubeVersion);
  for (const v of helm.apiVersions ?? []) args.push("--api-versions", v);

  for (const ref of helm.valueFiles ?? []) {
    const file = await chartFile(ctx, ref, "value file");
    if (!file) {
      if (helm.ignoreMissingValueFiles) {
        ctx.warnings.push(`value file "${ref}" does not exist; ignored (ignoreMissingValueFiles)`);
        continue;
      }
      throw new RenderError(`value file "${ref}" does not exist in the repository`, {
        reason: "InvalidPath",
        file: ref,
      });
    }
    ctx.files.push(repoRelative(ctx.root, file));
    args.push("--values", file);
  }

  const tmp = await mkdtemp(join(tmpdir(), "slipway-helm-"));
  try {
    let inline: string | undefined;
    if (helm.valuesObject && Object.keys(helm.valuesObject).length > 0) inline = stringify(helm.valuesObject);
    else if (helm.values?.trim()) inline = helm.values;
    if (inline !== undefined) {
      const file = join(tmp, "values.yaml");
      await writeFile(file, inline);
      args.push("--values", file);
    }
    for (const p of helm.parameters ?? []) {
      args.push(p.forceString ? "--set-string" : "--set", `${p.name}=${escapeSetValue(p.value)}`);
    }
    for (const p of helm.fileParameters ?? []) {
      const file = await chartFile(ctx, p.path, "file parameter");
      if (!file) {
        throw new RenderError(`file parameter "${p.path}" does not exist in the repository`, {
          reason: "InvalidPath",
          file: p.path,
        });
      }
      args.push("--set-file", `${p.name}=${file}`);
    }
    // Inputs are validated before looking for helm: a path escape is reported even where helm is missing.
    const bin = await findTool("helm", ctx.options.tools, ctx.options.pathEnv);
    if (!bin) {
      throw new ToolMissingError(
        "helm",
        "helm is not installed on the controller's PATH; install it or render the chart to plain YAML",
        entry,
      );
    }
    const stdout = await runTool(bin, args, {
      label: "helm template",
      cwd: ctx.appDir,
      timeoutMs: ctx.limits.timeoutMs,
      maxOutputBytes: ctx.limits.maxOutputBytes,
      file: entry,
      pathEnv: ctx.options.pathEnv,
      env: {
        HELM_CACHE_HOME: join(tmp, "cache"),
        HELM_CONFIG_HOME: join(tmp, "config"),
        HELM_DATA_HOME: join(tmp, "data"),
      },
    });
    return parseYamlManifests(stdout, entry, { sourceComments: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
