/**
 * Writes the sandbox's kubeconfig: a cluster with the CA as certificate-authority-data, a user
 * with the bearer token, and a `slipway-sandbox` context, merged into an existing file if any.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parse, stringify } from "yaml";

export const SANDBOX_CONTEXT = "slipway-sandbox";

interface Named {
  name: string;
  [key: string]: unknown;
}

interface KubeconfigFile {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  "current-context"?: string;
  preferences?: Record<string, unknown>;
  [key: string]: unknown;
}

function upsert(list: Named[] | undefined, entry: Named): Named[] {
  const rest = (list ?? []).filter((e) => e.name !== entry.name);
  return [...rest, entry];
}

export function sandboxKubeconfig(
  url: string,
  caPem: string,
  token: string,
  context = SANDBOX_CONTEXT,
): KubeconfigFile {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: context,
        cluster: { server: url, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
      },
    ],
    users: [{ name: context, user: { token } }],
    contexts: [{ name: context, context: { cluster: context, user: context, namespace: "default" } }],
    "current-context": context,
    preferences: {},
  };
}

/** Merges the sandbox's entries into `file` (creating it) and makes its context current. */
export function writeKubeconfig(
  file: string,
  url: string,
  caPem: string,
  token: string,
  context = SANDBOX_CONTEXT,
): void {
  const fresh = sandboxKubeconfig(url, caPem, token, context);
  let config: KubeconfigFile = { apiVersion: "v1", kind: "Config", preferences: {} };
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    const parsed = text.trim() ? (parse(text) as KubeconfigFile | null) : null;
    if (parsed && typeof parsed === "object") config = parsed;
  }
  config.clusters = upsert(config.clusters, fresh.clusters![0]!);
  config.users = upsert(config.users, fresh.users![0]!);
  config.contexts = upsert(config.contexts, fresh.contexts![0]!);
  config["current-context"] = context;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stringify(config), { mode: 0o600 });
}
