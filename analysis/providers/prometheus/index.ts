/**
 * Prometheus instant queries (GET /api/v1/query), as Argo Rollouts' prometheus provider: a vector
 * becomes an array of numbers (`result[0]`), a scalar a number; NaN and ±Inf stay what they are,
 * so `isNaN(result[0])` works. https://prometheus.io/docs/prometheus/latest/querying/api/
 */
import axios, { type AxiosInstance } from "axios";
import type { Metric } from "../../../api/v1alpha1/analysis.js";
import { parseDuration } from "../../duration.js";
import { fetchText, snippet } from "../http.js";
import { type MeasurementValue, type MetricProvider, ProviderError } from "../provider.js";

/** Argo's default query timeout. */
export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 30_000;

export interface PrometheusProviderOptions {
  http?: AxiosInstance;
  /** Used when a metric gives no `address` (Argo reads ARGO_ROLLOUTS_PROMETHEUS_ADDRESS). */
  defaultAddress?: string;
}

interface ApiResponse {
  status?: string;
  errorType?: string;
  error?: string;
  warnings?: string[];
  data?: { resultType?: string; result?: unknown };
}

/** A sample value as Prometheus encodes it ("0.5", "NaN", "+Inf", "-Inf"). */
export function parseSampleValue(text: unknown): number {
  if (typeof text !== "string") throw new ProviderError(`unexpected sample value ${JSON.stringify(text)}`);
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  if (text.trim() === "" || Number.isNaN(n))
    throw new ProviderError(`unexpected sample value ${JSON.stringify(text)}`);
  return n;
}

/**
 * Go's `strconv.FormatFloat(f, 'f', -1, 64)`, which Prometheus' model.SampleValue.String uses,
 * so `measurement.value` reads as in Argo (`[0.99,NaN]`, `1e+21` spelled out in full).
 */
export function formatSampleValue(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Number.POSITIVE_INFINITY) return "+Inf";
  if (f === Number.NEGATIVE_INFINITY) return "-Inf";
  const s = String(f);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = "", expText] = m;
  const exp = Number(expText);
  const digits = int! + frac;
  const point = int!.length + exp;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function timeoutMs(timeout: number | string | undefined): number {
  if (timeout === undefined || timeout === "") return DEFAULT_PROMETHEUS_TIMEOUT_MS;
  const ms = typeof timeout === "number" ? timeout * 1000 : parseDuration(timeout);
  if (ms < 0) throw new ProviderError("prometheus timeout should not be negative");
  return ms === 0 ? DEFAULT_PROMETHEUS_TIMEOUT_MS : ms;
}

function checkAddress(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ProviderError(`prometheus address ${JSON.stringify(address)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProviderError(`prometheus address ${JSON.stringify(address)} must be http or https`);
  }
  return url;
}

/** Vector and scalar results into Argo's value text and the condition's `result`. */
export function convertResult(
  resultType: string | undefined,
  data: unknown,
): { value: string; result: number | number[] } {
  if (resultType === "scalar") {
    if (!Array.isArray(data) || data.length !== 2)
      throw new ProviderError("malformed scalar result from Prometheus");
    const v = parseSampleValue(data[1]);
    return { value: formatSampleValue(v), result: v };
  }
  if (resultType === "vector") {
    if (!Array.isArray(data)) throw new ProviderError("malformed vector result from Prometheus");
    const values = data.map((sample) => {
      const pair = (sample as { value?: unknown })?.value;
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new ProviderError("malformed vector sample from Prometheus");
      return parseSampleValue(pair[1]);
    });
    return { value: `[${values.map(formatSampleValue).join(",")}]`, result: values };
  }
  throw new ProviderError(
    `Prometheus metric type not supported: ${resultType ?? "unknown"} (use an instant query that returns a vector or scalar)`,
  );
}

export class PrometheusProvider implements MetricProvider {
  readonly type = "Prometheus";
  private readonly http: AxiosInstance;

  constructor(private readonly options: PrometheusProviderOptions = {}) {
    this.http = options.http ?? axios.create();
  }

  async measure(metric: Metric, signal?: AbortSignal): Promise<MeasurementValue> {
    const cfg = metric.provider?.prometheus;
    if (!cfg) throw new ProviderError(`metric ${metric.name} has no prometheus provider`);
    const address = cfg.address || this.options.defaultAddress;
    if (!address) throw new ProviderError("prometheus address is not configured");
    const base = checkAddress(address);
    if (!cfg.query?.trim()) throw new ProviderError("prometheus query is empty");
    const timeout = timeoutMs(cfg.timeout);
    const url = new URL(`${base.pathname.replace(/\/+$/, "")}/api/v1/query`, base);

    const { status, text } = await fetchText(
      this.http,
      {
        url: url.toString(),
        method: "GET",
        params: { query: cfg.query },
        headers: Object.fromEntries((cfg.headers ?? []).map((h) => [h.key, h.value])),
        timeout,
        signal,
      },
      `prometheus query to ${base.origin}`,
      cfg.insecure,
    );

    let body: ApiResponse | undefined;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      body = undefined;
    }
    if (body?.status === "error") {
      throw new ProviderError(`${body.errorType ?? "error"}: ${body.error ?? "unknown Prometheus error"}`);
    }
    if (status < 200 || status >= 300) {
      throw new ProviderError(`prometheus returned HTTP ${status}: ${snippet(text) || "(empty body)"}`);
    }
    if (body?.status !== "success" || !body.data) {
      throw new ProviderError(`unexpected response from prometheus: ${snippet(text) || "(empty body)"}`);
    }

    const { value, result } = convertResult(body.data.resultType, body.data.result);
    const warnings = body.warnings?.filter((w) => w) ?? [];
    return {
      value,
      result,
      ...(warnings.length
        ? { metadata: { warnings: warnings.map((w) => JSON.stringify(w)).join(", ") } }
        : {}),
      metricMetadata: { ResolvedPrometheusQuery: cfg.query },
    };
  }
}
