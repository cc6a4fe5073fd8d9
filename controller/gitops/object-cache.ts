/**
 * A read-only, typed view of a shared informer's cache. Informers hold objects exactly as the API
 * server sent them (JSON: timestamps are strings), while client-node's `KubernetesObject` types
 * `metadata` with `Date`s; the GitOps code reads its own types (`Application`, `KubeObject`), so it
 * names the type it expects here instead of casting at every read.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { SharedInformer } from "../kube/informer.js";

export interface ObjectCache<T> {
  readonly description: string;
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
  byIndex(name: string, value: string): T[];
  hasSynced(): boolean;
}

export function objectCache<T>(informer: SharedInformer<KubernetesObject>): ObjectCache<T> {
  return informer as unknown as ObjectCache<T>;
}
