/**
 * Whether a cluster answers, as Argo CD's `connectionState`: `GET /version` (for the server's
 * version) and `GET /api` at once, each with a short timeout, so an unreachable cluster costs two
 * bounded requests per check and nothing else waits on it. `/version` alone would not do: API
 * servers serve it to anyone, so it cannot tell that the credentials are wrong; discovery
 * (`/api`) needs an authenticated user.
 */
import { statusCode } from "../kube/errors.js";
import type { KubeRequester } from "../kube/requester.js";

export type ConnectionStatus = "Unknown" | "Successful" | "Failed";

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why it failed (or "not checked yet"). */
  message?: string;
  /** The server's `gitVersion`, when it answered. */
  serverVersion?: string;
  /** RFC 3339 time of the check. */
  attemptedAt?: string;
}

export const NOT_CHECKED: ConnectionState = { status: "Unknown", message: "not checked yet" };

/** One line saying why a request to the cluster failed. */
export function describeConnectionError(error: unknown, timeoutMs: number): string {
  const code = statusCode(error);
  if (code === 401) return "the cluster refused the credentials (401 Unauthorized)";
  if (code === 403) return "the credentials may not read /version (403 Forbidden)";
  if (code !== undefined) return `the cluster answered ${code}`;
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === "TimeoutError" || e?.name === "AbortError")
    return `no answer within ${Math.round(timeoutMs / 100) / 10}s`;
  const cause = e?.cause?.message ?? e?.message ?? String(error);
  return cause;
}

/** A pooled keep-alive connection the server closed (it restarted, or went away): worth one retry. */
function isStaleConnection(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  return e?.code === "ECONNRESET" || e?.cause?.code === "ECONNRESET" || e?.message === "socket hang up";
}

export async function checkConnection(
  client: KubeRequester,
  options: { timeoutMs: number; now?: () => number },
): Promise<ConnectionState> {
  const attemptedAt = new Date((options.now ?? Date.now)()).toISOString().replace(/\.\d{3}Z$/, "Z");
  const probe = () =>
    Promise.all([
      client.request<{ gitVersion?: string } | undefined>("GET", "/version", {
        timeoutMs: options.timeoutMs,
      }),
      client.request("GET", "/api", { timeoutMs: options.timeoutMs }),
    ]);
  try {
    const [version] = await probe().catch((error: unknown) => {
      if (isStaleConnection(error)) return probe();
      throw error;
    });
    return {
      status: "Successful",
      ...(version?.gitVersion ? { serverVersion: version.gitVersion } : {}),
      attemptedAt,
    };
  } catch (error) {
    return { status: "Failed", message: describeConnectionError(error, options.timeoutMs), attemptedAt };
  }
}
