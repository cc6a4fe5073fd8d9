/**
 * The sandbox's HTTPS front: Kubernetes REST paths, content negotiation (JSON, Table,
 * PartialObjectMetadata, aggregated discovery), query parameters, bearer-token auth, and
 * Status error bodies. All semantics live in SandboxCore; this file only translates HTTP.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";
import type { RequestContext, SandboxCore } from "../core/api.js";
import { ApiError, badRequest, internalError, methodNotAllowed } from "../core/errors.js";
import type { ServedResource } from "../core/registry.js";
import type { DeleteOptions, KubeObject, PatchType } from "../core/types.js";
import { decodeProtobufRequestBody, PROTOBUF_CONTENT_TYPE } from "../protobuf/http.js";
import { OPENAPI_V2_PROTOBUF_ACCEPT, prefersOpenApiV2Protobuf } from "../protobuf/openapi-v2.js";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from "./discovery.js";
import { FaultInjector, parseFaultRules } from "./faults.js";
import { openApiV2, openApiV3Document, openApiV3Root, sendOpenApiV2Protobuf } from "./openapi.js";
import { toTable } from "./table.js";
import type { Certificates } from "./tls.js";
import { serveWatch, type WatchHub } from "./watch.js";

/** The API server's request body limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export const KUBERNETES_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-slipway-sandbox",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

interface ResourcePath {
  resource: ServedResource;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function sendJson(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(text),
    "Audit-Id": randomUUID(),
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (!res.headersSent) sendJson(res, error.code, error.toStatus());
  else res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new ApiError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${MAX_BODY_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(
        413,
        "RequestEntityTooLarge",
        `Request entity too large: limit is ${MAX_BODY_BYTES}`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseBody(buffer: Buffer, contentType: string | undefined): unknown {
  const text = buffer.toString("utf8");
  if (text.trim() === "") return undefined;
  const type = (contentType ?? "application/json").split(";")[0]!.trim();
  try {
    if (type.includes("yaml")) {
      // maxAliasCount guards against alias bombs ("billion laughs").
      return parseYaml(text, { maxAliasCount: 100, strict: true });
    }
    if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufRequestBody(buffer);
    if (type.includes("protobuf") || type.includes("cbor")) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
      );
    }
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badRequest(
      `the object provided is unrecognized or malformed: ${(error as Error).message.split("\n")[0]}`,
    );
  }
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? "").split(";")[0]!.trim();
  switch (type) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+json":
      return "apply";
    default:
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

type Rendering = { as: "json" } | { as: "table"; includeObject?: string } | { as: "metadata" };

function renderingFor(accept: string | undefined, url: URL): Rendering {
  if (!accept) return { as: "json" };
  for (const t of accept.split(",")) {
    const part = t.replaceAll(" ", "");
    if (part.includes("as=Table") && part.includes("g=meta.k8s.io")) {
      return {
        as: "table",
        ...(url.searchParams.get("includeObject")
          ? { includeObject: url.searchParams.get("includeObject")! }
          : {}),
      };
    }
    if (part.includes("as=PartialObjectMetadata") && part.includes("g=meta.k8s.io"))
      return { as: "metadata" };
    if (part.startsWith("application/json") || part.startsWith("*/*")) return { as: "json" };
  }
  return { as: "json" };
}

function tableContentType(): string {
  return "application/json;as=Table;v=v1;g=meta.k8s.io";
}

export interface SandboxHttpOptions {
  host?: string;
  port?: number;
  token: string;
  certs: Certificates;
}

/** Encodes a paging position; opaque to clients. */
function encodeContinue(lastKey: string, rv: number): string {
  return Buffer.from(JSON.stringify({ k: lastKey, rv })).toString("base64url");
}

