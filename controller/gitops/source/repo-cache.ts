/**
 * RepoCache: the controller's one view of Git. Every Application that reads a repository goes
 * through the same instance, which is what keeps Git traffic proportional to the number of
 * repositories rather than the number of apps (Argo CD #6357: ~20 apps polling made 184k
 * requests in 14 days).
 *
 * - **Ref check.** Resolving a branch, tag or `HEAD` starts with one ref advertisement
 *   (`GET info/refs`, the ls-remote equivalent), cached per repository for
 *   `refCheckIntervalMs` and shared by every caller; concurrent checks collapse into one request.
 * - **Fetch only when the ref moved.** If the advertised commit is already in the on-disk cache,
 *   nothing is downloaded. Otherwise one shallow (`depth: 1`) fetch of that ref runs; callers
 *   asking for the same repo+revision at the same time share it, and fetches into one repository
 *   are serialised because they write the same object store and `shallow` file.
 * - **Checkouts** are immutable per-SHA snapshots under the cache dir, written straight from the
 *   object store (see tree.ts), so render tools read plain files and never see a half-updated tree.
 *
 * `file://` repositories are read in place with isomorphic-git and the node `fs` (no `git` CLI):
 * the objects are already on local disk, so copying them into the cache would only double the
 * disk use; reading them through the same isomorphic-git object code as fetched repos means one
 * code path for trees and blobs, and the controller image needs no `git` binary. Their ref check
 * is a local read, still cached per interval so `file://` apps behave like remote ones.
 *
 * On-disk layout: `<dir>/<sha256(normalised URL)[0:24]>/{repo.git, trees/<sha>}`.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import git, { type GitAuth, type HttpClient } from "isomorphic-git";
import {
  GitSourceError,
  NotAGitRepositoryError,
  RepoAuthError,
  RepoTooLargeError,
  RepoUnreachableError,
  RevisionNotFoundError,
  redactURL,
  UnsupportedRepoURLError,
} from "./errors.js";
import { createGitHttpClient, TransportError } from "./http.js";
import { materializeTree, TreeEntryError, TreeLimitError } from "./tree.js";

/**
 * Credentials for one repository, as read from a Secret labelled
 * `slipway.dev/secret-type=repository`. A `token` is sent as HTTP basic auth with the token as
 * the password (username `x-access-token` unless given), which GitHub, GitLab, Gitea and
 * Bitbucket all accept for personal/app access tokens.
 */
export type RepoCredentials = { username: string; password: string } | { token: string; username?: string };

export type CredentialsProvider = (
  repoURL: string,
) => RepoCredentials | undefined | Promise<RepoCredentials | undefined>;

export interface RepoCacheOptions {
  /** Root of the on-disk cache (fetched objects and per-SHA checkouts). */
  dir: string;
  credentialsFor?: CredentialsProvider;
  /** How long one ref check is reused for every app of a repo. Default 180 s (Argo's revision cache). */
  refCheckIntervalMs?: number;
  /**
   * How long a failed ref check is reused, so 200 apps of an unreachable repo make one request per
   * window instead of 200. Default 5 s: short enough that recovery is noticed at once.
   */
  errorCacheMs?: number;
  /** Clock, injectable so tests can move past the interval without sleeping. */
  now?: () => number;
  /** Deadline for a ref check. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline for one pack download. Default 10 min. */
  fetchTimeoutMs?: number;
  /** Largest pack download accepted. Default 2 GiB. */
  maxFetchBytes?: number;
  /** Largest checkout (sum of file sizes). Default 1 GiB. */
  maxTreeBytes?: number;
  /** Most files in one checkout. Default 200,000. */
  maxTreeFiles?: number;
  /** Checkouts kept per repository before the least recently used are removed. Default 10. */
  maxTreesPerRepo?: number;
  /** A checkout used within this window is never removed (a render may be reading it). Default 10 min. */
  treeGraceMs?: number;
  /** Accept `file://` URLs. Default true; a multi-tenant controller may want to refuse local paths. */
  allowFileURLs?: boolean;
  userAgent?: string;
}

