/**
 * "Retrying will not help": a reconcile that throws this is not re-queued with backoff (the
 * failure is logged and counted), as controller-runtime's `reconcile.TerminalError`. Use it for
 * errors only a change of the object can fix (an invalid spec, a forbidden destination); the
 * next change of the object triggers a reconcile as usual. Any other error is retried.
 */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
  /** Marks terminal errors across module copies, where `instanceof` would fail. */
  readonly terminal = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  static is(error: unknown): boolean {
    return (
      error instanceof TerminalError ||
      (typeof error === "object" && error !== null && (error as { terminal?: unknown }).terminal === true)
    );
  }
}
