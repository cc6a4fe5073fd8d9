/**
 * Reading Kubernetes API errors. Requests made by `ClusterClient` fail with client-node's
 * `ApiException` (the same class its generated clients throw), whose body is the server's
 * `Status`; these helpers answer the questions reconcilers ask, as apimachinery's
 * `errors.IsNotFound` / `IsConflict` / `IsGone` do.
 */
import { ApiException } from "@kubernetes/client-node";

/** The parts of a `meta/v1 Status` that callers look at. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string; field?: string }[] };
}

/** The HTTP status code of an API error, or undefined for other errors (network, parse). */
export function statusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const e = error as { code?: unknown; statusCode?: unknown } | null;
  if (e && typeof e === "object") {
    if (typeof e.statusCode === "number") return e.statusCode;
    if (typeof e.code === "number") return e.code;
  }
  return undefined;
}

/** The server's Status body of an API error, parsed when it came as text. */
export function statusOf(error: unknown): KubeStatus | undefined {
  if (!(error instanceof ApiException)) return undefined;
  let body: unknown = error.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as KubeStatus) : undefined;
}

export function statusReason(error: unknown): string | undefined {
  return statusOf(error)?.reason;
}

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;
export const isConflict = (error: unknown): boolean => statusCode(error) === 409;
export const isAlreadyExists = (error: unknown): boolean =>
  statusCode(error) === 409 && statusReason(error) === "AlreadyExists";
/** 410 Gone: a watch or list continue token is older than the server keeps; relist. */
export const isGone = (error: unknown): boolean => statusCode(error) === 410;

/** Builds the `ApiException` a failed request throws, with the Status message in the text. */
export function apiException(
  method: string,
  path: string,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): ApiException<unknown> {
  const status = body && typeof body === "object" ? (body as KubeStatus) : undefined;
  const detail = status?.message ?? (typeof body === "string" && body ? body : `HTTP ${code}`);
  const error = new ApiException(code, detail, body, headers);
  // ApiException's own text is several lines with the body dumped; one line reads better in logs.
  error.message = `${method} ${path}: ${code} ${detail}`;
  return error;
}
