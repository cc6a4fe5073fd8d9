/**
 * Typed Git source errors. The reconciler turns each into a `ComparisonError` condition, so every
 * message names the repository (credentials removed) and says what to fix; `reason` is a stable
 * machine-readable code for metrics and for choosing a requeue delay.
 */

export type GitSourceErrorReason =
  | "Unreachable"
  | "AuthenticationFailed"
  | "RevisionNotFound"
  | "NotAGitRepository"
  | "UnsupportedURL"
  | "TooLarge"
  | "Internal";

export class GitSourceError extends Error {
  override name = "GitSourceError";
  constructor(
    message: string,
    readonly repoURL: string,
    readonly reason: GitSourceErrorReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Connection refused, DNS failure, timeout, TLS failure or a 5xx from the Git host. */
export class RepoUnreachableError extends GitSourceError {
  override name = "RepoUnreachableError";
  constructor(repoURL: string, detail: string, options?: { cause?: unknown }) {
    super(`cannot reach ${redactURL(repoURL)}: ${detail}`, repoURL, "Unreachable", options);
  }
}

/** HTTP 401/403: no credentials where the host needs some, or the configured ones were refused. */
export class RepoAuthError extends GitSourceError {
  override name = "RepoAuthError";
  constructor(
    repoURL: string,
    readonly statusCode: number,
    readonly hadCredentials: boolean,
    options?: { cause?: unknown },
  ) {
    const hint = hadCredentials
      ? "the credentials from the repository Secret were rejected; check its username/password or token"
      : "the host requires credentials; add a Secret labelled slipway.dev/secret-type=repository for this URL";
    super(
      `authentication failed for ${redactURL(repoURL)} (HTTP ${statusCode}): ${hint}`,
      repoURL,
      "AuthenticationFailed",
      options,
    );
  }
}

export class RevisionNotFoundError extends GitSourceError {
  override name = "RevisionNotFoundError";
  constructor(
    repoURL: string,
    readonly revision: string,
    options?: { cause?: unknown },
  ) {
    super(`revision "${revision}" not found in ${redactURL(repoURL)}`, repoURL, "RevisionNotFound", options);
  }
}

/** 404, an HTML page instead of a ref advertisement, or a local path that holds no repository. */
export class NotAGitRepositoryError extends GitSourceError {
  override name = "NotAGitRepositoryError";
  constructor(repoURL: string, detail: string, options?: { cause?: unknown }) {
    super(`${redactURL(repoURL)} is not a Git repository: ${detail}`, repoURL, "NotAGitRepository", options);
  }
}

/** ssh://, git@host:path, git:// and other transports this controller does not speak. */
export class UnsupportedRepoURLError extends GitSourceError {
  override name = "UnsupportedRepoURLError";
  constructor(repoURL: string, detail: string) {
    super(`unsupported repository URL ${redactURL(repoURL)}: ${detail}`, repoURL, "UnsupportedURL");
  }
}

/** The fetch or the checked-out tree exceeded a configured size cap. */
export class RepoTooLargeError extends GitSourceError {
  override name = "RepoTooLargeError";
  constructor(repoURL: string, detail: string) {
    super(`${redactURL(repoURL)} is too large: ${detail}`, repoURL, "TooLarge");
  }
}

/** Removes `user:password@` from a URL so messages and conditions never leak credentials. */
export function redactURL(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}
