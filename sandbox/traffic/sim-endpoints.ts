/**
 * The two read-only HTTP endpoints of the simulator, for the sandbox server to mount before its
 * authentication check (DESIGN: `/sim/metrics` needs no token):
 * `GET /sim/metrics` (Prometheus text) and `GET /sim/traffic?window=SECONDS` (JSON, default 60 s).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TrafficSimulator } from "./traffic-simulator.js";

export const DEFAULT_REPORT_WINDOW_SECONDS = 60;

/**
 * Answers the request when its path is under `/sim/`, and returns whether it did; any other path
 * is left to the caller.
 */
export function handleSimEndpoint(
  simulator: TrafficSimulator,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = new URL(req.url ?? "/", "http://sandbox.invalid");
  if (!url.pathname.startsWith("/sim/")) return false;
  if (url.pathname !== "/sim/metrics" && url.pathname !== "/sim/traffic") {
    send(res, 404, "text/plain; charset=utf-8", `no such endpoint: ${url.pathname}\n`);
    return true;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "text/plain; charset=utf-8", "only GET is supported\n");
    return true;
  }
  if (url.pathname === "/sim/traffic") {
    const raw = url.searchParams.get("window");
    const window = raw === null ? DEFAULT_REPORT_WINDOW_SECONDS : Number(raw);
    if (!Number.isFinite(window) || window < 1) {
      send(res, 400, "text/plain; charset=utf-8", "window must be a number of seconds >= 1\n");
      return true;
    }
    send(res, 200, "application/json", `${JSON.stringify(simulator.trafficReport(window))}\n`);
    return true;
  }
  simulator.metricsText().then(
    (text) => send(res, 200, simulator.metricsContentType, text),
    (error: unknown) =>
      send(res, 500, "text/plain; charset=utf-8", `metrics unavailable: ${String(error)}\n`),
  );
  return true;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(res.req?.method === "HEAD" ? undefined : body);
}
