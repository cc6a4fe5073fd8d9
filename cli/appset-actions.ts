/**
 * `slipway appset list|get`: ApplicationSets read by plain REST paths in the controller's
 * namespace, drawn as `argocd appset list|get` draw them (qualified NAME, the template's PROJECT,
 * SYNCPOLICY, CONDITIONS; a summary block, then conditions), plus what argocd leaves to the UI:
 * the generators in short, the RollingSync steps, and the generated Applications with their
 * sync, health and rollout step, all taken from the status the controller writes.
 */
import type { Application } from "../api/v1alpha1/application.js";
import type {
  ApplicationSet,
  ApplicationSetGenerator,
  NestedGenerator,
  RollingSyncStep,
} from "../api/v1alpha1/applicationset.js";
import type { LabelSelector } from "../api/v1alpha1/common.js";
import { DEFAULT_NAMESPACE } from "../api/v1alpha1/index.js";
import { selectorString } from "../controller/rollouts/spec.js";
import { ageOf } from "./age.js";
import { APPS_PATH, type AppContext, type AppGlobals, withApps } from "./app-client.js";
import { oneLine, primarySource, syncPolicyText } from "./app-view.js";
import { isObjectNotFound } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

export interface ListAppSetOptions {
  project?: string[];
  selector?: string;
}

interface AppSetList {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  items?: ApplicationSet[];
}

