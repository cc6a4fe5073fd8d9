/**
 * Label and field selectors in the string form of the Kubernetes API
 * (`app=web,tier!=db,env in (a,b),!legacy`; `metadata.name=x,status.phase!=Running`).
 */
import { badRequest } from "./errors.js";
import type { KubeObject } from "./types.js";

type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "!exists"; key: string };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

export function parseLabelSelector(text: string | undefined): Selector {
  if (!text?.trim()) return () => true;
  const requirements: Requirement[] = splitTerms(text).map((term) => {
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(",").map((v) => v.trim());
      return { op: m[2] as "in" | "notin", key: m[1]!, values };
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
    if (m) return { op: m[2] === "!=" ? "!=" : "=", key: m[1]!, value: m[3]! };
    m = /^(!?)([\w./-]+)$/.exec(term);
    if (m) return { op: m[1] ? "!exists" : "exists", key: m[2]! };
    throw badRequest(`unable to parse requirement: invalid label selector "${text}"`);
  });
  return (labels) => {
    const l = labels ?? {};
    return requirements.every((r) => {
      const has = Object.hasOwn(l, r.key);
      switch (r.op) {
        case "=":
          return has && l[r.key] === r.value;
        case "!=":
          return !has || l[r.key] !== r.value;
        case "in":
          return has && r.values.includes(l[r.key]!);
        case "notin":
          return !has || !r.values.includes(l[r.key]!);
        case "exists":
          return has;
        default:
          return !has;
      }
    });
  };
}

/** Formats a matchLabels/matchExpressions selector as the string form (used by scale subresources). */
export function formatLabelSelector(selector: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(",")})`;
    if (e.operator === "In") parts.push(`${e.key} in ${values}`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin ${values}`);
    else if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

/** Matches a matchLabels/matchExpressions selector object against labels. */
export function matchesSelectorObject(
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  return parseLabelSelector(formatLabelSelector(selector))(labels);
}

function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return "";
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return "";
  return String(current);
}

export type FieldSelector = (object: KubeObject) => boolean;

/** Field selectors compare dotted paths as strings; the API server supports only `=`, `==` and `!=`. */
export function parseFieldSelector(text: string | undefined): FieldSelector {
  if (!text?.trim()) return () => true;
  const requirements = splitTerms(text).map((term) => {
    const m = /^([\w.-]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: "${term}"`);
    return { path: m[1]!, negate: m[2] === "!=", value: m[3]!.trim() };
  });
  return (object) => requirements.every((r) => (fieldValue(object, r.path) === r.value) !== r.negate);
}
