/**
 * `slipway analysis run|get|list`.
 *
 * `run` is what Argo Rollouts lacks: it evaluates an AnalysisTemplate now, against the real
 * Prometheus / web endpoints, with the same engine the controller uses (`buildRunSpec`,
 * `stepRun`), so a release manager can see what a query returns and how the conditions decide
 * before a rollout depends on it. It only reads from the cluster (templates, Secrets); the run
 * lives in this process and is printed, never created.
 *
 * `list` and `get` read AnalysisRuns the controller wrote.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { parseAllDocuments } from "yaml";
import {
  AnalysisSpecError,
  buildRunSpec,
  isCompleted,
  measureWith,
  mergeTemplates,
  stepRun,
  validateTemplateSpec,
} from "../analysis/index.js";
import {
  type AnalysisPhase,
  type AnalysisRun,
  type AnalysisRunSpec,
  type AnalysisRunStatus,
  AnalysisTemplateSpec,
  API_VERSION,
  type Argument,
  type Measurement,
  type Metric,
  type MetricResult,
  type RunSummary,
  type SecretKeyRef,
} from "../api/v1alpha1/index.js";
import { ageOf } from "./age.js";
import {
  CRDS_MISSING,
  describeApiError,
  type GlobalOptions,
  isObjectNotFound,
  isTypeNotFound,
  LazyCluster,
  slipwayResource,
} from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

const TEMPLATES = slipwayResource("analysistemplates");
const CLUSTER_TEMPLATES = slipwayResource("clusteranalysistemplates");
const RUNS = slipwayResource("analysisruns");

/** A template as loaded, with where it came from for messages. */
interface LoadedTemplate {
  name: string;
  /** `template "x"`, `cluster template "x"` or `template "x" (file.yaml)`. */
  label: string;
  namespace?: string;
  spec: AnalysisTemplateSpec;
}

// ---------------------------------------------------------------------------------------------
// analysis run

export interface RunOptions {
  template?: string[];
  clusterTemplate?: string[];
  arg?: string[];
  once?: boolean;
  prometheus?: string;
}

/** A file path rather than a template name: it exists, or it is spelled like a path. */
function looksLikeFile(ref: string): boolean {
  return existsSync(ref) || /[\\/]/.test(ref) || /\.(ya?ml|json)$/i.test(ref);
}

/** `/metrics/0/provider` → `spec.metrics[0].provider`, the way users read the YAML. */
function specPath(pointer: string): string {
  let out = "spec";
  for (const part of pointer.split("/").slice(1)) out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  return out;
}

/**
 * The template's shape against the API schema, then Argo's checks and the conditions compiled.
 * A file has not been through the API server's validation, so the shape is checked here too.
 */
function checkTemplate(t: LoadedTemplate): void {
  const first = Value.Errors(AnalysisTemplateSpec, t.spec).First();
  if (first) {
    // TypeBox says "Expected required property" at the missing field's own path.
    const detail = first.message === "Expected required property" ? " is required" : `: ${first.message}`;
    throw new Error(`invalid ${t.label}: ${specPath(first.path)}${detail}`);
  }
  try {
    validateTemplateSpec(t.spec);
  } catch (err) {
    if (err instanceof AnalysisSpecError) throw new Error(`invalid ${t.label}: ${err.message}`);
    throw err;
  }
}