function setsPath(namespace: string, name?: string): string {
  const base = `${APPS_PATH}/namespaces/${encodeURIComponent(namespace)}/applicationsets`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

const qualifiedName = (set: ApplicationSet) => `${set.metadata.namespace ?? ""}/${set.metadata.name ?? ""}`;

/** The template as an Application, for the helpers that draw one. */
const templateApp = (set: ApplicationSet) => ({ spec: set.spec.template.spec }) as Application;

/** `sync`, `create-only`, …; ` (RollingSync)` when the set syncs its apps step by step. */
export function syncPolicyColumn(set: ApplicationSet): string {
  const policy = set.spec.syncPolicy?.applicationsSync ?? "sync";
  return set.spec.strategy?.type === "RollingSync" ? `${policy} (RollingSync)` : policy;
}

/**
 * Conditions worth a glance: the True ones that report a problem or a rollout under way.
 * ParametersGenerated and ResourcesUpToDate being True is the normal state, so they are left out.
 */
export function conditionsColumn(set: ApplicationSet): string {
  const shown = (set.status?.conditions ?? [])
    .filter((c) => c.status === "True" && c.type !== "ParametersGenerated" && c.type !== "ResourcesUpToDate")
    .map((c) => c.type);
  return shown.length ? shown.join(",") : "<none>";
}

/** Generated Applications as the controller last counted them; undefined before any status. */
function applicationCount(set: ApplicationSet): number | undefined {
  return set.status?.resourcesCount ?? set.status?.resources?.length;
}

const LIST_HEADERS = ["NAME", "PROJECT", "SYNCPOLICY", "CONDITIONS", "APPLICATIONS", "AGE"];

function listRow(set: ApplicationSet, wide: boolean): string[] {
  const count = applicationCount(set);
  const cells = [
    qualifiedName(set),
    set.spec.template.spec.project,
    syncPolicyColumn(set),
    conditionsColumn(set),
    count === undefined ? "-" : String(count),
    ageOf(set.metadata.creationTimestamp),
  ];
  if (wide) {
    const source = primarySource(templateApp(set));
    cells.push(source?.repoURL ?? "", source?.path ?? "", source?.targetRevision ?? "");
  }
  return cells;
}

export async function listAppSets(options: ListAppSetOptions, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    let list: AppSetList;
    try {
      list = await ctx.client.request<AppSetList>("GET", setsPath(ctx.appNamespace), {
        query: { labelSelector: options.selector },
      });
    } catch (error) {
      throw ctx.failure(error, "list applicationsets");
    }
    const items = (list.items ?? [])
      .filter((s) => !options.project?.length || options.project.includes(s.spec.template.spec.project))
      .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
    if (printStructured({ ...list, items }, globals.output)) return;
    if (items.length === 0) {
      process.stderr.write(`No applicationsets found in namespace "${ctx.appNamespace}".\n`);
      return;
    }
    if (globals.output === "name") {
      process.stdout.write(items.map((s) => `${qualifiedName(s)}\n`).join(""));
      return;
    }
    const wide = globals.output === "wide";
    const headers = wide ? [...LIST_HEADERS, "REPO", "PATH", "TARGET"] : LIST_HEADERS;
    process.stdout.write(
      `${formatTable(
        headers,
        items.map((s) => listRow(s, wide)),
      )}\n`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// get

/** `selector env=prod`, or nothing for an absent or empty selector. */
function selectorText(selector: LabelSelector | undefined): string {
  const text = selectorString(selector);
  return text ? `selector ${text}` : "";
}

/**
 * One generator in short: `list[3]`, `clusters(selector tier=target)`,
 * `git(https://…/apps.git, directories apps/*)`, `matrix(clusters, list[3])`,
 * `merge(keys server: clusters, list[2])`; a post-filter `selector` is added after `|`.
 */
export function generatorSummary(gen: ApplicationSetGenerator | NestedGenerator): string {
  const withArgs = (name: string, args: string[]) => {
    const shown = args.filter((a) => a);
    return shown.length ? `${name}(${shown.join(", ")})` : name;
  };
  let text: string;
  if (gen.list) {
    text =
      gen.list.elementsYaml !== undefined ? "list(elementsYaml)" : `list[${gen.list.elements?.length ?? 0}]`;
  } else if (gen.clusters) {
    text = withArgs("clusters", [selectorText(gen.clusters.selector)]);
  } else if (gen.git) {
    const paths = (kind: string, items: { path: string; exclude?: boolean }[] | undefined) =>
      items?.length ? `${kind} ${items.map((p) => (p.exclude ? `!${p.path}` : p.path)).join(",")}` : "";
    text = withArgs("git", [
      gen.git.repoURL,
      gen.git.revision ?? "",
      paths("directories", gen.git.directories),
      paths("files", gen.git.files),
    ]);
  } else if (gen.matrix || gen.merge) {
    // Nested matrix/merge are free-form in the schema; read them as the same shape.
    const body = (gen.matrix ?? gen.merge) as { generators?: NestedGenerator[]; mergeKeys?: string[] };
    const children = (body.generators ?? []).map(generatorSummary).join(", ");
    text = gen.matrix
      ? `matrix(${children})`
      : `merge(keys ${(body.mergeKeys ?? []).join(",")}: ${children})`;
  } else {
    text = "(unknown generator)";
  }
  const filter = selectorText(gen.selector);
  return filter ? `${text} | ${filter}` : text;
}

const label = (name: string) => `${name}:`.padEnd(20);

/** `env in (dev)`, `maxUpdate 1` for one RollingSync step. */
function stepText(step: RollingSyncStep): string {
  const match = selectorString({ matchExpressions: step.matchExpressions ?? [] }) || "(no expressions)";
  return `${match}, maxUpdate ${step.maxUpdate ?? "100%"}`;
}

export function describeAppSet(set: ApplicationSet): string {
  const spec = set.spec;
  const template = spec.template.spec;
  const source = primarySource(templateApp(set));
  const generators = spec.generators.map(generatorSummary);
  const indent = " ".repeat(20);
  const lines = [
    `${label("Name")}${qualifiedName(set)}`,
    `${label("Project")}${template.project}`,
    `${label("Generators")}${generators.join(`\n${indent}`)}`,
    `${label("Server")}${template.destination.server ?? template.destination.name ?? ""}`,
    `${label("Namespace")}${template.destination.namespace ?? ""}`.trimEnd(),
    `${label("Repo")}${source?.repoURL ?? ""}`.trimEnd(),
    `${label("Target")}${source?.targetRevision ?? ""}`.trimEnd(),
    `${label("Path")}${source?.path ?? ""}`.trimEnd(),
    `${label("Sync Policy")}${syncPolicyText(templateApp(set))}`,
    `${label("Applications Sync")}${spec.syncPolicy?.applicationsSync ?? "sync"}${
      spec.syncPolicy?.preserveResourcesOnDeletion ? " (preserve resources on deletion)" : ""
    }`,
    `${label("Strategy")}${spec.strategy?.type ?? "AllAtOnce"}${
      spec.strategy?.deletionOrder ? ` (deletion order ${spec.strategy.deletionOrder})` : ""
    }`,
  ];
  if (spec.strategy?.type === "RollingSync") {
    for (const [i, step] of (spec.strategy.rollingSync?.steps ?? []).entries()) {
      lines.push(`${`  Step ${i + 1}:`.padEnd(20)}${stepText(step)}`);
    }
  }
  const conditions = set.status?.conditions ?? [];
  if (conditions.length) {
    lines.push(
      "",
      formatTable(
        ["CONDITION", "STATUS", "REASON", "MESSAGE", "LAST TRANSITION"],
        conditions.map((c) => [
          c.type,
          c.status,
          c.reason ?? "",
          oneLine(c.message),
          c.lastTransitionTime ?? "",
        ]),
      ),
    );
  }
  lines.push("", ...applicationsTable(set));
  return `${lines.join("\n")}\n`;
}

/** The generated Applications from the status; with RollingSync, each one's step and status. */
function applicationsTable(set: ApplicationSet): string[] {
  const status = set.status;
  if (!status) return ["No status yet: the ApplicationSet controller has not reconciled this set."];
  const rolling = set.spec.strategy?.type === "RollingSync";
  const progress = new Map((status.applicationStatus ?? []).map((s) => [s.application, s]));
  const names = [...(status.resources ?? []).map((r) => r.name)];
  // An app the rollout tracks but the status does not list yet still gets its row.
  if (rolling) for (const name of progress.keys()) if (!names.includes(name)) names.push(name);
  if (names.length === 0) return ["No Applications generated."];
  const resources = new Map((status.resources ?? []).map((r) => [r.name, r]));
  const headers = rolling ? ["NAME", "SYNC", "HEALTH", "STEP", "STATUS"] : ["NAME", "SYNC", "HEALTH"];
  const rows = names.map((name) => {
    const r = resources.get(name);
    const cells = [name, r?.status ?? "-", r?.health?.status ?? "-"];
    if (rolling) {
      const p = progress.get(name);
      cells.push(p?.step ?? "-", p?.status ?? "-");
    }
    return cells;
  });
  return [formatTable(headers, rows)];
}

/** `NAME` in the app namespace, or `namespace/NAME` as `list -o name` prints it. */
function splitName(ctx: AppContext, arg: string): { namespace: string; name: string } {
  const slash = arg.indexOf("/");
  if (slash < 0) return { namespace: ctx.appNamespace, name: arg };
  return { namespace: arg.slice(0, slash), name: arg.slice(slash + 1) };
}

export async function getAppSet(arg: string, globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    const { namespace, name } = splitName(ctx, arg);
    if (!name || name.includes("/"))
      throw new Error(`"${arg}" is not an ApplicationSet name (NAME or NAMESPACE/NAME)`);
    let set: ApplicationSet;
    try {
      set = await ctx.client.request<ApplicationSet>("GET", setsPath(namespace, name));
    } catch (error) {
      if (isObjectNotFound(error)) {
        throw new Error(
          `applicationset "${name}" not found in namespace "${namespace}" (list them with "slipway appset list${
            namespace === DEFAULT_NAMESPACE ? "" : ` -N ${namespace}`
          }")`,
        );
      }
      throw ctx.failure(error, `read applicationset "${name}"`);
    }
    if (printStructured(set, globals.output)) return;
    process.stdout.write(describeAppSet(set));
  });
}
