/**
 * ApplicationSet generators as pure functions of their inputs: the cluster list and a Git
 * checkout come in through `GeneratorContext`, so unit tests feed plain data.
 */

import { readdir, readFile } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { cloneJson } from "../../api/json.js";
import type {
  ApplicationSetGenerator,
  ClusterGenerator,
  GitGenerator,
  ListGenerator,
  MatrixGenerator,
  MergeGenerator,
  NestedGenerator,
} from "../../api/v1alpha1/applicationset.js";
import type { LabelSelector } from "../../api/v1alpha1/common.js";
import { globMatch } from "../gitops/glob.js";
import { flattenParams, type Params, renderValue } from "./template.js";

/** A cluster as the clusters generator sees it (ClusterRegistry's `Cluster` fits). */
export interface ClusterInfo {
  readonly name: string;
  readonly server: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface GeneratorContext {
  goTemplate: boolean;
  clusters(): readonly ClusterInfo[];
  /** A checked-out directory of the repo at the revision. Throws when unreachable. */
  checkout(repoURL: string, revision: string | undefined): Promise<string>;
}

export class GeneratorError extends Error {
  override readonly name = "GeneratorError";
}

/** Argo's label normalisation: lowercase, every run of invalid characters → `-`. */
export function normalizeName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
}

/** A Kubernetes label selector over string labels; an empty or absent selector matches everything. */
export function labelSelectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(value))) return false;
    if (e.operator === "NotIn" && has && values.includes(value)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// ---- list -----------------------------------------------------------------------------------

export function listParams(gen: ListGenerator, ctx: Pick<GeneratorContext, "goTemplate">): Params[] {
  const out: Params[] = [];
  const elements: unknown[] = [...(gen.elements ?? [])];
  if (gen.elementsYaml) {
    const parsed: unknown = parseYaml(gen.elementsYaml);
    if (!Array.isArray(parsed)) throw new GeneratorError("list: elementsYaml is not a YAML list");
    elements.push(...parsed);
  }
  for (const [i, e] of elements.entries()) {
    if (e === null || typeof e !== "object" || Array.isArray(e)) {
      throw new GeneratorError(`list: element ${i} is not an object`);
    }
    out.push(ctx.goTemplate ? cloneJson(e as Params) : flattenParams(e as Params));
  }
  return out;
}

// ---- clusters -------------------------------------------------------------------------------

export function clusterParams(
  gen: ClusterGenerator,
  ctx: Pick<GeneratorContext, "goTemplate" | "clusters">,
): Params[] {
  const out: Params[] = [];
  for (const c of ctx.clusters()) {
    if (!labelSelectorMatches(gen.selector, { ...c.labels })) continue;
    const base: Params = {
      name: c.name,
      nameNormalized: normalizeName(c.name),
      server: c.server,
      metadata: { labels: { ...c.labels }, annotations: { ...c.annotations } },
    };
    // `values` may reference the cluster's own parameters.
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(gen.values ?? {})) values[k] = renderValue(v, base, ctx.goTemplate);
    base.values = values;
    out.push(ctx.goTemplate ? base : flattenParams(base));
  }
  if (gen.flatList) return [ctx.goTemplate ? { clusters: out } : { clusters: JSON.stringify(out) }];
  return out;
}

// ---- git ------------------------------------------------------------------------------------

/** Every directory (`dirs`) and file (`files`) of a checkout, repo-relative with `/`, `.git` skipped. */
export async function walkTree(root: string): Promise<{ dirs: string[]; files: string[] }> {
  const dirs: string[] = [];
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      if (e.name === ".git") continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.push(p);
        await walk(p);
      } else if (e.isFile()) files.push(p);
    }
  };
  await walk("");
  return { dirs: dirs.sort(), files: files.sort() };
}

