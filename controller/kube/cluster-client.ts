/**
 * Everything slipway needs to talk to one cluster, built once per cluster from a KubeConfig:
 * client-node's generated clients (CoreV1, AppsV1, CoordinationV1, KubernetesObjectApi), a raw
 * JSON/watch requester for informers and the dynamic client, discovery, and request metrics.
 *
 * All of them share one keep-alive HTTPS agent. client-node 1.x builds a fresh agent for every
 * request, which costs a TCP and TLS handshake per call; a controller syncing thousands of
 * objects should not pay that (client-go keeps one transport per cluster for the same reason).
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import {
  type ApiConstructor,
  type ApiType,
  AppsV1Api,
  type Configuration,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  type User,
  wrapHttpLibrary,
} from "@kubernetes/client-node";
import { Counter, Histogram, type Registry } from "prom-client";
import { type Clock, systemClock } from "../queue/clock.js";
import { DURATION_BUCKETS, registerOnce } from "../queue/metrics.js";
import { Discovery } from "./discovery.js";
import { DynamicClient } from "./dynamic-client.js";
import { apiException } from "./errors.js";
import type { KubeRequester, KubeRequestOptions, QueryValue, WatchEvent } from "./requester.js";

/** One finished HTTP request (for a watch: its opening). `code` is 0 when no answer came. */
export interface RequestRecord {
  cluster: string;
  method: string;
  path: string;
  code: number;
  durationMs: number;
  watch: boolean;
}

export interface ClusterClientOptions {
  /** Names the cluster in metrics and logs. Default: the kubeconfig's current cluster name. */
  name?: string;
  /** Called after every request any part of this client makes (metrics, tests counting calls). */
  onRequest?: (record: RequestRecord) => void;
  /** Registers `slipway_kube_requests_total` and `slipway_kube_request_duration_seconds` here. */
  registry?: Registry;
  clock?: Clock;
  /** See `DiscoveryOptions.missTtlMs`. */
  discoveryMissTtlMs?: number;
  /** Default timeout of non-watch requests. Default 30 000 ms. */
  requestTimeoutMs?: number;
}

export class ClusterClient implements KubeRequester {
  readonly name: string;
  readonly server: string;
  readonly kc: KubeConfig;
  /** Generated clients and the object API share this configuration (agent, auth, metrics). */
  readonly configuration: Configuration;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly objects: KubernetesObjectApi;
  readonly discovery: Discovery;
  readonly dynamic: DynamicClient;

  private readonly proxied: boolean;
  /** exec plugins, auth providers and token files can rotate: read them per request. */
  private readonly rotatingCredentials: boolean;
  private staticOptions: Promise<https.RequestOptions> | undefined;
  private agentPromise: Promise<http.Agent> | undefined;
  private readonly observers: ((record: RequestRecord) => void)[] = [];
  private readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, options: ClusterClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    this.kc = kc;
    this.name = options.name ?? cluster.name;
    this.server = cluster.server.replace(/\/+$/, "");
    this.proxied = Boolean(cluster.proxyUrl);
    const user = kc.getCurrentUser() as (User & { tokenFile?: string }) | null;
    this.rotatingCredentials = Boolean(user?.exec || user?.authProvider || user?.tokenFile);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    if (options.onRequest) this.observers.push(options.onRequest);
    if (options.registry) this.observers.push(requestMetrics(options.registry));

