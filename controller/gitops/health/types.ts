/**
 * The health vocabulary and small readers shared by the per-kind checks.
 *
 * Statuses and their meaning are Argo CD's
 * (https://argo-cd.readthedocs.io/en/stable/operator-manual/health/): a check gets the live
 * object as plain JSON and answers from its `status` alone, so every rule is testable with a YAML
 * fixture.
 */
import type { HealthStatusCode } from "../../../api/v1alpha1/common.js";
import { isPlainObject, type KubeObject } from "../diff/object.js";

export type { HealthStatusCode };

export interface HealthStatus {
  status: HealthStatusCode;
  message?: string;
}

/** A per-kind rule: the live object in, its health out. */
export type HealthCheck = (obj: KubeObject) => HealthStatus;

export interface Condition {
  type: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** Builds a HealthStatus, leaving `message` out when it is empty (so fixtures stay short). */
export function health(status: HealthStatusCode, message?: string): HealthStatus {
  return message ? { status, message } : { status };
}

/** The value at a dotted path of plain objects, or undefined. */
export function field(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** A number at `path`; `fallback` when absent or not a number (Go's zero value by default). */
export function num(obj: unknown, path: string[], fallback = 0): number {
  const v = field(obj, ...path);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return fallback;
}

/** A number at `path`, or undefined when absent (Go's `*int32` nil). */
export function optNum(obj: unknown, path: string[]): number | undefined {
  const v = field(obj, ...path);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

export function str(obj: unknown, path: string[]): string | undefined {
  const v = field(obj, ...path);
  return typeof v === "string" ? v : undefined;
}

export function list(obj: unknown, path: string[]): unknown[] {
  const v = field(obj, ...path);
  return Array.isArray(v) ? v : [];
}

export function conditions(obj: unknown): Condition[] {
  return list(obj, ["status", "conditions"]).filter(
    (c): c is Condition => isPlainObject(c) && typeof c.type === "string",
  );
}

export function condition(obj: unknown, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

/** `metadata.generation` (0 when absent, like Go). */
export function generation(obj: KubeObject): number {
  return num(obj, ["metadata", "generation"]);
}
