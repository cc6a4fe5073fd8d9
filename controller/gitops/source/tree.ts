/**
 * Writes the tree of one commit to a directory, straight from the object store.
 *
 * Why not `git checkout`: isomorphic-git's checkout keeps one index per gitdir, so two apps
 * checking out different SHAs of the same repo at once would trample each other. Reading trees
 * and blobs by id has no shared mutable state, so any number of per-SHA trees can be written
 * concurrently, and the result is an immutable snapshot render tools can read without locks.
 *
 * Tree entry names come from the remote and are untrusted: a hostile server can send a tree with
 * an entry named `..`, `a/b` or `.git`, which would write outside the target or plant a nested
 * repository. Such names are refused here, before anything touches the disk.
 */
import * as fs from "node:fs";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";

export interface MaterializeLimits {
  maxBytes: number;
  maxFiles: number;
}

export interface MaterializeResult {
  files: number;
  bytes: number;
  /** Submodules (gitlinks) are not fetched; their paths are listed so callers can warn. */
  submodules: string[];
}

export class TreeEntryError extends Error {
  override name = "TreeEntryError";
}

export class TreeLimitError extends Error {
  override name = "TreeLimitError";
}

/** True for names a checkout may create; git itself refuses the others in `fsck`. */
export function isSafeEntryName(name: string): boolean {
  if (name === "" || name === "." || name === "..") return false;
  if (name.includes("/") || name.includes("\\") || name.includes("\0")) return false;
  if (name.toLowerCase() === ".git") return false;
  return true;
}

/** How many blob reads/writes run at once: enough to hide latency, few enough to bound memory. */
const PARALLEL = 16;

/**
 * Writes the tree of `commitOid` (as found in `gitdir`) into `target`, which must not exist.
 * Files are made read-only so a render tool that tries to write into the shared snapshot fails
 * loudly instead of corrupting what other apps render from.
 */
export async function materializeTree(
  gitdir: string,
  commitOid: string,
  target: string,
  limits: MaterializeLimits,
): Promise<MaterializeResult> {
  const cache = {};
  const result: MaterializeResult = { files: 0, bytes: 0, submodules: [] };
  await mkdir(target, { recursive: false });

  type Job = { oid: string; path: string; mode: string };
  const blobs: Job[] = [];

  // Walk the trees first (small objects), so the file count limit trips before any blob is read.
  async function walk(treeOid: string, dir: string, rel: string): Promise<void> {
    const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache });
    for (const entry of tree) {
      if (!isSafeEntryName(entry.path)) {
        throw new TreeEntryError(`tree entry ${JSON.stringify(`${rel}${entry.path}`)} has an unsafe name`);
      }
      const path = join(dir, entry.path);
      if (entry.mode === "040000" || entry.type === "tree") {
        await mkdir(path);
        await walk(entry.oid, path, `${rel}${entry.path}/`);
      } else if (entry.mode === "160000" || entry.type === "commit") {
        await mkdir(path);
        result.submodules.push(`${rel}${entry.path}`);
      } else {
        result.files += 1;
        if (result.files > limits.maxFiles) {
          throw new TreeLimitError(`more than ${limits.maxFiles} files`);
        }
        blobs.push({ oid: entry.oid, path, mode: entry.mode });
      }
    }
  }
  const { commit } = await git.readCommit({ fs, gitdir, oid: commitOid, cache });
  await walk(commit.tree, target, "");

  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < blobs.length) {
      const job = blobs[next++]!;
      const { blob } = await git.readBlob({ fs, gitdir, oid: job.oid, cache });
      result.bytes += blob.byteLength;
      if (result.bytes > limits.maxBytes) {
        throw new TreeLimitError(`more than ${limits.maxBytes} bytes of files`);
      }
      if (job.mode === "120000") {
        // Written as a real symlink so render's realpath check sees exactly what a tool would follow.
        await symlink(Buffer.from(blob).toString("utf8"), job.path);
      } else {
        await writeFile(job.path, blob);
        await chmod(job.path, job.mode === "100755" ? 0o555 : 0o444);
      }
    }
  }
  // Settle every worker before reporting a failure, so the caller's cleanup of `target` never
  // races a worker still writing into it.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(PARALLEL, blobs.length) }, () =>
      worker().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (rejected) throw rejected.reason;
  return result;
}
