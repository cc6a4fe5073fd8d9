/**
 * `slipway app create|list|get|set|delete|sync|wait|history|rollback|refresh|terminate-op`: the
 * commands that read and write Applications through the API. The controller does the work:
 * `sync` and `rollback` write `operation` as Argo CD's API server does (util/argo.SetAppOperation)
 * and follow `status.operationState` until the controller finishes it.
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { createInterface } from "node:readline/promises";
import { Value } from "@sinclair/typebox/value";
import { parseAllDocuments } from "yaml";
import { parseDuration } from "../analysis/duration.js";
import {
  Application,
  type ApplicationSpec,
  type Operation,
  type ResourceRef,
  type SyncOperation,
} from "../api/v1alpha1/application.js";
import { API_VERSION, DEFAULT_NAMESPACE } from "../api/v1alpha1/index.js";
import { REFRESH } from "../controller/gitops/sync/annotations.js";
import {
  ApiFailure,
  type AppContext,
  type AppGlobals,
  isAutomated,
  operationInProgress,
  withApps,
} from "./app-client.js";
import {
  describeApp,
  healthOf,
  IN_CLUSTER,
  LIST_HEADERS,
  listRow,
  operationLines,
  operationResultTable,
  primarySource,
  repoMatchKey,
  resourceRows,
  resourcesTable,
  shortSha,
  stateLine,
  summaryLines,
  syncStatusOf,
} from "./app-view.js";
import { isObjectNotFound } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

/** Finalizer that makes the controller delete the app's resources before the app (foreground). */
export const RESOURCES_FINALIZER = "resources-finalizer.slipway.dev";
const RESOURCES_FINALIZER_BACKGROUND = `${RESOURCES_FINALIZER}/background`;
/** Argo CD's spellings, removed by a non-cascading delete so an imported app does not cascade. */
const ARGO_FINALIZERS = [
  "resources-finalizer.argocd.argoproj.io",
  "resources-finalizer.argocd.argoproj.io/background",
];

/** On an Application: asks the controller to stop the running operation (it removes the annotation). */
export const TERMINATE_OP = "slipway.dev/terminate-op";

class OperationEnded extends Error {}

const POLL_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function timeoutMs(value: string | undefined, flag = "--timeout"): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new Error(`${flag} expects a duration such as 30s or 5m, got "${value}"`);
  }
  if (ms <= 0) return undefined;
  return ms;
}

const structured = (globals: AppGlobals) => globals.output === "json" || globals.output === "yaml";

// ---------------------------------------------------------------------------------------------
// spec flags, shared by create and set

export interface SpecFlags {
  repo?: string;
  path?: string;
  revision?: string;
  destServer?: string;
  destName?: string;
  destNamespace?: string;
  project?: string;
  syncPolicy?: string;
  autoPrune?: boolean;
  selfHeal?: boolean;
  allowEmpty?: boolean;
  syncOption?: string[];
  directoryRecurse?: boolean;
}

