/**
 * AnalysisRuns a Rollout starts (Argo's rollout/analysis.go): one per step, background, pre- and
 * post-promotion analysis, per revision and retry attempt, with deterministic names
 * (`<rollout>-<hash>-<step>`, `-bg`, `-pre`, `-post`, and `.<attempt>` after a retry), so a
 * restarted controller finds the run it created instead of creating another (#1107). The
 * controller only creates runs, reads `status.phase`, and terminates them; the AnalysisRun
 * controller measures.
 */
import type { V1ReplicaSet } from "@kubernetes/client-node";
import { buildRunSpec } from "../../analysis/run-spec.js";
import type { AnalysisPhase, Argument, Metric } from "../../api/v1alpha1/analysis.js";
import type { RolloutAnalysis, RolloutAnalysisRunStatus } from "../../api/v1alpha1/rollout.js";
import {
  ATTEMPT_ANNOTATION,
  DEFAULTS,
  POD_HASH_LABEL,
  REVISION_ANNOTATION,
  RUN_ROLLOUT_LABEL,
  RUN_STEP_LABEL,
  RUN_TYPE_LABEL,
} from "./constants.js";
import type { PlanBuilder, RolloutContext } from "./context.js";
import { ownerReference, revisionOf } from "./replicaset.js";
import type { AnalysisRunObject, RolloutObject } from "./types.js";

export type RunKind = "step" | "background" | "pre" | "post";

const SUFFIX: Record<Exclude<RunKind, "step">, string> = { background: "bg", pre: "pre", post: "post" };

