/**
 * The raw HTTP surface of a cluster that discovery, the dynamic client and informers are built
 * on. `ClusterClient` implements it; keeping it an interface lets those parts avoid importing
 * the client itself (and lets a test count or fail requests).
 */

export type QueryValue = string | number | boolean | undefined;

export interface KubeRequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  /** Default `application/json`; patches name their patch type here. */
  contentType?: string;
  signal?: AbortSignal;
  /** Aborts the request after this long. Default 30 s. */
  timeoutMs?: number;
}

/** One line of a watch stream. */
export interface WatchEvent<T = unknown> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface KubeRequester {
  /** The API server URL, without a trailing slash. */
  readonly server: string;
  /** A JSON request; non-2xx answers reject with client-node's `ApiException` (body: Status). */
  request<T>(method: string, path: string, options?: KubeRequestOptions): Promise<T>;
  /**
   * Streams `GET path?watch=true`, calling `onEvent` per event in order. Resolves when the
   * server ends the stream, rejects when it fails (or `onEvent` throws), resolves when aborted.
   */
  watch(
    path: string,
    query: Record<string, QueryValue>,
    onEvent: (event: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}