/** Applies the flags to a spec in place; throws on combinations argocd refuses too. */
export function applySpecFlags(spec: ApplicationSpec, flags: SpecFlags): void {
  const touchesSource =
    flags.repo !== undefined ||
    flags.path !== undefined ||
    flags.revision !== undefined ||
    flags.directoryRecurse !== undefined;
  if (touchesSource && spec.sources?.length && !spec.source) {
    throw new Error("this app has several sources (spec.sources): edit them in the manifest instead");
  }
  if (touchesSource) spec.source ??= { repoURL: "" };
  const source = spec.source;
  if (source) {
    if (flags.repo !== undefined) source.repoURL = flags.repo;
    if (flags.path !== undefined) source.path = flags.path;
    if (flags.revision !== undefined) source.targetRevision = flags.revision;
    if (flags.directoryRecurse !== undefined) {
      source.directory = { ...source.directory, recurse: flags.directoryRecurse };
      if (!flags.directoryRecurse) delete source.directory.recurse;
      if (Object.keys(source.directory).length === 0) delete source.directory;
    }
  }
  if (flags.destServer !== undefined && flags.destName !== undefined) {
    throw new Error("pass only one of --dest-server and --dest-name");
  }
  if (flags.destServer !== undefined) {
    spec.destination.server = flags.destServer;
    delete spec.destination.name;
  }
  if (flags.destName !== undefined) {
    spec.destination.name = flags.destName;
    delete spec.destination.server;
  }
  if (flags.destNamespace !== undefined) spec.destination.namespace = flags.destNamespace;
  if (flags.project !== undefined) spec.project = flags.project;

  if (flags.syncPolicy !== undefined) {
    const automatic = ["auto", "automated", "automatic"].includes(flags.syncPolicy);
    spec.syncPolicy ??= {};
    if (automatic) spec.syncPolicy.automated = { ...spec.syncPolicy.automated, enabled: true };
    else delete spec.syncPolicy.automated;
  }
  for (const [flag, key] of [
    ["--auto-prune", "prune"],
    ["--self-heal", "selfHeal"],
    ["--allow-empty", "allowEmpty"],
  ] as const) {
    const value = flags[key === "prune" ? "autoPrune" : key];
    if (value === undefined) continue;
    const automated = spec.syncPolicy?.automated;
    if (!automated || automated.enabled === false) {
      if (!value) continue;
      throw new Error(`cannot set ${flag}: the app has no automated sync (add --sync-policy auto)`);
    }
    if (value) automated[key] = true;
    else delete automated[key];
  }
  if (flags.syncOption?.length) {
    spec.syncPolicy ??= {};
    const options = [...(spec.syncPolicy.syncOptions ?? [])];
    for (const option of flags.syncOption) {
      const eq = option.indexOf("=");
      if (eq <= 0)
        throw new Error(`--sync-option expects KEY=VALUE (e.g. CreateNamespace=true), got "${option}"`);
      const key = option.slice(0, eq);
      const at = options.findIndex((o) => o.split("=")[0] === key);
      if (at >= 0) options[at] = option;
      else options.push(option);
    }
    spec.syncPolicy.syncOptions = options;
  }
  if (spec.syncPolicy && Object.keys(spec.syncPolicy).length === 0) delete spec.syncPolicy;
}

/** `/spec/source/repoURL` → `spec.source.repoURL`. */
function fieldPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("");
}

function checkSchema(app: Application): void {
  const first = Value.Errors(Application, app).First();
  if (first) {
    const detail = first.message === "Expected required property" ? " is required" : `: ${first.message}`;
    throw new Error(`invalid Application: ${fieldPath(first.path)}${detail}`);
  }
}

/**
 * An Application from a file, Argo CD's apiVersion accepted (it is the only difference). The
 * namespace of an Argo CD manifest is Argo's controller namespace, so it is not carried over.
 */
