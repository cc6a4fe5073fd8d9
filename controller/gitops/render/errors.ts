/**
 * Render errors. Each carries the repo-relative `file` it is about (when there is one) and the
 * underlying `cause`, so the reconciler can set a `ComparisonError` condition that names both
 * without parsing messages; `reason` is a stable code for metrics and tests.
 */

export type RenderErrorReason =
  | "InvalidSource"
  | "InvalidPath"
  | "PathEscape"
  | "InvalidManifest"
  | "DuplicateResource"
  | "TooLarge"
  | "ToolMissing"
  | "ToolFailed";

export class RenderError extends Error {
  override name = "RenderError";
  /** Repo-relative path of the file at fault, when the error is about one. */
  readonly file?: string;
  readonly reason: RenderErrorReason;

  constructor(message: string, options: { reason: RenderErrorReason; file?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason;
    this.file = options.file;
  }
}

/** The render tool the source needs is not installed (or was disabled). Never a crash: a condition. */
export class ToolMissingError extends RenderError {
  override name = "ToolMissingError";
  constructor(
    readonly tool: string,
    message: string,
    file?: string,
  ) {
    super(message, { reason: "ToolMissing", file });
  }
}

/** A render tool exited non-zero, timed out or printed too much; its stderr is in the message. */
export class ToolFailedError extends RenderError {
  override name = "ToolFailedError";
  constructor(
    readonly tool: string,
    message: string,
    readonly stderr: string,
    options: { file?: string; exitCode?: number | null; cause?: unknown } = {},
  ) {
    super(message, { reason: "ToolFailed", file: options.file, cause: options.cause });
    this.exitCode = options.exitCode ?? null;
  }
  readonly exitCode: number | null;
}

/** `source.path`, a value file, an import or a symlink points outside the repository. */
export class PathEscapeError extends RenderError {
  override name = "PathEscapeError";
  constructor(message: string, file?: string) {
    super(message, { reason: "PathEscape", file });
  }
}

/** Two manifests define the same group/kind/namespace/name. */
export class DuplicateResourceError extends RenderError {
  override name = "DuplicateResourceError";
  constructor(
    message: string,
    /** Where the first and the second definition came from. */
    readonly files: [string, string],
  ) {
    super(message, { reason: "DuplicateResource", file: files[1] });
  }
}
