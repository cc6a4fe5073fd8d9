/**
 * `slipway app diff|manifests`, computed in this process as `argocd app diff --local` does, but
 * always: the app's source is fetched from Git into the user's cache (or read from `--local`),
 * rendered with the controller's own renderer, and compared with the live objects read through
 * the API with the controller's own `diffResource` (normalisation, ignoreDifferences, Secret
 * masking). So the diff a user sees is the one the controller would act on, and it works
 * whether or not a controller is running.
 */
import { resolve } from "node:path";
import { stringify } from "yaml";
import type { Application, ApplicationSource, ResourceStatus } from "../api/v1alpha1/application.js";
import { diffResource } from "../controller/gitops/diff/diff.js";
import { groupOf, type KubeObject, resourceKey } from "../controller/gitops/diff/object.js";
import { maskSecret } from "../controller/gitops/diff/secret.js";
import { render } from "../controller/gitops/render/index.js";
import { isHook } from "../controller/gitops/sync/hooks.js";
import { isNamespacedKind } from "../controller/gitops/sync/plan.js";
import { isTrackedBy, withTrackingId } from "../controller/gitops/sync/tracking.js";
import { UnknownKindError } from "../controller/kube/discovery.js";
import { type AppContext, type AppGlobals, withApps } from "./app-client.js";
import { listRepositorySecrets, repoCache } from "./app-git.js";
import { formatError } from "./output.js";

export interface DiffOptions {
  revision?: string;
  local?: string;
  hardRefresh?: boolean;
}

export interface ManifestsOptions {
  source?: "git" | "live";
  revision?: string;
  local?: string;
}

/** The app's manifests as the controller would apply them: namespaced, with tracking ids. */
interface Desired {
  objects: KubeObject[];
  /** `main (abc1234)` per source, or `local DIR`, for messages. */
  revisions: string[];
}

function sourcesOf(app: Application): ApplicationSource[] {
  const sources = app.spec.sources?.length ? app.spec.sources : app.spec.source ? [app.spec.source] : [];
  if (sources.length === 0) throw new Error(`application "${app.metadata.name}" has no source`);
  return sources;
}

/** Whether a kind is namespaced: discovery when the cluster serves it, else the built-in list. */
async function namespaced(ctx: AppContext, obj: KubeObject): Promise<boolean> {
  try {
    return (await ctx.client.dynamic.resource(obj.apiVersion ?? "", obj.kind ?? "")).namespaced;
  } catch (error) {
    if (error instanceof UnknownKindError) return isNamespacedKind(groupOf(obj.apiVersion), obj.kind ?? "");
    throw ctx.failure(error, `discover ${obj.kind}`);
  }
}

async function renderDesired(
  ctx: AppContext,
  app: Application,
  options: { revision?: string; local?: string; hardRefresh?: boolean },
): Promise<Desired> {
  const name = app.metadata.name ?? "";
  const destination = app.spec.destination.namespace;
  const sources = sourcesOf(app);
  const renderOptions = { appName: name, ...(destination ? { namespace: destination } : {}) };
  const rendered: KubeObject[] = [];
  const revisions: string[] = [];
  if (options.local) {
    if (sources.length > 1) throw new Error("--local works with single-source apps only");
    const dir = resolve(options.local);
    const result = await render({ ...sources[0]!, path: "." }, dir, renderOptions);
    rendered.push(...result.objects);
    revisions.push(`local ${dir}`);
  } else {
    const repos = await listRepositorySecrets(ctx);
    const cache = repoCache(repos);
    for (const [i, source] of sources.entries()) {
      const wanted = i === 0 && options.revision !== undefined ? options.revision : source.targetRevision;
      const resolved = await cache.resolve(source.repoURL, wanted, { refresh: Boolean(options.hardRefresh) });
      const dir = await cache.checkout(source.repoURL, resolved.sha);
      const result = await render(source, dir, renderOptions);
      rendered.push(...result.objects);
      revisions.push(`${resolved.revision} (${resolved.sha.slice(0, 7)})`);
    }
  }
  const objects: KubeObject[] = [];
  for (const obj of rendered) {
    const copy: KubeObject = { ...obj, metadata: { ...obj.metadata } };
    if (!copy.metadata?.namespace && destination && (await namespaced(ctx, copy))) {
      copy.metadata = { ...copy.metadata, namespace: destination };
    }
    objects.push(withTrackingId(name, copy));
  }
  return { objects, revisions };
}

