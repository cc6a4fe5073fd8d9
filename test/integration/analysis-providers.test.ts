/**
 * The web and prometheus providers over real HTTP against servers started here. The Prometheus
 * stand-in answers in the real HTTP API format (https://prometheus.io/docs/prometheus/latest/querying/api/);
 * a real Prometheus is used in analysis-prometheus-real.test.ts (when the binary is installed)
 * and in the sandbox's end-to-end tests, not here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepRun } from "../../analysis/measurement/index.js";
import { measureWith, ProviderError, providerFor } from "../../analysis/providers/index.js";
import { formatSampleValue, PrometheusProvider } from "../../analysis/providers/prometheus/index.js";
import { toJsonPath, WebProvider } from "../../analysis/providers/web/index.js";
import type { Metric } from "../../api/v1alpha1/analysis.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const { server } = await serve(() => {});
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

const clock = { now: () => new Date() };

describe("web provider", () => {
  let web: { server: Server; url: string };
  const seen: { method?: string; headers: IncomingMessage["headers"]; body: string }[] = [];

  beforeAll(async () => {
    web = await serve((req, body, res) => {
      seen.push({ method: req.method, headers: req.headers, body });
      const path = new URL(req.url!, "http://x").pathname;
      switch (path) {
        case "/ok":
          return json(res, 200, { data: { ok: true, successPercent: 0.97 }, results: { ok: "true" } });
        case "/echo":
          return json(res, 200, {
            method: req.method,
            body: body ? JSON.parse(body) : null,
            auth: req.headers.authorization ?? null,
          });
        case "/fail":
          return json(res, 500, { error: "internal" });
        case "/slow":
          setTimeout(() => json(res, 200, { ok: true }), 2500);
          return;
        case "/text":
          res.writeHead(200, { "content-type": "text/plain" });
          return res.end("all good");
        case "/null":
          return json(res, 200, { data: null });
        default:
          return json(res, 404, { error: "not found" });
      }
    });
  });
  afterAll(async () => {
    web.server.closeAllConnections();
    await new Promise((r) => web.server.close(r));
  });

  const webMetric = (web: NonNullable<Metric["provider"]["web"]>, extra: Partial<Metric> = {}): Metric => ({
    name: "web",
    provider: { web },
    ...extra,
  });

  it("reads a JSON field with an Argo-style jsonPath", async () => {
    const v = await new WebProvider().measure(webMetric({ url: `${web.url}/ok`, jsonPath: "{$.data.ok}" }));
    expect(v).toEqual({ value: "true", result: true });
    const s = await new WebProvider().measure(
      webMetric({ url: `${web.url}/ok`, jsonPath: "{$.results.ok}" }),
    );
    expect(s).toEqual({ value: '"true"', result: "true" });
  });

  it("hands the whole document to the condition without a jsonPath", async () => {
    const v = await new WebProvider().measure(webMetric({ url: `${web.url}/ok` }));
    expect(v.result).toEqual({ data: { ok: true, successPercent: 0.97 }, results: { ok: "true" } });
  });

  it("sends method, headers and a JSON body", async () => {
    const v = await new WebProvider().measure(
      webMetric({
        url: `${web.url}/echo`,
        method: "POST",
        headers: [{ key: "Authorization", value: "Bearer abc" }],
        jsonBody: { service: "checkout" },
      }),
    );
    expect(v.result).toEqual({ method: "POST", body: { service: "checkout" }, auth: "Bearer abc" });
    expect(seen.at(-1)!.headers["content-type"]).toBe("application/json");
  });

  it("decides a run end to end: web → condition → Successful", async () => {
    const r = await stepRun(
      {
        spec: {
          args: [{ name: "base", value: web.url }],
          metrics: [
            webMetric(
              { url: "{{args.base}}/ok", jsonPath: "{$.data}" },
              { successCondition: "result.ok && result.successPercent >= 0.90" },
            ),
          ],
        },
      },
      { clock, measure: measureWith() },
    );
    expect(r.status.phase).toBe("Successful");
    expect(r.status.metricResults![0]!.measurements![0]!.value).toBe('{"ok":true,"successPercent":0.97}');
  });

  it("a non-2xx answer is an error naming the status", async () => {
    await expect(new WebProvider().measure(webMetric({ url: `${web.url}/fail` }))).rejects.toThrow(
      'received non 2xx response code: 500 ({"error":"internal"})',
    );
  });

  it("times out after timeoutSeconds", async () => {
    const started = Date.now();
    await expect(
      new WebProvider().measure(webMetric({ url: `${web.url}/slow`, timeoutSeconds: 1 })),
    ).rejects.toThrow(/timed out after 1s/);
    expect(Date.now() - started).toBeLessThan(2400);
  });

  it("reports a body that is not JSON, and a path that is not there", async () => {
    await expect(new WebProvider().measure(webMetric({ url: `${web.url}/text` }))).rejects.toThrow(
      /could not parse JSON body/,
    );
    await expect(
      new WebProvider().measure(webMetric({ url: `${web.url}/ok`, jsonPath: "{$.data.missing}" })),
    ).rejects.toThrow("could not find JSONPath {$.data.missing} in body");
  });

  it("a null value is a value (isNil can test it)", async () => {
    const v = await new WebProvider().measure(webMetric({ url: `${web.url}/null`, jsonPath: "{$.data}" }));
    expect(v).toEqual({ value: "null", result: null });
  });

  it("a server that is down is an error, recorded as an Error measurement", async () => {
    const port = await closedPort();
    await expect(new WebProvider().measure(webMetric({ url: `http://127.0.0.1:${port}/x` }))).rejects.toThrow(
      /ECONNREFUSED/,
    );
    const r = await stepRun(
      {
        spec: {
          metrics: [webMetric({ url: `http://127.0.0.1:${port}/x` }, { successCondition: "result == true" })],
        },
      },
      { clock, measure: measureWith() },
    );
    expect(r.status.phase).toBe("Running");
    expect(r.status.metricResults![0]!.measurements![0]).toMatchObject({ phase: "Error" });
    expect(r.status.metricResults![0]!.measurements![0]!.message).toMatch(/ECONNREFUSED/);
  });

  it("refuses a body with GET and a bad URL", async () => {
    await expect(new WebProvider().measure(webMetric({ url: `${web.url}/ok`, body: "x" }))).rejects.toThrow(
      ProviderError,
    );
    await expect(new WebProvider().measure(webMetric({ url: "not a url" }))).rejects.toThrow("is not a URL");
  });

  it("converts Kubernetes-style paths", () => {
    expect(toJsonPath("{$.data.ok}")).toBe("$.data.ok");
    expect(toJsonPath("{.data.ok}")).toBe("$.data.ok");
    expect(toJsonPath("{$}")).toBe("$");
    expect(toJsonPath(undefined)).toBe("$");
    expect(toJsonPath("$.a[0]")).toBe("$.a[0]");
  });
});

describe("prometheus provider (Prometheus HTTP API format)", () => {
  let prom: { server: Server; url: string };
  const queries: { query: string | null; auth?: string }[] = [];
  const now = 1_700_000_000.123;
  const vector = (...values: string[]) => ({
    status: "success",
    data: {
      resultType: "vector",
      result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [now, v] })),
    },
  });

  beforeAll(async () => {
    prom = await serve((req, _body, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname !== "/api/v1/query") return json(res, 404, "404 page not found");
      const query = url.searchParams.get("query");
      queries.push({ query, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
      switch (query) {
        case "vector":
          return json(res, 200, vector("0.99", "0.5"));
        case "scalar(1)":
          return json(res, 200, { status: "success", data: { resultType: "scalar", result: [now, "1"] } });
        case "empty":
          return json(res, 200, vector());
        case "nan":
          return json(res, 200, vector("NaN"));
        case "inf":
          return json(res, 200, vector("+Inf", "-Inf"));
        case "big":
          return json(res, 200, vector("1e+21", "1e-7"));
        case "matrix":
          return json(res, 200, { status: "success", data: { resultType: "matrix", result: [] } });
        case "warn":
          return json(res, 200, { ...vector("1"), warnings: ["PromQL info: metric might not be a counter"] });
        case "slow":
          setTimeout(() => json(res, 200, vector("1")), 2500);
          return;
        case "down":
          res.writeHead(503);
          return res.end("Service Unavailable");
        default:
          return json(res, 400, {
            status: "error",
            errorType: "bad_data",
            error: `invalid parameter "query": 1:5: parse error: unexpected end of input`,
          });
      }
    });
  });
  afterAll(async () => {
    prom.server.closeAllConnections();
    await new Promise((r) => prom.server.close(r));
  });

  const promMetric = (
    query: string,
    extra: Partial<NonNullable<Metric["provider"]["prometheus"]>> = {},
    m: Partial<Metric> = {},
  ): Metric => ({
    name: "prom",
    successCondition: "result[0] >= 0.95",
    provider: { prometheus: { address: prom.url, query, ...extra } },
    ...m,
  });

  it("a vector is an array of numbers; value text as Argo stores it", async () => {
    const v = await new PrometheusProvider().measure(promMetric("vector"));
    expect(v.result).toEqual([0.99, 0.5]);
    expect(v.value).toBe("[0.99,0.5]");
    expect(v.metricMetadata).toEqual({ ResolvedPrometheusQuery: "vector" });
  });

  it("a scalar is a number", async () => {
    const v = await new PrometheusProvider().measure(promMetric("scalar(1)"));
    expect(v).toMatchObject({ value: "1", result: 1 });
  });

  it("an empty vector is an empty array", async () => {
    const v = await new PrometheusProvider().measure(promMetric("empty"));
    expect(v).toMatchObject({ value: "[]", result: [] });
  });

  it("keeps NaN and ±Inf", async () => {
    const nan = await new PrometheusProvider().measure(promMetric("nan"));
    expect(nan.value).toBe("[NaN]");
    expect(Number.isNaN((nan.result as number[])[0])).toBe(true);
    const inf = await new PrometheusProvider().measure(promMetric("inf"));
    expect(inf).toMatchObject({
      value: "[+Inf,-Inf]",
      result: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    });
    const big = await new PrometheusProvider().measure(promMetric("big"));
    expect(big.value).toBe("[1000000000000000000000,0.0000001]");
    expect(formatSampleValue(-1.5e-8)).toBe("-0.000000015");
  });

  it("sends headers and the query as a parameter", async () => {
    await new PrometheusProvider().measure(
      promMetric("vector", { headers: [{ key: "Authorization", value: "Bearer t" }] }),
    );
    expect(queries.at(-1)).toEqual({ query: "vector", auth: "Bearer t" });
  });

  it("invalid PromQL: Prometheus' errorType and error", async () => {
    await expect(new PrometheusProvider().measure(promMetric("rate(x[5m]"))).rejects.toThrow(
      'bad_data: invalid parameter "query": 1:5: parse error: unexpected end of input',
    );
  });

  it("Prometheus down, unhealthy or slow", async () => {
    const port = await closedPort();
    await expect(
      new PrometheusProvider().measure({
        ...promMetric("vector"),
        provider: { prometheus: { address: `http://127.0.0.1:${port}`, query: "up" } },
      }),
    ).rejects.toThrow(/prometheus query to http:\/\/127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
    await expect(new PrometheusProvider().measure(promMetric("down"))).rejects.toThrow(
      "prometheus returned HTTP 503: Service Unavailable",
    );
    await expect(new PrometheusProvider().measure(promMetric("slow", { timeout: 1 }))).rejects.toThrow(
      /prometheus query to .* timed out after 1s/,
    );
  });

  it("refuses a range result and a missing address", async () => {
    await expect(new PrometheusProvider().measure(promMetric("matrix"))).rejects.toThrow(
      "Prometheus metric type not supported: matrix",
    );
    await expect(
      new PrometheusProvider().measure({ name: "x", provider: { prometheus: { query: "up" } } }),
    ).rejects.toThrow("prometheus address is not configured");
    const v = await new PrometheusProvider({ defaultAddress: prom.url }).measure({
      name: "x",
      provider: { prometheus: { query: "vector" } },
    });
    expect(v.result).toEqual([0.99, 0.5]);
  });

  it("carries Prometheus warnings into the measurement's metadata", async () => {
    const v = await new PrometheusProvider().measure(promMetric("warn"));
    expect(v.metadata).toEqual({ warnings: '"PromQL info: metric might not be a counter"' });
  });

  it("through stepRun: verdicts, 'no data' and errors are measurements, never exceptions", async () => {
    const run = async (metric: Metric) =>
      (await stepRun({ spec: { metrics: [metric] } }, { clock, measure: measureWith() })).status;

    const ok = await run(promMetric("vector"));
    expect(ok.phase).toBe("Successful");
    expect(ok.metricResults![0]!.metadata).toEqual({ ResolvedPrometheusQuery: "vector" });

    const empty = await run(promMetric("empty"));
    expect(empty.metricResults![0]!.measurements![0]).toMatchObject({ phase: "Error", value: "[]" });
    expect(empty.metricResults![0]!.measurements![0]!.message).toMatch(
      /^query returned no data \(no traffic yet\?\)/,
    );

    const nan = await run(promMetric("nan"));
    expect(nan.phase).toBe("Failed");
    expect(nan.metricResults![0]!.message).toBe("query returned NaN (no traffic yet?)");

    const bad = await run(promMetric("rate(x[5m]", {}, { consecutiveErrorLimit: 0 }));
    expect(bad.phase).toBe("Error");
    expect(bad.message).toContain("bad_data: invalid parameter");
  });

  it("providerFor picks by provider and refuses unknown ones", () => {
    expect(providerFor(promMetric("x")).type).toBe("Prometheus");
    expect(providerFor({ name: "w", provider: { web: { url: "http://x" } } }).type).toBe("WebMetric");
    expect(() => providerFor({ name: "n", provider: {} })).toThrow(ProviderError);
  });
});

describe("insecure: true skips TLS verification (self-signed endpoints)", () => {
  let server: ReturnType<typeof createHttpsServer>;
  let url: string;

  beforeAll(async () => {
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = "01";
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 3_600_000);
    const subject = [{ name: "commonName", value: "127.0.0.1" }];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    server = createHttpsServer(
      { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) },
      (_req, res) =>
        json(res, 200, { status: "success", data: { resultType: "scalar", result: [1, "0.99"] } }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("refuses a self-signed certificate unless insecure", async () => {
    const metric = (insecure: boolean): Metric => ({
      name: "tls",
      provider: { prometheus: { address: url, query: "x", insecure } },
    });
    await expect(new PrometheusProvider().measure(metric(false))).rejects.toThrow(
      /self[- ]signed certificate/,
    );
    await expect(new PrometheusProvider().measure(metric(true))).resolves.toMatchObject({ result: 0.99 });
    const web: Metric = { name: "w", provider: { web: { url, insecure: true, jsonPath: "{$.status}" } } };
    await expect(new WebProvider().measure(web)).resolves.toMatchObject({ result: "success" });
  });
});
