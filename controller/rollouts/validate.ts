/**
 * What makes a Rollout unusable as written (Argo's rollout/validation + slipway's checks against
 * the cluster: Services and templates that do not exist). An invalid Rollout gets the
 * `InvalidSpec` condition and a Warning event, and nothing is moved until it is fixed.
 */

import { missingTemplates } from "./analysis.js";
import { DEFAULTS } from "./constants.js";
import type { RolloutContext } from "./context.js";
import {
  hasTrafficRouting,
  maxTrafficWeight,
  pauseDurationMs,
  scaledValue,
  selectorMatches,
  stepKinds,
  steps,
} from "./spec.js";

export interface Invalid {
  message: string;
}

function checkMatch(
  what: string,
  match: { exact?: string; prefix?: string; regex?: string },
): string | undefined {
  const set = (["exact", "prefix", "regex"] as const).filter((k) => match[k] !== undefined);
  if (set.length !== 1) return `${what}: set exactly one of exact, prefix or regex`;
  if (set[0] === "regex") {
    try {
      new RegExp(match.regex!);
    } catch (error) {
      return `${what}: invalid regex: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/** The first problem found, or undefined when the Rollout can be driven. */
export function validateRollout(ctx: RolloutContext): Invalid | undefined {
  const problems = collectProblems(ctx);
  return problems.length ? { message: problems.join("; ") } : undefined;
}

export function collectProblems(ctx: RolloutContext): string[] {
  const ro = ctx.rollout;
  const out: string[] = [];
  const strategy = ro.spec.strategy ?? {};
  if (strategy.canary && strategy.blueGreen)
    out.push("spec.strategy: set either canary or blueGreen, not both");
  if (!strategy.canary && !strategy.blueGreen) out.push("spec.strategy: set canary or blueGreen");
  if (ro.spec.template && ro.spec.workloadRef) out.push("spec: set either template or workloadRef, not both");
  if (ro.spec.workloadRef) {
    const ref = ro.spec.workloadRef;
    if (ref.kind !== "Deployment" || !ref.apiVersion.startsWith("apps/"))
      out.push(
        `spec.workloadRef: only apps/v1 Deployments are supported (got ${ref.apiVersion} ${ref.kind})`,
      );
    else if (!ctx.deployment) out.push(`spec.workloadRef: Deployment "${ref.name}" not found`);
  } else if (!ro.spec.template) out.push("spec: template or workloadRef is required");
  const selector = ro.spec.selector;
  const hasSelector =
    Object.keys(selector?.matchLabels ?? {}).length > 0 || (selector?.matchExpressions ?? []).length > 0;
  if (!hasSelector) out.push("spec.selector: a non-empty selector is required");
  else if (ctx.template && !selectorMatches(selector, ctx.template.metadata?.labels ?? {}))
    out.push("spec.selector does not match the template's labels");
  if (ctx.nameTaken?.metadata?.ownerReferences?.some((r) => r.controller)) {
    const owner = ctx.nameTaken.metadata.ownerReferences.find((r) => r.controller)!;
    out.push(
      `ReplicaSet "${ctx.nameTaken.metadata.name}" already exists and is controlled by ${owner.kind} "${owner.name}"`,
    );
  }
  if (strategy.canary) out.push(...canaryProblems(ctx));
  if (strategy.blueGreen) out.push(...blueGreenProblems(ctx));
  const missing = missingTemplates(ctx);
  if (missing.length) out.push(`analysis: ${missing.join(", ")} not found`);
  return out;
}

function serviceProblem(ctx: RolloutContext, field: string, name: string | undefined): string | undefined {
  if (!name) return undefined;
  return ctx.services.has(name) ? undefined : `${field}: Service "${name}" not found`;
}

function canaryProblems(ctx: RolloutContext): string[] {
  const ro = ctx.rollout;
  const c = ro.spec.strategy.canary!;
  const out: string[] = [];
  const routed = hasTrafficRouting(ro);
  const maxW = maxTrafficWeight(ro);
  const managed = new Set((c.trafficRouting?.managedRoutes ?? []).map((r) => r.name));
  if (c.trafficRouting && !routed) out.push("trafficRouting: configure gatewayAPI, istio, nginx or a plugin");
  if (routed) {
    if (!c.canaryService || !c.stableService)
      out.push("trafficRouting requires both canaryService and stableService");
    else if (c.canaryService && c.canaryService === c.stableService)
      out.push("canaryService and stableService must differ");
  }
  if (c.dynamicStableScale && !routed) out.push("dynamicStableScale requires trafficRouting");
  for (const [field, name] of [
    ["canaryService", c.canaryService],
    ["stableService", c.stableService],
  ] as const) {
    const p = serviceProblem(ctx, field, name);
    if (p) out.push(p);
  }
  try {
    scaledValue(c.maxSurge, 1, true, DEFAULTS.maxSurge);
    scaledValue(c.maxUnavailable, 1, false, DEFAULTS.maxUnavailable);
  } catch (error) {
    out.push(`maxSurge/maxUnavailable: ${(error as Error).message}`);
  }
  const all = steps(ro);
  all.forEach((step, i) => {
    const at = `steps[${i}]`;
    const kinds = stepKinds(step);
    if (kinds.length !== 1) {
      out.push(
        `${at}: a step sets exactly one of setWeight, pause, analysis, setCanaryScale, setHeaderRoute, setMirrorRoute`,
      );
      return;
    }
    if (step.setWeight !== undefined && (step.setWeight < 0 || step.setWeight > maxW))
      out.push(`${at}.setWeight ${step.setWeight} must be between 0 and ${maxW}`);
    if (step.pause) {
      try {
        const ms = pauseDurationMs(step);
        if (ms !== undefined && ms < 0) out.push(`${at}.pause.duration must not be negative`);
      } catch (error) {
        out.push(`${at}.pause.duration: ${(error as Error).message}`);
      }
    }
    if (step.setCanaryScale) {
      const s = step.setCanaryScale;
      if (!routed) out.push(`${at}.setCanaryScale requires trafficRouting`);
      if (s.weight !== undefined && (s.weight < 0 || s.weight > 100))
        out.push(`${at}.setCanaryScale.weight ${s.weight} must be between 0 and 100`);
      if (s.replicas !== undefined && s.replicas < 0)
        out.push(`${at}.setCanaryScale.replicas must not be negative`);
    }
    for (const [kind, route] of [
      ["setHeaderRoute", step.setHeaderRoute],
      ["setMirrorRoute", step.setMirrorRoute],
    ] as const) {
      if (!route) continue;
      if (!routed) out.push(`${at}.${kind} requires trafficRouting`);
      else if (!managed.has(route.name))
        out.push(`${at}.${kind} "${route.name}" must be listed in trafficRouting.managedRoutes`);
    }
    for (const m of step.setHeaderRoute?.match ?? []) {
      const p = checkMatch(`${at}.setHeaderRoute header ${m.headerName}`, m.headerValue);
      if (p) out.push(p);
    }
    const mirror = step.setMirrorRoute;
    if (mirror?.percentage !== undefined && (mirror.percentage < 0 || mirror.percentage > 100))
      out.push(`${at}.setMirrorRoute.percentage ${mirror.percentage} must be between 0 and 100`);
    if (step.analysis && (step.analysis.templates ?? []).length === 0)
      out.push(`${at}.analysis: name at least one template`);
  });
  const start = c.analysis?.startingStep;
  if (start !== undefined && start > all.length)
    out.push(`analysis.startingStep ${start} is beyond the last step (${all.length})`);
  if (c.analysis && (c.analysis.templates ?? []).length === 0)
    out.push("analysis: name at least one template");
  return out;
}

function blueGreenProblems(ctx: RolloutContext): string[] {
  const bg = ctx.rollout.spec.strategy.blueGreen!;
  const out: string[] = [];
  if (!bg.activeService) out.push("blueGreen.activeService is required");
  if (bg.previewService && bg.previewService === bg.activeService)
    out.push("blueGreen.previewService must differ from activeService");
  for (const [field, name] of [
    ["activeService", bg.activeService],
    ["previewService", bg.previewService],
  ] as const) {
    const p = serviceProblem(ctx, `blueGreen.${field}`, name);
    if (p) out.push(p);
  }
  return out;
}
