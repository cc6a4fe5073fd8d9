/**
 * `slipway cluster add|list|rm`. A cluster is a Secret labelled `slipway.dev/secret-type=cluster`
 * in the controller's namespace, in Argo CD's layout (keys `name`, `server`, `config`); the
 * controller's ClusterRegistry reads the same Secrets with the same parser
 * (controller/clusters/cluster-secret.ts), so what `add` writes is what the controller uses.
 *
 * `list` checks each connection itself (one `GET /version` per cluster, all at once, with a
 * timeout) from where it runs, as `repo list` does. No credential is ever printed.
 */
import { readFileSync } from "node:fs";
import type { KubeConfig, V1Secret } from "@kubernetes/client-node";
import { parseDuration } from "../analysis/duration.js";
import type { Application } from "../api/v1alpha1/application.js";
import {
  CLUSTER_SECRET_SELECTOR,
  type ClusterConfig,
  type ClusterSpec,
  clusterSecret,
  IN_CLUSTER_NAME,
  IN_CLUSTER_SERVER,
  kubeConfigFor,
  normalizeServer,
  parseClusterSecret,
  redactConfig,
} from "../controller/clusters/cluster-secret.js";
import { type ConnectionState, checkConnection } from "../controller/clusters/connection-check.js";
import { ClusterClient } from "../controller/kube/cluster-client.js";
import { loadKubeConfig } from "../controller/kube/kubeconfig.js";
import { ageOf } from "./age.js";
import { APPS_PATH, type AppContext, type AppGlobals, withApps } from "./app-client.js";
import { isObjectNotFound, isTypeNotFound } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

export interface AddClusterOptions {
  fromKubeconfig?: string;
  fromContext?: string;
  serverOverride?: string;
  skipCheck?: boolean;
  upsert?: boolean;
}

export interface ListClusterOptions {
  timeout: string;
}

export type RemoveClusterOptions = Record<string, never>;

const CHECK_TIMEOUT_MS = 5_000;

/** DNS-1123 subdomain: it names a Secret and appears in work-queue keys (`cluster/<name>/…`). */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** A file's content as base64 (how kubeconfig `*-data` and Argo's config carry PEM). */
function fileAsBase64(file: string, what: string): string {
  try {
    return readFileSync(file).toString("base64");
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}

/** Server, CA and credentials of the source context, as a cluster Secret's `config`. */
export function clusterFromKubeconfig(
  name: string,
  kc: KubeConfig,
  options: { serverOverride?: string } = {},
): ClusterSpec {
  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!context || !cluster) throw new Error(`context "${kc.getCurrentContext()}" has no cluster`);
  const where = `context "${context.name}"`;
  if (user?.exec || user?.authProvider) {
    throw new Error(
      `the user of ${where} gets its credentials from ${user.exec ? "an exec plugin" : "an auth provider"}, which cannot be stored in a Secret; use a context with a token or a client certificate (e.g. a ServiceAccount token)`,
    );
  }
  const tls: NonNullable<ClusterConfig["tlsClientConfig"]> = {};
  if (cluster.skipTLSVerify) tls.insecure = true;
  if (cluster.caData) tls.caData = cluster.caData;
  else if (cluster.caFile) tls.caData = fileAsBase64(cluster.caFile, "certificate authority");
  if (cluster.tlsServerName) tls.serverName = cluster.tlsServerName;
  const config: ClusterConfig = {};
  if (user?.token) config.bearerToken = user.token.trim();
  if (user?.username && user.password) {
    config.username = user.username;
    config.password = user.password;
  }
  const certData =
    user?.certData ?? (user?.certFile ? fileAsBase64(user.certFile, "client certificate") : undefined);
  const keyData = user?.keyData ?? (user?.keyFile ? fileAsBase64(user.keyFile, "client key") : undefined);
  if (certData && keyData) {
    tls.certData = certData;
    tls.keyData = keyData;
  }
  if (Object.keys(tls).length > 0) config.tlsClientConfig = tls;
  if (!config.bearerToken && !config.username && !tls.certData) {
    throw new Error(`the user of ${where} has no token, client certificate or password to store`);
  }
  const server = options.serverOverride ?? cluster.server;
  try {
    const url = new URL(server);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("not http(s)");
  } catch {
    throw new Error(`server "${server}" is not an https:// URL`);
  }
  return { name, server: normalizeServer(server), config };
}

