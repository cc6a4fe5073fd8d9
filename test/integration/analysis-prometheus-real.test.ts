/**
 * The prometheus provider and the analysis state machine against a real Prometheus (Debian's
 * `prometheus` binary) scraping a prom-client endpoint served here every second. Skipped with a
 * message when the binary is missing, unless REQUIRE_SERVICES=1 (then it fails).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepRun } from "../../analysis/measurement/index.js";
import { measureWith } from "../../analysis/providers/index.js";
import { buildRunSpec } from "../../analysis/run-spec.js";
import type { AnalysisTemplateSpec } from "../../api/v1alpha1/analysis.js";
import { prometheusAvailable, type RunningPrometheus, startPrometheus } from "../helpers/prometheus.js";

describe.skipIf(!prometheusAvailable())("analysis against a real Prometheus", () => {
  let exporter: Server;
  let prometheus: RunningPrometheus | undefined;
  let address: string;
  const clock = { now: () => new Date() };

  beforeAll(async () => {
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

    // Ready, then at least one scrape with our series in it.
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${exporterPort}`],
      waitForQuery: "slipway_analysis_test_requests_total",
      minSeries: 4,
    });
    address = prometheus.address;
  });

  afterAll(async () => {
    await prometheus?.stop();
    if (exporter) await new Promise((r) => exporter.close(r));
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
