/**
 * Cluster Secrets in Argo CD's format (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#clusters),
 * labelled `slipway.dev/secret-type=cluster` instead of `argocd.argoproj.io/secret-type=cluster`:
 *
 * ```yaml
 * stringData:
 *   name: east
 *   server: https://east.example.com:6443
 *   config: |
 *     {"bearerToken": "…", "tlsClientConfig": {"insecure": false, "caData": "<base64 PEM>"}}
 * ```
 *
 * Supported in `config`: `bearerToken`, `username` / `password`, and `tlsClientConfig` with
 * `insecure`, `caData`, `certData` + `keyData` (base64 PEM, as in a kubeconfig's `*-data`) and
 * `serverName`. `awsAuthConfig` and `execProviderConfig` are refused with a clear message (they
 * run tools or cloud SDKs slipway does not ship). Argo's optional `namespaces`,
 * `clusterResources` and `project` keys are ignored.
 */
import { createHash } from "node:crypto";
import { KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { ClusterSecretError } from "./errors.js";

export const CLUSTER_SECRET_LABEL = "slipway.dev/secret-type";
export const CLUSTER_SECRET_TYPE = "cluster";
export const CLUSTER_SECRET_SELECTOR = `${CLUSTER_SECRET_LABEL}=${CLUSTER_SECRET_TYPE}`;
/** Argo CD's in-cluster address; it always means the controller's own cluster. */
export const IN_CLUSTER_SERVER = "https://kubernetes.default.svc";
export const IN_CLUSTER_NAME = "in-cluster";

export interface TLSClientConfig {
  insecure?: boolean;
  /** Base64 PEM of the CA bundle. */
  caData?: string;
  /** Base64 PEM client certificate (with `keyData`). */
  certData?: string;
  keyData?: string;
  /** Name to verify the server certificate against (and to send as SNI). */
  serverName?: string;
}

export interface ClusterConfig {
  bearerToken?: string;
  username?: string;
  password?: string;
  tlsClientConfig?: TLSClientConfig;
}

/** What a cluster Secret says. */
export interface ClusterSpec {
  name: string;
  /** Without a trailing slash. */
  server: string;
  config: ClusterConfig;
}

const UNSUPPORTED = ["awsAuthConfig", "execProviderConfig"] as const;

/** `https://x/` and `https://x` are one cluster. */
export function normalizeServer(server: string): string {
  return server.trim().replace(/\/+$/, "");
}

function decode(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  if (encoded !== undefined) return Buffer.from(encoded, "base64").toString("utf8");
  return secret.stringData?.[key];
}

function isBase64Pem(value: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return false;
  return Buffer.from(value, "base64").toString("utf8").includes("-----BEGIN ");
}

function optionalString(where: Record<string, unknown>, field: string, path: string): string | undefined {
  const value = where[field];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ClusterSecretError(`${path}${field} must be a string`);
  return value;
}

/** Validates `config` (already JSON-parsed) into a ClusterConfig. */
export function parseClusterConfig(raw: unknown): ClusterConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new ClusterSecretError("config must be a JSON object");
  const object = raw as Record<string, unknown>;
  for (const field of UNSUPPORTED) {
    if (object[field] !== undefined)
      throw new ClusterSecretError(
        `config.${field} is not supported by slipway; use a bearerToken or a client certificate`,
      );
  }
  const config: ClusterConfig = {};
  const bearerToken = optionalString(object, "bearerToken", "config.");
  const username = optionalString(object, "username", "config.");
  const password = optionalString(object, "password", "config.");
  if (bearerToken) config.bearerToken = bearerToken;
  if (username) config.username = username;
  if (password) config.password = password;
  if ((username === undefined) !== (password === undefined))
    throw new ClusterSecretError("config.username and config.password go together");
  const tlsRaw = object.tlsClientConfig;
  if (tlsRaw !== undefined && tlsRaw !== null) {
    if (typeof tlsRaw !== "object" || Array.isArray(tlsRaw))
      throw new ClusterSecretError("config.tlsClientConfig must be an object");
    const t = tlsRaw as Record<string, unknown>;
    const tls: TLSClientConfig = {};
    if (t.insecure !== undefined) {
      if (typeof t.insecure !== "boolean")
        throw new ClusterSecretError("config.tlsClientConfig.insecure must be true or false");
      tls.insecure = t.insecure;
    }
    for (const field of ["caData", "certData", "keyData"] as const) {
      const value = optionalString(t, field, "config.tlsClientConfig.");
      if (value === undefined) continue;
      if (!isBase64Pem(value))
        throw new ClusterSecretError(`config.tlsClientConfig.${field} must be base64-encoded PEM`);
      tls[field] = value.replace(/\s+/g, "");
    }
    const serverName = optionalString(t, "serverName", "config.tlsClientConfig.");
    if (serverName) tls.serverName = serverName;
    if (Boolean(tls.certData) !== Boolean(tls.keyData))
      throw new ClusterSecretError("config.tlsClientConfig.certData and keyData go together");
    if (Object.keys(tls).length > 0) config.tlsClientConfig = tls;
  }
  return config;
}

