/**
 * Server-side apply of a list of objects with one field manager, in order, through the
 * Kubernetes API (works against any cluster, the sandbox included).
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import { type KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";

export interface ApplyResult {
  object: KubernetesObject;
  /** "created" when the object did not exist before, else "configured" or "unchanged". */
  action: "created" | "configured" | "unchanged";
}

/** A readable one-line message from a client-node ApiException (the server's Status message). */
export function apiErrorMessage(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
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
  const client = KubernetesObjectApi.makeApiClient(kc);
  const results: ApplyResult[] = [];
  for (const object of objects) {
    const before = await client
      .read({
        apiVersion: object.apiVersion!,
        kind: object.kind!,
        metadata: {
          name: object.metadata!.name!,
          ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
        },
      })
      .catch(() => undefined);
    const applied = await client.patch(
      object,
      undefined,
      undefined,
      options.fieldManager,
      options.force ?? true,
      PatchStrategy.ServerSideApply,
    );
    const action = !before
      ? "created"
      : before.metadata?.resourceVersion === applied.metadata?.resourceVersion
        ? "unchanged"
        : "configured";
    results.push({ object: applied, action });
  }
  return results;
}
