/**
 * `ignoreDifferences`: which rules apply to a resource, and removing the fields they name.
 *
 * Matching follows Argo CD (https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/): `kind`
 * is required, an absent `group` means the core group, absent `name` / `namespace` match any. Each
 * of group, kind, name and namespace may be a glob (`*`, `team-*`), a slipway extension that makes
 * `kind: "*"` rules (Argo's system-level `all`) expressible per app.
 */
import picomatch from "picomatch";
import type { ResourceIgnoreDifferences } from "../../../api/v1alpha1/application.js";
import { compileJqPath, type JqPath } from "./jq-path.js";
import { parseJsonPointer, removePaths } from "./json-pointer.js";
import { identityOf, type KubeObject } from "./object.js";

export type { ResourceIgnoreDifferences };

function globMatch(pattern: string | undefined, value: string, absentMatchesAll: boolean): boolean {
  if (pattern === undefined || pattern === "") return absentMatchesAll ? true : value === "";
  if (pattern === value) return true;
  return /[*?[\]{}]/.test(pattern) && picomatch.isMatch(value, pattern, { dot: true });
}

/** True when a rule applies to the object (by group, kind, name, namespace). */
export function ignoreRuleMatches(rule: ResourceIgnoreDifferences, obj: KubeObject): boolean {
  const id = identityOf(obj);
  return (
    globMatch(rule.group, id.group, false) &&
    globMatch(rule.kind, id.kind, false) &&
    globMatch(rule.name, id.name, true) &&
    globMatch(rule.namespace, id.namespace, true)
  );
}

/** The rules of a list that apply to the object. */
export function matchingIgnoreRules(
  rules: readonly ResourceIgnoreDifferences[] | undefined,
  obj: KubeObject | undefined,
): ResourceIgnoreDifferences[] {
  if (!rules || !obj) return [];
  return rules.filter((r) => ignoreRuleMatches(r, obj));
}

const jqCache = new Map<string, JqPath>();
function jq(expr: string): JqPath {
  let compiled = jqCache.get(expr);
  if (!compiled) {
    compiled = compileJqPath(expr);
    if (jqCache.size > 500) jqCache.clear();
    jqCache.set(expr, compiled);
  }
  return compiled;
}

/**
 * Removes, in place, every field the rules' `jsonPointers` and `jqPathExpressions` name.
 * Invalid pointers or expressions throw (JsonPointerError / JqPathError) so the caller can report
 * a ComparisonError naming the rule instead of silently comparing too much.
 */
export function removeIgnoredFields(obj: unknown, rules: readonly ResourceIgnoreDifferences[]): void {
  if (obj === undefined) return;
  const paths: (string | number)[][] = [];
  for (const rule of rules) {
    for (const pointer of rule.jsonPointers ?? []) paths.push(parseJsonPointer(pointer));
    for (const expr of rule.jqPathExpressions ?? []) paths.push(...jq(expr).paths(obj));
  }
  removePaths(obj, paths);
}

/** The `managedFieldsManagers` of the rules, whose fields are never drift for this object. */
export function ignoredManagers(rules: readonly ResourceIgnoreDifferences[]): string[] {
  return rules.flatMap((r) => r.managedFieldsManagers ?? []);
}
