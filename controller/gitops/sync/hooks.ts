/**
 * Resource hooks (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/): objects
 * annotated `slipway.dev/hook` (or `argocd.argoproj.io/hook`) run in a phase instead of being
 * synced as resources. Helm's `helm.sh/hook` is mapped as Argo CD maps it
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/helm/#helm-hooks) when neither is set.
 */
import type { HookType } from "../../../api/v1alpha1/application.js";
import type { KubeObject } from "../diff/object.js";
import { HELM_HOOK, HELM_HOOK_DELETE_POLICY, readAnnotation } from "./annotations.js";

export type { HookType };
export type HookDeletePolicy = "HookSucceeded" | "HookFailed" | "BeforeHookCreation";

const HOOK_TYPES = new Set<string>([
  "PreSync",
  "Sync",
  "PostSync",
  "SyncFail",
  "Skip",
  "PreDelete",
  "PostDelete",
]);
const DELETE_POLICIES = new Set<string>(["HookSucceeded", "HookFailed", "BeforeHookCreation"]);

const HELM_TO_HOOK: Readonly<Record<string, HookType>> = {
  "pre-install": "PreSync",
  "pre-upgrade": "PreSync",
  "post-install": "PostSync",
  "post-upgrade": "PostSync",
  "pre-delete": "PreDelete",
  "post-delete": "PostDelete",
  // Helm tests and rollback hooks have no Argo CD equivalent: not synced.
  test: "Skip",
  "test-success": "Skip",
  "test-failure": "Skip",
  "pre-rollback": "Skip",
  "post-rollback": "Skip",
};

const HELM_DELETE_POLICY: Readonly<Record<string, HookDeletePolicy>> = {
  "before-hook-creation": "BeforeHookCreation",
  "hook-succeeded": "HookSucceeded",
  "hook-failed": "HookFailed",
};

function split(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface HookInfo {
  /** The hook types the object declares (unknown names are reported, not used). */
  types: HookType[];
  unknown: string[];
}

/** The hook types an object declares; empty for an ordinary resource. */
export function hookTypesOf(obj: KubeObject): HookInfo {
  const annotations = obj.metadata?.annotations;
  const own = readAnnotation(annotations, "hook");
  if (own !== undefined) {
    const names = split(own);
    return {
      types: names.filter((n): n is HookType => HOOK_TYPES.has(n)),
      unknown: names.filter((n) => !HOOK_TYPES.has(n)),
    };
  }
  const helm = annotations?.[HELM_HOOK];
  if (helm !== undefined) {
    const names = split(helm);
    // `crd-install` (Helm 2) and other names are ordinary resources.
    const types = [
      ...new Set(names.map((n) => HELM_TO_HOOK[n]).filter((t): t is HookType => t !== undefined)),
    ];
    return { types, unknown: [] };
  }
  return { types: [], unknown: [] };
}

/** Delete policies; BeforeHookCreation when none is given, as Argo CD. */
export function hookDeletePoliciesOf(obj: KubeObject): HookDeletePolicy[] {
  const annotations = obj.metadata?.annotations;
  const own = readAnnotation(annotations, "hookDeletePolicy");
  let policies: HookDeletePolicy[] = [];
  if (own !== undefined) {
    policies = split(own).filter((p): p is HookDeletePolicy => DELETE_POLICIES.has(p));
  } else if (annotations?.[HELM_HOOK_DELETE_POLICY] !== undefined) {
    policies = split(annotations[HELM_HOOK_DELETE_POLICY]!)
      .map((p) => HELM_DELETE_POLICY[p])
      .filter((p): p is HookDeletePolicy => p !== undefined);
  }
  return policies.length > 0 ? [...new Set(policies)] : ["BeforeHookCreation"];
}

/** True for any object with a hook annotation (including Skip): hooks are never pruned. */
export function isHook(obj: KubeObject): boolean {
  return hookTypesOf(obj).types.length > 0;
}