/** The result of one ref check. */
export interface RemoteRefs {
  /** Full ref name (`refs/heads/main`, `refs/tags/v1`, `HEAD`) → commit SHA (tags peeled). */
  refs: Map<string, string>;
  /** What `HEAD` points at, e.g. `refs/heads/main`, when the server says. */
  head?: string;
  /** `now()` when the check ran. */
  checkedAt: number;
}

export interface ResolvedRevision {
  repoURL: string;
  /** The targetRevision as asked for (`HEAD` when empty). */
  revision: string;
  /** The commit, present in the cache when this is returned. */
  sha: string;
  /** The full ref it came from, when it was a branch, tag or HEAD (not for SHAs). */
  ref?: string;
}

export interface RepoCacheStats {
  /** Ref checks actually performed (HTTP ref advertisements or local ref reads). */
  lsRemoteCount: number;
  /** Pack downloads actually performed. */
  fetchCount: number;
  /** Checkouts written to disk. */
  checkoutCount: number;
  /** HTTP requests sent to Git hosts (includes the ref advertisement each fetch starts with). */
  httpRequests: number;
}

interface RepoState {
  url: string;
  kind: "http" | "file";
  dir: string;
  /** Where objects are read from: the cache's bare repo (http) or the local repo (file). */
  gitdir?: string;
  ready?: Promise<string>;
  refs?: RemoteRefs;
  refsError?: { error: unknown; at: number };
  refsInFlight?: Promise<RemoteRefs>;
  /** Tail of the per-repo chain that serialises writes to the object store. */
  writeChain: Promise<unknown>;
  fetches: Map<string, Promise<string>>;
  trees: Map<string, number>;
  treesInFlight: Map<string, Promise<string>>;
  treesScanned?: Promise<void>;
  /**
   * Commits seen in the object store: a ref check that finds its tip here needs no object read
   * (500 apps on one branch resolve it 500 times per commit). Objects are never removed from it.
   */
  present: Set<string>;
}

const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;
/** git's INFINITE_DEPTH: `deepen 2147483647` is how `git fetch --unshallow` asks for everything. */
const UNSHALLOW_DEPTH = 0x7fffffff;

/**
 * Canonical form of a repository URL for cache keys and matching: scheme and host lowercased,
 * credentials and trailing slashes dropped. A `.git` suffix is kept, since not every server
 * treats `repo` and `repo.git` as the same repository.
 */
export function normalizeRepoURL(repoURL: string): string {
  const trimmed = repoURL.trim();
  try {
    const u = new URL(trimmed);
    u.username = "";
    u.password = "";
    u.hash = "";
    let s = u.href;
    while (s.endsWith("/") && !s.endsWith("://")) s = s.slice(0, -1);
    return s;
  } catch {
    return trimmed.replace(/\/+$/, "");
  }
}

function repoKey(repoURL: string): string {
  return createHash("sha256").update(normalizeRepoURL(repoURL)).digest("hex").slice(0, 24);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === "NotFoundError" || code === "ENOENT" || code === "ReadObjectFail";
}

export class RepoCache {
  private readonly options: Required<Omit<RepoCacheOptions, "credentialsFor" | "now">>;
  private readonly credentialsFor: CredentialsProvider;
  private readonly now: () => number;
  private readonly http: HttpClient;
  private readonly repos = new Map<string, RepoState>();
  private readonly counters: RepoCacheStats = {
    lsRemoteCount: 0,
    fetchCount: 0,
    checkoutCount: 0,
    httpRequests: 0,
  };