/** The live object, or undefined when it (or its kind) does not exist. */
async function readLive(ctx: AppContext, ref: KubeObject): Promise<KubeObject | undefined> {
  const apiVersion = ref.apiVersion ?? "";
  const kind = ref.kind ?? "";
  const name = ref.metadata?.name ?? "";
  const namespace = ref.metadata?.namespace;
  try {
    return (await ctx.client.dynamic.get({
      apiVersion,
      kind,
      name,
      ...(namespace ? { namespace } : {}),
    })) as KubeObject | undefined;
  } catch (error) {
    if (error instanceof UnknownKindError) return undefined;
    throw ctx.failure(error, `read ${kind} "${name}"`);
  }
}

/** A reference object for a resource of `status.resources`, to read it live. */
function refOf(r: ResourceStatus): KubeObject {
  return {
    apiVersion: r.group ? `${r.group}/${r.version ?? "v1"}` : (r.version ?? "v1"),
    kind: r.kind,
    metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
  };
}

/** Managed resources the controller reported that Git no longer has (they would be pruned). */
async function extraneous(
  ctx: AppContext,
  app: Application,
  desired: readonly KubeObject[],
): Promise<KubeObject[]> {
  const wanted = new Set(desired.map((o) => resourceKey(o)));
  const refs = (app.status?.resources ?? [])
    .filter((r) => !r.hook && !wanted.has(`${r.group ?? ""}/${r.kind}/${r.namespace ?? ""}/${r.name}`))
    .map(refOf);
  const lives = await mapLimit(refs, READ_CONCURRENCY, (ref) => readLive(ctx, ref));
  return lives.filter(
    (live): live is KubeObject => live !== undefined && isTrackedBy(app.metadata.name ?? "", live),
  );
}

/** `fn` over `items` with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Live reads in flight at once: enough for large apps, gentle on the API server. */
const READ_CONCURRENCY = 16;

const header = (obj: KubeObject) =>
  `===== ${groupOf(obj.apiVersion)}/${obj.kind ?? ""} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""} ======`;

/** Returns the exit code: 0 no difference, 1 a difference, 2 an error (printed here). */
export async function diffApp(name: string, options: DiffOptions, globals: AppGlobals): Promise<number> {
  try {
    return await withApps(globals, async (ctx) => {
      const app = await ctx.getApp(name);
      const desired = await renderDesired(ctx, app, options);
      const compare = { ignoreDifferences: app.spec.ignoreDifferences ?? [] };
      let modified = false;
      const out: string[] = [];
      const show = (obj: KubeObject, lines: readonly string[] | undefined) => {
        modified = true;
        out.push(`\n${header(obj)}\n${(lines ?? []).join("\n")}\n`);
      };
      const compared = desired.objects.filter((o) => !isHook(o));
      const lives = await mapLimit(compared, READ_CONCURRENCY, (o) => readLive(ctx, o));
      for (const [i, obj] of compared.entries()) {
        const result = diffResource(obj, lives[i], compare);
        if (result.modified) show(obj, result.lines);
      }
      for (const live of await extraneous(ctx, app, desired.objects)) {
        const result = diffResource(undefined, live, compare);
        if (result.modified) show(live, result.lines);
      }
      process.stdout.write(out.join(""));
      return modified ? 1 : 0;
    });
  } catch (error) {
    process.stderr.write(`${formatError(error, Boolean(globals.debug))}\n`);
    return 2;
  }
}

/** A live object as shown: server bookkeeping dropped, Secret values masked. */
function presentable(obj: KubeObject): KubeObject {
  const { managedFields: _drop, ...metadata } = obj.metadata ?? {};
  return maskSecret({ ...obj, metadata });
}

export async function manifestsApp(
  name: string,
  options: ManifestsOptions,
  globals: AppGlobals,
): Promise<void> {
  const source = options.source ?? "git";
  if (source === "live" && (options.revision || options.local)) {
    throw new Error("--revision and --local apply to --source git only");
  }
  await withApps(globals, async (ctx) => {
    const app = await ctx.getApp(name);
    let objects: KubeObject[];
    if (source === "git") {
      objects = (await renderDesired(ctx, app, options)).objects.map((o) => maskSecret(o));
    } else {
      // The resources the controller reported; before it has, the ones Git describes.
      const reported = (app.status?.resources ?? []).map(refOf);
      const refs = reported.length ? reported : (await renderDesired(ctx, app, {})).objects;
      const lives = await mapLimit(refs, READ_CONCURRENCY, (ref) => readLive(ctx, ref));
      objects = lives.filter((o): o is KubeObject => o !== undefined).map(presentable);
    }
    if (globals.output === "json") {
      process.stdout.write(
        `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`,
      );
      return;
    }
    process.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n"));
  });
}
