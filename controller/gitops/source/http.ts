/**
 * The HTTP client isomorphic-git talks through. isomorphic-git's bundled Node client has no
 * timeout and no size limit, so an unresponsive or hostile Git host could hang a reconcile or
 * fill the disk; this one wraps Node's fetch with a deadline per request (the ref advertisement
 * gets a short one, the pack download a long one) and a byte cap on the response body, and turns
 * socket errors into {@link TransportError}s that the RepoCache classifies.
 */
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";

export interface GitHttpOptions {
  /** Deadline for a ref advertisement (`GET …/info/refs`), including reading its body. */
  requestTimeoutMs: number;
  /** Deadline for a pack download (`POST …/git-upload-pack`), including reading its body. */
  fetchTimeoutMs: number;
  /** Largest response body accepted, in bytes. */
  maxResponseBytes: number;
  userAgent: string;
  /** Called once per HTTP request sent (for request metrics). */
  onRequest?: (method: string, url: string) => void;
}

/** A network-level failure (no HTTP status): refused, DNS, reset, TLS, timeout or size cap. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    message: string,
    /** `ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, `TOO_LARGE`, a TLS code, … */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

async function collect(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (!body) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function describe(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; message?: string; code?: string; cause?: unknown };
  if (e?.name === "TimeoutError") return { code: "ETIMEDOUT", message: "timed out" };
  const cause = e?.cause as { code?: string; message?: string; errors?: { code?: string }[] } | undefined;
  const code = cause?.code ?? cause?.errors?.[0]?.code ?? e?.code ?? "EIO";
  const message = cause?.message || e?.message || String(error);
  return { code, message };
}

/** Builds the isomorphic-git {@link HttpClient}. */
export function createGitHttpClient(options: GitHttpOptions): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const method = req.method ?? "GET";
      const isPack = method === "POST";
      const timeout = isPack ? options.fetchTimeoutMs : options.requestTimeoutMs;
      const signal = AbortSignal.timeout(timeout);
      options.onRequest?.(method, req.url);
      // Request bodies are small (want/have lines); collecting them lets fetch send a
      // Content-Length, which some hosts (AWS CodeCommit) insist on.
      const body = await collect(req.body);
      let res: Response;
      try {
        res = await fetch(req.url, {
          method,
          headers: { "user-agent": options.userAgent, ...(req.headers ?? {}) },
          body,
          signal,
          redirect: "follow",
        });
      } catch (error) {
        const { code, message } = describe(error);
        throw new TransportError(code === "ETIMEDOUT" ? `timed out after ${timeout} ms` : message, code, {
          cause: error,
        });
      }
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const stream = res.body;
      const limit = options.maxResponseBytes;
      async function* iterate(): AsyncGenerator<Uint8Array> {
        if (!stream) return;
        let total = 0;
        try {
          for await (const chunk of stream) {
            total += chunk.byteLength;
            if (total > limit) {
              throw new TransportError(`response exceeds the ${limit}-byte limit`, "TOO_LARGE");
            }
            yield chunk;
          }
        } catch (error) {
          if (error instanceof TransportError) throw error;
          const { code, message } = describe(error);
          throw new TransportError(code === "ETIMEDOUT" ? `timed out after ${timeout} ms` : message, code, {
            cause: error,
          });
        }
      }
      return {
        url: res.url || req.url,
        method,
        statusCode: res.status,
        statusMessage: res.statusText,
        headers,
        body: iterate(),
      };
    },
  };
}