  constructor(options: RepoCacheOptions) {
    this.options = {
      dir: options.dir,
      refCheckIntervalMs: options.refCheckIntervalMs ?? 180_000,
      errorCacheMs: options.errorCacheMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 600_000,
      maxFetchBytes: options.maxFetchBytes ?? 2 * 1024 ** 3,
      maxTreeBytes: options.maxTreeBytes ?? 1024 ** 3,
      maxTreeFiles: options.maxTreeFiles ?? 200_000,
      maxTreesPerRepo: options.maxTreesPerRepo ?? 10,
      treeGraceMs: options.treeGraceMs ?? 600_000,
      allowFileURLs: options.allowFileURLs ?? true,
      userAgent: options.userAgent ?? "git/2.0 (slipway)",
    };
    this.credentialsFor = options.credentialsFor ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.http = createGitHttpClient({
      requestTimeoutMs: this.options.requestTimeoutMs,
      fetchTimeoutMs: this.options.fetchTimeoutMs,
      maxResponseBytes: this.options.maxFetchBytes,
      userAgent: this.options.userAgent,
      onRequest: () => {
        this.counters.httpRequests += 1;
      },
    });
  }

  get lsRemoteCount(): number {
    return this.counters.lsRemoteCount;
  }

  get fetchCount(): number {
    return this.counters.fetchCount;
  }

  stats(): RepoCacheStats {
    return { ...this.counters };
  }

  /**
   * Forgets the cached ref check of one repository (or all), so the next resolve asks the host.
   * The webhook handler calls this on a push so the change is seen at once, not after the interval.
   */
  invalidate(repoURL?: string): void {
    const states = repoURL ? [this.repos.get(normalizeRepoURL(repoURL))] : [...this.repos.values()];
    for (const st of states) {
      if (!st) continue;
      st.refs = undefined;
      st.refsError = undefined;
    }
  }

  /**
   * The repository's refs, from the shared per-interval cache unless `refresh` is set (a hard
   * refresh). A check already in flight is joined rather than repeated.
   */
  async lsRemote(repoURL: string, options: { refresh?: boolean } = {}): Promise<RemoteRefs> {
    const st = this.state(repoURL);
    const now = this.now();
    if (!options.refresh) {
      if (st.refs && now - st.refs.checkedAt < this.options.refCheckIntervalMs) return st.refs;
      if (st.refsError && now - st.refsError.at < this.options.errorCacheMs) throw st.refsError.error;
    }
    if (st.refsInFlight) return st.refsInFlight;
    const check = (async () => {
      try {
        this.counters.lsRemoteCount += 1;
        const refs = st.kind === "file" ? await this.localRefs(st, repoURL) : await this.remoteRefs(repoURL);
        st.refs = refs;
        st.refsError = undefined;
        return refs;
      } catch (error) {
        const classified = await this.classify(error, repoURL);
        st.refsError = { error: classified, at: this.now() };
        throw classified;
      } finally {
        st.refsInFlight = undefined;
      }
    })();
    st.refsInFlight = check;
    return check;
  }

  /**
   * Resolves `targetRevision` (branch, tag, full or abbreviated SHA, `HEAD`; empty means `HEAD`)
   * to a commit SHA and makes sure that commit is in the cache, fetching only if it is not.
   */
  async resolve(
    repoURL: string,
    targetRevision?: string,
    options: { refresh?: boolean } = {},
  ): Promise<ResolvedRevision> {
    try {
      return await this.resolveInner(repoURL, targetRevision, options);
    } catch (error) {
      // Everything leaves typed: a corrupt cache or fs error becomes a GitSourceError too.
      throw await this.classify(error, repoURL);
    }
  }

