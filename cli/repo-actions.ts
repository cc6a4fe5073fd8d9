/**
 * `slipway repo add|list`. A repository is a Secret labelled
 * `slipway.dev/secret-type=repository` in the controller's namespace, as Argo CD's repository
 * Secrets (`argocd.argoproj.io/secret-type: repository`): keys `type`, `url`, `username`,
 * `password`, optionally `name` and `project`. A token is stored as the password (with user
 * `x-access-token` unless one is given), which every common Git host accepts.
 *
 * Both commands check the connection with the controller's RepoCache ref check (one
 * `info/refs` request), so a typo or a wrong password shows up here rather than later as an
 * app's ComparisonError. No credential is ever printed, in tables or in -o json|yaml.
 */
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { redactURL } from "../controller/gitops/source/index.js";
import { SECRET_TYPE_LABEL } from "../controller/gitops/sync/annotations.js";
import { type AppContext, type AppGlobals, withApps } from "./app-client.js";
import {
  listRepositorySecrets,
  parseRepositorySecret,
  REPOSITORY_SECRET_TYPE,
  type RepositorySecret,
  repoCache,
} from "./app-git.js";
import { repoMatchKey } from "./app-view.js";
import { isObjectNotFound } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";

export interface AddOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  token?: string;
  name?: string;
  project?: string;
  skipCheck?: boolean;
  upsert?: boolean;
}

/** `repo-<hash of the normalised URL>`: one Secret per repository, found again by `add --upsert`. */
export function repositorySecretName(url: string): string {
  return `repo-${createHash("sha256").update(repoMatchKey(url)).digest("hex").slice(0, 10)}`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** The Secret's data (plain text) from the flags; refuses half-given credentials. */
async function secretData(url: string, options: AddOptions): Promise<Record<string, string>> {
  if (options.password !== undefined && options.passwordStdin) {
    throw new Error("pass only one of --password and --password-stdin");
  }
  if (options.token !== undefined && (options.password !== undefined || options.passwordStdin)) {
    throw new Error("pass either --token or a password, not both");
  }
  let password = options.password;
  if (options.passwordStdin) password = await readStdin();
  if (password !== undefined && options.username === undefined) {
    throw new Error("a password needs --username (or use --token)");
  }
  if (options.username !== undefined && password === undefined && options.token === undefined) {
    throw new Error("--username needs --password, --password-stdin or --token");
  }
  const data: Record<string, string> = { type: "git", url };
  if (options.name) data.name = options.name;
  if (options.project) data.project = options.project;
  if (options.token !== undefined) {
    // A password without a username is a token to the controller (repo-credentials.ts).
    if (options.username !== undefined) data.username = options.username;
    data.password = options.token;
  } else if (password !== undefined) {
    data.username = options.username!;
    data.password = password;
  }
  return data;
}

const encode = (data: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));

const sameData = (a: Record<string, string> | undefined, b: Record<string, string>): boolean => {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b)]);
  return [...keys].every((k) => a?.[k] === b[k]);
};

/** "Successful", or "Failed: <why>" from one ref check. */
async function checkConnection(repo: RepositorySecret, cache: ReturnType<typeof repoCache>): Promise<string> {
  try {
    await cache.lsRemote(repo.url, { refresh: true });
    return "Successful";
  } catch (error) {
    return `Failed: ${(error as Error).message.replace(/\s+/g, " ")}`;
  }
}

