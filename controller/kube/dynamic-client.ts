/**
 * Reading and writing objects of any kind by apiVersion + kind, as client-go's dynamic client
 * with a discovery REST mapper: the kind is mapped to its resource through `Discovery` (which
 * re-discovers on a miss, so kinds from freshly installed CRDs work), then the request is plain
 * JSON. The sync engine applies, prunes and dry-runs arbitrary manifests through this.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Discovery } from "./discovery.js";
import { isNotFound } from "./errors.js";
import type { KubeRequester } from "./requester.js";
import { type ResourceInfo, resourcePath } from "./resource.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type PatchType = "merge" | "json" | "strategic" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface WriteOptions {
  fieldManager?: string;
  /** `dryRun=All`: the server validates and answers without persisting. */
  dryRun?: boolean;
  subresource?: string;
  signal?: AbortSignal;
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  /** Only delete this exact object (guards against deleting a re-created namesake). */
  preconditions?: { uid?: string; resourceVersion?: string };
  signal?: AbortSignal;
}

interface ListBody<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

function refOf(object: KubernetesObject): ObjectRef {
  if (!object.apiVersion || !object.kind || !object.metadata?.name) {
    throw new Error("object needs apiVersion, kind and metadata.name");
  }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  };
}

function writeQuery(
  options: WriteOptions & { force?: boolean },
): Record<string, string | boolean | undefined> {
  return {
    fieldManager: options.fieldManager,
    dryRun: options.dryRun ? "All" : undefined,
    force: options.force,
  };
}

export class DynamicClient {
  constructor(
    private readonly requester: KubeRequester,
    private readonly discovery: Discovery,
  ) {}

  /** The resource serving `kind` (throws `UnknownKindError` when the cluster has none). */
  resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    return this.discovery.forKind(apiVersion, kind);
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubernetesObject = KubernetesObject>(
    ref: ObjectRef,
    signal?: AbortSignal,
  ): Promise<T | undefined> {
    const path = await this.path(ref, ref.name);
    try {
      return await this.requester.request<T>("GET", path, signal ? { signal } : {});
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every matching object, following `continue` tokens; items carry apiVersion and kind. */
  async list<T extends KubernetesObject = KubernetesObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<T[]> {
    const info = await this.resource(apiVersion, kind);
    const path = resourcePath(info, options.namespace);
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page: ListBody<T> = await this.requester.request<ListBody<T>>("GET", path, {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: token,
        },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for (const item of page.items ?? []) items.push({ apiVersion, kind, ...item });
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  async create<T extends KubernetesObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const ref = refOf(object);
    const info = await this.resource(ref.apiVersion, ref.kind);
    return this.requester.request<T>("POST", resourcePath(info, ref.namespace), {
      body: object,
      query: writeQuery(options),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** PUT: replaces the object (or its subresource); carries metadata.resourceVersion for 409s. */
  async replace<T extends KubernetesObject>(object: T, options: WriteOptions = {}): Promise<T> {
    const ref = refOf(object);
    return this.requester.request<T>("PUT", await this.path(ref, ref.name, options.subresource), {
      body: object,
      query: writeQuery(options),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async patch<T extends KubernetesObject = KubernetesObject>(
    ref: ObjectRef,
    patch: unknown,
    type: PatchType,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.requester.request<T>("PATCH", await this.path(ref, ref.name, options.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: writeQuery(type === "apply" ? options : { ...options, force: undefined }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Server-side apply of `object` as `fieldManager` (required by the API server for apply). */
  apply<T extends KubernetesObject>(object: T, options: PatchOptions & { fieldManager: string }): Promise<T> {
    return this.patch<T>(refOf(object), object, "apply", options);
  }

  /** Deletes the object; false when it was already gone. */
  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    const body = {
      apiVersion: "v1",
      kind: "DeleteOptions",
      ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    };
    try {
      await this.requester.request("DELETE", await this.path(ref, ref.name), {
        body,
        query: { dryRun: options.dryRun ? "All" : undefined },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async path(ref: ObjectRef, name?: string, subresource?: string): Promise<string> {
    const info = await this.resource(ref.apiVersion, ref.kind);
    return resourcePath(info, ref.namespace, name, subresource);
  }
}