/** Every AnalysisTemplate / ClusterAnalysisTemplate in a file (any apiVersion, so Argo's work too). */
function loadTemplateFile(path: string): LoadedTemplate[] {
  if (!existsSync(path)) throw new Error(`template file ${path} does not exist`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read template file ${path}: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const templates: LoadedTemplate[] = [];
  const otherKinds: string[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const problem = doc.errors[0];
    if (problem)
      throw new Error(`cannot parse ${path}: ${problem.message.split("\n")[0]!.replace(/:$/, "")}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new Error(`${path} does not hold an AnalysisTemplate (expected an object)`);
    }
    const obj = value as {
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
      spec?: unknown;
    };
    if (obj.kind === "AnalysisTemplate" || obj.kind === "ClusterAnalysisTemplate") {
      const name = typeof obj.metadata?.name === "string" ? obj.metadata.name : basename(path, extname(path));
      const namespace =
        obj.kind === "AnalysisTemplate" && typeof obj.metadata?.namespace === "string"
          ? obj.metadata.namespace
          : undefined;
      const kind = obj.kind === "AnalysisTemplate" ? "template" : "cluster template";
      templates.push({
        name,
        label: `${kind} "${name}" (${path})`,
        ...(namespace ? { namespace } : {}),
        spec: (obj.spec ?? {}) as AnalysisTemplateSpec,
      });
    } else if (obj.kind === undefined && "metrics" in obj) {
      // A bare template spec: handy while drafting a query.
      const name = basename(path, extname(path));
      templates.push({ name, label: `template spec ${path}`, spec: obj as AnalysisTemplateSpec });
    } else {
      otherKinds.push(String(obj.kind));
    }
  }
  if (templates.length === 0) {
    const found = otherKinds.length ? ` (found ${otherKinds.join(", ")})` : "";
    throw new Error(`${path} holds no AnalysisTemplate or ClusterAnalysisTemplate${found}`);
  }
  return templates;
}

async function fetchTemplate(
  cluster: LazyCluster,
  name: string,
  clusterScoped: boolean,
  namespace: string,
): Promise<LoadedTemplate> {
  const api = cluster.customObjects();
  const kind = clusterScoped ? "cluster analysis template" : "analysis template";
  let object: unknown;
  try {
    object = clusterScoped
      ? await api.getClusterCustomObject({ ...CLUSTER_TEMPLATES, name })
      : await api.getNamespacedCustomObject({ ...TEMPLATES, namespace, name });
  } catch (err) {
    if (isTypeNotFound(err)) throw new Error(CRDS_MISSING);
    if (!isObjectNotFound(err))
      throw new Error(describeApiError(err, `read ${kind} "${name}"`, cluster.server()));
    if (clusterScoped) {
      throw new Error(
        `cluster analysis template "${name}" not found (for an AnalysisTemplate in a namespace use --template ${name})`,
      );
    }
    const hint = (await clusterTemplateExists(cluster, name))
      ? `there is a ClusterAnalysisTemplate "${name}": use --cluster-template ${name}`
      : "did you mean --cluster-template, or a file path?";
    throw new Error(`analysis template "${name}" not found in namespace "${namespace}" (${hint})`);
  }
  const spec = ((object as { spec?: unknown }).spec ?? {}) as AnalysisTemplateSpec;
  return clusterScoped
    ? { name, label: `cluster template "${name}"`, spec }
    : { name, label: `template "${name}"`, namespace, spec };
}

/** Only to make a not-found message precise; any failure just means "no". */
async function clusterTemplateExists(cluster: LazyCluster, name: string): Promise<boolean> {
  try {
    await cluster.customObjects().getClusterCustomObject({ ...CLUSTER_TEMPLATES, name });
    return true;
  } catch {
    return false;
  }
}

/** `--arg name=value` into Argo args; a later value for the same name wins. */
function parseArgFlags(flags: readonly string[]): Argument[] {
  const args = new Map<string, string>();
  for (const flag of flags) {
    const i = flag.indexOf("=");
    if (i <= 0) throw new Error(`--arg expects NAME=VALUE, got "${flag}"`);
    args.set(flag.slice(0, i), flag.slice(i + 1));
  }
  return [...args].map(([name, value]) => ({ name, value }));
}

const PLACEHOLDER = /\{\{\s*args\.([^\s{}]+)\s*\}\}/g;

/** Names of the args a value refers to through `{{args.x}}`, anywhere inside it. */
function referencedArgs(value: unknown, into = new Set<string>()): Set<string> {
  if (typeof value === "string") for (const m of value.matchAll(PLACEHOLDER)) into.add(m[1]!);
  else if (Array.isArray(value)) for (const v of value) referencedArgs(v, into);
  else if (value !== null && typeof value === "object")
    for (const v of Object.values(value)) referencedArgs(v, into);
  return into;
}

/**
 * Points every Prometheus metric at `address`. Args that only fed the replaced addresses (the
 * usual `{{args.prometheus-address}}`) are dropped from the declarations, so they need no --arg.
 */
function overridePrometheus(templates: LoadedTemplate[], address: string, given: ReadonlySet<string>): void {
  try {
    const url = new URL(address);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
  } catch {
    throw new Error(`--prometheus expects an http(s) URL such as http://localhost:9090, got "${address}"`);
  }
  const replaced = new Set<string>();
  for (const t of templates) {
    t.spec = structuredClone(t.spec);
    for (const m of t.spec.metrics) {
      if (!m.provider.prometheus) continue;
      referencedArgs(m.provider.prometheus.address, replaced);
      m.provider.prometheus.address = address;
    }
  }
  const stillUsed = new Set<string>();
  for (const t of templates) referencedArgs(t.spec.metrics, stillUsed);
  for (const t of templates) {
    if (!t.spec.args) continue;
    t.spec.args = t.spec.args.filter(
      (a) => !replaced.has(a.name) || stillUsed.has(a.name) || given.has(a.name),
    );
  }
}

/** An --arg the templates do not declare is a typo: Argo would ignore it, and use a default instead. */
function checkUnknownArgs(templates: readonly LoadedTemplate[], args: readonly Argument[]): void {
  const names = [...new Set(templates.flatMap((t) => t.spec.args ?? []).map((a) => a.name))];
  for (const arg of args) {
    if (!names.includes(arg.name)) {
      const list = names.length ? `it declares ${names.join(", ")}` : "it declares no arguments";
      throw new Error(`argument "${arg.name}" is not declared by the template (${list})`);
    }
  }
}

/**
 * The args checks a rollout would do, worded for the command line: a declared arg without a
 * value must be given with --arg, and so must args that come from a Rollout (fieldRef,
 * podTemplateHashValue), since there is none here.
 */
function checkMissingArgs(templates: readonly LoadedTemplate[], args: readonly Argument[]): void {
  const given = new Set(args.map((a) => a.name));
  let merged: Argument[];
  try {
    merged = mergeTemplates(templates.map((t) => t.spec)).args ?? [];
  } catch (err) {
    throw new Error(`cannot combine the templates: ${(err as Error).message}`);
  }
  const missing = merged.filter((a) => !given.has(a.name) && a.value === undefined && !a.valueFrom);
  if (missing.length > 0) {
    const list = missing.map((a) => `'${a.name}'`).join(", ");
    const flags = missing.map((a) => `--arg ${a.name}=VALUE`).join(" ");
    throw new Error(`missing value for argument${missing.length > 1 ? "s" : ""} ${list} (pass ${flags})`);
  }
  for (const a of merged) {
    if (given.has(a.name) || a.value !== undefined) continue;
    const from = a.valueFrom;
    const what = from?.fieldRef
      ? `fieldRef ${from.fieldRef.fieldPath}`
      : from?.podTemplateHashValue
        ? `podTemplateHashValue ${from.podTemplateHashValue}`
        : undefined;
    if (what)
      throw new Error(
        `argument '${a.name}' comes from a Rollout (${what}) and there is none here: pass --arg ${a.name}=VALUE`,
      );
  }
}

/** What `analysis run` cannot or should not measure, refused before anything is measured. */
function checkMeasurable(spec: AnalysisRunSpec, prometheusOverride: string | undefined): void {
  for (const m of spec.metrics) {
    if (m.provider.job) {
      throw new Error(
        `metric "${m.name}" uses the job provider: "analysis run" never writes to the cluster, so it cannot start Jobs (try it in a Rollout in the sandbox)`,
      );
    }
    if (m.provider.prometheus && !m.provider.prometheus.address && !prometheusOverride) {
      throw new Error(`metric "${m.name}" has no prometheus address: pass --prometheus URL`);
    }
  }
}

/**
 * `--once`: one measurement per metric, now, deciding the metric on its own. Dropping the
 * schedule and setting the limits to 0 makes the metric's phase that measurement's phase
 * (Error included), which is what "try this query" means.
 */
function onceSpec(spec: AnalysisRunSpec): AnalysisRunSpec {
  return {
    ...spec,
    metrics: spec.metrics.map((m): Metric => {
      const copy: Metric = {
        ...m,
        count: 1,
        failureLimit: 0,
        inconclusiveLimit: 0,
        consecutiveErrorLimit: 0,
      };
      delete copy.interval;
      delete copy.initialDelay;
      delete copy.consecutiveSuccessLimit;
      return copy;
    }),
  };
}

/** Reads `valueFrom.secretKeyRef` args from the run's namespace, once per key. */
function secretReader(cluster: LazyCluster, namespace: string): (ref: SecretKeyRef) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  const read = async (ref: SecretKeyRef): Promise<string> => {
    let data: Record<string, string> | undefined;
    try {
      data = (await cluster.core().readNamespacedSecret({ name: ref.name, namespace })).data;
    } catch (err) {
      if (isObjectNotFound(err))
        throw new Error(`secret "${ref.name}" not found in namespace "${namespace}"`);
      throw new Error(describeApiError(err, `read secret "${ref.name}"`, cluster.server()));
    }
    const encoded = data?.[ref.key];
    if (encoded === undefined) throw new Error(`secret "${ref.name}" has no key "${ref.key}"`);
    return Buffer.from(encoded, "base64").toString("utf8");
  };
  return (ref) => {
    const key = `${ref.name}\u0000${ref.key}`;
    let value = cache.get(key);
    if (!value) {
      value = read(ref);
      cache.set(key, value);
      value.catch(() => cache.delete(key));
    }
    return value;
  };
}

/** Prints measurements as they arrive: a row each, in a table that needs no look-ahead. */
class MeasurementPrinter {
  private readonly seen = new Set<string>();
  private readonly rows: string[][] = [];
  private headerPrinted = false;

  constructor(
    private readonly metricNames: readonly string[],
    private readonly mode: "off" | "buffered" | "streaming",
    private readonly wide: boolean,
    private readonly anyDryRun: boolean,
  ) {}

  private headers(): string[] {
    return this.wide
      ? ["METRIC", "VALUE", "PHASE", "TIME", "MESSAGE"]
      : ["METRIC", "VALUE", "PHASE", "MESSAGE"];
  }

  /** Rows for measurements not printed yet, in the metrics' order. */
  add(status: AnalysisRunStatus): void {
    if (this.mode === "off") return;
    const results = status.metricResults ?? [];
    for (const name of this.metricNames) {
      const result = results.find((r) => r.name === name);
      for (const m of result?.measurements ?? []) {
        if (!m.finishedAt) continue;
        const key = `${name}\u0000${m.startedAt}\u0000${m.finishedAt}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        this.emit(measurementRow(result!, m, this.wide));
      }
    }
  }

  private emit(row: string[]): void {
    if (this.mode === "buffered") {
      this.rows.push(row);
      return;
    }
    // Streaming: widths cannot depend on rows to come, so they are fixed from what is known.
    // The metric column allows for a " (dry-run)" label; phases are at most 12 characters.
    const widths = [
      Math.max(6, ...this.metricNames.map((n) => n.length)) + (this.anyDryRun ? 10 : 0),
      12,
      12,
      24,
    ];
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("   ")
        .trimEnd();
    if (!this.headerPrinted) {
      process.stdout.write(`${line(this.headers())}\n`);
      this.headerPrinted = true;
    }
    process.stdout.write(`${line(row)}\n`);
  }

  flush(): void {
    if (this.mode === "buffered" && this.rows.length > 0) {
      process.stdout.write(`${formatTable(this.headers(), this.rows)}\n`);
    }
  }
}

const oneLine = (text: string | undefined): string => (text ?? "").replace(/\s+/g, " ").trim();

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function measurementRow(result: MetricResult, m: Measurement, wide: boolean): string[] {
  const metric = result.dryRun ? `${result.name} (dry-run)` : result.name;
  const value = wide ? oneLine(m.value) : truncate(oneLine(m.value), 40);
  const row = [metric, value || "-", m.phase];
  if (wide) row.push(m.finishedAt ?? m.startedAt ?? "-");
  row.push(oneLine(m.message));
  return row;
}

const OUTCOMES = ["successful", "failed", "inconclusive", "error"] as const;

/** `1 successful, 1 failed` from a run summary; "" when nothing is decided yet. */
function tally(summary: RunSummary | undefined): string {
  return OUTCOMES.filter((k) => (summary?.[k] ?? 0) > 0)
    .map((k) => `${summary![k]} ${k}`)
    .join(", ");
}

/** `2 of 3 metrics successful`, `1 successful, 1 failed of 2 metrics`, plus dry-run outcomes. */
function countsText(status: AnalysisRunStatus): string {
  const parts: string[] = [];
  const decided = tally(status.runSummary);
  if (decided) {
    const total = status.runSummary?.count ?? 0;
    const of = `of ${total} metric${total === 1 ? "" : "s"}`;
    // One outcome reads better with the total in the middle: "2 of 3 metrics successful".
    parts.push(decided.includes(",") ? `${decided} ${of}` : decided.replace(/ (\w+)$/, ` ${of} $1`));
  }
  const dry = tally(status.dryRunSummary);
  if (dry) parts.push(`dry run: ${dry}`);
  return parts.join("; ");
}

function verdictLine(status: AnalysisRunStatus): string {
  const parts = [oneLine(status.message), countsText(status)].filter((p) => p);
  return `${status.phase}: ${parts.join("; ") || "no metric decided"}`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Drives the run with the controller's own step function and a real clock, until it completes
 * or the user interrupts. An interrupted step is discarded (its measurement was cut short, not
 * taken), then the run is terminated the way `spec.terminate` does in Argo.
 */
async function drive(
  spec: AnalysisRunSpec,
  deps: {
    measure: ReturnType<typeof measureWith>;
    resolveSecret: (ref: SecretKeyRef) => Promise<string>;
    onStatus: (status: AnalysisRunStatus) => void;
    onWait: (ms: number) => void;
  },
): Promise<{ spec: AnalysisRunSpec; status: AnalysisRunStatus }> {
  const clock = { now: () => new Date() };
  const stop = new AbortController();
  const onSignal = () => {
    // A second Ctrl-C means "now".
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    let status: AnalysisRunStatus | undefined;
    for (;;) {
      const step = await stepRun(
        { spec, ...(status ? { status } : {}) },
        { clock, measure: deps.measure, resolveSecret: deps.resolveSecret, signal: stop.signal },
      );
      if (stop.signal.aborted) break;
      status = step.status;
      deps.onStatus(status);
      if (isCompleted(status.phase)) return { spec, status };
      const wait = step.requeueAfter ?? 1000;
      deps.onWait(wait);
      await abortableSleep(wait, stop.signal);
      if (stop.signal.aborted) break;
    }
    const terminated: AnalysisRunSpec = { ...spec, terminate: true };
    const final = await stepRun(
      { spec: terminated, ...(status ? { status } : {}) },
      { clock, measure: deps.measure, resolveSecret: deps.resolveSecret },
    );
    const measured = (final.status.metricResults ?? []).some((r) => (r.measurements ?? []).length > 0);
    if (!measured) {
      // Argo calls a terminated run with nothing decided Successful; with nothing measured at
      // all that would be a verdict without evidence.
      final.status.phase = "Inconclusive";
      final.status.message = "Run Terminated before any measurement was taken";
    }
    return { spec: terminated, status: final.status };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export async function runAnalysis(options: RunOptions, globals: GlobalOptions): Promise<AnalysisPhase> {
  const templateRefs = options.template ?? [];
  const clusterTemplateNames = options.clusterTemplate ?? [];
  if (templateRefs.length === 0 && clusterTemplateNames.length === 0) {
    throw new Error("pass --template NAME|FILE or --cluster-template NAME");
  }
  const cluster = new LazyCluster(globals);
  const args = parseArgFlags(options.arg ?? []);

  const templates: LoadedTemplate[] = [];
  for (const ref of templateRefs) {
    if (looksLikeFile(ref)) templates.push(...loadTemplateFile(ref));
    else templates.push(await fetchTemplate(cluster, ref, false, cluster.namespace()));
  }
  for (const name of clusterTemplateNames) templates.push(await fetchTemplate(cluster, name, true, ""));
  for (const t of templates) checkTemplate(t);

  // Secrets are read where the template lives: -n, else the file's namespace, else the context's.
  const namespace = globals.namespace ?? templates.find((t) => t.namespace)?.namespace ?? cluster.namespace();

  checkUnknownArgs(templates, args);
  if (options.prometheus) {
    overridePrometheus(templates, options.prometheus, new Set(args.map((a) => a.name)));
  }
  checkMissingArgs(templates, args);
  let spec: AnalysisRunSpec;
  try {
    spec = buildRunSpec(
      templates.map((t) => t.spec),
      args,
    );
  } catch (err) {
    if (err instanceof AnalysisSpecError) {
      const what = templates.length === 1 ? templates[0]!.label : "templates";
      throw new Error(`invalid ${what}: ${err.message}`);
    }
    throw err;
  }
  checkMeasurable(spec, options.prometheus);
  if (options.once) spec = onceSpec(spec);

  const structured = globals.output === "json" || globals.output === "yaml";
  const printer = new MeasurementPrinter(
    spec.metrics.map((m) => m.name),
    structured ? "off" : options.once ? "buffered" : "streaming",
    globals.output === "wide",
    (spec.dryRun ?? []).length > 0,
  );
  const tty = Boolean(process.stderr.isTTY) && !structured;
  if (tty && !options.once) {
    process.stderr.write("measuring on the metrics' schedule; Ctrl-C stops and prints the verdict so far\n");
  }

  const { spec: finalSpec, status } = await drive(spec, {
    measure: measureWith(options.prometheus ? { defaultPrometheusAddress: options.prometheus } : {}),
    resolveSecret: secretReader(cluster, namespace),
    onStatus: (s) => {
      if (tty) process.stderr.write("\r\x1b[K"); // clear the "next measurement" line
      printer.add(s);
    },
    onWait: (ms) => {
      if (tty) process.stderr.write(`next measurement in ${Math.ceil(ms / 1000)}s\r`);
    },
  });

  const run: AnalysisRun = {
    apiVersion: API_VERSION,
    kind: "AnalysisRun",
    metadata: { name: [...new Set(templates.map((t) => t.name))].join("-"), namespace },
    spec: finalSpec,
    status,
  };
  if (!printStructured(run, globals.output)) {
    printer.flush();
    process.stdout.write(`${verdictLine(status)}\n`);
  }
  return status.phase;
}

// ---------------------------------------------------------------------------------------------
// analysis list / get

interface RunList {
  items?: AnalysisRun[];
}

/** `2 successful, 1 running` over the run's metrics (a metric without a result is Pending). */
export function metricsSummary(run: AnalysisRun): string {
  const order: AnalysisPhase[] = ["Successful", "Running", "Pending", "Inconclusive", "Error", "Failed"];
  const counts = new Map<AnalysisPhase, number>();
  const results = run.status?.metricResults ?? [];
  const names = new Set([...(run.spec?.metrics ?? []).map((m) => m.name), ...results.map((r) => r.name)]);
  for (const name of names) {
    const phase = results.find((r) => r.name === name)?.phase ?? "Pending";
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  const parts = order.filter((p) => counts.has(p)).map((p) => `${counts.get(p)} ${p.toLowerCase()}`);
  return parts.length ? parts.join(", ") : "-";
}

function apiFailure(err: unknown, what: string, cluster: LazyCluster): Error {
  if (isTypeNotFound(err)) return new Error(CRDS_MISSING);
  return new Error(describeApiError(err, what, cluster.server()));
}

export async function listRuns(options: { allNamespaces?: boolean }, globals: GlobalOptions): Promise<void> {
  const cluster = new LazyCluster(globals);
  const api = cluster.customObjects();
  const namespace = options.allNamespaces ? undefined : cluster.namespace();
  let list: RunList;
  try {
    list = (
      namespace
        ? await api.listNamespacedCustomObject({ ...RUNS, namespace })
        : await api.listClusterCustomObject(RUNS)
    ) as RunList;
  } catch (err) {
    throw apiFailure(err, "list analysis runs", cluster);
  }
  if (printStructured(list, globals.output)) return;
  const items = list.items ?? [];
  if (items.length === 0) {
    process.stderr.write(
      namespace ? `No analysis runs found in namespace "${namespace}".\n` : "No analysis runs found.\n",
    );
    return;
  }
  const wide = globals.output === "wide";
  const now = new Date();
  const headers = [
    ...(namespace ? [] : ["NAMESPACE"]),
    "NAME",
    "STATUS",
    "METRICS",
    "AGE",
    ...(wide ? ["MESSAGE"] : []),
  ];
  const rows = items.map((run) => [
    ...(namespace ? [] : [run.metadata?.namespace ?? ""]),
    run.metadata?.name ?? "",
    run.status?.phase ?? "Pending",
    metricsSummary(run),
    ageOf(run.metadata?.creationTimestamp, now),
    ...(wide ? [oneLine(run.status?.message)] : []),
  ]);
  process.stdout.write(`${formatTable(headers, rows)}\n`);
}

/** When, as an age (`12s ago`), for the human view. */
const ago = (timestamp: string | undefined, now: Date): string =>
  timestamp ? `${timestamp} (${ageOf(timestamp, now)} ago)` : "-";

export async function getRun(name: string, globals: GlobalOptions): Promise<void> {
  const cluster = new LazyCluster(globals);
  const namespace = cluster.namespace();
  let run: AnalysisRun;
  try {
    run = (await cluster
      .customObjects()
      .getNamespacedCustomObject({ ...RUNS, namespace, name })) as AnalysisRun;
  } catch (err) {
    if (isObjectNotFound(err)) {
      throw new Error(
        `analysis run "${name}" not found in namespace "${namespace}" (list them with "slipway analysis list -n ${namespace}")`,
      );
    }
    throw apiFailure(err, `read analysis run "${name}"`, cluster);
  }
  if (printStructured(run, globals.output)) return;

  const wide = globals.output === "wide";
  const now = new Date();
  const status = run.status;
  const lines: string[] = [
    `Name:       ${run.metadata?.name ?? name}`,
    `Namespace:  ${run.metadata?.namespace ?? namespace}`,
    `Status:     ${status?.phase ?? "Pending"}${run.spec?.terminate ? " (terminated)" : ""}`,
  ];
  if (status?.message) lines.push(`Message:    ${oneLine(status.message)}`);
  if (status?.startedAt) lines.push(`Started:    ${ago(status.startedAt, now)}`);
  if (status?.completedAt) lines.push(`Completed:  ${ago(status.completedAt, now)}`);
  const counts = status ? countsText(status) : "";
  if (counts) lines.push(`Summary:    ${counts}`);
  process.stdout.write(`${lines.join("\n")}\n\n`);

  const results = status?.metricResults ?? [];
  const metricNames = [
    ...new Set([...(run.spec?.metrics ?? []).map((m) => m.name), ...results.map((r) => r.name)]),
  ];
  const metricRows = metricNames.map((metricName) => {
    const r = results.find((x) => x.name === metricName);
    const last = r?.measurements?.at(-1);
    return [
      r?.dryRun ? `${metricName} (dry-run)` : metricName,
      r?.phase ?? "Pending",
      String(r?.count ?? 0),
      String(r?.successful ?? 0),
      String(r?.failed ?? 0),
      String(r?.inconclusive ?? 0),
      String(r?.error ?? 0),
      last ? truncate(oneLine(last.value) || "-", wide ? 10_000 : 40) : "-",
      last?.phase ?? "-",
      last ? `${ageOf(last.finishedAt ?? last.startedAt, now)} ago` : "-",
      oneLine(r?.message ?? last?.message),
    ];
  });
  process.stdout.write(
    `${formatTable(
      [
        "METRIC",
        "PHASE",
        "COUNT",
        "SUCCESSFUL",
        "FAILED",
        "INCONCLUSIVE",
        "ERROR",
        "LAST VALUE",
        "LAST PHASE",
        "MEASURED",
        "MESSAGE",
      ],
      metricRows,
    )}\n`,
  );

  // The retained measurements, newest last; the last five per metric unless -o wide.
  const measurementRows = results.flatMap((r) =>
    (wide ? (r.measurements ?? []) : (r.measurements ?? []).slice(-5)).map((m) => measurementRow(r, m, true)),
  );
  if (measurementRows.length > 0) {
    process.stdout.write(
      `\nMeasurements${wide ? "" : " (last 5 per metric; -o wide for all)"}:\n${formatTable(
        ["METRIC", "VALUE", "PHASE", "TIME", "MESSAGE"],
        measurementRows,
      )}\n`,
    );
  }
}
