/** Turns an axios failure into one line a user can act on (timeout, refused, DNS). */
import { isAxiosError } from "axios";

export function describeHttpError(err: unknown, what: string, timeoutMs: number): string {
  if (isAxiosError(err)) {
    if (err.code === "ECONNABORTED" || err.code === "ETIMEDOUT")
      return `${what} timed out after ${timeoutMs / 1000}s`;
    if (err.code === "ERR_CANCELED") return `${what} was cancelled`;
    return `${what} failed: ${err.message}`;
  }
  return `${what} failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** The start of a response body, for messages. */
export function snippet(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
