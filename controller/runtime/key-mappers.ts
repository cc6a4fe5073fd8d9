/**
 * Mapping informer objects to work queue keys (controller-runtime's handler.EnqueueRequestFor*):
 * an object to its own key, or an owned object (a ReplicaSet, a Job) to its controlling owner.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { keyOf, objectKey, splitApiVersion } from "../kube/resource.js";

export type KeyMapper<T extends KubernetesObject = KubernetesObject> = (
  object: T,
) => string | readonly string[] | undefined;

/** The object's own `namespace/name` key. */
export const ownKey: KeyMapper = (object) => objectKey(object);

/**
 * The key of the object's controller owner (ownerReference with `controller: true`) when it is
 * of `kind` (and, when given, of API `group`), as `EnqueueRequestForOwner(..., OnlyControllerOwner())`.
 * Owners live in the owned object's namespace.
 */
export function controllerOwnerKey(kind: string, group?: string): KeyMapper {
  return (object) => {
    const owner = object.metadata?.ownerReferences?.find(
      (ref) =>
        ref.controller === true &&
        ref.kind === kind &&
        (group === undefined || splitApiVersion(ref.apiVersion).group === group),
    );
    return owner ? keyOf(object.metadata?.namespace, owner.name) : undefined;
  };
}