  private async resolveInner(
    repoURL: string,
    targetRevision: string | undefined,
    options: { refresh?: boolean },
  ): Promise<ResolvedRevision> {
    const revision = targetRevision?.trim() || "HEAD";
    const st = this.state(repoURL);
    const lower = revision.toLowerCase();

    // A full SHA names an immutable commit: if we have it, no Git traffic at all.
    if (FULL_SHA.test(lower)) {
      const gitdir = await this.ready(st, repoURL);
      if (await hasCommit(gitdir, lower)) return { repoURL, revision, sha: lower };
      if (st.kind === "file") throw new RevisionNotFoundError(repoURL, revision);
      const refs = await this.lsRemote(repoURL, options);
      const tip = [...refs.refs].find(([name, sha]) => sha === lower && name !== "HEAD");
      if (tip) {
        const sha = await this.fetchRef(st, repoURL, tip[0], lower);
        if (sha === lower) return { repoURL, revision, sha };
      }
      await this.fetchAll(st, repoURL);
      if (await hasCommit(gitdir, lower)) return { repoURL, revision, sha: lower };
      throw new RevisionNotFoundError(repoURL, revision);
    }

    const refs = await this.lsRemote(repoURL, options);
    const match = matchRef(refs, revision);
    if (match) {
      const gitdir = await this.ready(st, repoURL);
      if (st.present.has(match.sha) || (await hasCommit(gitdir, match.sha))) {
        st.present.add(match.sha);
        return { repoURL, revision, sha: match.sha, ref: match.ref };
      }
      if (st.kind === "file") throw new RevisionNotFoundError(repoURL, revision);
      const sha = await this.fetchRef(st, repoURL, match.ref, match.sha);
      return { repoURL, revision, sha, ref: match.ref };
    }

    // An abbreviated SHA cannot be matched against advertised tips; it needs history.
    if (SHORT_SHA.test(lower)) {
      const gitdir = await this.ready(st, repoURL);
      let sha = await expandCommit(gitdir, lower);
      if (!sha && st.kind === "http") {
        await this.fetchAll(st, repoURL);
        sha = await expandCommit(gitdir, lower);
      }
      if (sha) return { repoURL, revision, sha };
    }
    throw new RevisionNotFoundError(repoURL, revision);
  }

  /**
   * A read-only directory holding the tree of commit `sha`, shared by every caller of the same
   * repo+SHA and never modified once written (render tools must write elsewhere). Fetches the
   * commit first if the cache lacks it, so a SHA recorded in status works after a restart.
   */
  async checkout(repoURL: string, sha: string): Promise<string> {
    const oid = sha.toLowerCase();
    if (!FULL_SHA.test(oid)) {
      throw new GitSourceError(`checkout needs a full commit SHA, got "${sha}"`, repoURL, "Internal");
    }
    const st = this.state(repoURL);
    await this.scanTrees(st);
    const target = join(st.dir, "trees", oid);
    const inFlight = st.treesInFlight.get(oid);
    if (inFlight) return inFlight;
    if (st.trees.has(oid) && (await exists(target))) {
      st.trees.set(oid, this.now());
      return target;
    }
    const job = (async () => {
      const gitdir = await this.ready(st, repoURL);
      if (!(await hasCommit(gitdir, oid))) await this.resolve(repoURL, oid);
      const tmp = join(st.dir, "trees", `.tmp-${oid}-${randomBytes(4).toString("hex")}`);
      try {
        await materializeTree(gitdir, oid, tmp, {
          maxBytes: this.options.maxTreeBytes,
          maxFiles: this.options.maxTreeFiles,
        });
        try {
          await rename(tmp, target);
        } catch (error) {
          // Another process (or a previous run) wrote the same immutable tree first.
          if (!(await exists(target))) throw error;
          await rm(tmp, { recursive: true, force: true });
        }
      } catch (error) {
        await rm(tmp, { recursive: true, force: true });
        if (error instanceof TreeLimitError) throw new RepoTooLargeError(repoURL, error.message);
        if (error instanceof TreeEntryError) {
          throw new GitSourceError(
            `commit ${oid} of ${redactURL(repoURL)} cannot be checked out: ${error.message}`,
            repoURL,
            "Internal",
            { cause: error },
          );
        }
        throw await this.classify(error, repoURL);
      }
      this.counters.checkoutCount += 1;
      st.trees.set(oid, this.now());
      await this.evictTrees(st, oid);
      return target;
    })();
    st.treesInFlight.set(oid, job);
    try {
      return await job;
    } finally {
      st.treesInFlight.delete(oid);
    }
  }

