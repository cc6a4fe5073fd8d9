/**
 * Templates + args → AnalysisRun spec, and args → resolved metrics, as Argo's
 * NewAnalysisRunFromTemplates / MergeArgs / ResolveMetricArgs. The run keeps `{{args.x}}`
 * placeholders and its args (secret references stay references), and each measurement resolves
 * them, so a secret's value is never written into the AnalysisRun object.
 */
import type {
  AnalysisRunSpec,
  AnalysisTemplateSpec,
  Argument,
  Metric,
  SecretKeyRef,
} from "../api/v1alpha1/analysis.js";
import { AnalysisSpecError } from "./errors.js";
import { validateMetrics } from "./validate.js";

/** A template object or just its spec (AnalysisTemplate and ClusterAnalysisTemplate alike). */
export type TemplateLike = AnalysisTemplateSpec | { spec: AnalysisTemplateSpec };

/** Resolves `valueFrom.fieldRef` / `podTemplateHashValue` against the object that starts the run. */
export type FieldResolver = (arg: Argument) => string | undefined;

/** Reads a Secret key for `valueFrom.secretKeyRef` (in the run's namespace). */
export type SecretResolver = (ref: SecretKeyRef) => Promise<string>;

const specOf = (t: TemplateLike): AnalysisTemplateSpec => ("spec" in t ? t.spec : t);

const PLACEHOLDER = /\{\{\s*args\.([^\s{}]+)\s*\}\}/g;

/** Combines several templates; a metric name used twice is an error, as in Argo's flattenMetrics. */
export function mergeTemplates(templates: readonly TemplateLike[]): AnalysisTemplateSpec {
  if (templates.length === 0) throw new AnalysisSpecError("no analysis templates given");
  const metrics: Metric[] = [];
  const names = new Set<string>();
  const args: Argument[] = [];
  const dryRun: NonNullable<AnalysisTemplateSpec["dryRun"]> = [];
  const retention: NonNullable<AnalysisTemplateSpec["measurementRetention"]> = [];
  for (const spec of templates.map(specOf)) {
    for (const m of spec.metrics ?? []) {
      if (names.has(m.name)) throw new AnalysisSpecError(`two metrics have the same name '${m.name}'`);
      names.add(m.name);
      metrics.push(m);
    }
    for (const arg of spec.args ?? []) {
      const i = args.findIndex((a) => a.name === arg.name);
      if (i < 0) {
        args.push(arg);
        continue;
      }
      const prev = args[i]!;
      if (prev.value !== undefined && arg.value !== undefined && prev.value !== arg.value) {
        throw new AnalysisSpecError(
          `argument '${arg.name}' specified multiple times with different values: '${prev.value}', '${arg.value}'`,
        );
      }
      if (prev.value === undefined) args[i] = arg;
    }
    dryRun.push(...(spec.dryRun ?? []));
    retention.push(...(spec.measurementRetention ?? []));
  }
  assertUniqueRules(
    dryRun.map((d) => d.metricName),
    "dryRun",
  );
  assertUniqueRules(
    retention.map((r) => r.metricName),
    "measurementRetention",
  );
  return {
    metrics,
    ...(args.length ? { args } : {}),
    ...(dryRun.length ? { dryRun } : {}),
    ...(retention.length ? { measurementRetention: retention } : {}),
  };
}

function assertUniqueRules(names: string[], field: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new AnalysisSpecError(`two ${field} rules have the same metric name '${n}'`);
    seen.add(n);
  }
}

/**
 * The caller's args over the templates' declarations (Argo's MergeArgs): a caller `value` wins
 * over a template default; args the templates do not declare are ignored; every declared arg must
 * end up with a value or a valueFrom, else the error names it.
 */
export function mergeArgs(incoming: readonly Argument[], declared: readonly Argument[]): Argument[] {
  const merged = declared.map((a) => ({ ...a }));
  for (const arg of incoming) {
    const target = merged.find((a) => a.name === arg.name);
    if (!target) continue;
    if (arg.value !== undefined) {
      target.value = arg.value;
      delete target.valueFrom;
    } else if (arg.valueFrom !== undefined) {
      target.valueFrom = arg.valueFrom;
      delete target.value;
    }
  }
  const missing = merged.filter((a) => a.value === undefined && a.valueFrom === undefined).map((a) => a.name);
  if (missing.length > 0) {
    throw new AnalysisSpecError(
      `missing value for argument${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")}` +
        " (give it in the Rollout's analysis args or a default in the template)",
    );
  }
  return merged;
}

export interface BuildRunOptions {
  /** Resolves fieldRef / podTemplateHashValue args from the owning Rollout when the run is built. */
  resolveField?: FieldResolver;
  /** Extra run options carried over from the Rollout step, as Argo does. */
  dryRun?: AnalysisRunSpec["dryRun"];
  measurementRetention?: AnalysisRunSpec["measurementRetention"];
}