/** One connection check with a client made for it (and closed, so the command can exit). */
async function check(kc: KubeConfig, timeoutMs: number): Promise<ConnectionState> {
  const client = new ClusterClient(kc, { name: "cli" });
  try {
    return await checkConnection(client, { timeoutMs });
  } finally {
    client.close();
  }
}

function secretsPath(ctx: AppContext, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(ctx.appNamespace)}/secrets`;
  return name ? `${base}/${encodeURIComponent(name)}` : base;
}

async function listClusterSecrets(ctx: AppContext): Promise<V1Secret[]> {
  try {
    const list = await ctx.client.request<{ items?: V1Secret[] }>("GET", secretsPath(ctx), {
      query: { labelSelector: CLUSTER_SECRET_SELECTOR },
    });
    return (list.items ?? []).sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  } catch (error) {
    throw ctx.failure(error, `list cluster Secrets in namespace "${ctx.appNamespace}"`);
  }
}

/** Registered clusters (parsed) and the Secrets that cannot be parsed. */
async function readClusters(ctx: AppContext): Promise<{
  clusters: { spec: ClusterSpec; secret: V1Secret }[];
  invalid: { secret: V1Secret; message: string }[];
}> {
  const clusters: { spec: ClusterSpec; secret: V1Secret }[] = [];
  const invalid: { secret: V1Secret; message: string }[] = [];
  for (const secret of await listClusterSecrets(ctx)) {
    try {
      clusters.push({ spec: parseClusterSecret(secret), secret });
    } catch (error) {
      invalid.push({ secret, message: (error as Error).message });
    }
  }
  return { clusters, invalid };
}

/** A Secret's data field as text, for showing an unusable Secret. */
function rawField(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  return value === undefined ? "" : Buffer.from(value, "base64").toString("utf8").trim();
}

async function listApplications(ctx: AppContext): Promise<Application[]> {
  try {
    const list = await ctx.client.request<{ items?: Application[] }>(
      "GET",
      `${APPS_PATH}/namespaces/${encodeURIComponent(ctx.appNamespace)}/applications`,
    );
    return list.items ?? [];
  } catch (error) {
    // Before `slipway install` there are no Applications to count.
    if (isTypeNotFound(error)) return [];
    throw ctx.failure(error, `list Applications in namespace "${ctx.appNamespace}"`);
  }
}

/** Applications whose destination is this cluster (by server, or by name). */
function appsTargeting(apps: Application[], name: string, server: string): number {
  return apps.filter((app) => {
    const dest = app.spec?.destination ?? {};
    if (dest.server) return normalizeServer(dest.server) === server;
    return dest.name === name;
  }).length;
}

export async function addCluster(
  name: string,
  options: AddClusterOptions,
  globals: AppGlobals,
): Promise<void> {
  if (!NAME.test(name) || name.length > 200) {
    throw new Error(
      `cluster name "${name}" must be lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`,
    );
  }
  if (name === IN_CLUSTER_NAME) {
    throw new Error(
      `"${IN_CLUSTER_NAME}" is the controller's own cluster, always registered; pick another name`,
    );
  }
  if (!options.fromKubeconfig && !options.fromContext) {
    throw new Error(
      "say which cluster to add: --from-kubeconfig FILE and/or --from-context NAME (the global --kubeconfig/--context choose where the Secret is written)",
    );
  }
  const source = loadKubeConfig({
    ...((options.fromKubeconfig ?? globals.kubeconfig)
      ? { kubeconfig: options.fromKubeconfig ?? globals.kubeconfig }
      : {}),
    ...(options.fromContext ? { context: options.fromContext } : {}),
  });
  const spec = clusterFromKubeconfig(
    name,
    source,
    options.serverOverride ? { serverOverride: options.serverOverride } : {},
  );
  if (spec.server === IN_CLUSTER_SERVER) {
    throw new Error(
      `${IN_CLUSTER_SERVER} is the controller's own cluster ("${IN_CLUSTER_NAME}"); it needs no Secret`,
    );
  }
  if (!options.skipCheck) {
    const state = await check(kubeConfigFor(spec), CHECK_TIMEOUT_MS);
    if (state.status !== "Successful") {
      throw new Error(
        `cluster ${spec.server} did not answer: ${state.message} (nothing stored; --skip-check stores it anyway)`,
      );
    }
  }
  await withApps(globals, async (ctx) => {
    const { clusters } = await readClusters(ctx);
    const sameServer = clusters.find((c) => c.spec.server === spec.server && c.spec.name !== name);
    if (sameServer) {
      throw new Error(
        `server ${spec.server} is already registered as cluster "${sameServer.spec.name}"; remove it first ("slipway cluster rm ${sameServer.spec.name}")`,
      );
    }
    const existing = clusters.find((c) => c.spec.name === name);
    const secret = clusterSecret(spec, ctx.appNamespace);
    const secretName = existing?.secret.metadata?.name ?? secret.metadata!.name!;
    secret.metadata!.name = secretName;
    const where = `secret ${ctx.appNamespace}/${secretName}`;
    if (!existing) {
      await writeSecret(ctx, "POST", secret);
      process.stdout.write(`cluster "${name}" added: ${spec.server} (${where})\n`);
      return;
    }
    if (JSON.stringify(existing.spec) === JSON.stringify(spec)) {
      process.stdout.write(`cluster "${name}" unchanged: ${spec.server} (${where})\n`);
      return;
    }
    if (!options.upsert) {
      throw new Error(
        `cluster "${name}" is already registered (${existing.spec.server}) with other settings; use --upsert to replace them`,
      );
    }
    secret.metadata = {
      ...secret.metadata,
      labels: { ...existing.secret.metadata?.labels, ...secret.metadata?.labels },
      ...(existing.secret.metadata?.annotations ? { annotations: existing.secret.metadata.annotations } : {}),
      resourceVersion: existing.secret.metadata?.resourceVersion,
    };
    await writeSecret(ctx, "PUT", secret);
    process.stdout.write(`cluster "${name}" updated: ${spec.server} (${where})\n`);
  });
}

