/**
 * Read-modify-write of one routing object: read it, compute the desired object from it with a pure
 * function, and write only if that changed something: a full update carrying the live
 * resourceVersion, so a concurrent writer makes it fail with 409 instead of being overwritten; then
 * read again and recompute, a bounded number of times (client-go's `retry.RetryOnConflict`).
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { cloneJson } from "../../../api/json.js";
import type { ObjectRef } from "../../kube/dynamic-client.js";
import { isAlreadyExists, isConflict } from "../../kube/errors.js";
import { RouteNotFoundError, TrafficRouterError } from "./errors.js";
import { firstDifference, sameJson } from "./json.js";
import type { RouterClient } from "./router.js";

export interface ObjectWriterOptions {
  fieldManager: string;
  maxConflictRetries: number;
}

/** What a write did, for callers that order several writes (and for tests). */
export type WriteOutcome = "unchanged" | "updated" | "created";

export class ObjectWriter {
  constructor(
    private readonly client: RouterClient,
    private readonly options: ObjectWriterOptions,
  ) {}

  /** The live object; RouteNotFoundError when it does not exist. */
  async read<T extends KubernetesObject>(ref: ObjectRef, signal?: AbortSignal): Promise<T> {
    const live = await this.find<T>(ref, signal);
    if (!live) throw new RouteNotFoundError(ref.kind, ref.name, ref.namespace ?? "default");
    return live;
  }

  /** The live object or undefined. */
  async find<T extends KubernetesObject>(ref: ObjectRef, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.client.get<T>(ref, signal);
    } catch (error) {
      throw new TrafficRouterError("ApiError", `reading ${describeRef(ref)}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** Updates an existing object with `transform(live)` (given a copy); no write when nothing changes. */
  update<T extends KubernetesObject>(
    ref: ObjectRef,
    transform: (live: T) => T,
    signal?: AbortSignal,
  ): Promise<WriteOutcome> {
    return this.write<T>(
      ref,
      (live) => {
        if (!live) throw new RouteNotFoundError(ref.kind, ref.name, ref.namespace ?? "default");
        return transform(live);
      },
      signal,
    );
  }

  /**
   * Creates or updates: `build(live)` with the live object (a copy) or undefined when there is
   * none. Returning undefined when there is none skips the write.
   */
  write<T extends KubernetesObject>(
    ref: ObjectRef,
    build: (live: T | undefined) => T | undefined,
    signal?: AbortSignal,
  ): Promise<WriteOutcome> {
    return this.attempt(ref, build, signal, 0);
  }

  private async attempt<T extends KubernetesObject>(
    ref: ObjectRef,
    build: (live: T | undefined) => T | undefined,
    signal: AbortSignal | undefined,
    conflicts: number,
  ): Promise<WriteOutcome> {
    const live = await this.find<T>(ref, signal);
    const desired = build(live === undefined ? undefined : cloneJson(live));
    if (desired === undefined || (live !== undefined && sameJson(desired, live))) return "unchanged";
    const body = withoutManagedFields(desired);
    const options = { fieldManager: this.options.fieldManager, ...(signal ? { signal } : {}) };
    try {
      if (live === undefined) {
        await this.client.create(withoutServerFields(body), options);
        return "created";
      }
      await this.client.replace(body, options);
      return "updated";
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) {
        if (conflicts >= this.options.maxConflictRetries) {
          throw new TrafficRouterError(
            "Conflict",
            `${describeRef(ref)} changed under every one of ${conflicts + 1} attempts to write it; someone else keeps writing it`,
            { cause: error },
          );
        }
        return this.attempt(ref, build, signal, conflicts + 1);
      }
      throw new TrafficRouterError("ApiError", `writing ${describeRef(ref)}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} "${ref.name}" in namespace "${ref.namespace ?? "default"}"`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** managedFields are the server's record; sending the read copy back would only risk rejecting it. */
function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function withoutServerFields<T extends KubernetesObject>(object: T): T {
  const {
    resourceVersion: _r,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    ...metadata
  } = object.metadata ?? {};
  const { status: _s, ...rest } = object as T & { status?: unknown };
  return { ...(rest as T), metadata };
}

/**
 * How `live` differs from what `render` makes of it, for `verify`; a live object that can no
 * longer carry the split (a hand edit removed the stable backend) is a difference too.
 */
export function differenceFrom<T>(live: T, render: () => T): string | undefined {
  try {
    return firstDifference(render(), live);
  } catch (error) {
    if (
      error instanceof TrafficRouterError &&
      (error.reason === "InvalidRoute" || error.reason === "NotOwned")
    ) {
      return error.message;
    }
    throw error;
  }
}
