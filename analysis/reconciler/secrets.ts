/**
 * `valueFrom.secretKeyRef` args, read from Secrets in the run's namespace through the cluster API
 * at each step (Argo's resolveArgs does the same, so a rotated Secret is used at once). Values are
 * only handed to stepRun, which masks them in everything it writes; they are never logged here.
 *
 * The Secrets are read before the step: a Secret or key that does not exist is the run's problem
 * (stepRun ends it Error, naming it), while a failed request (API server down) is thrown, so the
 * reconcile is retried with backoff instead of failing the run for a passing outage.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { Argument, SecretKeyRef } from "../../api/v1alpha1/analysis.js";
import type { DynamicClient } from "../../controller/kube/dynamic-client.js";
import type { SecretResolver } from "../run-spec.js";

/** Reads the Secrets `args` refer to (once each) and returns a resolver over what was read. */
export async function readSecretArgs(
  client: Pick<DynamicClient, "get">,
  namespace: string,
  args: readonly Argument[] | undefined,
  signal?: AbortSignal,
): Promise<SecretResolver> {
  const names = new Set<string>();
  for (const arg of args ?? []) {
    const ref = arg.value === undefined ? arg.valueFrom?.secretKeyRef : undefined;
    if (ref?.name) names.add(ref.name);
  }
  const secrets = new Map<string, V1Secret | undefined>();
  await Promise.all(
    [...names].map(async (name) => {
      secrets.set(
        name,
        await client.get<V1Secret>({ apiVersion: "v1", kind: "Secret", namespace, name }, signal),
      );
    }),
  );
  return async (ref: SecretKeyRef) => {
    const secret = secrets.get(ref.name);
    if (!secret) throw new Error(`not found in namespace "${namespace}"`);
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) throw new Error(`the secret has no key "${ref.key}"`);
    return Buffer.from(encoded, "base64").toString("utf8");
  };
}
