/**
 * A real Git server for tests: a small Node HTTP server that runs `git http-backend` as a CGI
 * program, so clients speak the genuine smart-HTTP protocol (ref advertisement, upload-pack
 * negotiation, shallow fetches, protocol v2) instead of a mock that could drift from what real
 * hosts do. Repositories are bare repos under a temp `GIT_PROJECT_ROOT`; content is committed
 * through a work clone with the `git` CLI, using a fixed author and a monotonically increasing
 * fixed date so commit SHAs are reproducible within a test.
 *
 * Usage (any test that needs Git, including the GitOps e2e tests):
 *
 * ```ts
 * const server = await startGitServer({ auth: { username: "ci", password: "s3cret" } });
 * const repo = await server.createRepo("apps");
 * const sha = await repo.commit({ "guestbook/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n..." });
 * await repo.tag("v1");
 * // repo.url → http://127.0.0.1:PORT/apps.git   repo.fileURL → file:///tmp/.../apps.git
 * server.requests; // HTTP requests served so far (assert "no fetch happened")
 * await server.close();
 * ```
 *
 * Requires the `git` CLI (which ships `git http-backend` in `git --exec-path`). The server runs
 * in the test's own process, so talk to it only asynchronously: an `execFileSync("git", …)`
 * against it blocks the event loop that would answer, and hangs.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface GitServerOptions {
  /** When set, every request must carry these HTTP basic credentials (else 401). */
  auth?: { username: string; password: string };
  /** Directory holding the bare repositories; a fresh temp dir by default (removed on close). */
  root?: string;
}

/** One served HTTP request, for assertions such as "the second resolve made no fetch". */
export interface GitRequestRecord {
  method: string;
  /** Path and query, e.g. `/apps.git/info/refs?service=git-upload-pack`. */
  url: string;
  status: number;
  /** `git-upload-pack` for a fetch (pack negotiation), `info/refs` for a ref advertisement. */
  kind: "info/refs" | "git-upload-pack" | "other";
}

/**
 * A file to commit: text content, `null` to delete the path, or `{ symlink: target }` for a
 * symbolic link (used to test that renders refuse links leaving the checkout).
 */
export type FileSpec = string | null | { symlink: string };

/** Fixed identity so commits are reproducible; the date advances one second per commit. */
const AUTHOR = { name: "Slipway Test", email: "test@slipway.invalid" };
const BASE_EPOCH = 1_700_000_000;

let dateCounter = 0;

/** Runs `git` with a scrubbed, deterministic environment (no user config, fixed identity). */
async function git(args: string[], cwd?: string): Promise<string> {
  dateCounter += 1;
  const date = `${BASE_EPOCH + dateCounter} +0000`;
  const { stdout } = await execFileAsync("git", args, {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: AUTHOR.name,
      GIT_AUTHOR_EMAIL: AUTHOR.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: AUTHOR.name,
      GIT_COMMITTER_EMAIL: AUTHOR.email,
      GIT_COMMITTER_DATE: date,
      LANG: "C",
    },
  });
  return stdout.trim();
}

/** A bare repository served by a {@link GitServer}, with a private work clone for committing. */
export class TestRepo {
  readonly fileURL: string;

  constructor(
    readonly name: string,
    /** The bare repository that `git http-backend` serves. */
    readonly bareDir: string,
    /** A work clone used to create commits; tests should not rely on its state. */
    readonly workDir: string,
    /** `http://127.0.0.1:PORT/<name>.git` */
    readonly url: string,
    readonly defaultBranch: string,
  ) {
    this.fileURL = pathToFileURL(bareDir).href;
  }

