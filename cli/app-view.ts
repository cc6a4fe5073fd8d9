/**
 * How `slipway app` draws Applications for people: the summary block, the resources table and
 * the list row, laid out as `argocd app get|list|sync` print them so the two read alike.
 * Pure functions of the object (and `now`), so the same app always prints the same text.
 */
import type {
  Application,
  ApplicationSource,
  OperationState,
  ResourceResult,
  ResourceStatus,
} from "../api/v1alpha1/application.js";
import { humanDuration } from "./age.js";
import { isAutomated } from "./app-client.js";
import { formatTable } from "./output.js";

export const IN_CLUSTER = "https://kubernetes.default.svc";

/**
 * The form URLs are matched in, the controller's (`normalizeGitURL` in controller/gitops):
 * lowercased, without trailing slashes or `.git`, so `…/apps.git` and `…/apps/` are one repository.
 */
export function repoMatchKey(url: string): string {
  let repo = url.trim().toLowerCase();
  while (repo.endsWith("/")) repo = repo.slice(0, -1);
  if (repo.endsWith(".git")) repo = repo.slice(0, -4);
  while (repo.endsWith("/")) repo = repo.slice(0, -1);
  return repo;
}

export const oneLine = (text: string | undefined): string => (text ?? "").replace(/\s+/g, " ").trim();

export const shortSha = (sha: string | undefined): string =>
  sha && /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 7) : (sha ?? "");

/** The app's first source (multi-source apps show their first, as the list columns need one). */
export function primarySource(app: Application): ApplicationSource | undefined {
  return app.spec.source ?? app.spec.sources?.[0];
}

export function clusterOf(app: Application): string {
  return app.spec.destination.server ?? app.spec.destination.name ?? "";
}

/** `Auto-Prune`, `Auto` or `Manual`, as the SYNCPOLICY column of `argocd app list`. */
export function syncPolicyColumn(app: Application): string {
  if (!isAutomated(app)) return "Manual";
  return app.spec.syncPolicy?.automated?.prune ? "Auto-Prune" : "Auto";
}

/** `Automated (Prune, SelfHeal)` or `Manual`, for the summary. */
export function syncPolicyText(app: Application): string {
  if (!isAutomated(app)) return "Manual";
  const a = app.spec.syncPolicy?.automated ?? {};
  const flags = [
    a.prune ? "Prune" : "",
    a.selfHeal ? "SelfHeal" : "",
    a.allowEmpty ? "AllowEmpty" : "",
  ].filter((f) => f);
  return flags.length ? `Automated (${flags.join(", ")})` : "Automated";
}

/** `SyncError,ComparisonError(2)` or `<none>`, as argocd's CONDITIONS column. */
export function conditionsColumn(app: Application): string {
  const counts = new Map<string, number>();
  for (const c of app.status?.conditions ?? []) counts.set(c.type, (counts.get(c.type) ?? 0) + 1);
  if (counts.size === 0) return "<none>";
  return [...counts].map(([type, n]) => (n > 1 ? `${type}(${n})` : type)).join(",");
}

export const syncStatusOf = (app: Application): string => app.status?.sync?.status ?? "Unknown";
export const healthOf = (app: Application): string => app.status?.health?.status ?? "Unknown";

export const LIST_HEADERS = [
  "NAME",
  "CLUSTER",
  "NAMESPACE",
  "PROJECT",
  "STATUS",
  "HEALTH",
  "SYNCPOLICY",
  "CONDITIONS",
  "REPO",
  "PATH",
  "TARGET",
];

export function listRow(app: Application): string[] {
  const source = primarySource(app);
  return [
    `${app.metadata.namespace ?? ""}/${app.metadata.name ?? ""}`,
    clusterOf(app),
    app.spec.destination.namespace ?? "",
    app.spec.project,
    syncStatusOf(app),
    healthOf(app),
    syncPolicyColumn(app),
    conditionsColumn(app),
    source?.repoURL ?? "",
    source?.path ?? "",
    source?.targetRevision ?? "",
  ];
}

const label = (name: string) => `${name}:`.padEnd(20);

/** `Synced to main (abc1234)`, `OutOfSync from main (abc1234)`. */
function syncStatusText(app: Application): string {
  const status = syncStatusOf(app);
  const target = primarySource(app)?.targetRevision || "HEAD";
  const revision = app.status?.sync?.revision ?? app.status?.sync?.revisions?.[0];
  const rev = revision ? ` (${shortSha(revision)})` : "";
  if (status === "Synced") return `Synced to ${target}${rev}`;
  if (status === "OutOfSync") return `OutOfSync from ${target}${rev}`;
  return status;
}

function sourceLines(source: ApplicationSource): string[] {
  // The "- " of the list item takes two columns of the label's width.
  const item = (name: string, first = false) => `${first ? "- " : "  "}${`${name}:`.padEnd(18)}`;
  return [
    `${item("Repo", true)}${source.repoURL}`,
    `${item("Target")}${source.targetRevision ?? ""}`.trimEnd(),
    `${item("Path")}${source.path ?? ""}`.trimEnd(),
  ];
}

/** The header of `app get` (and of `sync`/`wait` results). */
export function summaryLines(app: Application): string[] {
  const lines = [
    `${label("Name")}${app.metadata.namespace ?? ""}/${app.metadata.name ?? ""}`,
    `${label("Project")}${app.spec.project}`,
    `${label("Server")}${clusterOf(app)}`,
    `${label("Namespace")}${app.spec.destination.namespace ?? ""}`,
  ];
  const sources = app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
  if (sources.length > 0) {
    lines.push("Source:");
    for (const s of sources) lines.push(...sourceLines(s));
  }
  lines.push(`${label("Sync Policy")}${syncPolicyText(app)}`);
  lines.push(`${label("Sync Status")}${syncStatusText(app)}`);
  const health = app.status?.health;
  lines.push(
    `${label("Health Status")}${healthOf(app)}${health?.message ? ` (${oneLine(health.message)})` : ""}`,
  );
  return lines;
}