/** Reads a cluster Secret; throws `ClusterSecretError` saying what is wrong. */
export function parseClusterSecret(secret: V1Secret): ClusterSpec {
  const name = decode(secret, "name")?.trim();
  const server = decode(secret, "server");
  if (!name) throw new ClusterSecretError('missing "name" (the cluster\'s name)');
  if (!server) throw new ClusterSecretError('missing "server" (the API server URL)');
  let url: URL;
  try {
    url = new URL(server.trim());
  } catch {
    throw new ClusterSecretError(`server "${server}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ClusterSecretError(`server "${server}" must be an https:// URL`);
  const configText = decode(secret, "config");
  let config: ClusterConfig = {};
  if (configText !== undefined && configText.trim() !== "") {
    let raw: unknown;
    try {
      raw = JSON.parse(configText);
    } catch (error) {
      throw new ClusterSecretError(`config is not valid JSON: ${(error as Error).message}`);
    }
    config = parseClusterConfig(raw);
  }
  return { name, server: normalizeServer(server), config };
}

/** A KubeConfig with one context reaching the cluster as its Secret describes. */
export function kubeConfigFor(spec: ClusterSpec): KubeConfig {
  const tls = spec.config.tlsClientConfig ?? {};
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: spec.name,
        server: spec.server,
        skipTLSVerify: tls.insecure === true,
        ...(tls.caData ? { caData: tls.caData } : {}),
        ...(tls.serverName ? { tlsServerName: tls.serverName } : {}),
      },
    ],
    users: [
      {
        name: spec.name,
        ...(spec.config.bearerToken ? { token: spec.config.bearerToken } : {}),
        ...(spec.config.username ? { username: spec.config.username, password: spec.config.password } : {}),
        ...(tls.certData ? { certData: tls.certData, keyData: tls.keyData } : {}),
      },
    ],
    contexts: [{ name: spec.name, cluster: spec.name, user: spec.name }],
    currentContext: spec.name,
  });
  return kc;
}

/** A Secret name for a cluster name: `cluster-<name>`, DNS-safe, with a hash when it had to change. */
export function clusterSecretName(name: string): string {
  const safe = name
    .toLowerCase()
    .replace(/[^a-z0-9-.]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
  const base = `cluster-${safe}`.slice(0, 240).replace(/[-.]+$/, "");
  if (safe === name && base === `cluster-${name}`) return base;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${base}-${hash}`;
}

/** The Secret `slipway cluster add` writes (Argo CD's layout, slipway's label). */
export function clusterSecret(spec: ClusterSpec, namespace: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: clusterSecretName(spec.name),
      namespace,
      labels: { [CLUSTER_SECRET_LABEL]: CLUSTER_SECRET_TYPE, "app.kubernetes.io/managed-by": "slipway" },
    },
    stringData: { name: spec.name, server: spec.server, config: JSON.stringify(spec.config) },
  };
}

/** `config` with credentials replaced by what kind they are, for output and logs. */
export function redactConfig(config: ClusterConfig): Record<string, unknown> {
  const tls = config.tlsClientConfig;
  return {
    auth: config.bearerToken
      ? "bearerToken"
      : config.username
        ? "basic"
        : tls?.certData
          ? "clientCertificate"
          : "none",
    tlsClientConfig: {
      insecure: tls?.insecure === true,
      ...(tls?.caData ? { caData: "(set)" } : {}),
      ...(tls?.serverName ? { serverName: tls.serverName } : {}),
    },
  };
}
