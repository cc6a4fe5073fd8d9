/**
 * From rendered manifests to the desired state the reconciler compares and syncs: each kind
 * looked up in discovery (cached, so no request once known), namespaced manifests without a
 * namespace put in the destination namespace, cluster-scoped ones stripped of a namespace, hooks
 * and waves read. A kind the cluster does not serve is an error naming the file, unless a
 * CustomResourceDefinition in the same manifests defines it (it will exist once synced).
 */
import { UnknownKindError } from "../kube/discovery.js";
import type { DesiredResource } from "./app-state.js";
import { groupOf, isPlainObject, type KubeObject, resourceKey } from "./diff/object.js";
import { type KindRef, kindKey } from "./live-state.js";
import { describeOrigin, type ObjectOrigin } from "./render/manifests.js";
import type { RenderResult } from "./render/types.js";
import { isHook } from "./sync/hooks.js";
import { waveOf } from "./sync/ordering.js";

export interface DesiredState {
  resources: DesiredResource[];
  /** Every kind the manifests use. */
  kinds: KindRef[];
  /** Scope of each kind used (`group/kind` → namespaced). */
  scopes: Map<string, boolean>;
}

/** A kind in the manifests that the cluster does not serve. */
export class UnknownManifestKindError extends Error {
  override readonly name = "UnknownManifestKindError";
  constructor(
    readonly kind: KindRef,
    readonly origin: ObjectOrigin | undefined,
  ) {
    super(
      `${origin ? `${describeOrigin(origin)}: ` : ""}the cluster has no kind ${kind.kind} in ${kind.apiVersion} (is its CRD installed?)`,
    );
  }
}

export interface ScopeResolver {
  /** Whether `kind` is namespaced; throws UnknownKindError when the cluster does not serve it. */
  namespaced(kind: KindRef): Promise<boolean>;
}

/** Scopes defined by CRDs among the manifests (`group/kind` → namespaced). */
function crdScopes(objects: readonly KubeObject[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition" || groupOf(o.apiVersion) !== "apiextensions.k8s.io") continue;
    const spec = o.spec;
    if (!isPlainObject(spec) || typeof spec.group !== "string" || !isPlainObject(spec.names)) continue;
    const kind = spec.names.kind;
    if (typeof kind === "string") out.set(`${spec.group}/${kind}`, spec.scope !== "Cluster");
  }
  return out;
}

export async function buildDesiredState(
  rendered: Pick<RenderResult, "objects" | "origins">,
  destinationNamespace: string | undefined,
  scopes: ScopeResolver,
): Promise<DesiredState> {
  const kinds = new Map<string, KindRef>();
  const firstOrigin = new Map<string, ObjectOrigin | undefined>();
  rendered.objects.forEach((o, i) => {
    const k = { apiVersion: o.apiVersion ?? "", kind: o.kind ?? "" };
    const key = kindKey(k);
    if (!kinds.has(key)) {
      kinds.set(key, k);
      firstOrigin.set(key, rendered.origins[i]);
    }
  });
  const fromCrds = crdScopes(rendered.objects);
  const byGroupKind = new Map<string, boolean>();
  await Promise.all(
    [...kinds].map(async ([key, k]) => {
      const gk = `${groupOf(k.apiVersion)}/${k.kind}`;
      try {
        byGroupKind.set(gk, await scopes.namespaced(k));
      } catch (error) {
        if (!(error instanceof UnknownKindError)) throw error;
        const crd = fromCrds.get(gk);
        if (crd === undefined) throw new UnknownManifestKindError(k, firstOrigin.get(key));
        byGroupKind.set(gk, crd);
      }
    }),
  );

  const resources: DesiredResource[] = rendered.objects.map((raw, i) => {
    const kind = { apiVersion: raw.apiVersion ?? "", kind: raw.kind ?? "" };
    const namespaced = byGroupKind.get(`${groupOf(kind.apiVersion)}/${kind.kind}`) ?? true;
    let object = raw;
    const ns = raw.metadata?.namespace;
    if (namespaced && !ns && destinationNamespace) {
      object = { ...raw, metadata: { ...raw.metadata, namespace: destinationNamespace } };
    } else if (!namespaced && ns !== undefined) {
      const { namespace: _drop, ...meta } = raw.metadata ?? {};
      object = { ...raw, metadata: meta };
    }
    const w = waveOf(object);
    const origin = rendered.origins[i];
    return {
      object,
      key: resourceKey(object),
      kind,
      namespaced,
      ...(origin ? { origin } : {}),
      hook: isHook(object),
      wave: "wave" in w ? w.wave : 0,
    };
  });
  return { resources, kinds: [...kinds.values()], scopes: byGroupKind };
}
