/**
 * Running render tools (kustomize, kubectl, helm, jsonnet) on untrusted repository content.
 *
 * - **Deadline.** Every run has a timeout (90 s by default, like Argo CD's repo-server exec
 *   timeout); the tool runs in its own process group so the kill also reaches anything it spawned.
 * - **Output cap.** stdout beyond the cap kills the tool: a template loop cannot exhaust memory.
 * - **Scrubbed environment.** Only PATH, a private HOME/TMPDIR and the tool's own settings are
 *   passed, so the controller's credentials (kubeconfig, cloud tokens, repo passwords) can never
 *   be read by a chart or a Kustomize plugin.
 * - **stderr in the error.** A failed render's condition shows the tool's own explanation.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { RenderError, ToolFailedError } from "./errors.js";

export type ToolName = "kustomize" | "kubectl" | "helm" | "jsonnet";

/**
 * Where each tool is: an explicit path, `null` for "not available" (tests use this to exercise
 * the missing-tool path on machines that have the tool), or absent to search PATH.
 */
export type ToolPaths = Partial<Record<ToolName, string | null>>;

/** The executable for `name`: the configured path, else the first match on PATH. */
export async function findTool(
  name: ToolName,
  tools: ToolPaths | undefined,
  pathEnv = process.env.PATH ?? "",
): Promise<string | undefined> {
  const configured = tools?.[name];
  if (configured === null) return undefined;
  if (configured !== undefined) return (await isExecutable(configured)) ? configured : undefined;
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export interface RunOptions {
  /** Tool name for messages (`helm`, `kubectl kustomize`, …). */
  label: string;
  /** Working directory: always inside the checkout (or a temp dir the render owns). */
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Extra environment on top of the scrubbed base. */
  env?: Record<string, string>;
  /** Repo-relative file the run is about, for the error. */
  file?: string;
  /** PATH passed to the tool (default: the controller's). */
  pathEnv?: string;
}

const STDERR_KEEP = 16 * 1024;

/** Runs `bin args` and returns stdout; throws ToolFailedError / RenderError(TooLarge). */
export async function runTool(bin: string, args: string[], options: RunOptions): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "slipway-tool-"));
  try {
    return await new Promise<string>((resolvePromise, reject) => {
      const child = spawn(bin, args, {
        cwd: options.cwd,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: options.pathEnv ?? process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
          HOME: home,
          TMPDIR: home,
          XDG_CONFIG_HOME: join(home, ".config"),
          XDG_CACHE_HOME: join(home, ".cache"),
          XDG_DATA_HOME: join(home, ".local/share"),
          LANG: "C.UTF-8",
          ...options.env,
        },
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = "";
      let failure: RenderError | undefined;
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const timer = setTimeout(() => {
        failure = new ToolFailedError(
          options.label,
          `${options.label} timed out after ${formatDuration(options.timeoutMs)}${tail(stderr)}`,
          stderr,
          { file: options.file },
        );
        kill();
      }, options.timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxOutputBytes) {
          if (!failure) {
            failure = new RenderError(
              `${options.label} printed more than ${options.maxOutputBytes} bytes of manifests; refusing the output`,
              { reason: "TooLarge", file: options.file },
            );
            kill();
          }
          return;
        }
        chunks.push(chunk);
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
      });
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(
          new ToolFailedError(options.label, `${options.label} could not be started: ${error.message}`, "", {
            file: options.file,
            cause: error,
          }),
        );
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (failure) return reject(failure);
        if (code !== 0) {
          const how = code === null ? `was killed (${signal})` : `exited with code ${code}`;
          return reject(
            new ToolFailedError(options.label, `${options.label} ${how}${tail(stderr)}`, stderr.trim(), {
              file: options.file,
              exitCode: code,
            }),
          );
        }
        resolvePromise(Buffer.concat(chunks).toString("utf8"));
      });
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function tail(stderr: string): string {
  const text = stderr.trim();
  return text ? `: ${text}` : "";
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
