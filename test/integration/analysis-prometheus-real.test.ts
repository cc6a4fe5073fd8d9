/**
 * The prometheus provider and the analysis state machine against a real Prometheus (Debian's
 * `prometheus` binary) scraping a prom-client endpoint served here every second. Skipped with a
 * message when the binary is missing, unless REQUIRE_SERVICES=1 (then it fails).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { Counter, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepRun } from "../../analysis/measurement/index.js";
import { measureWith } from "../../analysis/providers/index.js";
import { buildRunSpec } from "../../analysis/run-spec.js";
import type { AnalysisTemplateSpec } from "../../api/v1alpha1/analysis.js";

const binary = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" }).stdout.trim();
const required = process.env.REQUIRE_SERVICES === "1";
if (!binary && !required) {
  console.warn(
    "analysis-prometheus-real: skipped, no `prometheus` binary on PATH (apt-get install prometheus); " +
      "set REQUIRE_SERVICES=1 to make this a failure",
  );
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!binary && !required)("analysis against a real Prometheus", () => {
  let dir: string;
  let exporter: Server;
  let prometheus: ChildProcess | undefined;
  let address: string;
  let log = "";
  const clock = { now: () => new Date() };

  beforeAll(async () => {
    if (!binary) throw new Error("REQUIRE_SERVICES=1 but the prometheus binary is not installed");
    dir = mkdtempSync(join(tmpdir(), "slipway-prom-"));

    // Known traffic: checkout answered 990 requests OK and 10 with 500; idle got none yet.
    const registry = new Registry();
    const requests = new Counter({
      name: "slipway_analysis_test_requests_total",
      help: "requests seen by the test exporter",
      labelNames: ["service", "code"],
      registers: [registry],
    });
    requests.inc({ service: "checkout", code: "200" }, 990);
    requests.inc({ service: "checkout", code: "500" }, 10);
    requests.inc({ service: "idle", code: "200" }, 0);
    requests.inc({ service: "idle", code: "500" }, 0);
    exporter = createServer(async (req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(await registry.metrics());
    });
    await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
    const exporterPort = (exporter.address() as AddressInfo).port;

    const config = join(dir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: slipway-test",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${exporterPort}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    address = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    prometheus.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });

    // Ready, then at least one scrape with our series in it.
    const deadline = Date.now() + 45_000;
    for (;;) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited early:\n${log.slice(-2000)}`);
      try {
        const r = await axios.get(`${address}/api/v1/query`, {
          params: { query: "slipway_analysis_test_requests_total" },
          timeout: 2000,
        });
        if (r.data?.data?.result?.length >= 4) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`no data from prometheus within 45s:\n${log.slice(-2000)}`);
      await sleep(250);
    }
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once("exit", r));
      prometheus.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (prometheus.exitCode === null) prometheus.kill("SIGKILL");
    }
    if (exporter) await new Promise((r) => exporter.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The success-rate template users write for Argo, unchanged. */
  const template = (): AnalysisTemplateSpec => ({
    args: [{ name: "service-name" }, { name: "prometheus-address" }],
    metrics: [
      {
        name: "success-rate",
        successCondition: "result[0] >= 0.95",
        failureCondition: "result[0] < 0.90",
        provider: {
          prometheus: {
            address: "{{args.prometheus-address}}",
            query:
              'sum(slipway_analysis_test_requests_total{service="{{args.service-name}}",code!~"5.."}) / ' +
              'sum(slipway_analysis_test_requests_total{service="{{args.service-name}}"})',
          },
        },
      },
    ],
  });

  const runFor = async (service: string, tmpl = template()) => {
    const spec = buildRunSpec(
      [tmpl],
      [
        { name: "service-name", value: service },
        { name: "prometheus-address", value: address },
      ],
    );
    return (await stepRun({ spec }, { clock, measure: measureWith() })).status;
  };

  it("measures the success rate and decides Successful", async () => {
    const status = await runFor("checkout");
    expect(status.phase).toBe("Successful");
    const result = status.metricResults![0]!;
    expect(result.measurements![0]!.value).toBe("[0.99]");
    expect(result.metadata!.ResolvedPrometheusQuery).toContain('service="checkout"');
  });

  it("fails the same data against a stricter threshold", async () => {
    const strict = template();
    strict.metrics[0]!.successCondition = "result[0] >= 0.999";
    strict.metrics[0]!.failureCondition = "result[0] < 0.995";
    const status = await runFor("checkout", strict);
    expect(status.phase).toBe("Failed");
    expect(status.message).toBe('Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)');
  });

  it("a service without traffic yields NaN, reported as such", async () => {
    const status = await runFor("idle");
    const m = status.metricResults![0]!.measurements![0]!;
    expect(m.value).toBe("[NaN]");
    expect(m.phase).toBe("Inconclusive");
    expect(m.message).toBe("query returned NaN (no traffic yet?)");
    expect(status.phase).toBe("Inconclusive");
  });

  it("an unknown service yields an empty vector: an Error measurement saying there is no data", async () => {
    const status = await runFor("nobody");
    const m = status.metricResults![0]!.measurements![0]!;
    expect(m).toMatchObject({ phase: "Error", value: "[]" });
    expect(m.message).toMatch(/^query returned no data \(no traffic yet\?\)/);
    expect(status.phase).toBe("Running");
  });

  it("invalid PromQL comes back as Prometheus' own error", async () => {
    const broken = template();
    broken.metrics[0]!.provider.prometheus!.query = "sum(rate(slipway_analysis_test_requests_total[1m])";
    const status = await runFor("checkout", broken);
    const m = status.metricResults![0]!.measurements![0]!;
    expect(m.phase).toBe("Error");
    expect(m.message).toMatch(/^bad_data: .*parse error/);
  });
});