  /** Resolve and check out in one step: what a reconcile needs before rendering. */
  async checkoutRevision(
    repoURL: string,
    targetRevision?: string,
    options: { refresh?: boolean } = {},
  ): Promise<ResolvedRevision & { dir: string }> {
    const resolved = await this.resolve(repoURL, targetRevision, options);
    return { ...resolved, dir: await this.checkout(repoURL, resolved.sha) };
  }

  // ---------------------------------------------------------------------------------------------

  private state(repoURL: string): RepoState {
    const key = normalizeRepoURL(repoURL);
    let st = this.repos.get(key);
    if (st) return st;
    const kind = transportOf(repoURL, this.options.allowFileURLs);
    st = {
      url: key,
      kind,
      dir: join(this.options.dir, repoKey(repoURL)),
      writeChain: Promise.resolve(),
      fetches: new Map(),
      trees: new Map(),
      treesInFlight: new Map(),
      present: new Set(),
    };
    this.repos.set(key, st);
    return st;
  }

  /** The gitdir objects are read from; creates the cache's bare repo on first use. */
  private ready(st: RepoState, repoURL: string): Promise<string> {
    if (!st.ready) {
      st.ready = (async () => {
        if (st.kind === "file") return localGitdir(repoURL);
        const gitdir = join(st.dir, "repo.git");
        if (!(await exists(join(gitdir, "HEAD")))) {
          await mkdir(gitdir, { recursive: true });
          await git.init({ fs, gitdir, bare: true });
          // isomorphic-git stores fetched tips through the remote's refspec; the URL is passed on
          // every fetch anyway, so the config keeps it without credentials.
          await git.addRemote({ fs, gitdir, remote: "origin", url: redactURL(repoURL), force: true });
        }
        return gitdir;
      })();
      st.ready.catch(() => {
        st.ready = undefined;
      });
    }
    return st.ready.then((gitdir) => {
      st.gitdir = gitdir;
      return gitdir;
    });
  }

  /** Runs `fn` after every earlier write to this repo's object store has finished. */
  private exclusive<T>(st: RepoState, fn: () => Promise<T>): Promise<T> {
    const run = st.writeChain.then(fn, fn);
    st.writeChain = run.catch(() => undefined);
    return run;
  }

