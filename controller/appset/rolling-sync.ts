/**
 * RollingSync: Applications grouped into steps by label expressions; a step's out-of-sync apps
 * are synced (at most `maxUpdate` at a time) only once every app of the earlier steps is
 * Healthy. Pure: the controller writes the returned operations and status.
 */
import type { Application } from "../../api/v1alpha1/application.js";
import type { ApplicationSetApplicationStatus, RollingSyncStep } from "../../api/v1alpha1/applicationset.js";
import { labelSelectorMatches } from "./generators.js";

export interface RollingSyncResult {
  applicationStatus: ApplicationSetApplicationStatus[];
  /** Names of the Applications to sync now (write `operation.sync`). */
  toSync: string[];
  /** Step (1-based) in progress, or 0 when every app is Healthy. */
  currentStep: number;
}

/** 1-based step an app belongs to (the first step whose expressions match), 0 for none. */
export function stepOf(steps: readonly RollingSyncStep[], labels: Record<string, string>): number {
  for (const [i, s] of steps.entries()) {
    if (labelSelectorMatches({ matchExpressions: s.matchExpressions ?? [] }, labels)) return i + 1;
  }
  return 0;
}

/** `maxUpdate` of a step with `count` apps: an integer, or a percentage rounded down (at least 1). */
export function maxUpdateOf(step: RollingSyncStep, count: number): number {
  const m = step.maxUpdate;
  if (m === undefined) return Math.max(count, 1);
  if (typeof m === "number") return m <= 0 ? Math.max(count, 1) : m;
  const pct = /^(\d+)%$/.exec(m.trim());
  if (pct) {
    const n = Math.floor((Number(pct[1]) * count) / 100);
    return Number(pct[1]) === 0 ? Math.max(count, 1) : Math.max(n, 1);
  }
  const n = Number(m);
  return Number.isInteger(n) && n > 0 ? n : Math.max(count, 1);
}

function synced(app: Application): boolean {
  return app.status?.sync?.status === "Synced";
}
function healthy(app: Application): boolean {
  return app.status?.health?.status === "Healthy";
}

export function planRollingSync(
  apps: readonly Application[],
  steps: readonly RollingSyncStep[],
  previous: readonly ApplicationSetApplicationStatus[] = [],
  now = new Date().toISOString(),
): RollingSyncResult {
  const prev = new Map(previous.map((s) => [s.application, s]));
  const sorted = [...apps].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const entries: ApplicationSetApplicationStatus[] = [];
  const byStep = new Map<number, ApplicationSetApplicationStatus[]>();
  for (const app of sorted) {
    const name = app.metadata.name ?? "";
    const step = stepOf(steps, app.metadata.labels ?? {});
    const before = prev.get(name);
    let status: ApplicationSetApplicationStatus["status"];
    let message: string;
    const inFlight = app.operation !== undefined || app.status?.operationState?.phase === "Running";
    if (before && (before.status === "Pending" || before.status === "Progressing")) {
      if (!inFlight && synced(app) && healthy(app)) {
        status = "Healthy";
        message = "Application is Synced and Healthy";
      } else if (
        before.status === "Pending" &&
        (app.status?.operationState?.phase === "Running" || !app.operation)
      ) {
        status = "Progressing";
        message = "Application sync is in progress";
      } else {
        status = before.status;
        message = before.message ?? "";
      }
    } else if (synced(app) && healthy(app)) {
      status = "Healthy";
      message = "Application is Synced and Healthy";
    } else {
      status = "Waiting";
      message =
        step === 0 ? "Application matches no RollingSync step" : "Application is waiting for its step";
    }
    const entry: ApplicationSetApplicationStatus = {
      application: name,
      status,
      message,
      step: String(step),
      lastTransitionTime: before && before.status === status ? (before.lastTransitionTime ?? now) : now,
    };
    entries.push(entry);
    if (step > 0) {
      const list = byStep.get(step) ?? [];
      list.push(entry);
      byStep.set(step, list);
    }
  }
  const toSync: string[] = [];
  let currentStep = 0;
  for (let i = 1; i <= steps.length; i++) {
    const list = byStep.get(i) ?? [];
    if (list.every((e) => e.status === "Healthy")) continue;
    currentStep = i;
    const max = maxUpdateOf(steps[i - 1]!, list.length);
    let busy = list.filter((e) => e.status === "Pending" || e.status === "Progressing").length;
    for (const e of list) {
      if (busy >= max) break;
      if (e.status !== "Waiting") continue;
      e.status = "Pending";
      e.message =
        "Application moved to Pending status, watching for the Application resource to start Progressing";
      e.lastTransitionTime = now;
      toSync.push(e.application);
      busy++;
    }
    break; // later steps wait until this one is Healthy
  }
  return { applicationStatus: entries, toSync, currentStep };
}
