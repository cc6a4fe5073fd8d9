/**
 * Kustomize sources: `kustomize build` when the binary is on PATH, else `kubectl kustomize`
 * (kubectl embeds kustomize, so every controller image that has kubectl can render overlays).
 *
 * **Overrides** (`source.kustomize.namePrefix`, `images`, `commonLabels`, `namespace`, …) are
 * applied through a *wrapping kustomization* written to a private temp dir, whose only resource
 * is the app directory, rather than by running `kustomize edit` on the app's own kustomization
 * as Argo CD does. Why:
 * - the checkout is one immutable snapshot shared by every app at that SHA, possibly rendered
 *   concurrently with different overrides, so it must never be edited in place;
 * - copying a whole (possibly monorepo-sized) checkout per render to edit it is slow;
 * - `kubectl kustomize` has no `edit` subcommand, so the edit approach would require the
 *   standalone binary.
 * The outer layer gives the same result for images, labels, annotations, namespace, replicas,
 * patches and components. The one difference: `namePrefix`/`nameSuffix` are added on top of a
 * prefix the repo's kustomization already sets instead of replacing it; the render warns then.
 *
 * **Paths.** Kustomize's own load restrictor stops *files* outside a kustomization's directory,
 * but not *directories* (`resources: [../../../../other-tenant]`) nor absolute paths. Before
 * running the tool, every kustomization reachable from the app is read and each local path it
 * names must resolve inside the checkout. Remote bases are allowed (kustomize fetches them
 * itself) and reported as warnings.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import type { ApplicationSourceKustomize } from "../../../api/v1alpha1/application.js";
import { RenderError, ToolMissingError } from "./errors.js";
import { findTool, runTool } from "./exec.js";
import { type ParsedManifest, parseYamlManifests } from "./manifests.js";
import { repoRelative, resolveInside } from "./paths.js";
import type { RenderContext } from "./types.js";

export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/** The kustomization file in `dir`, if any. */
export async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const path = join(dir, name);
    try {
      await readFile(path);
      return path;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

function isRemote(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    /^git@/.test(ref) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//.test(ref)
  );
}

function isInline(ref: string): boolean {
  return ref.includes("\n");
}

type Ref = { path: string; kind: "dir-or-file" | "file" };

/** Local paths a kustomization names (the fields kustomize loads files or directories from). */
function referencedPaths(k: Record<string, unknown>): Ref[] {
  const refs: Ref[] = [];
  const strings = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
  const objects = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v)
      ? v.filter((o): o is Record<string, unknown> => typeof o === "object" && o !== null)
      : [];
  for (const field of ["resources", "bases", "components", "generators", "transformers", "validators"]) {
    for (const s of strings(k[field])) refs.push({ path: s, kind: "dir-or-file" });
  }
  for (const field of ["crds", "configurations", "patchesStrategicMerge"]) {
    for (const s of strings(k[field])) refs.push({ path: s, kind: "file" });
  }
  for (const field of ["patches", "patchesJson6902", "replacements"]) {
    for (const o of objects(k[field]))
      if (typeof o.path === "string") refs.push({ path: o.path, kind: "file" });
  }
  for (const field of ["configMapGenerator", "secretGenerator"]) {
    for (const g of objects(k[field])) {
      for (const f of strings(g.files))
        refs.push({ path: f.includes("=") ? f.slice(f.indexOf("=") + 1) : f, kind: "file" });
      for (const e of strings(g.envs)) refs.push({ path: e, kind: "file" });
      if (typeof g.env === "string") refs.push({ path: g.env, kind: "file" });
    }
  }
  const openapi = k.openapi as { path?: unknown } | undefined;
  if (typeof openapi?.path === "string") refs.push({ path: openapi.path, kind: "file" });
  const helmGlobals = k.helmGlobals as { chartHome?: unknown } | undefined;
  if (typeof helmGlobals?.chartHome === "string")
    refs.push({ path: helmGlobals.chartHome, kind: "dir-or-file" });
  for (const chart of objects(k.helmCharts)) {
    if (typeof chart.valuesFile === "string") refs.push({ path: chart.valuesFile, kind: "file" });
    for (const f of strings(chart.additionalValuesFiles)) refs.push({ path: f, kind: "file" });
  }
  return refs.filter((r) => r.path !== "" && !isInline(r.path));
}