function loadAppFile(path: string): Application {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const apps: Application[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors[0]) throw new Error(`cannot parse ${path}: ${doc.errors[0].message.split("\n")[0]}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const obj = value as { kind?: unknown; apiVersion?: unknown };
    if (obj.kind !== "Application")
      throw new Error(`${path} holds a ${String(obj.kind)}, not an Application`);
    if (obj.apiVersion !== API_VERSION && obj.apiVersion !== "argoproj.io/v1alpha1") {
      throw new Error(`${path}: apiVersion ${String(obj.apiVersion)} is not ${API_VERSION}`);
    }
    const app = { ...(value as Application), apiVersion: API_VERSION } as Application;
    if (obj.apiVersion !== API_VERSION && app.metadata)
      app.metadata = { ...app.metadata, namespace: undefined };
    apps.push(app);
  }
  if (apps.length !== 1) throw new Error(`${path} must hold exactly one Application, found ${apps.length}`);
  return apps[0]!;
}

/** JSON with sorted keys, to compare specs regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

// ---------------------------------------------------------------------------------------------
// create

export interface CreateOptions extends SpecFlags {
  file?: string;
  upsert?: boolean;
}

export async function createApp(
  name: string | undefined,
  options: CreateOptions,
  globals: AppGlobals,
): Promise<void> {
  const fromFile = options.file ? loadAppFile(options.file) : undefined;
  const appName = name ?? fromFile?.metadata.name;
  if (!appName) throw new Error("pass the application name (or -f with a manifest that has metadata.name)");
  const namespace = globals.appNamespace ?? fromFile?.metadata.namespace ?? DEFAULT_NAMESPACE;
  const app: Application = fromFile
    ? structuredClone(fromFile)
    : {
        apiVersion: API_VERSION,
        kind: "Application",
        metadata: { name: appName },
        spec: { destination: {}, project: "default" },
      };
  app.metadata = {
    name: appName,
    namespace,
    ...(app.metadata.labels ? { labels: app.metadata.labels } : {}),
    ...(app.metadata.annotations ? { annotations: app.metadata.annotations } : {}),
    ...(app.metadata.finalizers ? { finalizers: app.metadata.finalizers } : {}),
  };
  delete app.status;
  delete app.operation;
  app.spec.project ||= "default";
  app.spec.destination ??= {};
  applySpecFlags(app.spec, options);
  if (!app.spec.destination.server && !app.spec.destination.name) app.spec.destination.server = IN_CLUSTER;
  const source = primarySource(app);
  if (!source?.repoURL) throw new Error("pass --repo URL (the Git repository of the app)");
  if (source.path === undefined && !app.spec.sources) {
    throw new Error('pass --path PATH (the app\'s directory in the repository; "." for the root)');
  }
  checkSchema(app);

  await withApps({ ...globals, appNamespace: namespace }, async (ctx) => {
    await checkProject(ctx, app.spec.project);
    const existing = await ctx.findApp(appName);
    if (!existing) {
      try {
        await ctx.client.request("POST", ctx.appPath(), { body: app });
      } catch (error) {
        throw ctx.failure(error, `create application "${appName}"`);
      }
      process.stdout.write(`application '${appName}' created\n`);
      return;
    }
    if (canonical(existing.spec) === canonical(app.spec)) {
      process.stdout.write(`application '${appName}' unchanged\n`);
      return;
    }
    if (!options.upsert) {
      throw new Error(
        `application "${appName}" already exists with a different spec; use --upsert to replace it (or "slipway app set")`,
      );
    }
    await ctx.updateApp(appName, `update application "${appName}"`, (current) => ({
      ...current,
      spec: app.spec,
      metadata: {
        ...current.metadata,
        ...(app.metadata.labels ? { labels: { ...current.metadata.labels, ...app.metadata.labels } } : {}),
        ...(app.metadata.annotations
          ? { annotations: { ...current.metadata.annotations, ...app.metadata.annotations } }
          : {}),
      },
    }));
    process.stdout.write(`application '${appName}' updated\n`);
  });
}

/** Argo CD refuses an app whose project does not exist; so does slipway, before writing. */
async function checkProject(ctx: AppContext, project: string): Promise<void> {
  const path = `/apis/slipway.dev/v1alpha1/namespaces/${encodeURIComponent(ctx.appNamespace)}/appprojects/${encodeURIComponent(project)}`;
  try {
    await ctx.client.request("GET", path);
  } catch (error) {
    if (isObjectNotFound(error)) {
      throw new Error(
        `project "${project}" not found in namespace "${ctx.appNamespace}" (AppProjects live with the Applications; "slipway install" creates "default")`,
      );
    }
    throw ctx.failure(error, `read project "${project}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// list / get

export interface ListOptions {
  project?: string[];
  selector?: string;
  repo?: string;
}

interface AppList {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  items?: Application[];
}

export async function listApps(options: ListOptions, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    let list: AppList;
    try {
      list = await ctx.client.request<AppList>("GET", ctx.appPath(), {
        query: { labelSelector: options.selector },
      });
    } catch (error) {
      throw ctx.failure(error, "list applications");
    }
    const items = (list.items ?? [])
      .filter((a) => !options.project?.length || options.project.includes(a.spec.project))
      .filter(
        (a) => !options.repo || repoMatchKey(primarySource(a)?.repoURL ?? "") === repoMatchKey(options.repo),
      )
      .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
    if (printStructured({ ...list, items }, globals.output)) return;
    if (items.length === 0) {
      process.stderr.write(`No applications found in namespace "${ctx.appNamespace}".\n`);
      return;
    }
    process.stdout.write(`${formatTable(LIST_HEADERS, items.map(listRow))}\n`);
  });
}