async function writeSecret(ctx: AppContext, method: "POST" | "PUT", secret: V1Secret): Promise<void> {
  const name = secret.metadata?.name ?? "";
  try {
    await ctx.client.request(method, method === "POST" ? secretsPath(ctx) : secretsPath(ctx, name), {
      body: secret,
    });
  } catch (error) {
    if (method === "POST" && isObjectNotFound(error)) {
      throw new Error(
        `namespace "${ctx.appNamespace}" not found in ${ctx.server()}: run "slipway install" first (or pass -N)`,
      );
    }
    throw ctx.failure(error, `write Secret "${name}" in namespace "${ctx.appNamespace}"`);
  }
}

interface ClusterRow {
  name: string;
  server: string;
  secret?: string;
  connectionState: ConnectionState | { status: "Invalid"; message: string };
  applications: number;
  createdAt?: string;
  labels?: Record<string, string>;
  config?: Record<string, unknown>;
}

export async function listClusters(options: ListClusterOptions, globals: AppGlobals): Promise<void> {
  const timeoutMs = parseDuration(options.timeout);
  await withApps(globals, async (ctx) => {
    const [{ clusters, invalid }, apps] = await Promise.all([readClusters(ctx), listApplications(ctx)]);
    // A Secret may name the in-cluster entry (Argo CD allows it); it then only renames it.
    const inClusterSecret = clusters.find((c) => c.spec.server === IN_CLUSTER_SERVER);
    const targets = clusters.filter((c) => c !== inClusterSecret);
    const states = await Promise.all([
      check(ctx.cluster.config(), timeoutMs),
      ...targets.map((c) => check(kubeConfigFor(c.spec), timeoutMs)),
    ]);
    const inClusterName = inClusterSecret?.spec.name ?? IN_CLUSTER_NAME;
    const rows: ClusterRow[] = [
      {
        name: inClusterName,
        server: IN_CLUSTER_SERVER,
        ...(inClusterSecret
          ? { secret: `${ctx.appNamespace}/${inClusterSecret.secret.metadata?.name}` }
          : {}),
        connectionState: states[0]!,
        applications: appsTargeting(apps, inClusterName, IN_CLUSTER_SERVER),
      },
      ...targets.map((c, i) => ({
        name: c.spec.name,
        server: c.spec.server,
        secret: `${ctx.appNamespace}/${c.secret.metadata?.name}`,
        connectionState: states[i + 1]!,
        applications: appsTargeting(apps, c.spec.name, c.spec.server),
        ...(c.secret.metadata?.creationTimestamp
          ? { createdAt: new Date(c.secret.metadata.creationTimestamp).toISOString() }
          : {}),
        labels: { ...c.secret.metadata?.labels },
        config: redactConfig(c.spec.config),
      })),
      ...invalid.map(({ secret, message }) => ({
        name: `(secret ${secret.metadata?.name})`,
        server: rawField(secret, "server") || "-",
        secret: `${ctx.appNamespace}/${secret.metadata?.name}`,
        connectionState: { status: "Invalid" as const, message },
        applications: 0,
        ...(secret.metadata?.creationTimestamp
          ? { createdAt: new Date(secret.metadata.creationTimestamp).toISOString() }
          : {}),
      })),
    ];
    if (printStructured(rows, globals.output)) return;
    const status = (s: ClusterRow["connectionState"]) =>
      s.status === "Successful" || !s.message ? s.status : `${s.status}: ${s.message.replace(/\s+/g, " ")}`;
    const headers = ["NAME", "SERVER", "STATUS", "APPS", "AGE"];
    const wide = globals.output === "wide";
    if (wide) headers.push("VERSION", "SECRET");
    const table = rows.map((r) => {
      const cells = [
        r.name,
        r.server,
        status(r.connectionState),
        String(r.applications),
        r.createdAt ? ageOf(r.createdAt) : "-",
      ];
      if (wide) {
        const version = "serverVersion" in r.connectionState ? r.connectionState.serverVersion : undefined;
        cells.push(version ?? "-", r.secret ?? "-");
      }
      return cells;
    });
    process.stdout.write(`${formatTable(headers, table)}\n`);
  });
}