/**
 * Builds an AnalysisRun spec from templates and the caller's args. Field references are
 * resolved now (they describe the Rollout at this moment); secret references stay references.
 * The metrics are checked with the args substituted (secrets as a stand-in), so a missing arg, a
 * duplicate metric or a condition that does not parse is refused here, with its position.
 */
export function buildRunSpec(
  templates: readonly TemplateLike[],
  args: readonly Argument[] = [],
  options: BuildRunOptions = {},
): AnalysisRunSpec {
  const merged = mergeTemplates(templates);
  const resolvedArgs = mergeArgs(args, merged.args ?? []).map((arg): Argument => {
    const from = arg.valueFrom;
    if (!from || from.secretKeyRef) return arg;
    if (!from.fieldRef && !from.podTemplateHashValue) {
      throw new AnalysisSpecError(`argument '${arg.name}' has an empty valueFrom`);
    }
    const value = options.resolveField?.(arg);
    if (value === undefined) {
      const what = from.fieldRef
        ? `fieldRef ${from.fieldRef.fieldPath}`
        : `podTemplateHashValue ${from.podTemplateHashValue}`;
      throw new AnalysisSpecError(`argument '${arg.name}': could not resolve ${what}`);
    }
    return { name: arg.name, value };
  });
  const dryRun = [...(options.dryRun ?? []), ...(merged.dryRun ?? [])];
  const measurementRetention = [
    ...(options.measurementRetention ?? []),
    ...(merged.measurementRetention ?? []),
  ];
  assertUniqueRules(
    dryRun.map((d) => d.metricName),
    "dryRun",
  );
  assertUniqueRules(
    measurementRetention.map((r) => r.metricName),
    "measurementRetention",
  );
  const spec: AnalysisRunSpec = {
    metrics: merged.metrics,
    ...(resolvedArgs.length ? { args: resolvedArgs } : {}),
    ...(dryRun.length ? { dryRun } : {}),
    ...(measurementRetention.length ? { measurementRetention } : {}),
  };
  validateMetrics(
    substituteArgs(
      spec.metrics,
      argValues(resolvedArgs, () => "secret-value"),
    ),
  );
  return spec;
}

/** The args' values by name; `secret` supplies values for secretKeyRef args. */
function argValues(args: readonly Argument[], secret: (arg: Argument) => string): Map<string, string> {
  const values = new Map<string, string>();
  for (const arg of args) {
    if (arg.value !== undefined) values.set(arg.name, arg.value);
    else if (arg.valueFrom?.secretKeyRef) values.set(arg.name, secret(arg));
  }
  return values;
}

/**
 * Replaces every `{{args.name}}` (spaces allowed inside the braces) in every string of the
 * metrics: queries, URLs, headers, conditions, counts. An unknown or value-less arg is an error
 * naming it.
 */
export function substituteArgs(metrics: readonly Metric[], values: ReadonlyMap<string, string>): Metric[] {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      return v.replace(PLACEHOLDER, (_all, name: string) => {
        const value = values.get(name);
        if (value === undefined)
          throw new AnalysisSpecError(
            `failed to resolve {{args.${name}}}: no such argument or it has no value`,
          );
        return value;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return metrics.map((m) => walk(m) as Metric);
}

export interface ResolvedMetrics {
  metrics: Metric[];
  /** Secret values, to be masked in anything written back (messages, values). */
  secrets: string[];
}

/**
 * Resolves a run's args (reading secrets through `resolveSecret`) and substitutes them into its
 * metrics; done at each step, so the run object never holds a secret.
 */
export async function resolveRunMetrics(
  spec: Pick<AnalysisRunSpec, "metrics" | "args">,
  resolveSecret?: SecretResolver,
): Promise<ResolvedMetrics> {
  const secrets = new Map<string, string>();
  for (const arg of spec.args ?? []) {
    const ref = arg.value === undefined ? arg.valueFrom?.secretKeyRef : undefined;
    if (!ref) continue;
    if (!resolveSecret)
      throw new AnalysisSpecError(
        `argument '${arg.name}' needs secret ${ref.name}, but no secret reader is configured`,
      );
    try {
      secrets.set(arg.name, await resolveSecret(ref));
    } catch (err) {
      throw new AnalysisSpecError(
        `argument '${arg.name}': secret ${ref.name} key ${ref.key}: ${(err as Error).message}`,
      );
    }
  }
  const values = argValues(spec.args ?? [], (arg) => secrets.get(arg.name)!);
  return {
    metrics: substituteArgs(spec.metrics, values),
    secrets: [...secrets.values()].filter((s) => s !== ""),
  };
}
