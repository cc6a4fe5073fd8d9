/**
 * Cluster access for `slipway app` and `slipway repo`: one ClusterClient per command (closed at
 * the end so the process exits), Applications read and written by plain REST paths, and API
 * failures turned into one line that says what to do next.
 */
import type { Application } from "../api/v1alpha1/application.js";
import { DEFAULT_NAMESPACE, GROUP, VERSION } from "../api/v1alpha1/index.js";
import { ClusterClient } from "../controller/kube/cluster-client.js";
import { isConflict } from "../controller/kube/errors.js";
import {
  apiStatusCode,
  CRDS_MISSING,
  describeApiError,
  type GlobalOptions,
  isObjectNotFound,
  isTypeNotFound,
  LazyCluster,
} from "./kube-client.js";

export const APPS_PATH = `/apis/${GROUP}/${VERSION}`;

/** The global flags plus `-N/--app-namespace` of `app` and `repo`. */
export type AppGlobals = GlobalOptions & { appNamespace?: string };

/** An API failure worded for the user, keeping the HTTP status for callers that decide on it. */
export class ApiFailure extends Error {
  override name = "ApiFailure";
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/** A ClusterClient for one command, with the namespace of the Applications. */
export class AppContext {
  readonly cluster: LazyCluster;
  readonly appNamespace: string;
  private clientValue: ClusterClient | undefined;

  constructor(readonly globals: AppGlobals) {
    this.cluster = new LazyCluster(globals);
    this.appNamespace = globals.appNamespace || DEFAULT_NAMESPACE;
  }

  get client(): ClusterClient {
    this.clientValue ??= new ClusterClient(this.cluster.config(), { name: "cli" });
    return this.clientValue;
  }

  server(): string | undefined {
    return this.clientValue?.server ?? this.cluster.server();
  }

  close(): void {
    this.clientValue?.close();
  }

  appPath(name?: string, subresource?: string): string {
    const base = `${APPS_PATH}/namespaces/${encodeURIComponent(this.appNamespace)}/applications`;
    if (name === undefined) return base;
    return `${base}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}`;
  }

  /** An API failure as the Error to show: CRDs missing, not found, or the server's message. */
  failure(error: unknown, what: string, name?: string): Error {
    if (error instanceof ApiFailure) return error;
    if (isTypeNotFound(error)) return new Error(CRDS_MISSING);
    if (name !== undefined && isObjectNotFound(error)) return this.notFound(name);
    return new ApiFailure(describeApiError(error, what, this.server()), apiStatusCode(error));
  }

  notFound(name: string): Error {
    return new Error(
      `application "${name}" not found in namespace "${this.appNamespace}" (list them with "slipway app list${
        this.appNamespace === DEFAULT_NAMESPACE ? "" : ` -N ${this.appNamespace}`
      }")`,
    );
  }

  async getApp(name: string): Promise<Application> {
    try {
      return await this.client.request<Application>("GET", this.appPath(name));
    } catch (error) {
      throw this.failure(error, `read application "${name}"`, name);
    }
  }

  /** The app, or undefined when it does not exist. */
  async findApp(name: string): Promise<Application | undefined> {
    try {
      return await this.client.request<Application>("GET", this.appPath(name));
    } catch (error) {
      if (isObjectNotFound(error)) return undefined;
      throw this.failure(error, `read application "${name}"`);
    }
  }

  /**
   * Reads the app, lets `change` edit it, and writes it back with the read resourceVersion (a
   * merge patch of what `change` returns), re-reading on a conflict. `change` may throw to refuse.
   */
  async patchApp(
    name: string,
    what: string,
    change: (app: Application) => Record<string, unknown>,
    options: { subresource?: string } = {},
  ): Promise<Application> {
    for (let attempt = 0; ; attempt++) {
      const app = await this.getApp(name);
      const patch = change(app);
      const body = {
        ...patch,
        metadata: { ...(patch.metadata as object), resourceVersion: app.metadata.resourceVersion },
      };
      try {
        return await this.client.request<Application>("PATCH", this.appPath(name, options.subresource), {
          body,
          contentType: "application/merge-patch+json",
        });
      } catch (error) {
        if (isConflict(error) && attempt < 5) continue;
        throw this.failure(error, what, name);
      }
    }
  }

  /** Replaces the whole object (spec changes that remove fields), re-reading on a conflict. */
  async updateApp(
    name: string,
    what: string,
    change: (app: Application) => Application,
  ): Promise<Application> {
    for (let attempt = 0; ; attempt++) {
      const app = await this.getApp(name);
      const next = change(structuredClone(app));
      try {
        return await this.client.request<Application>("PUT", this.appPath(name), { body: next });
      } catch (error) {
        if (isConflict(error) && attempt < 5) continue;
        throw this.failure(error, what, name);
      }
    }
  }
}

/** Runs `body` with a context and always closes its connections. */
export async function withApps<T>(globals: AppGlobals, body: (ctx: AppContext) => Promise<T>): Promise<T> {
  const ctx = new AppContext(globals);
  try {
    return await body(ctx);
  } finally {
    ctx.close();
  }
}

/** True when `syncPolicy.automated` is on (`enabled` absent means on, as in Argo CD). */
export function isAutomated(app: Application): boolean {
  const automated = app.spec.syncPolicy?.automated;
  return automated !== undefined && automated.enabled !== false;
}

/** An operation is in progress: one is requested, or the controller says it is running. */
export function operationInProgress(app: Application): boolean {
  const phase = app.status?.operationState?.phase;
  return app.operation !== undefined || phase === "Running" || phase === "Terminating";
}
