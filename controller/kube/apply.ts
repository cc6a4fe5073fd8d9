/**
 * Server-side apply of a list of objects with one field manager, in order, through the
 * Kubernetes API (works against any cluster, the sandbox included).
 *
 * Objects go over the wire as the JSON they are. client-node's typed serializer must not touch
 * them: it renames fields by its model (e.g. a CRD schema's `x-kubernetes-preserve-unknown-fields`
 * is dropped because the model calls it `xKubernetesPreserveUnknownFields`), which silently
 * changes what is applied.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { ClusterClient } from "./cluster-client.js";

export interface ApplyResult {
  object: KubernetesObject;
  /** "created" when the object did not exist before, else "configured" or "unchanged". */
  action: "created" | "configured" | "unchanged";
}

/** A readable one-line message from a client-node ApiException or a ClusterClient error (the server's Status message). */
export function apiErrorMessage(error: unknown): string {
  const e = error as { code?: number; body?: unknown; status?: { message?: string }; message?: string };
  if (e.status?.message) return e.status.message;
  let body = e.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: keep the text
    }
  }
  const status = body as { message?: string } | undefined;
  if (status && typeof status === "object" && status.message) return status.message;
  if (typeof body === "string" && body) return body;
  return e.message ?? String(error);
}

export async function applyObjects(
  kc: KubeConfig,
  objects: KubernetesObject[],
  options: { fieldManager: string; force?: boolean },
): Promise<ApplyResult[]> {
  const client = new ClusterClient(kc);
  try {
    const results: ApplyResult[] = [];
    for (const object of objects) {
      const ref = {
        apiVersion: object.apiVersion!,
        kind: object.kind!,
        name: object.metadata!.name!,
        ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
      };
      const before = await client.dynamic.get(ref);
      const applied = await client.dynamic.apply(object, {
        fieldManager: options.fieldManager,
        force: options.force ?? true,
      });
      const action = !before
        ? "created"
        : before.metadata?.resourceVersion === applied.metadata?.resourceVersion
          ? "unchanged"
          : "configured";
      results.push({ object: applied, action });
    }
    return results;
  } finally {
    client.close();
  }
}
