/**
 * Git push webhooks (`POST /api/webhook`), as Argo CD's `util/webhook`: GitHub, GitLab and Gitea
 * push events refresh the Applications whose repository (and, when the payload lists changed
 * files, whose path) the push touched, at once instead of at the next poll.
 *
 * Secrets come from the Secret `slipway-secret` in the controller namespace (`webhook.github.secret`,
 * `webhook.gitlab.secret`, `webhook.gitea.secret`). When a provider's secret is configured, its
 * events must carry a valid signature (GitHub `X-Hub-Signature-256`, Gitea `X-Gitea-Signature`:
 * HMAC-SHA256 of the body; GitLab `X-Gitlab-Token`: the secret itself) or they are refused with
 * 401. Without a secret events are accepted, and like Argo CD's, an unauthenticated event can only
 * make slipway look at Git sooner: it refreshes, it never syncs anything by itself.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { normalizeGitURL } from "./project.js";

export type WebhookProvider = "github" | "gitlab" | "gitea";

/** What a push tells us. */
export interface PushEvent {
  provider: WebhookProvider;
  /** Every URL the payload names for the repository (web, clone, SSH). */
  repoURLs: string[];
  /** The pushed ref, e.g. `refs/heads/main` or `refs/tags/v1`. */
  ref?: string;
  /** The repository's default branch, when the payload says. */
  defaultBranch?: string;
  /** Files added, modified or removed by the pushed commits; undefined when the payload has no list. */
  changedFiles?: string[];
}

export type ParsedWebhook =
  | { kind: "push"; event: PushEvent }
  | { kind: "ignored"; provider?: WebhookProvider; reason: string }
  | { kind: "unauthorized"; provider: WebhookProvider; reason: string }
  | { kind: "invalid"; provider?: WebhookProvider; reason: string };

/** Webhook secrets per provider (absent = not configured). */
export type WebhookSecrets = Partial<Record<WebhookProvider, string>>;