  private async auth(repoURL: string): Promise<{
    headers: Record<string, string>;
    onAuth: (url: string) => GitAuth | undefined;
    had: boolean;
  }> {
    const creds = await this.credentialsFor(repoURL);
    if (!creds) return { headers: {}, onAuth: () => undefined, had: false };
    const username = "token" in creds ? (creds.username ?? "x-access-token") : creds.username;
    const password = "token" in creds ? creds.token : creds.password;
    // Sent up front rather than after a 401 challenge, halving requests to private hosts; if the
    // host still answers 401, retrying the same credentials is pointless, so cancel (→ RepoAuthError).
    const headers = { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
    return { headers, onAuth: () => ({ cancel: true }), had: true };
  }

  private async remoteRefs(repoURL: string): Promise<RemoteRefs> {
    const { headers, onAuth } = await this.auth(repoURL);
    // Protocol v1 lists every ref in one GET; v2 would need a second round trip for ls-refs.
    const list = await git.listServerRefs({
      http: this.http,
      url: repoURL,
      headers,
      onAuth,
      onAuthFailure: () => ({ cancel: true }),
      protocolVersion: 1,
      symrefs: true,
      peelTags: true,
    });
    const refs = new Map<string, string>();
    let head: string | undefined;
    for (const r of list) {
      if (r.ref.endsWith("^{}")) continue;
      refs.set(r.ref, r.peeled ?? r.oid);
      if (r.ref === "HEAD" && r.target) head = r.target;
    }
    return { refs, head, checkedAt: this.now() };
  }

  private async localRefs(st: RepoState, repoURL: string): Promise<RemoteRefs> {
    const gitdir = await this.ready(st, repoURL);
    const cache = {};
    const refs = new Map<string, string>();
    for (const name of await git.listRefs({ fs, gitdir, filepath: "refs" })) {
      if (name.endsWith("^{}")) continue;
      const ref = `refs/${name}`;
      try {
        const oid = await git.resolveRef({ fs, gitdir, ref });
        refs.set(ref, await peel(gitdir, oid, cache));
      } catch {
        // A dangling ref is no revision; skip it like git ls-remote would.
      }
    }
    let head: string | undefined;
    try {
      const target = await git.resolveRef({ fs, gitdir, ref: "HEAD", depth: 2 });
      if (target.startsWith("refs/")) head = target;
      refs.set("HEAD", await peel(gitdir, await git.resolveRef({ fs, gitdir, ref: "HEAD" }), cache));
    } catch {
      // Unborn HEAD (empty repository): no HEAD revision.
    }
    return { refs, head, checkedAt: this.now() };
  }

  /**
   * Fetches `ref` (shallow) so that its tip is in the cache, sharing the download with concurrent
   * callers of the same ref and commit. Returns the commit actually fetched: if the ref moved
   * between the ref check and the fetch, that is the newer commit, and the ref cache is updated.
   */
  private fetchRef(st: RepoState, repoURL: string, ref: string, expected: string): Promise<string> {
    const key = `${ref}\0${expected}`;
    const existing = st.fetches.get(key);
    if (existing) return existing;
    const job = this.exclusive(st, async () => {
      const gitdir = await this.ready(st, repoURL);
      if (await hasCommit(gitdir, expected)) return expected;
      const remoteRef = ref === "HEAD" && st.refs?.head ? st.refs.head : ref;
      // `ref` only tells isomorphic-git which local ref to offer as a "have", so an update of a
      // branch downloads just the changed objects; the remote-tracking ref is what it wrote last time.
      const localRef = remoteRef.startsWith("refs/heads/")
        ? `refs/remotes/origin/${remoteRef.slice("refs/heads/".length)}`
        : remoteRef;
      const fetched = await this.runFetch(repoURL, gitdir, {
        ref: localRef,
        remoteRef,
        singleBranch: true,
        tags: false,
        depth: 1,
      });
      const sha = fetched ? await peel(gitdir, fetched, {}) : undefined;
      if (sha && (await hasCommit(gitdir, sha))) {
        if (sha !== expected && st.refs) {
          st.refs.refs.set(ref, sha);
          if (remoteRef !== ref) st.refs.refs.set(remoteRef, sha);
        }
        return sha;
      }
      throw new RevisionNotFoundError(repoURL, ref);
    }).finally(() => st.fetches.delete(key));
    st.fetches.set(key, job);
    return job;
  }

  /** Fetches every branch and tag with full history (for SHAs that are not a branch or tag tip). */
  private fetchAll(st: RepoState, repoURL: string): Promise<string> {
    const key = "\0all";
    const existing = st.fetches.get(key);
    if (existing) return existing;
    const job = this.exclusive(st, async () => {
      const gitdir = await this.ready(st, repoURL);
      const refs = await this.lsRemote(repoURL);
      const remoteRef = refs.head ?? [...refs.refs.keys()].find((r) => r !== "HEAD");
      if (!remoteRef) throw new RevisionNotFoundError(repoURL, "HEAD");
      await this.runFetch(repoURL, gitdir, {
        ref: remoteRef,
        remoteRef,
        singleBranch: false,
        tags: true,
        depth: UNSHALLOW_DEPTH,
      });
      return "";
    }).finally(() => st.fetches.delete(key));
    st.fetches.set(key, job);
    return job;
  }

  private async runFetch(
    repoURL: string,
    gitdir: string,
    args: { ref: string; remoteRef: string; singleBranch: boolean; tags: boolean; depth?: number },
  ): Promise<string | undefined> {
    const { headers, onAuth } = await this.auth(repoURL);
    this.counters.fetchCount += 1;
    const attempt = (depth: number | undefined) =>
      git.fetch({
        fs,
        http: this.http,
        gitdir,
        url: repoURL,
        remote: "origin",
        ref: args.ref,
        remoteRef: args.remoteRef,
        singleBranch: args.singleBranch,
        tags: args.tags,
        depth,
        headers,
        onAuth,
        onAuthFailure: () => ({ cancel: true }),
        cache: {},
      });
    try {
      let result: Awaited<ReturnType<typeof git.fetch>>;
      try {
        result = await attempt(args.depth);
      } catch (error) {
        // A dumb or minimal server without shallow support still serves a full fetch.
        if (errorCode(error) !== "RemoteCapabilityError" || args.depth === undefined) throw error;
        result = await attempt(undefined);
      }
      return result.fetchHead ?? undefined;
    } catch (error) {
      throw await this.classify(error, repoURL);
    }
  }

  /** Maps isomorphic-git, transport and fs errors to the typed errors in errors.ts. */
  private async classify(error: unknown, repoURL: string): Promise<GitSourceError> {
    if (error instanceof GitSourceError) return error;
    if (error instanceof TransportError) {
      if (error.code === "TOO_LARGE") return new RepoTooLargeError(repoURL, error.message);
      const detail =
        error.code === "ECONNREFUSED"
          ? "connection refused"
          : error.code === "ENOTFOUND" || error.code === "EAI_AGAIN"
            ? "host not found"
            : error.message;
      return new RepoUnreachableError(repoURL, `${detail} (${error.code})`, { cause: error });
    }
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : String(error);
    if (code === "HttpError") {
      const status = (error as { data?: { statusCode?: number; statusMessage?: string } }).data;
      const statusCode = status?.statusCode ?? 0;
      const { had } = await this.auth(repoURL).catch(() => ({ had: false }));
      if (statusCode === 401 || statusCode === 403)
        return new RepoAuthError(repoURL, statusCode, had, { cause: error });
      if (statusCode === 404) {
        return new NotAGitRepositoryError(
          repoURL,
          had
            ? "HTTP 404 (check the URL)"
            : "HTTP 404 (check the URL; private repositories on some hosts answer 404 without credentials)",
          { cause: error },
        );
      }
      if (statusCode >= 500) {
        return new RepoUnreachableError(repoURL, `HTTP ${statusCode} ${status?.statusMessage ?? ""}`.trim(), {
          cause: error,
        });
      }
      return new GitSourceError(`${redactURL(repoURL)}: ${message}`, repoURL, "Internal", { cause: error });
    }
    if (code === "UserCanceledError") return new RepoAuthError(repoURL, 401, true, { cause: error });
    if (code === "SmartHttpError" || code === "ParseError" || code === "EmptyServerResponseError") {
      return new NotAGitRepositoryError(repoURL, "the server did not answer like a Git smart-HTTP server", {
        cause: error,
      });
    }
    if (code === "UrlParseError" || code === "UnknownTransportError") {
      return new UnsupportedRepoURLError(repoURL, message);
    }
    return new GitSourceError(`${redactURL(repoURL)}: ${message}`, repoURL, "Internal", { cause: error });
  }

  /** Registers checkouts left by a previous process and removes half-written ones. */
  private scanTrees(st: RepoState): Promise<void> {
    if (!st.treesScanned) {
      st.treesScanned = (async () => {
        const dir = join(st.dir, "trees");
        await mkdir(dir, { recursive: true });
        for (const name of await readdir(dir)) {
          if (name.startsWith(".tmp-")) {
            await rm(join(dir, name), { recursive: true, force: true });
          } else if (FULL_SHA.test(name)) {
            const info = await stat(join(dir, name)).catch(() => undefined);
            if (info) st.trees.set(name, info.mtimeMs);
          }
        }
      })();
      st.treesScanned.catch(() => {
        st.treesScanned = undefined;
      });
    }
    return st.treesScanned;
  }

  /** Removes the least recently used checkouts beyond the cap, sparing recently used ones. */
  private async evictTrees(st: RepoState, keep: string): Promise<void> {
    const excess = st.trees.size - this.options.maxTreesPerRepo;
    if (excess <= 0) return;
    const cutoff = this.now() - this.options.treeGraceMs;
    const victims = [...st.trees]
      .filter(([sha, used]) => sha !== keep && used < cutoff && !st.treesInFlight.has(sha))
      .sort((a, b) => a[1] - b[1])
      .slice(0, excess);
    for (const [sha] of victims) {
      st.trees.delete(sha);
      await rm(join(st.dir, "trees", sha), { recursive: true, force: true });
    }
  }
}

function transportOf(repoURL: string, allowFile: boolean): "http" | "file" {
  const url = repoURL.trim();
  if (/^[\w.-]+@[\w.-]+:/.test(url) || /^(ssh|git\+ssh|ssh\+git):\/\//i.test(url)) {
    throw new UnsupportedRepoURLError(
      repoURL,
      "SSH is not supported; use an https:// URL with a token or password",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsupportedRepoURLError(repoURL, "not a URL (expected https://…, http://… or file://…)");
  }
  if (parsed.protocol === "http:" || parsed.protocol === "https:") return "http";
  if (parsed.protocol === "file:") {
    if (!allowFile)
      throw new UnsupportedRepoURLError(repoURL, "file:// repositories are disabled on this controller");
    return "file";
  }
  throw new UnsupportedRepoURLError(repoURL, `the ${parsed.protocol}// transport is not supported`);
}

/** The gitdir of a local repository: `<path>/.git` for a work tree, `<path>` for a bare repo. */
async function localGitdir(repoURL: string): Promise<string> {
  let path: string;
  try {
    path = fileURLToPath(repoURL.trim());
  } catch (error) {
    throw new UnsupportedRepoURLError(repoURL, (error as Error).message);
  }
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new NotAGitRepositoryError(repoURL, `${path} does not exist`);
  const dotGit = join(path, ".git");
  if ((await stat(dotGit).catch(() => undefined))?.isDirectory()) return dotGit;
  if (
    (await exists(join(path, "HEAD"))) &&
    (await stat(join(path, "objects")).catch(() => undefined))?.isDirectory()
  ) {
    return path;
  }
  throw new NotAGitRepositoryError(repoURL, `${path} holds neither a .git directory nor a bare repository`);
}

/** Finds the ref a revision names, the way Argo CD does: exact ref, then branch, then tag. */
function matchRef(refs: RemoteRefs, revision: string): { ref: string; sha: string } | undefined {
  const candidates =
    revision === "HEAD" ? ["HEAD"] : [revision, `refs/heads/${revision}`, `refs/tags/${revision}`];
  for (const ref of candidates) {
    if (ref !== "HEAD" && !ref.startsWith("refs/")) continue;
    const sha = refs.refs.get(ref);
    if (sha) return { ref, sha };
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function hasCommit(gitdir: string, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs, gitdir, oid });
    return true;
  } catch (error) {
    if (isNotFound(error) || errorCode(error) === "ObjectTypeError") return false;
    throw error;
  }
}

/** Follows annotated tags to the commit they name. */
async function peel(gitdir: string, oid: string, cache: object): Promise<string> {
  let current = oid;
  for (let i = 0; i < 10; i++) {
    const object = await git.readObject({ fs, gitdir, oid: current, cache });
    if (object.type !== "tag") return current;
    current = (object.object as { object: string }).object;
  }
  return current;
}

async function expandCommit(gitdir: string, short: string): Promise<string | undefined> {
  try {
    const oid = await git.expandOid({ fs, gitdir, oid: short });
    return (await hasCommit(gitdir, oid)) ? oid : undefined;
  } catch {
    return undefined;
  }
}