  /**
   * Writes `files` (paths relative to the repo root) on `branch` (default: the default branch,
   * created from the current default branch when new), commits, pushes, and returns the SHA.
   */
  async commit(
    files: Record<string, FileSpec>,
    message = "update",
    options: { branch?: string } = {},
  ): Promise<string> {
    const branch = options.branch ?? this.defaultBranch;
    const exists = await git(["ls-remote", "--heads", "origin", branch], this.workDir);
    if (exists) {
      await git(["fetch", "-q", "origin", branch], this.workDir);
      await git(["checkout", "-q", "-B", branch, `origin/${branch}`], this.workDir);
    } else {
      const hasHead = await git(["rev-parse", "--verify", "-q", "HEAD"], this.workDir).catch(() => "");
      if (hasHead) await git(["checkout", "-q", "-B", branch], this.workDir);
      else await git(["checkout", "-q", "--orphan", branch], this.workDir);
    }
    for (const [path, spec] of Object.entries(files)) {
      const full = join(this.workDir, path);
      if (spec === null) {
        await git(["rm", "-q", "-r", "--ignore-unmatch", "--", path], this.workDir);
        continue;
      }
      await mkdir(dirname(full), { recursive: true });
      await rm(full, { force: true, recursive: true });
      if (typeof spec === "string") await writeFile(full, spec);
      else await symlink(spec.symlink, full);
    }
    await git(["add", "-A"], this.workDir);
    await git(["commit", "-q", "--allow-empty", "-m", message], this.workDir);
    await git(["push", "-q", "origin", `HEAD:refs/heads/${branch}`], this.workDir);
    return git(["rev-parse", "HEAD"], this.workDir);
  }

  /** Creates (or with `force`, moves) a tag at `ref` (default: the default branch tip). */
  async tag(
    name: string,
    options: { ref?: string; annotated?: boolean; message?: string; force?: boolean } = {},
  ): Promise<string> {
    const target = await this.revParse(options.ref ?? this.defaultBranch);
    const args = ["tag"];
    if (options.force) args.push("-f");
    if (options.annotated) args.push("-a", "-m", options.message ?? name);
    args.push(name, target);
    await git(["--git-dir", this.bareDir, ...args]);
    return target;
  }

  /** Creates (or moves) a branch at `ref` (default: the default branch tip). */
  async branch(name: string, ref?: string): Promise<string> {
    const target = await this.revParse(ref ?? this.defaultBranch);
    await git(["--git-dir", this.bareDir, "update-ref", `refs/heads/${name}`, target]);
    return target;
  }

  /** Points the served `HEAD` at another branch (what "change default branch" does on a host). */
  async setHead(branch: string): Promise<void> {
    await git(["--git-dir", this.bareDir, "symbolic-ref", "HEAD", `refs/heads/${branch}`]);
  }

  /** The commit a ref (branch, tag, `HEAD`, abbreviated SHA) points at in the served repo. */
  revParse(ref: string): Promise<string> {
    return git(["--git-dir", this.bareDir, "rev-parse", "--verify", `${ref}^{commit}`]);
  }
}

