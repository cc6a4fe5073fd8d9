/** The HTTP round trip both HTTP providers share: raw text back, any status, one-line errors. */
import { Agent } from "node:https";
import { type AxiosInstance, type AxiosRequestConfig, isAxiosError } from "axios";
import { ProviderError } from "./provider.js";

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

/**
 * Sends the request and returns status and body text whatever the status, so each provider
 * words its own errors; transport failures (refused, timeout) become a ProviderError naming `what`.
 */
/** `insecure: true` in a provider skips TLS verification, as Argo's `insecure` does. */
const insecureAgent = new Agent({ rejectUnauthorized: false });

export async function fetchText(
  http: AxiosInstance,
  config: AxiosRequestConfig & { timeout: number },
  what: string,
  insecure = false,
): Promise<{ status: number; text: string }> {
  // Answers to analysis queries are small: inflating them costs more CPU than the bytes saved
  // (a zlib stream per measurement), so ask for them plain unless the metric says otherwise.
  const given = (config.headers ?? {}) as Record<string, unknown>;
  const headers = Object.keys(given).some((k) => k.toLowerCase() === "accept-encoding")
    ? given
    : { ...given, "Accept-Encoding": "identity" };
  try {
    const res = await http.request<string>({
      ...config,
      headers: headers as AxiosRequestConfig["headers"],
      ...(insecure ? { httpsAgent: insecureAgent } : {}),
      responseType: "text",
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
    });
    return { status: res.status, text: typeof res.data === "string" ? res.data : JSON.stringify(res.data) };
  } catch (err) {
    throw new ProviderError(describeHttpError(err, what, config.timeout));
  }
}