    const fetchLibrary = new IsomorphicFetchHttpLibrary();
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration<Record<string, string>>(this.server, {}),
      authMethods: {
        default: {
          getName: () => "slipway-kubeconfig",
          applySecurityAuthentication: async (context) => {
            await kc.applySecurityAuthentication(context);
            if (!this.proxied) context.setAgent(await this.sharedAgent());
          },
        },
      },
      httpApi: wrapHttpLibrary({
        send: async (context) => {
          const started = performance.now();
          const method = context.getHttpMethod().toString();
          const path = new URL(context.getUrl()).pathname;
          try {
            const response = await fetchLibrary.send(context).toPromise();
            this.observe(method, path, response.httpStatusCode, started, false);
            return response;
          } catch (error) {
            this.observe(method, path, 0, started, false);
            throw error;
          }
        },
      }),
    });
    this.core = this.api(CoreV1Api);
    this.apps = this.api(AppsV1Api);
    this.coordination = this.api(CoordinationV1Api);
    this.objects = this.api(KubernetesObjectApi);
    this.discovery = new Discovery(this, {
      ...(options.clock ? { clock: options.clock } : { clock: systemClock }),
      ...(options.discoveryMissTtlMs !== undefined ? { missTtlMs: options.discoveryMissTtlMs } : {}),
    });
    this.dynamic = new DynamicClient(this, this.discovery);
  }

  /** Any generated API client (e.g. `BatchV1Api`) sharing this client's agent, auth and metrics. */
  api<T extends ApiType>(type: ApiConstructor<T>): T {
    return new type(this.configuration);
  }

  /** Adds a request observer; returns a function removing it. */
  onRequest(observer: (record: RequestRecord) => void): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  async request<T>(method: string, path: string, options: KubeRequestOptions = {}): Promise<T> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body);
    let response: IncomingMessage;
    try {
      response = await this.open(method, path, options.query, body, options.contentType, signal);
    } catch (error) {
      this.observe(method, path, 0, started, false);
      throw error;
    }
    const text = await readText(response);
    const code = response.statusCode ?? 0;
    this.observe(method, path, code, started, false);
    const parsed = parseJson(text);
    if (code < 200 || code > 299) throw apiException(method, path, code, parsed, headersOf(response));
    return parsed as T;
  }

  async watch(
    path: string,
    query: Record<string, QueryValue>,
    onEvent: (event: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    if (signal?.aborted) return;
    const started = performance.now();
    let response: IncomingMessage;
    try {
      response = await this.open("GET", path, { ...query, watch: "true" }, undefined, undefined, signal);
    } catch (error) {
      this.observe("WATCH", path, 0, started, true);
      if (signal?.aborted) return;
      throw error;
    }
    const code = response.statusCode ?? 0;
    this.observe("WATCH", path, code, started, true);
    if (code !== 200) {
      const text = await readText(response).catch(() => "");
      throw apiException("WATCH", path, code, parseJson(text), headersOf(response));
    }
    response.socket?.setKeepAlive(true, 30_000);
    await new Promise<void>((resolve, reject) => {
      let buffer = "";
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        if (error !== undefined && !signal?.aborted) {
          response.destroy();
          reject(error);
        } else resolve();
      };
      const deliver = (line: string) => {
        if (!line.trim()) return;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          throw new Error(`malformed watch event from ${path}: ${line.slice(0, 200)}`);
        }
        onEvent(event);
      };
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (settled) return;
        buffer += chunk;
        try {
          for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            deliver(line);
            if (settled) return;
          }
        } catch (error) {
          finish(error);
        }
      });
      response.on("end", () => {
        try {
          deliver(buffer);
          finish();
        } catch (error) {
          finish(error);
        }
      });
      response.on("error", (error) => finish(error));
      response.on("close", () => {
        if (!response.complete) finish(new Error(`watch ${path}: connection closed mid-stream`));
        else finish();
      });
    });
  }

  /** Closes pooled connections. Requests made afterwards open new ones. */
  close(): void {
    const pending = this.agentPromise;
    this.agentPromise = undefined;
    void pending?.then((agent) => agent.destroy()).catch(() => undefined);
  }

  private observe(method: string, path: string, code: number, started: number, watch: boolean): void {
    if (this.observers.length === 0) return;
    const record: RequestRecord = {
      cluster: this.name,
      method,
      path,
      code,
      durationMs: performance.now() - started,
      watch,
    };
    for (const observer of this.observers) observer(record);
  }

  /** One keep-alive agent with the kubeconfig's TLS settings (CA, client certificate). */
  private sharedAgent(): Promise<http.Agent> {
    if (!this.agentPromise) {
      const created = (async () => {
        const base = (await this.kubeconfigOptions()).agent;
        if (base instanceof https.Agent) {
          // One TLS context for every connection: left to itself, each new connection parses
          // the CA and client certificate again (a millisecond or more each, 50 clusters over).
          const { ca, cert, key, pfx, passphrase } = base.options;
          const secureContext = tls.createSecureContext({ ca, cert, key, pfx, passphrase });
          return new https.Agent({ ...base.options, keepAlive: true, secureContext });
        }
        if (base instanceof http.Agent) return new http.Agent({ keepAlive: true });
        return new https.Agent({ keepAlive: true });
      })();
      this.agentPromise = created;
      created.catch(() => {
        if (this.agentPromise === created) this.agentPromise = undefined;
      });
    }
    return this.agentPromise;
  }

  /**
   * The kubeconfig's TLS options and auth headers for one request. Credentials that can change
   * (exec plugins, auth providers, token files) are read per request so rotation is picked up;
   * a static token or certificate is read once (applying it costs CPU on every request).
   */
  private async requestOptions(): Promise<https.RequestOptions> {
    if (this.rotatingCredentials) return this.kubeconfigOptions();
    this.staticOptions ??= this.kubeconfigOptions();
    // Shared, never modified: open() spreads it into each request with headers of its own.
    return this.staticOptions;
  }

  private async kubeconfigOptions(): Promise<https.RequestOptions> {
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    return options;
  }

  private async open(
    method: string,
    path: string,
    query: Record<string, QueryValue> | undefined,
    body: string | undefined,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options = await this.requestOptions();
    const agent = this.proxied ? options.agent : await this.sharedAgent();
    const headers: Record<string, string> = { Accept: "application/json" };
    const given = options.headers;
    if (given && !Array.isArray(given)) {
      for (const [key, value] of Object.entries(given)) {
        if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : String(value);
      }
    }
    if (body !== undefined) {
      headers["Content-Type"] = contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const send = url.protocol === "http:" ? http.request : https.request;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { ...options, method, headers, agent, ...(signal ? { signal } : {}) }, resolve);
      req.on("error", reject);
      req.end(body);
    });
  }
}

function readText(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function headersOf(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** client-go's `rest_client_requests_total` and request latency, per cluster. */
function requestMetrics(registry: Registry): (record: RequestRecord) => void {
  const total = registerOnce(
    registry,
    "slipway_kube_requests_total",
    () =>
      new Counter({
        name: "slipway_kube_requests_total",
        help: "Kubernetes API requests by cluster, method and status code (0: no answer)",
        labelNames: ["cluster", "method", "code"],
        registers: [registry],
      }),
  );
  const duration = registerOnce(
    registry,
    "slipway_kube_request_duration_seconds",
    () =>
      new Histogram({
        name: "slipway_kube_request_duration_seconds",
        help: "Kubernetes API request latency (for watches: until the stream opened)",
        labelNames: ["cluster", "method"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  return (r) => {
    total.inc({ cluster: r.cluster, method: r.method, code: String(r.code) });
    duration.observe({ cluster: r.cluster, method: r.method }, r.durationMs / 1000);
  };
}
