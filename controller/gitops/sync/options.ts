/**
 * Sync options, app-level (`spec.syncPolicy.syncOptions`, `operation.sync.syncOptions`) and
 * per resource (`slipway.dev/sync-options` / `argocd.argoproj.io/sync-options`, comma-separated),
 * with Argo CD's names and meanings (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/).
 *
 * slipway adds `PruneBudget=enabled|disabled` (default enabled): a sync that would prune more than
 * half of an app's resources waits for confirmation (argo-cd #17440). An app opts out with
 * `PruneBudget=disabled`; an operator allows a given number with `slipway app sync --prune-budget N`.
 */
import type { KubeObject } from "../diff/object.js";
import { readAnnotation } from "./annotations.js";

export type PropagationPolicy = "foreground" | "background" | "orphan";

export interface SyncOptions {
  /** `Prune=false` never prunes the resource; `confirm` waits for approval. */
  prune?: "true" | "false" | "confirm";
  /** `Delete=false` keeps the resource when the app is deleted; `confirm` waits for approval. */
  delete?: "true" | "false" | "confirm";
  /** `Replace=true`: replace (create/update) instead of apply; wins over ServerSideApply. */
  replace?: boolean;
  /** `ServerSideApply` (default true in slipway). */
  serverSideApply?: boolean;
  /** `Validate=false` skips schema validation (`fieldValidation=Ignore`). */
  validate?: boolean;
  /** `Force=true`: delete and recreate when an apply cannot patch. */
  force?: boolean;
  /** `ApplyOutOfSyncOnly=true`: leave in-sync resources alone. */
  applyOutOfSyncOnly?: boolean;
  /** `CreateNamespace=true`: create the destination namespace first (app level). */
  createNamespace?: boolean;
  /** `PruneLast=true`: prune after every other wave. */
  pruneLast?: boolean;
  /** `PrunePropagationPolicy=foreground|background|orphan` (default foreground). */
  prunePropagationPolicy?: PropagationPolicy;
  /**
   * Keep ignored fields' live values when applying, and leave out fields respected foreign
   * managers own. Default true in slipway (Argo CD: false); `RespectIgnoreDifferences=false` turns
   * it off.
   */
  respectIgnoreDifferences?: boolean;
  /** `SkipDryRunOnMissingResource=true`. */
  skipDryRunOnMissingResource?: boolean;
  /** `FailOnSharedResource=true`: fail when another app tracks the resource. */
  failOnSharedResource?: boolean;
  /** `PruneBudget=disabled` opts the app out of the prune budget. */
  pruneBudget?: "enabled" | "disabled";
}

export interface ParsedSyncOptions {
  options: SyncOptions;
  /** Options that were not understood, verbatim, to report as warnings. */
  unknown: string[];
}

const BOOL = (v: string): boolean | undefined => (v === "true" ? true : v === "false" ? false : undefined);
const ONE_OF =
  <T extends string>(...allowed: T[]) =>
  (v: string): T | undefined =>
    (allowed as string[]).includes(v) ? (v as T) : undefined;

const PARSERS: { [K in keyof SyncOptions]-?: [string, (v: string) => SyncOptions[K] | undefined] } = {
  prune: ["Prune", ONE_OF("true", "false", "confirm")],
  delete: ["Delete", ONE_OF("true", "false", "confirm")],
  replace: ["Replace", BOOL],
  serverSideApply: ["ServerSideApply", BOOL],
  validate: ["Validate", BOOL],
  force: ["Force", BOOL],
  applyOutOfSyncOnly: ["ApplyOutOfSyncOnly", BOOL],
  createNamespace: ["CreateNamespace", BOOL],
  pruneLast: ["PruneLast", BOOL],
  prunePropagationPolicy: ["PrunePropagationPolicy", ONE_OF("foreground", "background", "orphan")],
  respectIgnoreDifferences: ["RespectIgnoreDifferences", BOOL],
  skipDryRunOnMissingResource: ["SkipDryRunOnMissingResource", BOOL],
  failOnSharedResource: ["FailOnSharedResource", BOOL],
  pruneBudget: ["PruneBudget", ONE_OF("enabled", "disabled")],
};

const BY_NAME = new Map(
  Object.entries(PARSERS).map(([field, [name, parse]]) => [name.toLowerCase(), { field, parse }]),
);

/**
 * Parses options given as a list (`["Prune=false", "ServerSideApply=true"]`) or as one
 * comma-separated annotation value. Later entries win. A bare name means `=true`
 * (`ApplyOutOfSyncOnly`), as Argo CD accepts.
 */
export function parseSyncOptions(input: readonly string[] | string | undefined): ParsedSyncOptions {
  const items = (typeof input === "string" ? input.split(",") : (input ?? []).flatMap((s) => s.split(",")))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const options: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? "true" : item.slice(eq + 1).trim();
    const entry = BY_NAME.get(name.toLowerCase());
    const parsed = entry?.parse(value);
    if (!entry || parsed === undefined) {
      unknown.push(item);
      continue;
    }
    options[entry.field] = parsed;
  }
  return { options: options as SyncOptions, unknown };
}

/** The options an object's `sync-options` annotation sets (either spelling). */
export function resourceSyncOptions(obj: KubeObject | undefined): ParsedSyncOptions {
  return parseSyncOptions(readAnnotation(obj?.metadata?.annotations, "syncOptions"));
}

/** App options overlaid with a resource's own (the resource wins), as Argo CD resolves them. */
export function mergeSyncOptions(app: SyncOptions, resource: SyncOptions): SyncOptions {
  return { ...app, ...resource };
}