/** The retry attempt of a revision (0 until the first retry), kept on its ReplicaSet. */
export function attemptOf(rs: V1ReplicaSet | undefined): number {
  const v = Number(rs?.metadata?.annotations?.[ATTEMPT_ANNOTATION] ?? 0);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

export function runName(
  rollout: string,
  hash: string,
  kind: RunKind,
  step: number | undefined,
  attempt: number,
): string {
  const base = `${rollout}-${hash}-${kind === "step" ? String(step ?? 0) : SUFFIX[kind]}`;
  return attempt > 0 ? `${base}.${attempt}` : base;
}

export function findRun(ctx: RolloutContext, name: string): AnalysisRunObject | undefined {
  return ctx.analysisRuns.find((r) => r.metadata.name === name);
}

export function phaseOf(run: AnalysisRunObject | undefined): AnalysisPhase | undefined {
  if (!run) return undefined;
  return run.status?.phase ?? "Pending";
}

export function isTerminal(phase: AnalysisPhase | undefined): boolean {
  return phase === "Successful" || phase === "Failed" || phase === "Error" || phase === "Inconclusive";
}

export function runStatus(name: string, run: AnalysisRunObject | undefined): RolloutAnalysisRunStatus {
  const phase = phaseOf(run) ?? "Pending";
  const message = run?.status?.message;
  return { name, status: phase, ...(message ? { message } : {}) };
}

/** A `fieldRef` path into the Rollout: `metadata.name`, `metadata.labels['app']`, `spec.replicas`. */
export function resolveFieldPath(object: unknown, path: string): string | undefined {
  const parts: string[] = [];
  const re = /([^.[\]]+)|\[['"]([^'"]+)['"]\]|\[(\d+)\]/g;
  for (const m of path.matchAll(re)) parts.push(m[1] ?? m[2] ?? m[3] ?? "");
  let cur: unknown = object;
  for (const p of parts) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === "object" ? JSON.stringify(cur) : String(cur);
}

export interface RunRequest {
  analysis: RolloutAnalysis;
  kind: RunKind;
  step?: number;
  /** Pod hash of the revision under analysis (the new set). */
  hash: string;
  /** Stable hash for `podTemplateHashValue: Stable`. */
  stableHash: string;
  attempt: number;
  revisionRS: V1ReplicaSet | undefined;
}

/** The run object for `req`, or the reason it cannot be built (unknown template, missing arg...). */
export function buildRun(
  ctx: RolloutContext,
  req: RunRequest,
): { run: AnalysisRunObject } | { error: string } {
  const ro = ctx.rollout;
  const refs = req.analysis.templates ?? [];
  if (refs.length === 0) return { error: "analysis has no templates" };
  const templates = [];
  for (const ref of refs) {
    const spec = ctx.analysisTemplate(ref.templateName, ref.clusterScope === true);
    if (!spec) {
      return {
        error: `${ref.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate"} "${ref.templateName}" not found`,
      };
    }
    templates.push(spec);
  }
  let spec: AnalysisRunObject["spec"];
  try {
    spec = buildRunSpec(templates, req.analysis.args ?? [], {
      resolveField: (arg: Argument) => {
        const from = arg.valueFrom;
        if (from?.podTemplateHashValue === "Latest") return req.hash;
        if (from?.podTemplateHashValue === "Stable") return req.stableHash;
        if (from?.fieldRef) return resolveFieldPath(ro, from.fieldRef.fieldPath);
        return undefined;
      },
      ...(req.analysis.dryRun ? { dryRun: req.analysis.dryRun } : {}),
      ...(req.analysis.measurementRetention
        ? { measurementRetention: req.analysis.measurementRetention }
        : {}),
    });
  } catch (error) {
    return { error: (error as Error).message };
  }
  const name = runName(ro.metadata.name ?? "", req.hash, req.kind, req.step, req.attempt);
  const meta = req.analysis.analysisRunMetadata;
  const revision = revisionOf(req.revisionRS);
  return {
    run: {
      apiVersion: "slipway.dev/v1alpha1",
      kind: "AnalysisRun",
      metadata: {
        name,
        namespace: ro.metadata.namespace,
        labels: {
          ...(meta?.labels ?? {}),
          [POD_HASH_LABEL]: req.hash,
          [RUN_ROLLOUT_LABEL]: ro.metadata.name ?? "",
          [RUN_TYPE_LABEL]: req.kind,
          ...(req.step !== undefined ? { [RUN_STEP_LABEL]: String(req.step) } : {}),
        },
        annotations: {
          ...(meta?.annotations ?? {}),
          ...(revision ? { [REVISION_ANNOTATION]: String(revision) } : {}),
        },
        ownerReferences: [ownerReference(ctx)],
      },
      spec,
    },
  };
}

/** Every template the Rollout's analyses name that does not exist (for InvalidSpec). */
export function missingTemplates(ctx: RolloutContext): string[] {
  const ro: RolloutObject = ctx.rollout;
  const analyses: RolloutAnalysis[] = [];
  const c = ro.spec.strategy.canary;
  const bg = ro.spec.strategy.blueGreen;
  for (const s of c?.steps ?? []) if (s.analysis) analyses.push(s.analysis);
  if (c?.analysis) analyses.push(c.analysis);
  if (bg?.prePromotionAnalysis) analyses.push(bg.prePromotionAnalysis);
  if (bg?.postPromotionAnalysis) analyses.push(bg.postPromotionAnalysis);
  const missing = new Set<string>();
  for (const a of analyses) {
    for (const t of a.templates ?? []) {
      if (!ctx.analysisTemplate(t.templateName, t.clusterScope === true)) {
        missing.add(`${t.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate"} "${t.templateName}"`);
      }
    }
  }
  return [...missing].sort();
}

export interface EnsuredRun {
  name: string;
  run: AnalysisRunObject | undefined;
  phase: AnalysisPhase;
  error?: string;
}

/** The run for `req`: the existing one, or created now (phase Pending until it reports). */
export function ensureRun(b: PlanBuilder, req: RunRequest): EnsuredRun {
  const name = runName(b.name, req.hash, req.kind, req.step, req.attempt);
  const existing = findRun(b.ctx, name);
  if (existing) return { name, run: existing, phase: phaseOf(existing)! };
  const built = buildRun(b.ctx, req);
  if ("error" in built) return { name, run: undefined, phase: "Pending", error: built.error };
  b.act({
    type: "createAnalysisRun",
    run: built.run,
    event: {
      type: "Normal",
      reason: "AnalysisRunCreated",
      message: `Created ${describeKind(req)} AnalysisRun ${name}`,
    },
  });
  return { name, run: undefined, phase: "Pending" };
}

function describeKind(req: RunRequest): string {
  switch (req.kind) {
    case "step":
      return `step ${(req.step ?? 0) + 1}`;
    case "background":
      return "background";
    case "pre":
      return "pre-promotion";
    case "post":
      return "post-promotion";
  }
}

/** Asks a run that still measures to stop (runs that ended are left alone). */
export function terminateRun(b: PlanBuilder, run: AnalysisRunObject | undefined): void {
  if (!run || run.spec.terminate || isTerminal(phaseOf(run))) return;
  b.act({ type: "terminateAnalysisRun", name: run.metadata.name ?? "" });
}

/** Terminates every run of this Rollout that is still measuring, except `keep`. */
export function terminateRunsExcept(b: PlanBuilder, keep: ReadonlySet<string>): void {
  for (const run of b.ctx.analysisRuns) if (!keep.has(run.metadata.name ?? "")) terminateRun(b, run);
}

const NEGATE: Record<string, string> = { "<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "==" };

function displayValue(raw: string | undefined): string {
  if (raw === undefined) return "(no value)";
  try {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed) && parsed.length === 1) return String(parsed[0]);
    if (typeof parsed === "number") return String(parsed);
  } catch {
    // not JSON: shown as is
  }
  return raw;
}

