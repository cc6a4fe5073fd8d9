/**
 * Cluster access for CLI commands: the kubeconfig is loaded only when a command first needs the
 * cluster (so `analysis run --template FILE` works without one), the namespace follows kubectl's
 * rules, and API failures become one line that says what to do next.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/v1alpha1/index.js";
import { apiErrorMessage } from "../controller/kube/apply.js";
import { loadKubeConfig } from "../controller/kube/kubeconfig.js";

/** The global flags every command shares (set on the root program in main.ts). */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output?: "table" | "wide" | "yaml" | "json" | "name";
  debug?: boolean;
}

/** A Kubernetes `Status` body, as far as the CLI reads it. */
interface StatusBody {
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string };
}

function statusBody(error: unknown): StatusBody | undefined {
  const body = (error as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return body !== null && typeof body === "object" ? (body as StatusBody) : undefined;
}

/** HTTP status of a client-node error, if it came from the API server. */
export function apiStatusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/**
 * True when the server said the *object* is missing. A 404 without `details.name` means the
 * resource type itself is unknown (CRDs not installed), which needs a different hint.
 */
export function isObjectNotFound(error: unknown): boolean {
  return apiStatusCode(error) === 404 && Boolean(statusBody(error)?.details?.name);
}

/** A 404 about the resource type: the CRDs are missing from the cluster. */
export function isTypeNotFound(error: unknown): boolean {
  return apiStatusCode(error) === 404 && !statusBody(error)?.details?.name;
}

/** One line for an API failure: the server's message, or the transport error with a hint. */
export function describeApiError(error: unknown, what: string, server: string | undefined): string {
  const code = apiStatusCode(error);
  if (code === undefined) {
    const message = error instanceof Error ? error.message : String(error);
    const where = server ? ` at ${server}` : "";
    return `cannot reach the cluster${where} to ${what}: ${message} (is it running? check --kubeconfig/--context, or "slipway sandbox status")`;
  }
  if (code === 401)
    return `cannot ${what}: the cluster refused the credentials (401); check --kubeconfig/--context`;
  if (code === 403) return `cannot ${what}: forbidden (403): ${apiErrorMessage(error)}`;
  return `cannot ${what}: ${apiErrorMessage(error)}`;
}

/**
 * The cluster, loaded on first use. `namespace()` is `-n`, else the context's namespace, else
 * `default` (kubectl's order); it only loads the kubeconfig when `-n` is not given.
 */
export class LazyCluster {
  private kc: KubeConfig | undefined;

  constructor(private readonly globals: GlobalOptions) {}

  config(): KubeConfig {
    this.kc ??= loadKubeConfig({
      ...(this.globals.kubeconfig ? { kubeconfig: this.globals.kubeconfig } : {}),
      ...(this.globals.context ? { context: this.globals.context } : {}),
    });
    return this.kc;
  }

  /** The API server URL, for messages. */
  server(): string | undefined {
    return this.kc?.getCurrentCluster()?.server;
  }

  /** The namespace the user means: `-n`, else the kubeconfig context's, else `default`. */
  namespace(): string {
    if (this.globals.namespace) return this.globals.namespace;
    return this.contextNamespace() ?? "default";
  }

  /** The kubeconfig context's namespace, without requiring a kubeconfig to exist. */
  contextNamespace(): string | undefined {
    let kc: KubeConfig;
    try {
      kc = this.config();
    } catch {
      return undefined;
    }
    return kc.getContextObject(kc.getCurrentContext())?.namespace || undefined;
  }

  customObjects(): CustomObjectsApi {
    return this.config().makeApiClient(CustomObjectsApi);
  }

  core(): CoreV1Api {
    return this.config().makeApiClient(CoreV1Api);
  }
}

/** Coordinates of a slipway.dev/v1alpha1 resource type. */
export const slipwayResource = (plural: string) => ({ group: GROUP, version: VERSION, plural });

/** The hint shown when the slipway CRDs are not in the cluster. */
export const CRDS_MISSING = `slipway's CRDs are not installed in this cluster (run "slipway install")`;
