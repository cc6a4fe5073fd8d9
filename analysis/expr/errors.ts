/** Where in a condition something went wrong: 0-based offset plus 1-based line and column. */
export interface SourcePosition {
  offset: number;
  line: number;
  column: number;
}

/** Converts a 0-based offset into 1-based line/column, counting code points as editors do. */
export function positionAt(source: string, offset: number): SourcePosition {
  let line = 1;
  let column = 1;
  let i = 0;
  for (const ch of source) {
    if (i >= offset) break;
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column++;
    }
    i += ch.length;
  }
  return { offset, line, column };
}

function where(source: string, pos: SourcePosition): string {
  return source.includes("\n") ? `line ${pos.line}, column ${pos.column}` : `column ${pos.column}`;
}

/**
 * A condition that does not compile (syntax, unknown name, a type mismatch visible without the
 * result). Thrown when a template is applied or a run starts, so the message carries the position:
 * `unexpected token ")" at column 14`.
 */
export class ExpressionError extends Error {
  override readonly name = "ExpressionError";
  readonly position: SourcePosition;
  /** The message without the position suffix. */
  readonly reason: string;

  constructor(
    reason: string,
    readonly source: string,
    offset: number,
  ) {
    const pos = positionAt(source, offset);
    super(`${reason} at ${where(source, pos)}`);
    this.reason = reason;
    this.position = pos;
  }

  get line(): number {
    return this.position.line;
  }

  get column(): number {
    return this.position.column;
  }

  /** The source with a caret under the offending column, for CLI output. */
  get snippet(): string {
    const lines = this.source.split("\n");
    const text = lines[this.position.line - 1] ?? "";
    return `${text}\n${" ".repeat(Math.max(0, this.position.column - 1))}^`;
  }
}

/**
 * A condition that compiled but could not be decided for this result (index out of range, a
 * string compared with a number, a non-boolean outcome). Argo turns this into an Error measurement.
 */
export class EvaluationError extends Error {
  override readonly name = "EvaluationError";
}