/** `result 0.31 > 0.1` from the failing condition, or the condition itself when it is not a comparison. */
function describeOutcome(metric: Metric | undefined, value: string): string {
  const simple = /^\s*(?:asFloat\()?\s*result\s*(?:\[0\])?\s*\)?\s*(<=|>=|<|>|==|!=)\s*([^\s].*?)\s*$/;
  const failure = metric?.failureCondition;
  const success = metric?.successCondition;
  if (failure) {
    const m = simple.exec(failure);
    return m ? `result ${value} ${m[1]} ${m[2]}` : `result ${value} (failureCondition: ${failure})`;
  }
  if (success) {
    const m = simple.exec(success);
    return m
      ? `result ${value} ${NEGATE[m[1]!]} ${m[2]}`
      : `result ${value} (successCondition not met: ${success})`;
  }
  return `result ${value}`;
}

/**
 * Why a run ended badly, from its status: `analysis run web-7c9-2 failed: metric error-rate:
 * result 0.31 > 0.1`. Names the first non-dry-run metric in the run's phase and its last value.
 */
export function failureMessage(run: AnalysisRunObject): string {
  const phase = phaseOf(run) ?? "Failed";
  const name = run.metadata.name ?? "";
  const results = (run.status?.metricResults ?? []).filter((r) => !r.dryRun);
  const bad =
    results.find((r) => r.phase === phase) ??
    results.find((r) => r.phase === "Failed" || r.phase === "Error");
  const head = `analysis run ${name} ${phase === "Error" ? "errored" : phase.toLowerCase()}`;
  if (!bad) return run.status?.message ? `${head}: ${run.status.message}` : head;
  const measurements = bad.measurements ?? [];
  const last =
    [...measurements].reverse().find((m) => m.phase === bad.phase) ?? measurements[measurements.length - 1];
  const metric = run.spec.metrics.find((m) => m.name === bad.name);
  if (bad.phase === "Error") {
    const why = last?.message ?? bad.message ?? run.status?.message ?? "measurement error";
    return `${head}: metric ${bad.name}: ${why}`;
  }
  return `${head}: metric ${bad.name}: ${describeOutcome(metric, displayValue(last?.value))}`;
}

/**
 * Keeps the newest `successfulRunHistoryLimit` (5) successful and `unsuccessfulRunHistoryLimit`
 * (5) unsuccessful finished runs of the Rollout and deletes the older ones (Argo's
 * reconcileAnalysisRunsLimits); runs the status still names, or still measuring, are kept.
 */
export function cleanUpRuns(b: PlanBuilder): void {
  const limits = b.rollout.spec.analysis ?? {};
  const keepOk = limits.successfulRunHistoryLimit ?? DEFAULTS.successfulRunHistoryLimit;
  const keepBad = limits.unsuccessfulRunHistoryLimit ?? DEFAULTS.unsuccessfulRunHistoryLimit;
  const s = b.status;
  const named = new Set(
    [
      s.canary?.currentStepAnalysisRunStatus?.name,
      s.canary?.currentBackgroundAnalysisRunStatus?.name,
      s.blueGreen?.prePromotionAnalysisRunStatus?.name,
      s.blueGreen?.postPromotionAnalysisRunStatus?.name,
    ].filter((n): n is string => Boolean(n)),
  );
  const created = (r: AnalysisRunObject) => Date.parse(String(r.metadata.creationTimestamp ?? "")) || 0;
  const finished = b.ctx.analysisRuns
    .filter(
      (r) => isTerminal(phaseOf(r)) && !named.has(r.metadata.name ?? "") && !r.metadata.deletionTimestamp,
    )
    .sort(
      (x, y) => created(y) - created(x) || String(y.metadata.name).localeCompare(String(x.metadata.name)),
    );
  const ok = finished.filter((r) => phaseOf(r) === "Successful");
  const bad = finished.filter((r) => phaseOf(r) !== "Successful");
  for (const r of [...ok.slice(keepOk), ...bad.slice(keepBad)]) {
    b.act({ type: "deleteAnalysisRun", name: r.metadata.name ?? "" });
  }
}