function matchPaths(items: GitGenerator["directories"], paths: readonly string[]): string[] {
  const include = (items ?? []).filter((i) => !i.exclude);
  const exclude = (items ?? []).filter((i) => i.exclude);
  return paths.filter(
    (p) => include.some((i) => globMatch(i.path, p, "/")) && !exclude.some((i) => globMatch(i.path, p, "/")),
  );
}

function pathParams(dir: string, prefix: string | undefined, goTemplate: boolean, file?: string): Params {
  const segments = dir === "." || dir === "" ? [] : dir.split("/");
  const base = segments.length ? segments[segments.length - 1]! : ".";
  const path: Params = {
    path: dir,
    basename: base,
    basenameNormalized: normalizeName(base),
    segments,
    ...(file !== undefined ? { filename: file, filenameNormalized: normalizeName(file) } : {}),
  };
  if (goTemplate) return prefix ? { [prefix]: { path } } : { path };
  const key = prefix ? `${prefix}.path` : "path";
  const flat: Record<string, string> = {
    [key]: dir,
    [`${key}.basename`]: base,
    [`${key}.basenameNormalized`]: normalizeName(base),
  };
  if (file !== undefined) {
    flat[`${key}.filename`] = file;
    flat[`${key}.filenameNormalized`] = normalizeName(file);
  }
  for (const [i, s] of segments.entries()) flat[`${key}[${i}]`] = s;
  return flat;
}

/** The git generator over an already listed tree; `read` returns a file's content. */
export async function gitParamsFromTree(
  gen: GitGenerator,
  tree: { dirs: string[]; files: string[] },
  read: (path: string) => Promise<string>,
  goTemplate: boolean,
): Promise<Params[]> {
  const out: Params[] = [];
  const values = gen.values ?? {};
  const withValues = (p: Params): Params => {
    if (Object.keys(values).length === 0) return p;
    const v = renderValue(values, p, goTemplate);
    return goTemplate ? { ...p, values: v } : { ...p, ...flattenParams({ values: v }) };
  };
  if (gen.directories?.length) {
    for (const d of matchPaths(gen.directories, tree.dirs)) {
      out.push(withValues(pathParams(d, gen.pathParamPrefix, goTemplate)));
    }
  }
  if (gen.files?.length) {
    for (const f of matchPaths(gen.files, tree.files)) {
      const text = await read(f);
      let parsed: unknown;
      try {
        parsed = f.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
      } catch (error) {
        throw new GeneratorError(`git: cannot parse ${f}: ${(error as Error).message}`);
      }
      const docs = Array.isArray(parsed) ? parsed : [parsed];
      const dir = posix.dirname(f);
      for (const doc of docs) {
        if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
          throw new GeneratorError(`git: ${f} is not an object or a list of objects`);
        }
        const own = goTemplate ? cloneJson(doc as Params) : flattenParams(doc as Params);
        out.push(withValues({ ...own, ...pathParams(dir, gen.pathParamPrefix, goTemplate, basename(f)) }));
      }
    }
  }
  return out;
}

export async function gitParams(gen: GitGenerator, ctx: GeneratorContext): Promise<Params[]> {
  if (!gen.directories?.length && !gen.files?.length) {
    throw new GeneratorError("git: give directories or files");
  }
  let root: string;
  try {
    root = await ctx.checkout(gen.repoURL, gen.revision);
  } catch (error) {
    throw new GeneratorError(`git: ${gen.repoURL}: ${(error as Error).message}`);
  }
  const tree = await walkTree(root);
  return gitParamsFromTree(gen, tree, (p) => readFile(join(root, p), "utf8"), ctx.goTemplate);
}

// ---- matrix / merge -------------------------------------------------------------------------

function combine(a: Params, b: Params, goTemplate: boolean): Params {
  if (!goTemplate) {
    for (const [k, v] of Object.entries(b)) {
      if (Object.hasOwn(a, k) && a[k] !== v) {
        throw new GeneratorError(`matrix: parameter "${k}" is generated twice with different values`);
      }
    }
    return { ...a, ...b };
  }
  return { ...cloneJson(a), ...cloneJson(b) };
}

