/**
 * API errors with the codes and reasons a real API server returns, so clients (kubectl,
 * client-node) react to them as they would against a cluster (e.g. `IsNotFound`, `IsConflict`).
 * See k8s.io/apimachinery/pkg/api/errors.
 */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** "deployments.apps" for groups, "pods" for the core group: how the API server names a resource. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const notFound = (group: string, resource: string, name: string) =>
  new ApiError(404, "NotFound", `${qualifiedResource(group, resource)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });

export const alreadyExists = (group: string, resource: string, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualifiedResource(group, resource)} "${name}" already exists`, {
    name,
    group,
    kind: resource,
  });

export const conflict = (group: string, resource: string, name: string, why: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`,
    { name, group, kind: resource },
  );

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export const invalid = (group: string, kind: string, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    "Invalid",
    `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${causes
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
      .join(", ")}`,
    { name, group, kind, causes },
  );

export const methodNotAllowed = (message: string) => new ApiError(405, "MethodNotAllowed", message);

export const gone = (message: string) => new ApiError(410, "Expired", message);

export const internalError = (message: string) =>
  new ApiError(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
