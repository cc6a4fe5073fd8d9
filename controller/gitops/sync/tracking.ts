/**
 * Resource tracking by annotation, Argo CD's default method since 3.0
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/): a managed object carries
 * `slipway.dev/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`.
 *
 * The id names the object it sits on. An object whose id names *another* object is not tracked:
 * that is how a ReplicaSet (which inherits its Deployment's annotations) or a copied manifest is
 * kept out of pruning, exactly as Argo CD checks. Argo CD's own `argocd.argoproj.io/tracking-id`
 * is deliberately not read for pruning, so slipway never deletes what an Argo CD instance manages.
 */
import { groupOf, type KubeObject, type ResourceIdentity } from "../diff/object.js";
import { TRACKING_ID } from "./annotations.js";

export interface TrackingId extends ResourceIdentity {
  app: string;
}

/** `<app>:<group>/<kind>:<namespace>/<name>`; namespace is empty for cluster-scoped objects. */
export function trackingId(app: string, obj: KubeObject | ResourceIdentity): string {
  const id =
    "apiVersion" in obj || "metadata" in obj
      ? {
          group: groupOf((obj as KubeObject).apiVersion),
          kind: (obj as KubeObject).kind ?? "",
          namespace: (obj as KubeObject).metadata?.namespace ?? "",
          name: (obj as KubeObject).metadata?.name ?? "",
        }
      : (obj as ResourceIdentity);
  return `${app}:${id.group}/${id.kind}:${id.namespace}/${id.name}`;
}

const TRACKING = /^([^:/]+):([^:/]*)\/([^:/]+):([^:/]*)\/([^/]+)$/;

/** Parses a tracking id; undefined when the value is not one. */
export function parseTrackingId(value: string | undefined): TrackingId | undefined {
  if (!value) return undefined;
  const m = TRACKING.exec(value.trim());
  if (!m) return undefined;
  return { app: m[1]!, group: m[2]!, kind: m[3]!, namespace: m[4]!, name: m[5]! };
}

/** The app that manages this object, when its tracking id is valid and names the object itself. */
export function trackingAppOf(obj: KubeObject): string | undefined {
  const id = parseTrackingId(obj.metadata?.annotations?.[TRACKING_ID]);
  if (!id) return undefined;
  const same =
    id.group === groupOf(obj.apiVersion) &&
    id.kind === obj.kind &&
    id.name === obj.metadata?.name &&
    id.namespace === (obj.metadata?.namespace ?? "");
  return same ? id.app : undefined;
}

/** True when the object carries this app's tracking id (and the id names the object). */
export function isTrackedBy(app: string, obj: KubeObject): boolean {
  return trackingAppOf(obj) === app;
}

/** A copy of the object with this app's tracking id set, ready to apply. */
export function withTrackingId(app: string, obj: KubeObject): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: { ...obj.metadata?.annotations, [TRACKING_ID]: trackingId(app, obj) },
    },
  };
}
