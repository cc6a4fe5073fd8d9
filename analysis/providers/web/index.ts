/**
 * HTTP metrics, as Argo Rollouts' web provider: call a URL, pick a value out of the JSON answer
 * with `jsonPath` (Argo's `{$.data.ok}` form accepted), and hand that value to the conditions.
 * https://argo-rollouts.readthedocs.io/en/stable/analysis/web/
 */
import axios, { type AxiosInstance } from "axios";
import { JSONPath } from "jsonpath-plus";
import type { Metric } from "../../../api/v1alpha1/analysis.js";
import { fetchText, snippet } from "../http.js";
import { type MeasurementValue, type MetricProvider, ProviderError } from "../provider.js";

/** Argo's default when timeoutSeconds is unset or 0. */
export const DEFAULT_WEB_TIMEOUT_SECONDS = 10;

/** Kubernetes-style `{$.a.b}` / `{.a.b}` to a JSONPath expression jsonpath-plus reads. */
export function toJsonPath(path: string | undefined): string {
  let p = (path ?? "").trim();
  if (p.startsWith("{") && p.endsWith("}")) p = p.slice(1, -1).trim();
  if (p === "") return "$";
  if (p.startsWith("$")) return p;
  if (p.startsWith(".") || p.startsWith("[")) return `$${p}`;
  return `$.${p}`;
}

export interface WebProviderOptions {
  http?: AxiosInstance;
}

export class WebProvider implements MetricProvider {
  readonly type = "WebMetric";
  private readonly http: AxiosInstance;

  constructor(options: WebProviderOptions = {}) {
    this.http = options.http ?? axios.create();
  }

  async measure(metric: Metric, signal?: AbortSignal): Promise<MeasurementValue> {
    const cfg = metric.provider?.web;
    if (!cfg) throw new ProviderError(`metric ${metric.name} has no web provider`);
    const method = cfg.method ?? "GET";
    let url: URL;
    try {
      url = new URL(cfg.url);
    } catch {
      throw new ProviderError(`web url ${JSON.stringify(cfg.url)} is not a URL`);
    }
    const headers: Record<string, string> = Object.fromEntries(
      (cfg.headers ?? []).map((h) => [h.key, h.value]),
    );
    let data: string | undefined;
    if (cfg.jsonBody !== undefined || cfg.body !== undefined) {
      if (method === "GET") throw new ProviderError("web body can only be sent with method POST or PUT");
      data = cfg.jsonBody !== undefined ? JSON.stringify(cfg.jsonBody) : cfg.body;
      const hasType = Object.keys(headers).some((k) => k.toLowerCase() === "content-type");
      if (!hasType && cfg.jsonBody !== undefined) headers["Content-Type"] = "application/json";
    }
    const timeout =
      (cfg.timeoutSeconds && cfg.timeoutSeconds > 0 ? cfg.timeoutSeconds : DEFAULT_WEB_TIMEOUT_SECONDS) *
      1000;

    const { status, text } = await fetchText(
      this.http,
      { url: url.toString(), method, headers, data, timeout, signal },
      `${method} ${url.origin}${url.pathname}`,
      cfg.insecure,
    );
    if (status < 200 || status >= 300) {
      throw new ProviderError(
        `received non 2xx response code: ${status}${text ? ` (${snippet(text)})` : ""}`,
      );
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new ProviderError(`could not parse JSON body: ${(err as Error).message}`);
    }
    const path = toJsonPath(cfg.jsonPath);
    let found: unknown[];
    try {
      found = JSONPath({ path, json: body as object, wrap: true, eval: "safe" }) as unknown[];
    } catch (err) {
      throw new ProviderError(`invalid jsonPath ${JSON.stringify(cfg.jsonPath)}: ${(err as Error).message}`);
    }
    if (!Array.isArray(found) || found.length === 0) {
      throw new ProviderError(`could not find JSONPath ${cfg.jsonPath ?? "{$}"} in body: ${snippet(text)}`);
    }
    const result = found[0];
    return { value: JSON.stringify(result) ?? "null", result };
  }
}
