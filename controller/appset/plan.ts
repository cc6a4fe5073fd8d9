/**
 * From parameter sets to Applications, and from desired + existing Applications to writes,
 * per `syncPolicy.applicationsSync`. Pure: no client, no clock.
 */

import { parse as parseYaml } from "yaml";
import { cloneJson } from "../../api/json.js";
import type { Application } from "../../api/v1alpha1/application.js";
import type { ApplicationSet, ApplicationsSyncPolicy } from "../../api/v1alpha1/applicationset.js";
import { API_VERSION } from "../../api/v1alpha1/common.js";
import { deepEqual } from "../gitops/diff/object.js";
import { generatorTemplate } from "./generators.js";
import { deepMerge, type Params, renderString, renderValue } from "./template.js";

export const APPSET_LABEL = "slipway.dev/application-set";
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class InvalidSetError extends Error {
  override readonly name = "InvalidSetError";
}

/** One generator entry's output, kept apart because each may carry its own template override. */
export interface GeneratedSet {
  generatorIndex: number;
  params: Params[];
}

/** Renders one Application per parameter set; throws `InvalidSetError` on bad or duplicate names. */
export function renderApplications(set: ApplicationSet, generated: readonly GeneratedSet[]): Application[] {
  const goTemplate = set.spec.goTemplate === true;
  const out: Application[] = [];
  const names = new Map<string, number>();
  for (const g of generated) {
    const entry = set.spec.generators[g.generatorIndex];
    const template = entry ? deepMerge(set.spec.template, generatorTemplate(entry)) : set.spec.template;
    for (const params of g.params) {
      let t = renderValue(cloneJson(template), params, goTemplate);
      if (set.spec.templatePatch) {
        const patchText = renderString(set.spec.templatePatch, params, goTemplate);
        let patch: unknown;
        try {
          patch = parseYaml(patchText);
        } catch (error) {
          throw new InvalidSetError(`templatePatch is not YAML after rendering: ${(error as Error).message}`);
        }
        t = deepMerge(t, patch);
      }
      const name = t.metadata?.name ?? "";
      if (!name || name.length > 253 || !DNS1123.test(name)) {
        throw new InvalidSetError(`generated Application name ${JSON.stringify(name)} is not a valid name`);
      }
      const seen = names.get(name) ?? 0;
      names.set(name, seen + 1);
      const namespace = t.metadata.namespace ?? set.metadata.namespace;
      out.push({
        apiVersion: API_VERSION,
        kind: "Application",
        metadata: {
          name,
          ...(namespace ? { namespace } : {}),
          labels: { ...(t.metadata.labels ?? {}), [APPSET_LABEL]: set.metadata.name ?? "" },
          ...(t.metadata.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
          ...(t.metadata.finalizers ? { finalizers: [...t.metadata.finalizers] } : {}),
          ownerReferences: [
            {
              apiVersion: API_VERSION,
              kind: "ApplicationSet",
              name: set.metadata.name ?? "",
              uid: set.metadata.uid ?? "",
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: t.spec,
      });
    }
  }
  const dupes = [...names.entries()].filter(([, n]) => n > 1).map(([n]) => n);
  if (dupes.length) {
    throw new InvalidSetError(`duplicate generated Application names: ${dupes.sort().join(", ")}`);
  }
  return out;
}

export type AppWrite =
  | { op: "create"; app: Application }
  | { op: "update"; app: Application; existing: Application }
  | { op: "delete"; existing: Application };

/** Whether `owned` is controlled by the set (by uid when known, else by name). */
export function ownedBy(app: Application, set: ApplicationSet): boolean {
  return (app.metadata.ownerReferences ?? []).some(
    (r) =>
      r.kind === "ApplicationSet" &&
      r.controller === true &&
      (set.metadata.uid ? r.uid === set.metadata.uid : r.name === set.metadata.name),
  );
}

/**
 * The writes that bring `existing` (the set's Applications) to `desired`. Updates keep the
 * existing object's other labels/annotations (as Argo keeps fields it does not template);
 * `preserve` names the annotation/label keys never overwritten.
 */
export function planWrites(
  desired: readonly Application[],
  existing: readonly Application[],
  policy: ApplicationsSyncPolicy = "sync",
  preserved: { annotations?: string[]; labels?: string[] } = {},
  /** True when `existing` is known to match `desired` already (a memo of an earlier comparison). */
  knownEqual: (desired: Application, existing: Application) => boolean = () => false,
): AppWrite[] {
  const writes: AppWrite[] = [];
  const have = new Map(existing.map((a) => [a.metadata.name ?? "", a]));
  const want = new Set<string>();
  const mayUpdate = policy === "sync" || policy === "create-update";
  const mayDelete = policy === "sync" || policy === "create-delete";
  for (const app of desired) {
    const name = app.metadata.name ?? "";
    want.add(name);
    const cur = have.get(name);
    if (!cur) {
      writes.push({ op: "create", app });
      continue;
    }
    if (!mayUpdate || knownEqual(app, cur)) continue;
    const labels = { ...(cur.metadata.labels ?? {}), ...(app.metadata.labels ?? {}) };
    const annotations = { ...(cur.metadata.annotations ?? {}), ...(app.metadata.annotations ?? {}) };
    for (const k of preserved.labels ?? [])
      if (cur.metadata.labels?.[k] !== undefined) labels[k] = cur.metadata.labels[k];
    for (const k of preserved.annotations ?? []) {
      if (cur.metadata.annotations?.[k] !== undefined) annotations[k] = cur.metadata.annotations[k];
    }
    // Shallow: only metadata's top-level fields and spec are replaced (cloning the whole app,
    // status included, for each of hundreds of apps on every pass was most of the set's CPU).
    const next: Application = { ...cur, metadata: { ...cur.metadata } };
    next.metadata.labels = labels;
    if (Object.keys(annotations).length) next.metadata.annotations = annotations;
    next.metadata.ownerReferences = app.metadata.ownerReferences;
    if (app.metadata.finalizers) next.metadata.finalizers = app.metadata.finalizers;
    next.spec = app.spec;
    if (
      !deepEqual(cur.spec, next.spec) ||
      !deepEqual(cur.metadata.labels ?? {}, next.metadata.labels ?? {}) ||
      !deepEqual(cur.metadata.annotations ?? {}, next.metadata.annotations ?? {}) ||
      !deepEqual(cur.metadata.ownerReferences ?? [], next.metadata.ownerReferences ?? []) ||
      !deepEqual(cur.metadata.finalizers ?? [], next.metadata.finalizers ?? [])
    ) {
      writes.push({ op: "update", app: next, existing: cur });
    }
  }
  if (mayDelete) {
    for (const cur of existing)
      if (!want.has(cur.metadata.name ?? "")) writes.push({ op: "delete", existing: cur });
  }
  return writes;
}