function decodeContinue(token: string): { k: string; rv: number } {
  try {
    const value = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { k: string; rv: number };
    if (typeof value.k !== "string") throw new Error("bad token");
    return value;
  } catch {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
}

export class SandboxHttpServer {
  readonly faults = new FaultInjector();
  readonly watches: WatchHub = { active: 0 };
  private readonly publicRoutes = new Map<string, RouteHandler>();
  private readonly server: https.Server;
  private readonly openRequests = new Set<ServerResponse>();
  url = "";

  constructor(
    readonly core: SandboxCore,
    private readonly options: SandboxHttpOptions,
  ) {
    this.server = https.createServer(
      { cert: options.certs.certPem, key: options.certs.keyPem },
      (req, res) => {
        this.openRequests.add(res);
        res.on("close", () => this.openRequests.delete(res));
        this.handle(req, res).catch((error: unknown) => {
          sendError(res, error instanceof ApiError ? error : internalError((error as Error).message));
        });
      },
    );
    this.server.keepAliveTimeout = 65_000;
  }

  /** Registers a path served without a token (read-only simulation endpoints). */
  addPublicRoute(path: string, handler: RouteHandler): void {
    this.publicRoutes.set(path, handler);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.url = `https://${host}:${address.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const res of this.openRequests) res.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    return header === `Bearer ${this.options.token}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://sandbox");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";

    const publicRoute = this.publicRoutes.get(path);
    if (publicRoute) return publicRoute(req, res, url);
    if (path === "/version") return sendJson(res, 200, KUBERNETES_VERSION);
    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
      return;
    }
    if (!this.authorized(req)) {
      req.resume();
      return sendError(res, new ApiError(401, "Unauthorized", "Unauthorized"));
    }
    if (path === "/sim/faults") return this.handleFaults(req, res, method);
    if (method === "GET") {
      if (path === "/openapi/v2" && prefersOpenApiV2Protobuf(req.headers.accept)) {
        return sendOpenApiV2Protobuf(req, res, this.core.registry);
      }
      const doc = this.discovery(path, req.headers.accept);
      if (doc) return sendJson(res, 200, doc.body, doc.contentType);
    }
    const target = this.parseResourcePath(path);
    if (!target) {
      req.resume();
      return sendError(
        res,
        new ApiError(404, "NotFound", "the server could not find the requested resource"),
      );
    }
    await this.handleResource(req, res, url, method, target);
  }

  private async handleFaults(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (method === "GET") return sendJson(res, 200, { rules: this.faults.get() });
    if (method === "PUT" || method === "POST") {
      const body = parseBody(await readBody(req), req.headers["content-type"]);
      try {
        this.faults.set(parseFaultRules(body));
      } catch (error) {
        throw badRequest((error as Error).message);
      }
      return sendJson(res, 200, { rules: this.faults.get() });
    }
    if (method === "DELETE") {
      this.faults.set([]);
      return sendJson(res, 200, { rules: [] });
    }
    throw methodNotAllowed(`method ${method} is not supported on /sim/faults`);
  }

  private discovery(
    path: string,
    accept: string | undefined,
  ): { body: unknown; contentType?: string } | undefined {
    const registry = this.core.registry;
    if (path === "/api" || path === "/apis") {
      const aggregated = wantsAggregated(accept);
      if (aggregated) {
        return {
          body: aggregatedDiscovery(registry, path === "/api", aggregated),
          contentType: aggregatedContentType(aggregated),
        };
      }
      return {
        body: path === "/api" ? apiVersions(this.url.replace(/^https:\/\//, "")) : apiGroupList(registry),
      };
    }
    if (path === "/openapi/v2") {
      // JSON here; handle() has already answered clients that prefer the gnostic protobuf.
      if (accept && !/application\/json|\*\/\*/.test(accept)) {
        throw new ApiError(
          406,
          "NotAcceptable",
          `only the following media types are accepted: application/json, ${OPENAPI_V2_PROTOBUF_ACCEPT}`,
        );
      }
      return { body: openApiV2(registry) };
    }
    if (path === "/openapi/v3") return { body: openApiV3Root(registry) };
    if (path.startsWith("/openapi/v3/")) {
      const gv = path.slice("/openapi/v3/".length);
      const doc = openApiV3Document(registry, gv);
      return doc ? { body: doc } : undefined;
    }
    const parts = path.split("/").filter(Boolean);
    if (parts[0] === "api" && parts.length === 2) {
      const list = apiResourceList(registry, "", parts[1]!);
      return list ? { body: list } : undefined;
    }
    if (parts[0] === "apis" && parts.length === 2) {
      const doc = apiGroupDoc(registry, parts[1]!);
      return doc ? { body: doc } : undefined;
    }
    if (parts[0] === "apis" && parts.length === 3) {
      const list = apiResourceList(registry, parts[1]!, parts[2]!);
      return list ? { body: list } : undefined;
    }
    return undefined;
  }

  private parseResourcePath(path: string): ResourcePath | undefined {
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === "api" && parts.length >= 3) {
      group = "";
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === "apis" && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else {
      return undefined;
    }
    let namespace: string | undefined;
    if (
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      !(rest.length === 3 && ["status", "finalize"].includes(rest[2]!))
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const resource = this.core.registry.get({ group, version, resource: rest[0]! });
    if (!resource || rest.length > 3) return undefined;
    if (namespace !== undefined && !resource.namespaced) return undefined;
    return {
      resource,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(rest[1] !== undefined ? { name: rest[1] } : {}),
      ...(rest[2] !== undefined ? { subresource: rest[2] } : {}),
    };
  }

  private requestContext(url: URL, req: IncomingMessage, warnings: string[]): RequestContext {
    const dryRun = url.searchParams.getAll("dryRun");
    for (const d of dryRun) if (d !== "All") throw badRequest(`Invalid dry run value: ${d}`);
    const validation = url.searchParams.get("fieldValidation") ?? undefined;
    if (validation && !["Strict", "Warn", "Ignore"].includes(validation)) {
      throw badRequest(`fieldValidation must be one of Strict, Warn, Ignore; got ${validation}`);
    }
    const userAgent = req.headers["user-agent"] ?? "unknown";
    const fieldManager = url.searchParams.get("fieldManager") ?? userAgent.split("/")[0]!.slice(0, 128);
    return {
      fieldManager,
      dryRun: dryRun.length > 0,
      ...(validation ? { fieldValidation: validation as "Strict" | "Warn" | "Ignore" } : {}),
      force: queryBool(url, "force"),
      warnings,
    };
  }

  private async handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
    target: ResourcePath,
  ): Promise<void> {
    const { resource, namespace, name, subresource } = target;
    const core = this.core;
    const isWatch = queryBool(url, "watch");
    const verb =
      method === "GET"
        ? name
          ? "get"
          : isWatch
            ? "watch"
            : "list"
        : method === "POST"
          ? "create"
          : method === "PUT"
            ? "update"
            : method === "PATCH"
              ? "patch"
              : method === "DELETE"
                ? name
                  ? "delete"
                  : "deletecollection"
                : "unknown";
    const fault = this.faults.decide(verb, resource.plural, resource.group);
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault.status) {
      req.resume();
      const reason =
        fault.status === 429
          ? "TooManyRequests"
          : fault.status === 503
            ? "ServiceUnavailable"
            : "InternalError";
      const error = new ApiError(
        fault.status,
        reason,
        `injected fault: ${reason}`,
        fault.status === 429 ? { retryAfterSeconds: 1 } : undefined,
      );
      if (fault.status === 429) res.setHeader("Retry-After", "1");
      return sendError(res, error);
    }
    if (resource.group === "" && resource.kind === "Pod" && subresource === "log" && method === "GET") {
      return this.podLog(res, url, core.getRaw(resource, namespace, name!));
    }
    if (
      subresource &&
      subresource !== "status" &&
      subresource !== "scale" &&
      !(resource.kind === "Namespace" && subresource === "finalize")
    ) {
      req.resume();
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    }
    if (subresource === "status" && !resource.subresources.status)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (subresource === "scale" && !resource.subresources.scale)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const sub = subresource === "finalize" ? undefined : (subresource as "status" | "scale" | undefined);

    const rendering = renderingFor(req.headers.accept, url);
    const render = (object: KubeObject): unknown => {
      if (rendering.as === "table") return toTable(resource, [object], {}, rendering.includeObject);
      if (rendering.as === "metadata")
        return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: object.metadata };
      return object;
    };
    const respond = (code: number, object: KubeObject | Record<string, unknown>) => {
      if (warnings.length > 0) {
        res.setHeader(
          "Warning",
          warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
      }
      if (
        rendering.as === "table" &&
        (object as KubeObject).metadata &&
        !("kind" in object && object.kind === "Scale")
      ) {
        return sendJson(
          res,
          code,
          toTable(resource, [object as KubeObject], {}, rendering.includeObject),
          tableContentType(),
        );
      }
      return sendJson(res, code, object);
    };
    const warnings: string[] = [];

    switch (verb) {
      case "get": {
        if (sub === "scale") return respond(200, core.getScale(resource, namespace, name!));
        return respond(200, core.present(resource, core.getRaw(resource, namespace, name!)));
      }
      case "list":
        return this.handleList(res, url, resource, namespace, rendering);
      case "watch":
        return serveWatch(
          core,
          {
            resource,
            ...(namespace ? { namespace } : {}),
            ...optional("labelSelector", url.searchParams.get("labelSelector")),
            ...optional("fieldSelector", url.searchParams.get("fieldSelector")),
            ...optional(
              "resourceVersion",
              fault.goneOnResume && url.searchParams.get("resourceVersion")
                ? "-1"
                : url.searchParams.get("resourceVersion"),
            ),
            ...(url.searchParams.get("timeoutSeconds")
              ? { timeoutSeconds: Number(url.searchParams.get("timeoutSeconds")) }
              : {}),
            allowBookmarks: queryBool(url, "allowWatchBookmarks"),
            sendInitialEvents: queryBool(url, "sendInitialEvents"),
            render: (o) =>
              rendering.as === "table" ? toTable(resource, [o], {}, rendering.includeObject) : render(o),
            ...(fault.dropWatchAfterMs !== undefined ? { dropAfterMs: fault.dropWatchAfterMs } : {}),
          },
          res,
          this.watches,
        );
      case "create": {
        const body = parseBody(await readBody(req), req.headers["content-type"]);
        if (!body || typeof body !== "object" || Array.isArray(body))
          throw badRequest("the body of the request was in an unknown format");
        const ctx = this.requestContext(url, req, warnings);
        if (name && resource.kind !== "Namespace")
          throw methodNotAllowed(`POST is not allowed on a named ${resource.kind}`);
        if (resource.group === "authorization.k8s.io") return respond(201, accessReview(body as KubeObject));
        return respond(201, core.createIn(resource, namespace, body as KubeObject, ctx));
      }
      case "update": {
        const body = parseBody(await readBody(req), req.headers["content-type"]);
        if (!body || typeof body !== "object" || Array.isArray(body))
          throw badRequest("the body of the request was in an unknown format");
        const ctx = this.requestContext(url, req, warnings);
        if (sub === "scale")
          return respond(
            200,
            core.updateScale(resource, namespace, name!, body as Record<string, unknown>, ctx),
          );
        return respond(200, core.updateIn(resource, namespace, name!, body as KubeObject, ctx, sub));
      }
      case "patch": {
        const type = patchTypeOf(req.headers["content-type"]);
        const body = parseBody(
          await readBody(req),
          type === "apply" ? "application/yaml" : "application/json",
        );
        if (body === undefined) throw badRequest("the body of the request was empty");
        const ctx = this.requestContext(url, req, warnings);
        if (type === "apply" && !url.searchParams.get("fieldManager")) {
          throw badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be specified");
        }
        const existed =
          sub === "scale" ||
          core.store.get(
            `${resource.group}/${resource.plural}`,
            resource.namespaced ? namespace : undefined,
            name!,
          ) !== undefined;
        const result = core.patchIn(resource, namespace, name!, type, body, ctx, sub);
        return respond(existed ? 200 : 201, result);
      }
      case "delete": {
        const options = await this.deleteOptions(req, url);
        const before = core.getRaw(resource, namespace, name!);
        const after = core.deleteIn(resource, namespace, name!, options);
        return respond(200, after ?? core.present(resource, before));
      }
      case "deletecollection": {
        const options = await this.deleteOptions(req, url);
        const deleted = core.deleteCollection(resource, {
          ...(namespace ? { namespace } : {}),
          ...optional("labelSelector", url.searchParams.get("labelSelector")),
          ...optional("fieldSelector", url.searchParams.get("fieldSelector")),
          ...options,
        });
        return respond(200, {
          kind: resource.listKind,
          apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
          metadata: { resourceVersion: String(core.store.currentRevision) },
          items: deleted,
        });
      }
      default:
        req.resume();
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  /**
   * `kubectl logs`: simulated containers print what they are, so a user sees which version a pod
   * runs; an honest stand-in, since there is no process behind a sandbox pod.
   */
  private podLog(res: ServerResponse, url: URL, pod: KubeObject): void {
    const containers = ((pod.spec?.containers ?? []) as { name: string; image: string }[]).filter(
      (c) => !url.searchParams.get("container") || c.name === url.searchParams.get("container"),
    );
    if (containers.length === 0) {
      throw badRequest(
        `container ${url.searchParams.get("container")} is not valid for pod ${pod.metadata.name}`,
      );
    }
    if (containers.length > 1 && !url.searchParams.get("container")) {
      throw badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(" ")}]`,
      );
    }
    const c = containers[0]!;
    const started = pod.status?.startTime ?? pod.metadata.creationTimestamp ?? new Date().toISOString();
    const lines = [
      `${started} slipway-sandbox: simulated container "${c.name}" (image ${c.image}) started in pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      `${started} slipway-sandbox: no process runs here; traffic and metrics are simulated (see /sim/traffic)`,
    ];
    const body = `${lines.join("\n")}\n`;
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }

  private async deleteOptions(req: IncomingMessage, url: URL): Promise<DeleteOptions> {
    const body = parseBody(await readBody(req), req.headers["content-type"]) as
      | {
          propagationPolicy?: string;
          orphanDependents?: boolean;
          dryRun?: string[];
          gracePeriodSeconds?: number;
          preconditions?: DeleteOptions["preconditions"];
        }
      | undefined;
    const policy =
      url.searchParams.get("propagationPolicy") ??
      body?.propagationPolicy ??
      (body?.orphanDependents ? "Orphan" : undefined);
    if (policy && !["Background", "Foreground", "Orphan"].includes(policy)) {
      throw badRequest(
        `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    const dryRun = url.searchParams.getAll("dryRun").length > 0 || (body?.dryRun ?? []).includes("All");
    return {
      ...(policy ? { propagationPolicy: policy as DeleteOptions["propagationPolicy"] } : {}),
      ...(dryRun ? { dryRun } : {}),
      ...(body?.preconditions ? { preconditions: body.preconditions } : {}),
    };
  }

  private handleList(
    res: ServerResponse,
    url: URL,
    resource: ServedResource,
    namespace: string | undefined,
    rendering: Rendering,
  ): void {
    const core = this.core;
    const limit = Number(url.searchParams.get("limit") ?? 0);
    const cont = url.searchParams.get("continue");
    let items = core.listRaw(resource, {
      ...(namespace ? { namespace } : {}),
      ...optional("labelSelector", url.searchParams.get("labelSelector")),
      ...optional("fieldSelector", url.searchParams.get("fieldSelector")),
    });
    const revision = core.store.currentRevision;
    if (cont) {
      const { k } = decodeContinue(cont);
      const key = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
      items = items.filter((o) => key(o) > k);
    }
    const meta: Record<string, unknown> = { resourceVersion: String(revision) };
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1]!;
      meta.continue = encodeContinue(`${last.metadata.namespace ?? ""}/${last.metadata.name}`, revision);
      meta.remainingItemCount = items.length - limit;
      items = page;
    }
    const presented = items.map((o) => core.present(resource, o));
    if (rendering.as === "table") {
      sendJson(res, 200, toTable(resource, presented, meta, rendering.includeObject), tableContentType());
      return;
    }
    if (rendering.as === "metadata") {
      sendJson(res, 200, {
        kind: "PartialObjectMetadataList",
        apiVersion: "meta.k8s.io/v1",
        metadata: meta,
        items: presented.map((o) => ({
          kind: "PartialObjectMetadata",
          apiVersion: "meta.k8s.io/v1",
          metadata: o.metadata,
        })),
      });
      return;
    }
    sendJson(res, 200, {
      kind: resource.listKind,
      apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
      metadata: meta,
      items: presented,
    });
  }
}

/** Go's strconv.ParseBool, which the API server uses for boolean query parameters ("True" from Python, "1", ...). */
function queryBool(url: URL, name: string): boolean {
  return ["1", "t", "T", "TRUE", "true", "True"].includes(url.searchParams.get(name) ?? "");
}

/** The answer to a SelfSubjectAccessReview / SelfSubjectRulesReview: the sandbox's one user may do anything. */
function accessReview(review: KubeObject): Record<string, unknown> {
  const status =
    review.kind === "SelfSubjectRulesReview"
      ? {
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          incomplete: false,
        }
      : { allowed: true, reason: "the sandbox's user is a cluster administrator" };
  return { ...review, metadata: { ...(review.metadata ?? {}), creationTimestamp: null }, status };
}

function optional<K extends string>(key: K, value: string | null): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}
