/**
 * The controller's HTTP server: Prometheus metrics, liveness and readiness probes, and the Git
 * webhook endpoint. Handlers are registered by the parts that own them; this file only routes.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export type Readiness = () => { ready: boolean; reason?: string };

export interface WebhookRequest {
  headers: IncomingMessage["headers"];
  /** The raw body, for HMAC verification. */
  body: Buffer;
}

export interface WebhookResponse {
  status: number;
  message: string;
}

export type WebhookHandler = (request: WebhookRequest) => Promise<WebhookResponse>;

export interface ControllerHttpOptions {
  /** "HOST:PORT"; port 0 picks a free one. */
  addr: string;
  registry: Registry;
  readiness: Readiness;
  /** Largest webhook payload accepted (Argo CD's default is 50 MB). */
  maxWebhookBytes?: number;
}

/** Parses "HOST:PORT", ":PORT" or "[::1]:PORT". */
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--http-addr must be HOST:PORT, got "${addr}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--http-addr port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export class ControllerHttpServer {
  private readonly server: http.Server;
  private webhook: WebhookHandler | undefined;
  url = "";

  constructor(private readonly options: ControllerHttpOptions) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, "text/plain", `internal error: ${(error as Error).message}\n`);
        else res.end();
      });
    });
  }

  setWebhookHandler(handler: WebhookHandler): void {
    this.webhook = handler;
  }

  async listen(): Promise<string> {
    const { host, port } = parseAddr(this.options.addr);
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.url = `http://${shownHost}:${address.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://controller").pathname;
    if (req.method === "GET" && path === "/metrics") {
      const text = await this.options.registry.metrics();
      return send(res, 200, this.options.registry.contentType, text);
    }
    if (req.method === "GET" && path === "/healthz") return send(res, 200, "text/plain", "ok\n");
    if (req.method === "GET" && path === "/readyz") {
      const { ready, reason } = this.options.readiness();
      return send(
        res,
        ready ? 200 : 503,
        "text/plain",
        ready ? "ok\n" : `not ready: ${reason ?? "starting"}\n`,
      );
    }
    if (path === "/api/webhook") {
      if (req.method !== "POST") return send(res, 405, "text/plain", "use POST\n");
      if (!this.webhook) return send(res, 503, "text/plain", "webhooks are not handled by this controller\n");
      const limit = this.options.maxWebhookBytes ?? 50 * 1024 * 1024;
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > limit) return send(res, 413, "text/plain", `payload larger than ${limit} bytes\n`);
        chunks.push(chunk as Buffer);
      }
      const result = await this.webhook({ headers: req.headers, body: Buffer.concat(chunks) });
      return send(res, result.status, "text/plain", `${result.message}\n`);
    }
    send(res, 404, "text/plain", "not found\n");
  }
}
