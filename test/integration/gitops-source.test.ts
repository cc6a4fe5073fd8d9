/**
 * RepoCache against a real Git server (`git http-backend` behind test/helpers/git-server.ts) and
 * a real local repository for file://. Counts both the cache's own counters and the requests the
 * server saw, so "no fetch when nothing moved" is checked from both sides.
 */

import { lstat, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NotAGitRepositoryError,
  RepoAuthError,
  RepoCache,
  RepoUnreachableError,
  RevisionNotFoundError,
  UnsupportedRepoURLError,
} from "../../controller/gitops/source/index.js";
import { type GitServer, startGitServer, type TestRepo } from "../helpers/git-server.js";

const INTERVAL = 180_000;
const dirs: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A RepoCache with a fake clock the test moves by hand. */
async function newCache(options: Partial<ConstructorParameters<typeof RepoCache>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const cache = new RepoCache({
    dir: await tempDir("slipway-cache-"),
    refCheckIntervalMs: INTERVAL,
    now: () => clock.now,
    ...options,
  });
  return { cache, clock };
}

function cm(name: string, value = "1"): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${value}"\n`;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("RepoCache over smart HTTP", () => {
  let server: GitServer;
  let repo: TestRepo;
  let first: string;
  let second: string;

  beforeAll(async () => {
    server = await startGitServer();
    repo = await server.createRepo("apps");
    first = await repo.commit({ "app/cm.yaml": cm("one"), "README.md": "hello\n" }, "first");
    await repo.tag("v1");
    await repo.tag("v1-annotated", { annotated: true, message: "release 1" });
    second = await repo.commit(
      { "app/cm.yaml": cm("one", "2"), "app/link.yaml": { symlink: "cm.yaml" } },
      "second",
    );
    await repo.branch("feature", first);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("resolves a branch, tags, HEAD and full and short SHAs to commits", async () => {
    const { cache } = await newCache();
    expect((await cache.resolve(repo.url, "main")).sha).toBe(second);
    expect((await cache.resolve(repo.url, "main")).ref).toBe("refs/heads/main");
    expect((await cache.resolve(repo.url, "HEAD")).sha).toBe(second);
    expect((await cache.resolve(repo.url, "")).sha).toBe(second);
    expect((await cache.resolve(repo.url, "feature")).sha).toBe(first);
    expect((await cache.resolve(repo.url, "v1")).sha).toBe(first);
    const annotated = await cache.resolve(repo.url, "v1-annotated");
    expect(annotated).toMatchObject({ sha: first, ref: "refs/tags/v1-annotated" });
    expect((await cache.resolve(repo.url, "refs/heads/feature")).sha).toBe(first);
    expect((await cache.resolve(repo.url, second)).sha).toBe(second);
    expect((await cache.resolve(repo.url, first.toUpperCase())).sha).toBe(first);
    // One ref check served all of the above.
    expect(cache.lsRemoteCount).toBe(1);
  });

  it("fetches a lightweight or annotated tag that is the first thing asked for", async () => {
    for (const tag of ["v1", "v1-annotated", "refs/tags/v1-annotated"]) {
      const { cache } = await newCache();
      const { sha, dir } = await cache.checkoutRevision(repo.url, tag);
      expect(sha).toBe(first);
      expect(cache.fetchCount).toBe(1);
      expect(await readFile(join(dir, "app/cm.yaml"), "utf8")).toBe(cm("one"));
    }
  });

  it("resolves a commit that is no branch or tag tip, by full or abbreviated SHA", async () => {
    const extra = await repo.commit({ "app/other.yaml": cm("other") }, "third", { branch: "history" });
    await repo.commit({ "app/other.yaml": cm("other", "2") }, "fourth", { branch: "history" });
    const { cache } = await newCache();
    // Prime a shallow clone first, so the deep fetch below must really unshallow.
    await cache.resolve(repo.url, "history");
    expect((await cache.resolve(repo.url, extra)).sha).toBe(extra);
    const { cache: fresh } = await newCache();
    expect((await fresh.resolve(repo.url, extra.slice(0, 10))).sha).toBe(extra);
    const dir = await fresh.checkout(repo.url, extra);
    expect(await readFile(join(dir, "app/other.yaml"), "utf8")).toBe(cm("other"));
  });

  it("checks out a read-only tree per SHA, symlinks kept as links", async () => {
    const { cache } = await newCache();
    const { sha, dir } = await cache.checkoutRevision(repo.url, "main");
    expect(sha).toBe(second);
    expect(dir.endsWith(second)).toBe(true);
    expect(await readFile(join(dir, "app/cm.yaml"), "utf8")).toBe(cm("one", "2"));
    expect((await lstat(join(dir, "app/link.yaml"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "app/link.yaml"))).toBe("cm.yaml");
    expect((await lstat(join(dir, "app/cm.yaml"))).mode & 0o222).toBe(0);
    const old = await cache.checkout(repo.url, first);
    expect(old).not.toBe(dir);
    expect(await readFile(join(old, "app/cm.yaml"), "utf8")).toBe(cm("one"));
    // The same SHA again is the same directory, not a second checkout.
    expect(await cache.checkout(repo.url, second)).toBe(dir);
    expect(cache.stats().checkoutCount).toBe(2);
  });

  it("shares one ref check and one fetch among 10 concurrent callers of the same revision", async () => {
    const { cache } = await newCache();
    server.resetCounters();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => cache.checkoutRevision(repo.url, "main")),
    );
    expect(new Set(results.map((r) => r.sha))).toEqual(new Set([second]));
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(cache.lsRemoteCount).toBe(1);
    expect(cache.fetchCount).toBe(1);
    expect(cache.stats().checkoutCount).toBe(1);
    expect(server.count("git-upload-pack")).toBe(1);
  });

  it("reuses the ref check within the interval and does not fetch when nothing moved", async () => {
    const { cache, clock } = await newCache();
    await cache.resolve(repo.url, "main");
    expect(cache.fetchCount).toBe(1);
    server.resetCounters();
    await cache.resolve(repo.url, "main");
    expect(server.requests).toBe(0);
    clock.now += INTERVAL + 1;
    expect((await cache.resolve(repo.url, "main")).sha).toBe(second);
    expect(cache.lsRemoteCount).toBe(2);
    expect(cache.fetchCount).toBe(1);
    expect(server.count("info/refs")).toBe(1);
    expect(server.count("git-upload-pack")).toBe(0);
  });

  it("sees a new commit after the interval (or an invalidate) and fetches it once", async () => {
    const own = await server.createRepo("moving");
    const c1 = await own.commit({ "cm.yaml": cm("a") });
    const { cache, clock } = await newCache();
    expect((await cache.resolve(own.url, "main")).sha).toBe(c1);
    const c2 = await own.commit({ "cm.yaml": cm("a", "2"), "new.yaml": cm("b") });
    // Within the interval the cached ref check stands: no request, old commit.
    expect((await cache.resolve(own.url, "main")).sha).toBe(c1);
    clock.now += INTERVAL + 1;
    const { sha, dir } = await cache.checkoutRevision(own.url, "main");
    expect(sha).toBe(c2);
    expect(cache.fetchCount).toBe(2);
    expect(await readFile(join(dir, "new.yaml"), "utf8")).toBe(cm("b"));
    // A webhook-driven invalidate makes the next resolve look at once.
    const c3 = await own.commit({ "cm.yaml": cm("a", "3") });
    cache.invalidate(own.url);
    expect((await cache.resolve(own.url, "main")).sha).toBe(c3);
    expect(cache.fetchCount).toBe(3);
    // `refresh` (a hard refresh) also bypasses the interval.
    const c4 = await own.commit({ "cm.yaml": cm("a", "4") });
    expect((await cache.resolve(own.url, "main", { refresh: true })).sha).toBe(c4);
  });

  it("makes no request at all for a full SHA it already has", async () => {
    const { cache } = await newCache();
    await cache.resolve(repo.url, "main");
    server.resetCounters();
    expect((await cache.resolve(repo.url, second)).sha).toBe(second);
    expect(server.requests).toBe(0);
  });

  it("removes the least recently used checkouts beyond the cap, once out of their grace period", async () => {
    const { cache, clock } = await newCache({ maxTreesPerRepo: 1, treeGraceMs: 1000 });
    const a = await cache.checkout(repo.url, first);
    clock.now += 2000;
    const b = await cache.checkout(repo.url, second);
    await expect(lstat(a)).rejects.toThrow(/ENOENT/);
    expect((await lstat(b)).isDirectory()).toBe(true);
    // Within the grace period nothing is removed, even over the cap.
    const again = await cache.checkout(repo.url, first);
    expect((await lstat(b)).isDirectory()).toBe(true);
    expect((await lstat(again)).isDirectory()).toBe(true);
  });

  it("keeps its on-disk cache across instances (a controller restart fetches nothing new)", async () => {
    const dir = await tempDir("slipway-cache-");
    const a = new RepoCache({ dir });
    const checkout = await a.checkoutRevision(repo.url, "main");
    const b = new RepoCache({ dir });
    expect((await b.resolve(repo.url, "main")).sha).toBe(checkout.sha);
    expect(b.fetchCount).toBe(0);
    expect(await b.checkout(repo.url, checkout.sha)).toBe(checkout.dir);
    expect(b.stats().checkoutCount).toBe(0);
  });

  it("names the revision and the repo when a revision does not exist", async () => {
    const { cache } = await newCache();
    const error = await cache.resolve(repo.url, "feature-x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevisionNotFoundError);
    expect((error as Error).message).toBe(`revision "feature-x" not found in ${repo.url}`);
    await expect(cache.resolve(repo.url, "0123456789abcdef0123456789abcdef01234567")).rejects.toThrow(
      RevisionNotFoundError,
    );
    await expect(cache.resolve(repo.url, "deadbeef")).rejects.toThrow(/revision "deadbeef" not found/);
  });

  it("reports a 404 as not a Git repository", async () => {
    const { cache } = await newCache();
    const error = await cache.resolve(`${server.url}/missing.git`, "main").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotAGitRepositoryError);
    expect((error as Error).message).toMatch(/missing\.git is not a Git repository: HTTP 404/);
  });

  it("reports a closed port as unreachable, and reuses that answer briefly", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/apps.git`;
    const { cache, clock } = await newCache();
    const error = await cache.resolve(url, "main").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RepoUnreachableError);
    expect((error as Error).message).toBe(`cannot reach ${url}: connection refused (ECONNREFUSED)`);
    await expect(cache.resolve(url, "main")).rejects.toThrow(RepoUnreachableError);
    expect(cache.lsRemoteCount).toBe(1);
    clock.now += 10_000;
    await expect(cache.resolve(url, "main")).rejects.toThrow(RepoUnreachableError);
    expect(cache.lsRemoteCount).toBe(2);
  });

  it("refuses SSH and unknown transports with a clear message", async () => {
    const { cache } = await newCache();
    await expect(cache.resolve("git@github.com:org/repo.git", "main")).rejects.toThrow(
      UnsupportedRepoURLError,
    );
    await expect(cache.resolve("ssh://git@host/repo.git", "main")).rejects.toThrow(/SSH is not supported/);
    await expect(cache.resolve("ftp://host/repo.git", "main")).rejects.toThrow(/ftp:\/\/ transport/);
  });
});

describe("RepoCache with basic auth", () => {
  let server: GitServer;
  let repo: TestRepo;
  let sha: string;

  beforeAll(async () => {
    server = await startGitServer({ auth: { username: "deploy", password: "s3cret" } });
    repo = await server.createRepo("private");
    sha = await repo.commit({ "cm.yaml": cm("private") });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("fetches with username/password from credentialsFor, sent without a 401 round trip", async () => {
    const seen: string[] = [];
    const { cache } = await newCache({
      credentialsFor: (url) => {
        seen.push(url);
        return { username: "deploy", password: "s3cret" };
      },
    });
    server.resetCounters();
    const { dir } = await cache.checkoutRevision(repo.url, "main");
    expect(await readFile(join(dir, "cm.yaml"), "utf8")).toBe(cm("private"));
    expect(seen).toContain(repo.url);
    expect(server.log.filter((r) => r.status === 401)).toEqual([]);
  });

  it("accepts a token with a username", async () => {
    const { cache } = await newCache({ credentialsFor: () => ({ token: "s3cret", username: "deploy" }) });
    expect((await cache.resolve(repo.url, "main")).sha).toBe(sha);
  });

  it("says credentials are missing when there are none", async () => {
    const { cache } = await newCache();
    const error = await cache.resolve(repo.url, "main").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RepoAuthError);
    expect((error as RepoAuthError).statusCode).toBe(401);
    expect((error as Error).message).toBe(
      `authentication failed for ${repo.url} (HTTP 401): the host requires credentials; ` +
        "add a Secret labelled slipway.dev/secret-type=repository for this URL",
    );
  });

  it("says the configured credentials were rejected, and never echoes them", async () => {
    const { cache } = await newCache({ credentialsFor: () => ({ username: "deploy", password: "wrong" }) });
    const error = await cache.resolve(repo.url, "main").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RepoAuthError);
    expect((error as Error).message).toMatch(
      /authentication failed for .*private\.git \(HTTP 401\): the credentials/,
    );
    expect((error as Error).message).not.toContain("wrong");
    const inURL = repo.url.replace("http://", "http://deploy:wrong@");
    const viaURL = await cache.resolve(inURL, "main").catch((e: unknown) => e);
    expect((viaURL as Error).message).not.toContain("wrong");
  });
});

describe("RepoCache with file:// repositories", () => {
  let server: GitServer;
  let repo: TestRepo;

  beforeAll(async () => {
    server = await startGitServer();
    repo = await server.createRepo("local");
  });
  afterAll(async () => {
    await server?.close();
  });

  it("reads a local bare repository in place: branch, tag, SHA, HEAD, checkout", async () => {
    const c1 = await repo.commit({ "app/cm.yaml": cm("local") });
    await repo.tag("v1", { annotated: true });
    const { cache, clock } = await newCache();
    expect((await cache.resolve(repo.fileURL, "main")).sha).toBe(c1);
    expect((await cache.resolve(repo.fileURL, "HEAD")).sha).toBe(c1);
    expect((await cache.resolve(repo.fileURL, "v1")).sha).toBe(c1);
    expect((await cache.resolve(repo.fileURL, c1)).sha).toBe(c1);
    expect((await cache.resolve(repo.fileURL, c1.slice(0, 8))).sha).toBe(c1);
    const { dir } = await cache.checkoutRevision(repo.fileURL, "main");
    expect(await readFile(join(dir, "app/cm.yaml"), "utf8")).toBe(cm("local"));
    const c2 = await repo.commit({ "app/cm.yaml": cm("local", "2") });
    clock.now += INTERVAL + 1;
    expect((await cache.resolve(repo.fileURL, "main")).sha).toBe(c2);
    expect(cache.fetchCount).toBe(0);
    await expect(cache.resolve(repo.fileURL, "nope")).rejects.toThrow(RevisionNotFoundError);
  });

  it("reads a work tree's .git too, and refuses a directory that is no repository", async () => {
    const { cache } = await newCache();
    const workURL = new URL(`file://${repo.workDir}`).href;
    expect((await cache.resolve(workURL, "main")).sha).toBe(await repo.revParse("main"));
    const empty = await tempDir("slipway-notrepo-");
    await expect(cache.resolve(`file://${empty}`, "main")).rejects.toThrow(NotAGitRepositoryError);
    await expect(cache.resolve("file:///does/not/exist", "main")).rejects.toThrow(/does not exist/);
  });

  it("can be switched off", async () => {
    const { cache } = await newCache({ allowFileURLs: false });
    await expect(cache.resolve(repo.fileURL, "main")).rejects.toThrow(/file:\/\/ repositories are disabled/);
  });
});

/** A port with nothing listening: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