export async function addRepo(url: string, options: AddOptions, globals: AppGlobals): Promise<void> {
  if (/^[\w.-]+@[\w.-]+:/.test(url) || /^ssh:\/\//i.test(url)) {
    throw new Error(
      "SSH repositories are not supported; use the https:// URL with --username/--password or --token",
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url)) {
    throw new Error(
      `put the credentials in --username/--password or --token, not in the URL (${redactURL(url)})`,
    );
  }
  const data = await secretData(url, options);
  await withApps(globals, async (ctx) => {
    const parsed = { secretName: "", url, type: "git" } as RepositorySecret;
    if (data.password !== undefined)
      parsed.credentials = { username: data.username ?? "", password: data.password };
    if (!options.skipCheck) {
      const parsed = parseRepositorySecret({
        metadata: { labels: { [SECRET_TYPE_LABEL]: REPOSITORY_SECRET_TYPE } },
        data: encode(data),
      })!;
      const status = await checkConnection(parsed, repoCache([parsed]));
      if (status !== "Successful") {
        throw new Error(
          `repository ${redactURL(url)} did not answer: ${status.slice("Failed: ".length)} (nothing stored; --skip-check stores it anyway)`,
        );
      }
    }
    const name = repositorySecretName(url);
    const secret: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name,
        namespace: ctx.appNamespace,
        labels: { [SECRET_TYPE_LABEL]: REPOSITORY_SECRET_TYPE },
      },
      type: "Opaque",
      data: encode(data),
    };
    const existing = await readSecret(ctx, name);
    if (!existing) {
      await writeSecret(ctx, "POST", secret);
      process.stdout.write(`repository '${redactURL(url)}' added\n`);
      return;
    }
    if (sameData(existing.data, secret.data ?? {})) {
      process.stdout.write(`repository '${redactURL(url)}' unchanged\n`);
      return;
    }
    if (!options.upsert) {
      throw new Error(
        `repository ${redactURL(url)} is already registered with other settings; use --upsert to replace them`,
      );
    }
    secret.metadata = { ...secret.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await writeSecret(ctx, "PUT", secret);
    process.stdout.write(`repository '${redactURL(url)}' updated\n`);
  });
}

function secretPath(ctx: AppContext, name?: string): string {
  const base = `/api/v1/namespaces/${encodeURIComponent(ctx.appNamespace)}/secrets`;
  return name ? `${base}/${encodeURIComponent(name)}` : base;
}

async function readSecret(ctx: AppContext, name: string): Promise<V1Secret | undefined> {
  try {
    return await ctx.client.request<V1Secret>("GET", secretPath(ctx, name));
  } catch (error) {
    if (isObjectNotFound(error)) return undefined;
    throw ctx.failure(error, `read Secret "${name}" in namespace "${ctx.appNamespace}"`);
  }
}

async function writeSecret(ctx: AppContext, method: "POST" | "PUT", secret: V1Secret): Promise<void> {
  const name = secret.metadata?.name ?? "";
  try {
    await ctx.client.request(method, method === "POST" ? secretPath(ctx) : secretPath(ctx, name), {
      body: secret,
    });
  } catch (error) {
    throw ctx.failure(error, `write Secret "${name}" in namespace "${ctx.appNamespace}"`);
  }
}

export async function listRepos(globals: AppGlobals): Promise<void> {
  await withApps(globals, async (ctx) => {
    const repos = await listRepositorySecrets(ctx, { required: true });
    const cache = repoCache(repos);
    const states = await Promise.all(repos.map((r) => checkConnection(r, cache)));
    const items = repos.map((r, i) => ({
      url: redactURL(r.url),
      ...(r.name ? { name: r.name } : {}),
      type: r.type,
      ...(r.project ? { project: r.project } : {}),
      secret: r.secretName,
      hasCredentials: r.credentials !== undefined,
      connectionState: {
        status: states[i] === "Successful" ? "Successful" : "Failed",
        ...(states[i] === "Successful" ? {} : { message: states[i]!.replace(/^Failed: /, "") }),
      },
    }));
    if (printStructured(items, globals.output)) return;
    if (items.length === 0) {
      process.stderr.write(`No repositories registered in namespace "${ctx.appNamespace}".\n`);
      return;
    }
    process.stdout.write(
      `${formatTable(
        ["URL", "NAME", "TYPE", "CREDS", "CONNECTION"],
        items.map((r, i) => [r.url, r.name ?? "", r.type, r.hasCredentials ? "true" : "false", states[i]!]),
      )}\n`,
    );
  });
}
