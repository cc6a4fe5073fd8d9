/**
 * ApplicationSet template substitution: fasttemplate `{{param}}` (Argo's default, flat keys
 * such as `path.basename` or `metadata.labels.env`) and, with `goTemplate: true`, the basic
 * `{{.param}}` / `{{.path.basename}}` lookups into nested parameters.
 */
import { cloneJson } from "../../api/json.js";

/** One parameter set: flat string values (fasttemplate) or nested JSON (goTemplate). */
export type Params = Record<string, unknown>;

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

/** Nested objects become dotted keys: `{path: {basename: "a"}}` → `{"path.basename": "a"}`. */
export function flattenParams(
  value: Params,
  prefix = "",
  out: Record<string, string> = {},
): Record<string, string> {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flattenParams(v as Params, key, out);
    else if (Array.isArray(v)) out[key] = JSON.stringify(v);
    else out[key] = v === null || v === undefined ? "" : String(v);
  }
  return out;
}

const FAST = /\{\{\s*([^{}\s]+)\s*\}\}/g;
const GO = /\{\{-?\s*\.([A-Za-z0-9_.-]*)\s*-?\}\}/g;

function lookupPath(params: Params, path: string): unknown {
  if (path === "") return params;
  if (Object.hasOwn(params, path)) return params[path];
  let cur: unknown = params;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Substitutes one string. Unknown fasttemplate keys are left as written (as Argo does). */
export function renderString(text: string, params: Params, goTemplate = false): string {
  if (!goTemplate) {
    const flat = flattenParams(params);
    return text.replace(FAST, (whole, key: string) => (Object.hasOwn(flat, key) ? flat[key]! : whole));
  }
  const rendered = text.replace(GO, (_whole, path: string) => {
    const v = lookupPath(params, path);
    if (v === undefined) throw new TemplateError(`map has no entry for key "${path}"`);
    return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  });
  if (/\{\{/.test(rendered))
    throw new TemplateError(`unsupported Go template action in ${JSON.stringify(text)}`);
  return rendered;
}

/** Substitutes every string (not the keys) in a JSON value. */
export function renderValue<T>(value: T, params: Params, goTemplate = false): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return renderString(v, params, goTemplate);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[renderString(k, params, goTemplate)] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** Argo's merge of a generator template over the set's: objects merge deeply, the rest replaces. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined || over === null) return base;
  if (
    base === null ||
    typeof base !== "object" ||
    Array.isArray(base) ||
    typeof over !== "object" ||
    Array.isArray(over)
  ) {
    return cloneJson(over) as T;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = k in out ? deepMerge(out[k], v) : cloneJson(v);
  }
  return out as T;
}