export const WEBHOOK_SECRET_NAME = "slipway-secret";
export const WEBHOOK_SECRET_KEYS: Record<WebhookProvider, string> = {
  github: "webhook.github.secret",
  gitlab: "webhook.gitlab.secret",
  gitea: "webhook.gitea.secret",
};

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Which provider sent the request, from its event header (Gitea also sends GitHub's; its own wins). */
export function detectProvider(headers: IncomingHttpHeaders): WebhookProvider | undefined {
  if (header(headers, "x-gitea-event") !== undefined) return "gitea";
  if (header(headers, "x-gitlab-event") !== undefined) return "gitlab";
  if (header(headers, "x-github-event") !== undefined) return "github";
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hmacSha256Hex(secret: string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Checks the provider's signature against `secret`; undefined when valid, else why not. */
export function verifySignature(
  provider: WebhookProvider,
  headers: IncomingHttpHeaders,
  body: Buffer,
  secret: string,
): string | undefined {
  if (provider === "github") {
    const sig = header(headers, "x-hub-signature-256");
    if (!sig) return "missing X-Hub-Signature-256 header";
    const expected = `sha256=${hmacSha256Hex(secret, body)}`;
    return safeEqual(sig.trim().toLowerCase(), expected) ? undefined : "X-Hub-Signature-256 does not match";
  }
  if (provider === "gitea") {
    const sig = header(headers, "x-gitea-signature");
    if (!sig) return "missing X-Gitea-Signature header";
    return safeEqual(sig.trim().toLowerCase(), hmacSha256Hex(secret, body))
      ? undefined
      : "X-Gitea-Signature does not match";
  }
  const token = header(headers, "x-gitlab-token");
  if (token === undefined) return "missing X-Gitlab-Token header";
  return safeEqual(token, secret) ? undefined : "X-Gitlab-Token does not match";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function changedFilesOf(commits: unknown): string[] | undefined {
  if (!Array.isArray(commits)) return undefined;
  const files = new Set<string>();
  for (const commit of commits) {
    if (!isRecord(commit)) continue;
    for (const field of ["added", "modified", "removed"]) {
      const list = commit[field];
      if (Array.isArray(list)) for (const f of list) if (typeof f === "string") files.add(f);
    }
  }
  return files.size > 0 ? [...files].sort() : undefined;
}

/** Reads a push payload of `provider`; undefined fields stay undefined. */
export function parsePushPayload(provider: WebhookProvider, payload: unknown): PushEvent | string {
  if (!isRecord(payload)) return "payload is not a JSON object";
  const repo = provider === "gitlab" ? (payload.project ?? payload.repository) : payload.repository;
  if (!isRecord(repo)) return `payload has no ${provider === "gitlab" ? "project" : "repository"}`;
  const urls = new Set<string>();
  const fields =
    provider === "gitlab"
      ? ["web_url", "git_http_url", "http_url", "git_ssh_url", "ssh_url", "url", "homepage"]
      : ["html_url", "clone_url", "ssh_url", "git_url", "url"];
  for (const f of fields) {
    const v = str(repo[f]);
    if (v) urls.add(v);
  }
  if (urls.size === 0) return "payload names no repository URL";
  const event: PushEvent = { provider, repoURLs: [...urls] };
  const ref = str(payload.ref);
  if (ref) event.ref = ref;
  const defaultBranch = str(repo.default_branch);
  if (defaultBranch) event.defaultBranch = defaultBranch;
  const files = changedFilesOf(payload.commits);
  if (files) event.changedFiles = files;
  return event;
}

/**
 * Classifies a webhook request: a verified (or unauthenticated, when no secret is configured)
 * push, an event to ignore (a ping, a non-push event), a bad signature, or a malformed payload.
 */
export function parseWebhook(
  headers: IncomingHttpHeaders,
  body: Buffer,
  secrets: WebhookSecrets,
): ParsedWebhook {
  const provider = detectProvider(headers);
  if (!provider) {
    return { kind: "ignored", reason: "unknown webhook: no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event" };
  }
  const secret = secrets[provider];
  if (secret) {
    const problem = verifySignature(provider, headers, body, secret);
    if (problem) return { kind: "unauthorized", provider, reason: problem };
  }
  const eventName =
    provider === "github"
      ? header(headers, "x-github-event")
      : provider === "gitea"
        ? header(headers, "x-gitea-event")
        : header(headers, "x-gitlab-event");
  const isPush =
    provider === "gitlab"
      ? eventName === "Push Hook" || eventName === "Tag Push Hook" || eventName === "System Hook"
      : eventName === "push";
  if (!isPush) return { kind: "ignored", provider, reason: `${provider} event "${eventName}" is not a push` };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return { kind: "invalid", provider, reason: "payload is not JSON" };
  }
  const event = parsePushPayload(provider, payload);
  if (typeof event === "string") return { kind: "invalid", provider, reason: event };
  return { kind: "push", event };
}

/** Repository identity for matching pushes to apps: host and path, no scheme, credentials or `.git`. */
export function repoIdentity(url: string): string {
  const n = normalizeGitURL(url);
  const m = /^[a-z][a-z0-9+.-]*:\/\/(.*)$/.exec(n);
  let rest = m ? m[1]! : n;
  const at = rest.indexOf("@");
  const slash = rest.indexOf("/");
  if (at >= 0 && (slash < 0 || at < slash)) rest = rest.slice(at + 1);
  return rest;
}

export function sameRepo(a: string, b: string): boolean {
  return repoIdentity(a) === repoIdentity(b);
}

/** Argo's `sourceRevisionHasChanged`: does a push of `ref` move `targetRevision`? */
export function revisionMatches(event: PushEvent, targetRevision: string | undefined): boolean {
  const ref = event.ref;
  if (!ref) return true;
  const target = (targetRevision ?? "").trim();
  if (target === "" || target === "HEAD") {
    if (!ref.startsWith("refs/heads/")) return false;
    return event.defaultBranch === undefined || ref === `refs/heads/${event.defaultBranch}`;
  }
  if (/^[0-9a-f]{40}$/i.test(target)) return false;
  const short = ref.replace(/^refs\/(heads|tags)\//, "");
  return target === ref || target === short;
}

function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/**
 * The repo paths an app's manifests depend on: the `manifest-generate-paths` annotation (`;`
 * separated, relative to `source.path` unless absolute from the repo root; `.` is the source path
 * itself) when set, else `source.path`.
 */
export function watchedPaths(sourcePath: string | undefined, annotation: string | undefined): string[] {
  const base = cleanPath(sourcePath ?? "");
  if (annotation === undefined || annotation.trim() === "") return [base];
  return annotation
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => (p.startsWith("/") ? cleanPath(p) : cleanPath(`${base}/${p}`)));
}

/** True when one of `changed` lies under one of `paths` (an empty path is the whole repo). */
export function pathsTouched(paths: readonly string[], changed: readonly string[] | undefined): boolean {
  if (changed === undefined) return true;
  for (const p of paths) {
    if (p === "") return true;
    for (const file of changed) {
      const f = cleanPath(file);
      if (f === p || f.startsWith(`${p}/`)) return true;
    }
  }
  return false;
}
