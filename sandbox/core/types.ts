/**
 * Shapes shared by every part of the sandbox: the objects it stores, the resource types it serves,
 * and the in-process API that simulated controllers and the traffic simulator use.
 *
 * The HTTP layer and the in-process API go through the same admission code, so an object written
 * by a simulated Deployment controller gets the same uid/resourceVersion/generation treatment and
 * the same watch events as one written by kubectl.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

/** A stored Kubernetes object: plain JSON, as it travels over the wire. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  // biome-ignore lint/suspicious/noExplicitAny: objects are schemaless JSON; callers narrow them.
  [field: string]: any;
}

/** Identifies a resource collection, e.g. {group: "apps", version: "v1", resource: "deployments"}. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** Everything the server needs to know to serve one resource (built-in or from a CRD). */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: { status: boolean; scale?: ScaleSubresource };
  /** Other versions served for the same group/kind (CRDs with several versions). */
  storageVersion?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

export interface WriteOptions {
  /** Field manager recorded in managedFields (defaults from the user agent, as the API server does). */
  fieldManager?: string;
  dryRun?: boolean;
  /** "status" or "scale" to write through a subresource. */
  subresource?: "status" | "scale";
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * The sandbox's in-process API. Methods are synchronous: the store is in memory, and keeping the
 * simulated controllers synchronous makes their behaviour deterministic. Failures throw ApiError.
 */
export interface SandboxApi {
  /** Looks up a served resource by group/version and plural, singular, kind or short name. */
  resolve(group: string, version: string, name: string): ResourceType | undefined;
  get(gvr: GroupVersionResource, namespace: string | undefined, name: string): KubeObject | undefined;
  list(gvr: GroupVersionResource, options?: ListOptions): KubeObject[];
  create(gvr: GroupVersionResource, object: KubeObject, options?: WriteOptions): KubeObject;
  update(gvr: GroupVersionResource, object: KubeObject, options?: WriteOptions): KubeObject;
  patch(
    gvr: GroupVersionResource,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    options?: PatchOptions,
  ): KubeObject;
  /** Returns the object as it stands after the call (with deletionTimestamp if finalizers hold it), or undefined once gone. */
  delete(
    gvr: GroupVersionResource,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): KubeObject | undefined;
  /** Calls listener for every change to any object of the given resource ("*" for all resources). */
  subscribe(
    gvr: GroupVersionResource | "*",
    listener: (event: WatchEvent, type: ResourceType) => void,
  ): () => void;
  /** Records a core/v1 Event about an object, as a controller would. */
  recordEvent(involved: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}