/**
 * Walks the kustomization graph from `dir`, refusing local references that leave the checkout.
 * Returns the parsed top-level kustomization. Records visited files in `ctx.files`.
 */
async function checkKustomizationTree(ctx: RenderContext, dir: string): Promise<Record<string, unknown>> {
  const seen = new Set<string>();
  let top: Record<string, unknown> | undefined;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const file = await findKustomization(current);
    if (!file) continue;
    const rel = repoRelative(ctx.root, file);
    if (!ctx.files.includes(rel)) ctx.files.push(rel);
    let parsed: unknown;
    try {
      parsed = parseYaml(await readFile(file, "utf8"), { maxAliasCount: 50 });
    } catch (error) {
      throw new RenderError(`${rel}: invalid YAML: ${(error as Error).message.split("\n")[0]}`, {
        reason: "InvalidManifest",
        file: rel,
        cause: error,
      });
    }
    const k = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
    top ??= k;
    for (const ref of referencedPaths(k)) {
      if (isRemote(ref.path)) {
        ctx.warnings.push(
          `${rel}: remote resource ${ref.path} is fetched by kustomize itself, outside slipway's Git cache`,
        );
        continue;
      }
      const target = await resolveInside(ctx.root, current, ref.path, { what: `"${ref.path}"`, from: rel });
      if (!target) continue; // kustomize reports missing files itself, with its own wording
      if (ref.kind === "dir-or-file" && (await findKustomization(target))) pending.push(target);
      else {
        const t = repoRelative(ctx.root, target);
        if (!ctx.files.includes(t)) ctx.files.push(t);
      }
    }
  }
  return top ?? {};
}

/** `[old=]new[:tag|@digest]` (Argo CD / `kustomize edit set image` syntax) → a kustomize `images` entry. */
export function parseImageOverride(spec: string): Record<string, string> {
  const split = (ref: string): { name: string; tag?: string; digest?: string } => {
    const at = ref.indexOf("@");
    if (at !== -1) return { name: ref.slice(0, at), digest: ref.slice(at + 1) };
    const colon = ref.lastIndexOf(":");
    if (colon > ref.lastIndexOf("/")) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
    return { name: ref };
  };
  const eq = spec.indexOf("=");
  const entry: Record<string, string> = {};
  if (eq !== -1) {
    const name = spec.slice(0, eq);
    const target = split(spec.slice(eq + 1));
    entry.name = name;
    if (target.name && target.name !== name) entry.newName = target.name;
    if (target.tag) entry.newTag = target.tag;
    if (target.digest) entry.digest = target.digest;
  } else {
    const target = split(spec);
    entry.name = target.name;
    if (target.tag) entry.newTag = target.tag;
    if (target.digest) entry.digest = target.digest;
  }
  if (!entry.name)
    throw new RenderError(`invalid kustomize image override "${spec}"`, { reason: "InvalidSource" });
  return entry;
}

function hasOverrides(k: ApplicationSourceKustomize | undefined): k is ApplicationSourceKustomize {
  if (!k) return false;
  return Boolean(
    k.namePrefix ||
      k.nameSuffix ||
      k.namespace ||
      k.images?.length ||
      Object.keys(k.commonLabels ?? {}).length ||
      Object.keys(k.commonAnnotations ?? {}).length ||
      k.replicas?.length ||
      k.patches?.length ||
      k.components?.length,
  );
}

/** Relative path from the wrapper dir to `target`, `/`-separated (kustomize refuses absolute roots). */
function fromWrapper(wrapperDir: string, target: string): string {
  return relative(wrapperDir, target).split(sep).join("/");
}