export class GitServer {
  /** Total HTTP requests served (every request, including 401 challenges). */
  requests = 0;
  readonly log: GitRequestRecord[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly workDirs: string[] = [];

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:PORT` */
    readonly url: string,
    /** GIT_PROJECT_ROOT: the directory holding the bare repositories. */
    readonly root: string,
    private readonly ownsRoot: boolean,
    private readonly backend: string,
    private readonly auth: GitServerOptions["auth"],
  ) {}

  static async start(options: GitServerOptions = {}): Promise<GitServer> {
    const root = options.root ?? (await mkdtemp(join(tmpdir(), "slipway-git-")));
    const execPath = await git(["--exec-path"]);
    let instance: GitServer | undefined;
    const server = createServer((req, res) => {
      instance?.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    instance = new GitServer(
      server,
      `http://127.0.0.1:${port}`,
      root,
      options.root === undefined,
      join(execPath, "git-http-backend"),
      options.auth,
    );
    return instance;
  }

  /** HTTP requests served since the last reset, by kind. */
  count(kind?: GitRequestRecord["kind"]): number {
    return kind ? this.log.filter((r) => r.kind === kind).length : this.log.length;
  }

  resetCounters(): void {
    this.requests = 0;
    this.log.length = 0;
  }

  /** The HTTP URL of a repo served here (it need not exist yet). */
  repoURL(name: string): string {
    return `${this.url}/${name}.git`;
  }

  /** Creates a bare repository `<name>.git` whose HEAD is `defaultBranch` (default `main`). */
  async createRepo(name: string, options: { defaultBranch?: string } = {}): Promise<TestRepo> {
    const defaultBranch = options.defaultBranch ?? "main";
    const bareDir = join(this.root, `${name}.git`);
    await git(["init", "-q", "--bare", `--initial-branch=${defaultBranch}`, bareDir]);
    const workDir = await mkdtemp(join(tmpdir(), `slipway-work-${name.replace(/\W/g, "_")}-`));
    this.workDirs.push(workDir);
    await git(["clone", "-q", bareDir, workDir]);
    return new TestRepo(name, bareDir, workDir, this.repoURL(name), defaultBranch);
  }

  /** Stops listening, kills in-flight CGI children, and removes the temp root it created. */
  async close(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const dir of this.workDirs) await rm(dir, { recursive: true, force: true });
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    const rawUrl = req.url ?? "/";
    const record: GitRequestRecord = {
      method: req.method ?? "GET",
      url: rawUrl,
      status: 0,
      kind: rawUrl.includes("/info/refs")
        ? "info/refs"
        : rawUrl.endsWith("/git-upload-pack")
          ? "git-upload-pack"
          : "other",
    };
    this.log.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });

    const remoteUser = this.authenticate(req);
    if (remoteUser === false) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="slipway-test"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      req.resume();
      return;
    }

    const queryAt = rawUrl.indexOf("?");
    const pathInfo = decodeURIComponent(queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: pathInfo,
      QUERY_STRING: queryAt === -1 ? "" : rawUrl.slice(queryAt + 1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      REMOTE_USER: remoteUser ?? "",
    };
    if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
    // Protocol v2 is negotiated with the Git-Protocol header, which http-backend reads as GIT_PROTOCOL.
    const gitProtocol = req.headers["git-protocol"];
    if (typeof gitProtocol === "string") env.GIT_PROTOCOL = gitProtocol;
    // CGI convention: every request header as HTTP_<NAME> (http-backend reads HTTP_CONTENT_ENCODING).
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      env[`HTTP_${name.toUpperCase().replace(/-/g, "_")}`] = Array.isArray(value) ? value.join(", ") : value;
    }

    const child = spawn(this.backend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.children.add(child);
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", (error) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(`git http-backend failed to start: ${error.message}\n`);
    });
    child.on("close", () => {
      this.children.delete(child);
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`git http-backend produced no response: ${stderr}\n`);
      } else if (!res.writableEnded) {
        res.end();
      }
    });
    req.pipe(child.stdin);
    child.stdin.on("error", () => {
      // The backend may exit before reading the whole body (e.g. on an error); nothing to do.
    });
    res.on("close", () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });

    // Parse the CGI response: header lines up to a blank line, `Status:` gives the HTTP status,
    // then stream the remaining bytes through as the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf("\r\n\r\n");
      const lf = head.indexOf("\n\n");
      let end = -1;
      let sepLength = 0;
      if (crlf !== -1 && (lf === -1 || crlf < lf)) {
        end = crlf;
        sepLength = 4;
      } else if (lf !== -1) {
        end = lf;
        sepLength = 2;
      }
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      let statusText: string | undefined;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") {
          status = Number.parseInt(value, 10);
          statusText = value.replace(/^\d+\s*/, "") || undefined;
        } else {
          headers[name] = value;
        }
      }
      if (statusText) res.writeHead(status, statusText, headers);
      else res.writeHead(status, headers);
      const rest = head.subarray(end + sepLength);
      if (rest.length > 0) res.write(rest);
    });
  }

  /** The authenticated user, `undefined` when auth is off, or `false` when the request must be refused. */
  private authenticate(req: IncomingMessage): string | undefined | false {
    if (!this.auth) return undefined;
    const header = req.headers.authorization ?? "";
    const match = /^Basic\s+(.+)$/i.exec(header);
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    return user === this.auth.username && password === this.auth.password ? user : false;
  }
}

/** Starts a Git smart-HTTP server on 127.0.0.1 with a random free port. */
export function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  return GitServer.start(options);
}