function durationBetween(start: string | undefined, end: string | undefined, now: Date): string {
  const s = start ? Date.parse(start) : Number.NaN;
  if (Number.isNaN(s)) return "";
  const e = end ? Date.parse(end) : now.getTime();
  return Number.isNaN(e) ? "" : humanDuration(e - s);
}

/** The operation block: what ran, its phase, timing and message. */
export function operationLines(app: Application, now: Date = new Date()): string[] {
  const state = app.status?.operationState;
  if (!state) {
    return app.operation
      ? [`${label("Operation")}Sync`, `${label("Phase")}Pending (waiting for the controller)`]
      : [];
  }
  const lines = [`${label("Operation")}Sync`];
  const revision = state.syncResult?.revision ?? state.operation.sync?.revision;
  if (revision) lines.push(`${label("Sync Revision")}${revision}`);
  lines.push(`${label("Phase")}${state.phase}`);
  lines.push(`${label("Start")}${state.startedAt}`);
  if (state.finishedAt) lines.push(`${label("Finished")}${state.finishedAt}`);
  const duration = durationBetween(state.startedAt, state.finishedAt, now);
  if (duration) lines.push(`${label("Duration")}${duration}`);
  if (state.message) lines.push(`${label("Message")}${oneLine(state.message)}`);
  return lines;
}

const resKey = (r: { group?: string; kind: string; namespace?: string; name: string }) =>
  `${r.group ?? ""}/${r.kind}/${r.namespace ?? ""}/${r.name}`;

/** One row of the resources table. */
export interface ResourceRow {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  status: string;
  health: string;
  hook: string;
  message: string;
}

/**
 * The app's resources as argocd's getResourceStates shows them: each managed resource with its
 * sync status and health, the message of the last operation's result for it, then the hooks the
 * operation ran (status = hook phase).
 */
export function resourceRows(
  resources: readonly ResourceStatus[] | undefined,
  operationState: OperationState | undefined,
): ResourceRow[] {
  const results = new Map<string, ResourceResult>();
  for (const r of operationState?.syncResult?.resources ?? []) results.set(resKey(r), r);
  const rows: ResourceRow[] = [];
  for (const r of resources ?? []) {
    if (r.hook) continue;
    const result = results.get(resKey(r));
    rows.push({
      group: r.group ?? "",
      kind: r.kind,
      namespace: r.namespace ?? "",
      name: r.name,
      status: r.status ?? "",
      health: r.health?.status ?? "",
      hook: "",
      message: oneLine(result?.message ?? r.health?.message),
    });
  }
  for (const r of operationState?.syncResult?.resources ?? []) {
    if (!r.hookType) continue;
    rows.push({
      group: r.group ?? "",
      kind: r.kind,
      namespace: r.namespace ?? "",
      name: r.name,
      status: r.hookPhase ?? r.status ?? "",
      health: "",
      hook: r.hookType,
      message: oneLine(r.message),
    });
  }
  return rows;
}

export const RESOURCE_HEADERS = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"];

export function resourcesTable(rows: readonly ResourceRow[]): string {
  return formatTable(
    RESOURCE_HEADERS,
    rows.map((r) => [r.group, r.kind, r.namespace, r.name, r.status, r.health, r.hook, r.message]),
  );
}

/** The results of the last operation, as `argocd app sync` prints them after a sync. */
export function operationResultTable(app: Application): string {
  const state = app.status?.operationState;
  const health = new Map<string, string>();
  for (const r of app.status?.resources ?? []) health.set(resKey(r), r.health?.status ?? "");
  const rows = (state?.syncResult?.resources ?? []).map((r) => [
    r.group ?? "",
    r.kind,
    r.namespace ?? "",
    r.name,
    r.hookType ? (r.hookPhase ?? r.status ?? "") : (r.status ?? ""),
    r.hookType ? "" : (health.get(resKey(r)) ?? ""),
    r.hookType ?? "",
    oneLine(r.message),
  ]);
  return formatTable(RESOURCE_HEADERS, rows);
}

export function conditionsTable(app: Application): string | undefined {
  const conditions = app.status?.conditions ?? [];
  if (conditions.length === 0) return undefined;
  return formatTable(
    ["CONDITION", "MESSAGE", "LAST TRANSITION"],
    conditions.map((c) => [c.type, oneLine(c.message), c.lastTransitionTime ?? ""]),
  );
}

/** The whole `app get` text. */
export function describeApp(app: Application, options: { now?: Date } = {}): string {
  const parts = [summaryLines(app).join("\n")];
  const conditions = conditionsTable(app);
  if (conditions) parts.push(conditions);
  const operation = operationLines(app, options.now);
  if (operation.length) parts.push(operation.join("\n"));
  const rows = resourceRows(app.status?.resources, app.status?.operationState);
  if (rows.length) parts.push(resourcesTable(rows));
  return `${parts.join("\n\n")}\n`;
}

/** `sync=OutOfSync health=Missing operation=Running (waiting for ...)`: what `wait` saw. */
export function stateLine(app: Application): string {
  const state = app.status?.operationState;
  let operation = "none";
  if (app.operation && state?.phase !== "Running") operation = "Pending";
  else if (state) operation = state.phase + (state.message ? ` (${oneLine(state.message)})` : "");
  return `sync=${syncStatusOf(app)} health=${healthOf(app)} operation=${operation}`;
}