async function wrapperKustomization(
  ctx: RenderContext,
  k: ApplicationSourceKustomize,
  inner: Record<string, unknown>,
  wrapperDir: string,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [fromWrapper(wrapperDir, ctx.appDir)],
  };
  for (const field of ["namePrefix", "nameSuffix"] as const) {
    if (!k[field]) continue;
    out[field] = k[field];
    if (typeof inner[field] === "string" && inner[field]) {
      ctx.warnings.push(
        `kustomize.${field} "${k[field]}" is applied on top of the repository's own ${field} "${inner[field]}" (Argo CD would replace it)`,
      );
    }
  }
  if (k.namespace) out.namespace = k.namespace;
  if (k.images?.length) out.images = k.images.map(parseImageOverride);
  if (Object.keys(k.commonLabels ?? {}).length) {
    out.labels = [
      {
        pairs: k.commonLabels,
        includeSelectors: !k.labelWithoutSelector,
        includeTemplates: !k.labelWithoutSelector,
      },
    ];
  }
  if (Object.keys(k.commonAnnotations ?? {}).length) out.commonAnnotations = k.commonAnnotations;
  if (k.replicas?.length) {
    out.replicas = k.replicas.map((r) => {
      const count = typeof r.count === "number" ? r.count : Number(r.count);
      if (!Number.isInteger(count) || count < 0) {
        throw new RenderError(`kustomize.replicas: count "${r.count}" for ${r.name} is not a whole number`, {
          reason: "InvalidSource",
        });
      }
      return { name: r.name, count };
    });
  }
  if (k.patches?.length) {
    const patches: Record<string, unknown>[] = [];
    for (const p of k.patches) {
      const patch: Record<string, unknown> = {};
      if (p.path) {
        const file = await resolveInside(ctx.root, ctx.appDir, p.path, {
          what: `kustomize patch "${p.path}"`,
        });
        if (!file) {
          throw new RenderError(`kustomize patch file "${p.path}" does not exist in ${ctx.appPath}`, {
            reason: "InvalidPath",
            file: p.path,
          });
        }
        // Inlined: the wrapper's load restrictor would refuse a file outside its own directory.
        patch.patch = await readFile(file, "utf8");
        ctx.files.push(repoRelative(ctx.root, file));
      } else if (p.patch) {
        patch.patch = p.patch;
      }
      if (p.target) patch.target = p.target;
      if (p.options) patch.options = p.options;
      patches.push(patch);
    }
    out.patches = patches;
  }
  if (k.components?.length) {
    const components: string[] = [];
    for (const c of k.components) {
      const dir = await resolveInside(ctx.root, ctx.appDir, c, { what: `kustomize component "${c}"` });
      if (!dir) {
        throw new RenderError(`kustomize component "${c}" does not exist in the repository`, {
          reason: "InvalidPath",
          file: c,
        });
      }
      await checkKustomizationTree(ctx, dir);
      components.push(fromWrapper(wrapperDir, dir));
    }
    out.components = components;
  }
  if (k.version)
    ctx.warnings.push(`kustomize.version "${k.version}" is ignored; the installed kustomize is used`);
  return out;
}

export async function renderKustomize(ctx: RenderContext): Promise<ParsedManifest[]> {
  const kustomizationFile = await findKustomization(ctx.appDir);
  if (!kustomizationFile) {
    throw new RenderError(`no kustomization.yaml in ${ctx.appPath}`, {
      reason: "InvalidSource",
      file: ctx.appPath,
    });
  }
  const entry = repoRelative(ctx.root, kustomizationFile);
  const inner = await checkKustomizationTree(ctx, ctx.appDir);

  const kustomize = await findTool("kustomize", ctx.options.tools, ctx.options.pathEnv);
  const kubectl = kustomize ? undefined : await findTool("kubectl", ctx.options.tools, ctx.options.pathEnv);
  if (!kustomize && !kubectl) {
    throw new ToolMissingError(
      "kustomize",
      "neither kustomize nor kubectl is installed on the controller's PATH; install one of them or render the overlay to plain YAML",
      entry,
    );
  }
  const bin = (kustomize ?? kubectl)!;
  const label = kustomize ? "kustomize build" : "kubectl kustomize";
  const run = (dir: string) =>
    runTool(bin, kustomize ? ["build", dir] : ["kustomize", dir], {
      label,
      cwd: ctx.appDir,
      timeoutMs: ctx.limits.timeoutMs,
      maxOutputBytes: ctx.limits.maxOutputBytes,
      file: entry,
      pathEnv: ctx.options.pathEnv,
    });

  let stdout: string;
  const overrides = ctx.source.kustomize;
  if (hasOverrides(overrides)) {
    const wrapperDir = await mkdtemp(join(tmpdir(), "slipway-kustomize-"));
    try {
      const wrapper = await wrapperKustomization(ctx, overrides, inner, wrapperDir);
      await writeFile(join(wrapperDir, "kustomization.yaml"), stringify(wrapper));
      stdout = await run(wrapperDir);
    } finally {
      await rm(wrapperDir, { recursive: true, force: true });
    }
  } else {
    stdout = await run(ctx.appDir);
  }
  return parseYamlManifests(stdout, entry);
}