export async function matrixParams(gen: MatrixGenerator, ctx: GeneratorContext): Promise<Params[]> {
  if (gen.generators.length !== 2) throw new GeneratorError("matrix: needs exactly 2 child generators");
  const [first, second] = gen.generators as [NestedGenerator, NestedGenerator];
  const left = await generateParams(first, ctx);
  const out: Params[] = [];
  for (const l of left) {
    // Argo renders the second generator with the first one's parameters (e.g. a git path from a list).
    const rendered = renderValue(second, l, ctx.goTemplate);
    for (const r of await generateParams(rendered, ctx)) out.push(combine(l, r, ctx.goTemplate));
  }
  return out;
}

function keyOf(p: Params, keys: readonly string[]): string {
  const flat = flattenParams(p);
  return JSON.stringify(keys.map((k) => flat[k] ?? null));
}

export async function mergeParams(gen: MergeGenerator, ctx: GeneratorContext): Promise<Params[]> {
  const [first, ...rest] = gen.generators;
  if (!first) throw new GeneratorError("merge: needs at least one child generator");
  const base = await generateParams(first, ctx);
  const index = new Map<string, number>();
  for (const [i, p] of base.entries()) {
    const k = keyOf(p, gen.mergeKeys);
    if (index.has(k)) throw new GeneratorError(`merge: duplicate merge key ${k} in the first generator`);
    index.set(k, i);
  }
  const out = base.map((p) => ({ ...p }));
  for (const g of rest) {
    const seen = new Set<string>();
    for (const p of await generateParams(g, ctx)) {
      const k = keyOf(p, gen.mergeKeys);
      if (seen.has(k)) continue; // Argo: the first set with a key wins within a generator
      seen.add(k);
      const i = index.get(k);
      if (i !== undefined) out[i] = { ...out[i]!, ...p };
    }
  }
  return out;
}

function asGenerator(value: unknown, what: string): ApplicationSetGenerator {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new GeneratorError(`${what}: not an object`);
  }
  return value as ApplicationSetGenerator;
}

/** Runs one generator entry (any kind, nested matrix/merge included) and applies its `selector`. */
export async function generateParams(
  gen: ApplicationSetGenerator | NestedGenerator,
  ctx: GeneratorContext,
): Promise<Params[]> {
  const kinds = (["list", "clusters", "git", "matrix", "merge"] as const).filter((k) => gen[k] !== undefined);
  if (kinds.length !== 1) {
    throw new GeneratorError(
      `a generator needs exactly one of list, clusters, git, matrix, merge (got ${kinds.length})`,
    );
  }
  let params: Params[];
  if (gen.list) params = listParams(gen.list, ctx);
  else if (gen.clusters) params = clusterParams(gen.clusters, ctx);
  else if (gen.git) params = await gitParams(gen.git, ctx);
  else if (gen.matrix) {
    const m = asGenerator(gen.matrix, "matrix") as unknown as MatrixGenerator;
    if (!Array.isArray(m.generators)) throw new GeneratorError("matrix: generators must be a list");
    params = await matrixParams(m, ctx);
  } else {
    const m = asGenerator(gen.merge, "merge") as unknown as MergeGenerator;
    if (!Array.isArray(m.generators) || !Array.isArray(m.mergeKeys)) {
      throw new GeneratorError("merge: generators and mergeKeys must be lists");
    }
    params = await mergeParams(m, ctx);
  }
  if (gen.selector) {
    params = params.filter((p) => labelSelectorMatches(gen.selector, flattenParams(p)));
  }
  return params;
}

/** The template override of a generator entry, if any. */
export function generatorTemplate(gen: ApplicationSetGenerator): unknown {
  return (
    gen.list?.template ??
    gen.clusters?.template ??
    gen.git?.template ??
    gen.matrix?.template ??
    gen.merge?.template
  );
}