export interface GetOptions {
  refresh?: boolean;
  hardRefresh?: boolean;
  showOperation?: boolean;
}

export async function getApp(name: string, options: GetOptions, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    let app: Application;
    if (options.refresh || options.hardRefresh) {
      const outcome = await requestRefresh(ctx, name, Boolean(options.hardRefresh), 10_000);
      app = outcome.app;
      if (!outcome.seen) process.stderr.write(REFRESH_NOT_SEEN);
    } else {
      app = await ctx.getApp(name);
    }
    if (printStructured(app, globals.output)) return;
    process.stdout.write(describeApp(app));
    if (options.showOperation && app.status?.operationState?.syncResult?.resources?.length) {
      process.stdout.write(`\nOperation results:\n${operationResultTable(app)}\n`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// refresh

const REFRESH_NOT_SEEN =
  "warning: refresh requested, but the controller has not picked it up yet (is it running?); showing the last known state\n";

/**
 * Sets the refresh annotation (Argo CD's `argocd.argoproj.io/refresh`, slipway spelling) and
 * waits up to `waitMs` for the controller to act on it: it removes the annotation, or a new
 * `status.reconciledAt` appears.
 */
async function requestRefresh(
  ctx: AppContext,
  name: string,
  hard: boolean,
  waitMs: number,
): Promise<{ app: Application; seen: boolean }> {
  let before: string | undefined;
  await ctx.patchApp(name, `refresh application "${name}"`, (app) => {
    before = app.status?.reconciledAt;
    return { metadata: { annotations: { [REFRESH]: hard ? "hard" : "normal" } } };
  });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const app = await ctx.getApp(name);
    const pending = app.metadata.annotations?.[REFRESH] !== undefined;
    const reconciled = app.status?.reconciledAt !== undefined && app.status.reconciledAt !== before;
    if (!pending || reconciled) return { app, seen: true };
    if (Date.now() >= deadline) return { app, seen: false };
    await sleep(250);
  }
}

export async function refreshApp(
  name: string,
  options: { hard?: boolean; timeout?: string },
  globals: AppGlobals,
): Promise<void> {
  const wait = timeoutMs(options.timeout) ?? 10_000;
  await withApps(globals, async (ctx) => {
    const { app, seen } = await requestRefresh(ctx, name, Boolean(options.hard), wait);
    if (printStructured(app, globals.output)) return;
    if (!seen) {
      process.stderr.write(
        `warning: refresh of application '${name}' requested; the controller has not picked it up within ${options.timeout ?? "10s"} (is it running?)\n`,
      );
      return;
    }
    process.stdout.write(`application '${name}' refreshed: ${stateLine(app)}\n`);
  });
}

// ---------------------------------------------------------------------------------------------
// set

export interface SetOptions extends SpecFlags {}

export async function setApp(name: string, options: SetOptions, globals: AppGlobals): Promise<void> {
  const given = Object.values(options).some((v) => v !== undefined);
  if (!given) throw new Error('nothing to set: pass at least one flag (see "slipway app set --help")');
  await withApps(globals, async (ctx) => {
    if (options.project !== undefined) await checkProject(ctx, options.project);
    let changed = false;
    const updated = await ctx.updateApp(name, `update application "${name}"`, (app) => {
      const before = canonical(app.spec);
      applySpecFlags(app.spec, options);
      checkSchema(app);
      changed = canonical(app.spec) !== before;
      return app;
    });
    if (printStructured(updated, globals.output)) return;
    process.stdout.write(`application '${name}' ${changed ? "updated" : "unchanged"}\n`);
  });
}

// ---------------------------------------------------------------------------------------------
// delete

export interface DeleteOptions {
  cascade?: boolean;
  propagationPolicy?: "foreground" | "background";
  yes?: boolean;
  wait?: boolean;
  timeout?: string;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/n] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function deleteApp(name: string, options: DeleteOptions, globals: AppGlobals): Promise<number> {
  const cascade = options.cascade ?? true;
  const wait = timeoutMs(options.timeout);
  return withApps(globals, async (ctx) => {
    await ctx.getApp(name);
    if (!options.yes && process.stdin.isTTY) {
      const what = cascade ? `application '${name}' and all its resources` : `application '${name}'`;
      if (!(await confirm(`Are you sure you want to delete ${what}?`))) {
        process.stderr.write("not deleted\n");
        return 1;
      }
    }
    const wanted =
      options.propagationPolicy === "background" ? RESOURCES_FINALIZER_BACKGROUND : RESOURCES_FINALIZER;
    const ours = [RESOURCES_FINALIZER, RESOURCES_FINALIZER_BACKGROUND, ...ARGO_FINALIZERS];
    await ctx.patchApp(name, `prepare deletion of application "${name}"`, (app) => {
      const kept = (app.metadata.finalizers ?? []).filter((f) => !ours.includes(f));
      return { metadata: { finalizers: cascade ? [...kept, wanted] : kept } };
    });
    try {
      await ctx.client.request("DELETE", ctx.appPath(name));
    } catch (error) {
      if (!isObjectNotFound(error)) throw ctx.failure(error, `delete application "${name}"`, name);
    }
    process.stdout.write(`application '${name}' deleted${cascade ? " (with its resources)" : ""}\n`);
    if (!options.wait) return 0;
    const deadline = wait === undefined ? Number.POSITIVE_INFINITY : Date.now() + wait;
    for (;;) {
      const app = await ctx.findApp(name);
      if (!app) return 0;
      if (Date.now() >= deadline) {
        const finalizers = app.metadata.finalizers?.join(", ") || "none";
        process.stderr.write(
          `error: timed out after ${options.timeout} waiting for application '${name}' to be deleted (finalizers: ${finalizers}; is the controller running?)\n`,
        );
        return 1;
      }
      await sleep(POLL_MS);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// sync / rollback: write the operation, then follow it

export interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  revision?: string;
  resource?: string[];
  syncOption?: string[];
  pruneBudget?: string;
  force?: boolean;
  async?: boolean;
  timeout?: string;
}

/** `[GROUP]:KIND:[NAMESPACE/]NAME`, argocd's --resource form. */
export function parseResourceFlag(value: string): ResourceRef {
  const parts = value.split(":");
  if (parts.length !== 3 || !parts[1] || !parts[2]) {
    throw new Error(
      `--resource expects GROUP:KIND:NAME (e.g. apps:Deployment:web or :Service:ns/web), got "${value}"`,
    );
  }
  const [group, kind, rest] = parts as [string, string, string];
  const slash = rest.indexOf("/");
  const ref: ResourceRef = { kind, name: slash >= 0 ? rest.slice(slash + 1) : rest };
  if (group) ref.group = group;
  if (slash >= 0) ref.namespace = rest.slice(0, slash);
  return ref;
}

function initiator(ctx: AppContext): Operation["initiatedBy"] {
  let username: string | undefined;
  try {
    username = ctx.cluster.config().getCurrentUser()?.name;
  } catch {
    username = undefined;
  }
  if (!username) {
    try {
      username = userInfo().username;
    } catch {
      username = undefined;
    }
  }
  return username ? { username } : {};
}

/**
 * Writes `operation` unless one is in progress (Argo CD: "another operation is already in
 * progress"); `build` may refuse first, as Argo CD's checks come before that one. Returns what the operation state was before, so the
 * caller can tell the new operation's state from the last one's.
 */
async function startOperation(
  ctx: AppContext,
  name: string,
  build: (app: Application) => Operation,
): Promise<{ previous: string | undefined; app: Application }> {
  let previous: string | undefined;
  const app = await ctx.patchApp(name, `start an operation on application "${name}"`, (current) => {
    const operation = build(current);
    if (operationInProgress(current)) throw new Error("another operation is already in progress");
    previous = current.status?.operationState ? canonical(current.status.operationState) : undefined;
    return { operation };
  });
  return { previous, app };
}

const COMPLETED = new Set(["Succeeded", "Failed", "Error"]);

/**
 * Polls the app until the controller has finished the operation it was given: `operation` is
 * gone and `status.operationState` is a completed one that is not the state seen before.
 */
async function followOperation(
  ctx: AppContext,
  name: string,
  previous: string | undefined,
  limitMs: number | undefined,
): Promise<{ app: Application; done: boolean }> {
  const started = Date.now();
  const deadline = limitMs === undefined ? Number.POSITIVE_INFINITY : started + limitMs;
  const tty = Boolean(process.stderr.isTTY);
  let app = await ctx.getApp(name);
  try {
    for (;;) {
      const state = app.status?.operationState;
      const fresh = state !== undefined && canonical(state) !== previous;
      if (!app.operation && fresh && COMPLETED.has(state.phase)) return { app, done: true };
      if (Date.now() >= deadline) return { app, done: false };
      if (tty) {
        const elapsed = Math.round((Date.now() - started) / 1000);
        const what =
          fresh && state
            ? `${state.phase}${state.message ? `: ${state.message.replace(/\s+/g, " ")}` : ""}`
            : "waiting for the controller to start the operation";
        const width = process.stderr.columns ? process.stderr.columns - 1 : 120;
        process.stderr.write(`\r\x1b[K${`${what} (${elapsed}s)`.slice(0, width)}`);
      }
      await sleep(POLL_MS);
      app = await ctx.getApp(name);
    }
  } finally {
    if (tty) process.stderr.write("\r\x1b[K");
  }
}

/** Prints the outcome of an operation; returns the exit code. */
function reportOperation(
  app: Application,
  outcome: { done: boolean },
  globals: AppGlobals,
  name: string,
  timeout: string | undefined,
): number {
  const phase = app.status?.operationState?.phase;
  if (!printStructured(app, globals.output)) {
    const parts = [summaryLines(app).join("\n")];
    if (outcome.done) {
      parts.push(operationLines(app).join("\n"));
      if (app.status?.operationState?.syncResult?.resources?.length) parts.push(operationResultTable(app));
    }
    process.stdout.write(`${parts.join("\n\n")}\n`);
  }
  if (!outcome.done) {
    process.stderr.write(
      `error: timed out after ${timeout} waiting for the operation of application '${name}' (last seen: ${stateLine(app)}); it goes on in the controller ("slipway app terminate-op ${name}" stops it)\n`,
    );
    return 1;
  }
  if (phase !== "Succeeded") {
    const message = app.status?.operationState?.message;
    process.stderr.write(`error: operation ${phase}${message ? `: ${message.replace(/\s+/g, " ")}` : ""}\n`);
    return 1;
  }
  return 0;
}

export async function syncApp(name: string, options: SyncOptions, globals: AppGlobals): Promise<number> {
  const limit = timeoutMs(options.timeout);
  const resources = (options.resource ?? []).map(parseResourceFlag);
  for (const option of options.syncOption ?? []) {
    if (option.indexOf("=") <= 0) throw new Error(`--sync-option expects KEY=VALUE, got "${option}"`);
  }
  const syncOptions = [...(options.syncOption ?? [])];
  if (options.pruneBudget !== undefined) {
    if (!/^\d+$/.test(options.pruneBudget))
      throw new Error(`--prune-budget expects a number of resources, got "${options.pruneBudget}"`);
    syncOptions.push(`PruneBudget=${options.pruneBudget}`);
  }
  return withApps(globals, async (ctx) => {
    const { previous } = await startOperation(ctx, name, (app) => {
      const target = primarySource(app)?.targetRevision;
      if (options.revision !== undefined && isAutomated(app) && options.revision !== (target ?? "HEAD")) {
        throw new Error(
          `cannot sync to revision "${options.revision}": auto-sync is enabled and follows "${target ?? "HEAD"}" (turn it off with "slipway app set ${name} --sync-policy none")`,
        );
      }
      const sync: SyncOperation = {};
      const revision = options.revision ?? target;
      if (revision) sync.revision = revision;
      if (options.prune || options.pruneBudget !== undefined) sync.prune = true;
      if (options.dryRun) sync.dryRun = true;
      if (resources.length) sync.resources = resources;
      if (syncOptions.length) sync.syncOptions = syncOptions;
      if (options.force) sync.syncStrategy = { hook: { force: true } };
      return { sync, initiatedBy: initiator(ctx) };
    });
    if (options.async) {
      if (!structured(globals)) process.stdout.write(`application '${name}': sync operation started\n`);
      else printStructured(await ctx.getApp(name), globals.output);
      return 0;
    }
    const outcome = await followOperation(ctx, name, previous, limit);
    return reportOperation(outcome.app, outcome, globals, name, options.timeout);
  });
}

export interface RollbackOptions {
  prune?: boolean;
  dryRun?: boolean;
  async?: boolean;
  timeout?: string;
}

export async function rollbackApp(
  name: string,
  id: string | undefined,
  options: RollbackOptions,
  globals: AppGlobals,
): Promise<number> {
  const limit = timeoutMs(options.timeout);
  if (id !== undefined && !/^\d+$/.test(id)) throw new Error(`history ID must be a number, got "${id}"`);
  return withApps(globals, async (ctx) => {
    const { previous } = await startOperation(ctx, name, (app) => {
      if (isAutomated(app)) {
        throw new Error(
          `rollback cannot be initiated when auto-sync is enabled (turn it off with "slipway app set ${name} --sync-policy none")`,
        );
      }
      const history = app.status?.history ?? [];
      let entry: (typeof history)[number] | undefined;
      if (id === undefined) {
        if (history.length < 2) {
          throw new Error(
            `application '${name}' should have at least two successful deployments to roll back`,
          );
        }
        entry = history[history.length - 2];
      } else {
        entry = history.find((h) => h.id === Number(id));
        if (!entry) {
          throw new Error(
            `application '${name}' has no deployment with ID ${id} (see "slipway app history ${name}")`,
          );
        }
      }
      const sync: SyncOperation = {};
      const revision = entry!.revision ?? entry!.revisions?.[0];
      if (revision) sync.revision = revision;
      if (entry!.source) sync.source = entry!.source;
      if (entry!.sources) sync.sources = entry!.sources;
      if (options.prune) sync.prune = true;
      if (options.dryRun) sync.dryRun = true;
      return { sync, initiatedBy: initiator(ctx) };
    });
    if (options.async) {
      if (!structured(globals)) process.stdout.write(`application '${name}': rollback operation started\n`);
      else printStructured(await ctx.getApp(name), globals.output);
      return 0;
    }
    const outcome = await followOperation(ctx, name, previous, limit);
    return reportOperation(outcome.app, outcome, globals, name, options.timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// wait

export interface WaitOptions {
  sync?: boolean;
  health?: boolean;
  operation?: boolean;
  suspended?: boolean;
  degraded?: boolean;
  timeout?: string;
}

/** What `wait` waits for, as argocd's waitOnApplicationStatus: any chosen health state will do. */
function waitCheck(options: WaitOptions): { check: (app: Application) => boolean; want: string } {
  const explicit =
    options.sync || options.health || options.operation || options.suspended || options.degraded;
  const sync = explicit ? Boolean(options.sync) : true;
  const operation = explicit ? Boolean(options.operation) : true;
  const healths = explicit
    ? [options.health && "Healthy", options.suspended && "Suspended", options.degraded && "Degraded"].filter(
        (h): h is string => Boolean(h),
      )
    : ["Healthy"];
  const want = [
    sync ? "sync=Synced" : "",
    healths.length ? `health=${healths.join("|")}` : "",
    operation ? "operation=none" : "",
  ]
    .filter((w) => w)
    .join(" ");
  const check = (app: Application) => {
    if (sync && syncStatusOf(app) !== "Synced") return false;
    if (healths.length && !healths.includes(healthOf(app))) return false;
    if (operation && operationInProgress(app)) return false;
    return true;
  };
  return { check, want };
}

export async function waitApp(name: string, options: WaitOptions, globals: AppGlobals): Promise<number> {
  const limit = timeoutMs(options.timeout);
  const { check, want } = waitCheck(options);
  return withApps(globals, async (ctx) => {
    const started = Date.now();
    const deadline = limit === undefined ? Number.POSITIVE_INFINITY : started + limit;
    const tty = Boolean(process.stderr.isTTY) && !structured(globals);
    let app = await ctx.getApp(name);
    try {
      while (!check(app)) {
        if (Date.now() >= deadline) {
          if (tty) process.stderr.write("\r\x1b[K");
          if (!printStructured(app, globals.output)) process.stdout.write(describeApp(app));
          process.stderr.write(
            `error: timed out after ${options.timeout} waiting for application '${name}' (want ${want}; last seen ${stateLine(app)})\n`,
          );
          return 1;
        }
        if (tty) {
          const elapsed = Math.round((Date.now() - started) / 1000);
          process.stderr.write(`\r\x1b[K${stateLine(app).slice(0, 200)} (${elapsed}s)`);
        }
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
        app = await ctx.getApp(name);
      }
    } finally {
      if (tty) process.stderr.write("\r\x1b[K");
    }
    if (!printStructured(app, globals.output)) {
      const rows = resourceRows(app.status?.resources, app.status?.operationState);
      process.stdout.write(
        `${summaryLines(app).join("\n")}\n${rows.length ? `\n${resourcesTable(rows)}\n` : ""}`,
      );
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// history / terminate-op

export async function historyApp(name: string, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    const app = await ctx.getApp(name);
    const history = app.status?.history ?? [];
    if (printStructured(history, globals.output)) return;
    const wide = globals.output === "wide";
    const rows = history.map((h) => {
      const source = h.source ?? h.sources?.[0];
      const revision = h.revision ?? h.revisions?.[0];
      const target = source?.targetRevision || "HEAD";
      const row = [String(h.id), h.deployedAt, revision ? `${target} (${shortSha(revision)})` : target];
      if (wide) row.push(source?.repoURL ?? "", source?.path ?? "", h.initiatedBy?.username ?? "");
      return row;
    });
    const headers = ["ID", "DATE", "REVISION", ...(wide ? ["REPO", "PATH", "INITIATED BY"] : [])];
    process.stdout.write(`${formatTable(headers, rows)}\n`);
  });
}

/**
 * Ends the running operation. The reconciler (controller/gitops/operation.ts) stops on any of:
 * the `slipway.dev/terminate-op` annotation, `status.operationState.phase: Terminating` (what
 * Argo CD's TerminateOperation writes), or `app.operation` removed. The annotation is written
 * first because it needs only the rights that `sync` needs; the phase is set too when the user
 * may write the status subresource. An operation the controller has not started yet is simply
 * withdrawn.
 */
export async function terminateOp(name: string, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    const app = await ctx.getApp(name);
    const phase = app.status?.operationState?.phase;
    if (phase === "Running" || phase === "Terminating") {
      await ctx.patchApp(name, `terminate the operation of application "${name}"`, () => ({
        metadata: { annotations: { [TERMINATE_OP]: "true" } },
      }));
      try {
        await ctx.patchApp(
          name,
          `terminate the operation of application "${name}"`,
          (current) => {
            const now = current.status?.operationState?.phase;
            if (now !== "Running" && now !== "Terminating") throw new OperationEnded();
            return { status: { operationState: { phase: "Terminating" } } };
          },
          { subresource: "status" },
        );
      } catch (error) {
        // Finished meanwhile, or no right to write status: the annotation has asked already.
        const forbidden = error instanceof ApiFailure && error.status === 403;
        if (!(error instanceof OperationEnded) && !forbidden) throw error;
      }
      process.stdout.write(`application '${name}': operation terminating\n`);
      return;
    }
    if (app.operation) {
      await ctx.patchApp(name, `withdraw the operation of application "${name}"`, (current) => {
        const now = current.status?.operationState?.phase;
        if (now === "Running" || now === "Terminating") {
          throw new Error(
            `the controller started the operation meanwhile: run "slipway app terminate-op ${name}" again`,
          );
        }
        return { operation: null };
      });
      process.stdout.write(`application '${name}': operation withdrawn before the controller started it\n`);
      return;
    }
    throw new Error(`unable to terminate operation: no operation is in progress on application '${name}'`);
  });
}
