/**
 * Git credentials from Secrets in the controller namespace, as Argo CD reads them
 * (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#repositories):
 *
 * - `slipway.dev/secret-type: repository` — keys `url`, `username`, `password` for one repository
 *   (a token goes in `password`; without `username` it is sent as a token);
 * - `slipway.dev/secret-type: repo-creds` — the same keys, where `url` is a prefix shared by many
 *   repositories (Argo's credential templates); the longest matching prefix wins, and a
 *   `repository` Secret for the exact URL wins over any template.
 *
 * Read from an informer cache, so resolving credentials never costs an API request, and a
 * rotated Secret is used from the next Git request on.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { SharedInformer } from "../kube/informer.js";
import { normalizeGitURL } from "./project.js";
import type { CredentialsProvider, RepoCredentials } from "./source/repo-cache.js";
import { SECRET_TYPE_LABEL } from "./sync/annotations.js";

export interface SecretObject extends KubernetesObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** A Secret's value for `key`, decoded (data is base64; stringData only in manifests, never live). */
export function secretValue(secret: SecretObject | undefined, key: string): string | undefined {
  const raw = secret?.data?.[key];
  if (raw !== undefined) return Buffer.from(raw, "base64").toString("utf8");
  return secret?.stringData?.[key];
}

export class RepositoryCredentials {
  private secrets: SharedInformer<SecretObject> | undefined;

  /** Reads Secrets from this informer (Secrets of the controller namespace). */
  bind(secrets: SharedInformer<SecretObject>): void {
    this.secrets = secrets;
  }

  /** For `RepoCache`'s `credentialsFor`. */
  readonly provider: CredentialsProvider = (repoURL) => this.credentialsFor(repoURL);

  /** The Secret that holds credentials for `repoURL`, if any. */
  secretFor(repoURL: string): SecretObject | undefined {
    if (!this.secrets) return undefined;
    const want = normalizeGitURL(repoURL);
    let template: { secret: SecretObject; length: number } | undefined;
    for (const secret of this.secrets.list()) {
      const type = secret.metadata?.labels?.[SECRET_TYPE_LABEL];
      if (type !== "repository" && type !== "repo-creds") continue;
      const url = secretValue(secret, "url");
      if (!url) continue;
      const have = normalizeGitURL(url);
      if (type === "repository" && have === want) return secret;
      if (type === "repo-creds" && (want === have || want.startsWith(`${have}/`))) {
        if (!template || have.length > template.length) template = { secret, length: have.length };
      }
    }
    return template?.secret;
  }

  credentialsFor(repoURL: string): RepoCredentials | undefined {
    const secret = this.secretFor(repoURL);
    if (!secret) return undefined;
    const username = secretValue(secret, "username");
    const password = secretValue(secret, "password");
    if (password === undefined) return undefined;
    return username ? { username, password } : { token: password };
  }
}