export async function removeCluster(
  nameOrServer: string,
  _options: RemoveClusterOptions,
  globals: AppGlobals,
): Promise<void> {
  await withApps(globals, async (ctx) => {
    const [{ clusters }, apps] = await Promise.all([readClusters(ctx), listApplications(ctx)]);
    const found =
      clusters.find((c) => c.spec.name === nameOrServer) ??
      clusters.find((c) => c.spec.server === normalizeServer(nameOrServer));
    if (!found) {
      if (nameOrServer === IN_CLUSTER_NAME || normalizeServer(nameOrServer) === IN_CLUSTER_SERVER) {
        throw new Error(
          `"${IN_CLUSTER_NAME}" is the controller's own cluster; it is built in and cannot be removed`,
        );
      }
      throw new Error(
        `cluster "${nameOrServer}" not found in namespace "${ctx.appNamespace}" (see "slipway cluster list")`,
      );
    }
    const secretName = found.secret.metadata?.name ?? "";
    try {
      await ctx.client.request("DELETE", secretsPath(ctx, secretName));
    } catch (error) {
      if (!isObjectNotFound(error)) throw ctx.failure(error, `delete Secret "${secretName}"`);
    }
    process.stdout.write(`cluster "${found.spec.name}" removed (secret ${ctx.appNamespace}/${secretName})\n`);
    const targeting = appsTargeting(apps, found.spec.name, found.spec.server);
    if (targeting > 0) {
      process.stderr.write(
        `warning: ${targeting} Application${targeting === 1 ? "" : "s"} still target${targeting === 1 ? "s" : ""} ${found.spec.server}; they cannot sync until the cluster is added again\n`,
      );
    }
  });
}
