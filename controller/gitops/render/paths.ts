/**
 * Path safety. A repository is untrusted input: `source.path`, value files, Kustomize resources,
 * Jsonnet imports and symlinks committed to the repo could all point a render tool at files
 * outside the checkout (controller secrets, other tenants' checkouts in the same cache). Every
 * path a render reads is resolved here, lexically first (`..`, absolute) and then with realpath
 * (symlinks), and must stay inside the real path of the checkout root.
 */
import { lstat, readdir, readlink, realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { PathEscapeError, RenderError } from "./errors.js";

/** True when `child` is `parent` or below it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** Repo-relative, `/`-separated form of an absolute path inside the root (`.` for the root). */
export function repoRelative(root: string, abs: string): string {
  const rel = relative(root, abs);
  return rel === "" ? "." : rel.split(sep).join("/");
}

export interface AppLocation {
  /** Real path of the checkout root. */
  root: string;
  /** Real path of the app directory (`source.path`). */
  appDir: string;
  /** `source.path` as given, normalised (`.` for the root). */
  appPath: string;
}

/**
 * Validates `source.path` and returns the real app directory. Refuses absolute paths and any
 * `..` segment outright (even ones that would land inside the repo: there is no legitimate need,
 * and refusing is simpler to reason about than allowing), then checks the realpath too, since a
 * directory symlink inside the repo could still lead out.
 */
export async function resolveAppDir(
  checkoutDir: string,
  sourcePath: string | undefined,
): Promise<AppLocation> {
  const root = await realpath(checkoutDir).catch((error: unknown) => {
    throw new RenderError(`checkout directory ${checkoutDir} does not exist`, {
      reason: "InvalidPath",
      cause: error,
    });
  });
  const raw = (sourcePath ?? "").trim();
  if (raw.includes("\0")) throw new PathEscapeError(`source.path ${JSON.stringify(raw)} contains a NUL byte`);
  if (isAbsolute(raw) || /^[a-zA-Z]:[\\/]/.test(raw) || raw.startsWith("\\")) {
    throw new PathEscapeError(
      `source.path "${raw}" must be relative to the repository root, not absolute`,
      raw,
    );
  }
  const segments = raw.split(/[\\/]+/).filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) {
    throw new PathEscapeError(`source.path "${raw}" must not contain ".." segments`, raw);
  }
  const appPath = segments.length === 0 ? "." : segments.join("/");
  const lexical = join(root, ...segments);
  let appDir: string;
  try {
    appDir = await realpath(lexical);
  } catch (error) {
    throw new RenderError(`source.path "${appPath}" does not exist in the repository`, {
      reason: "InvalidPath",
      file: appPath,
      cause: error,
    });
  }
  if (!isInside(root, appDir)) {
    throw new PathEscapeError(
      `source.path "${appPath}" leads outside the repository through a symlink`,
      appPath,
    );
  }
  if (!(await stat(appDir)).isDirectory()) {
    throw new RenderError(`source.path "${appPath}" is not a directory`, {
      reason: "InvalidPath",
      file: appPath,
    });
  }
  return { root, appDir, appPath };
}

/**
 * Resolves `ref` (relative to `base`, or to `root` when absolute, as Argo CD treats Helm value
 * files) and checks that it stays inside `root`, following symlinks. `what` names the reference
 * in the error (e.g. `value file "../../secrets.yaml"`); `from` is the file that refers to it.
 * Returns undefined when the target does not exist (callers decide whether that is an error).
 */
export async function resolveInside(
  root: string,
  base: string,
  ref: string,
  options: { what: string; from?: string; absoluteFromRoot?: boolean },
): Promise<string | undefined> {
  const lexical = isAbsolute(ref)
    ? options.absoluteFromRoot
      ? join(root, ref)
      : resolve(ref)
    : resolve(base, ref);
  const where = options.from ? ` (referenced from ${options.from})` : "";
  if (!isInside(root, lexical)) {
    throw new PathEscapeError(`${options.what} points outside the repository${where}`, options.from);
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return undefined;
  }
  if (!isInside(root, real)) {
    throw new PathEscapeError(
      `${options.what} leads outside the repository through a symlink${where}`,
      options.from,
    );
  }
  return real;
}

/**
 * Refuses the checkout if any symlink in it resolves outside it (or is a loop). Done over the
 * whole checkout, not just the app directory, because Kustomize bases, Helm value files and
 * Jsonnet libraries legitimately live elsewhere in the repo. Dangling links are judged by where
 * they would point, so a link that escapes only once its target appears is refused too.
 */
export async function assertNoEscapingSymlinks(root: string): Promise<void> {
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".git") pending.push(full);
        continue;
      }
      if (!entry.isSymbolicLink()) continue;
      const rel = repoRelative(root, full);
      let target: string;
      try {
        target = await realpath(full);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ELOOP") throw new PathEscapeError(`symlink ${rel} is part of a symlink loop`, rel);
        target = resolve(dirname(full), await readlink(full));
      }
      if (!isInside(root, target)) {
        throw new PathEscapeError(`symlink ${rel} points outside the repository`, rel);
      }
    }
  }
}

/** lstat that returns undefined for a missing path. */
export async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  return lstat(path).catch(() => undefined);
}
