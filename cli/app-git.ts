/**
 * Git for the CLI: a RepoCache in the user's cache directory, with credentials read from the
 * repository Secrets (`slipway.dev/secret-type=repository`) in the controller's namespace, the
 * same Secrets the controller uses. Credentials stay in memory; nothing here prints them.
 */
import { mkdirSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { RepoCache, type RepoCredentials } from "../controller/gitops/source/index.js";
import { SECRET_TYPE_LABEL } from "../controller/gitops/sync/annotations.js";
import type { AppContext } from "./app-client.js";
import { repoMatchKey } from "./app-view.js";
import { apiStatusCode } from "./kube-client.js";

/** Label value of a Secret for one repository. */
export const REPOSITORY_SECRET_TYPE = "repository";
/** Label value of a credential template: `url` is a prefix shared by many repositories. */
export const REPO_CREDS_SECRET_TYPE = "repo-creds";

/** `$SLIPWAY_CACHE_DIR`, else `$XDG_CACHE_HOME/slipway`, else `~/.cache/slipway` (a temp dir if none is writable). */
export function cacheDir(): string {
  const base =
    process.env.SLIPWAY_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "slipway");
  const dir = join(base, "repos");
  try {
    mkdirSync(dir, { recursive: true });
    return dir;
  } catch {
    const fallback = join(tmpdir(), `slipway-cache-${process.getuid?.() ?? "user"}`, "repos");
    mkdirSync(fallback, { recursive: true });
    return fallback;
  }
}

/** One repository Secret as the CLI reads it. */
export interface RepositorySecret {
  secretName: string;
  /** `repository` (one URL) or `repo-creds` (a URL prefix). */
  kind: string;
  url: string;
  name?: string;
  type: string;
  project?: string;
  credentials?: RepoCredentials;
}

const decode = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

export function parseRepositorySecret(secret: V1Secret): RepositorySecret | undefined {
  const data = secret.data ?? {};
  const text = (key: string) => decode(data[key]) ?? secret.stringData?.[key];
  const url = text("url");
  if (!url) return undefined;
  const username = text("username");
  const password = text("password");
  const token = text("token");
  // As the controller reads them: a password without a username is a token.
  const secretOrToken = password ?? token;
  let credentials: RepoCredentials | undefined;
  if (secretOrToken !== undefined) {
    credentials = username ? { username, password: secretOrToken } : { token: secretOrToken };
  }
  const name = text("name");
  const project = text("project");
  return {
    secretName: secret.metadata?.name ?? "",
    kind: secret.metadata?.labels?.[SECRET_TYPE_LABEL] ?? REPOSITORY_SECRET_TYPE,
    url,
    type: text("type") || "git",
    ...(name ? { name } : {}),
    ...(project ? { project } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/**
 * The repository and credential-template Secrets of the controller namespace (none when the
 * user may not read Secrets and `required` is not set).
 */
export async function listRepositorySecrets(
  ctx: AppContext,
  options: { required?: boolean } = {},
): Promise<RepositorySecret[]> {
  let items: V1Secret[];
  try {
    const list = await ctx.client.request<{ items?: V1Secret[] }>(
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(ctx.appNamespace)}/secrets`,
      {
        query: {
          labelSelector: `${SECRET_TYPE_LABEL} in (${REPOSITORY_SECRET_TYPE},${REPO_CREDS_SECRET_TYPE})`,
        },
      },
    );
    items = list.items ?? [];
  } catch (error) {
    const code = apiStatusCode(error);
    if (!options.required && (code === 403 || code === 404)) return [];
    throw ctx.failure(error, `read repository Secrets in namespace "${ctx.appNamespace}"`);
  }
  return items
    .map(parseRepositorySecret)
    .filter((r): r is RepositorySecret => r !== undefined)
    .sort((a, b) => a.url.localeCompare(b.url));
}

/**
 * Credentials for a URL as the controller picks them: the `repository` Secret for exactly that
 * URL, else the `repo-creds` template with the longest matching prefix.
 */
export function credentialsFor(
  repos: readonly RepositorySecret[],
  repoURL: string,
): RepoCredentials | undefined {
  const want = repoMatchKey(repoURL);
  const exact = repos.find((r) => r.kind === REPOSITORY_SECRET_TYPE && repoMatchKey(r.url) === want);
  if (exact) return exact.credentials;
  const template = repos
    .filter((r) => r.kind === REPO_CREDS_SECRET_TYPE)
    .filter((r) => want === repoMatchKey(r.url) || want.startsWith(`${repoMatchKey(r.url)}/`))
    .sort((a, b) => repoMatchKey(b.url).length - repoMatchKey(a.url).length)[0];
  return template?.credentials;
}

/** A RepoCache for this command, using the given repository Secrets for credentials. */
export function repoCache(repos: readonly RepositorySecret[]): RepoCache {
  return new RepoCache({
    dir: cacheDir(),
    credentialsFor: (url) => credentialsFor(repos, url),
    requestTimeoutMs: 20_000,
    errorCacheMs: 0,
  });
}
