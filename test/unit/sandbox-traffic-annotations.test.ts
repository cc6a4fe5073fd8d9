/** Parsing of `sim.slipway.dev/*` annotations, and how a pod answers from them. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../sandbox/core/types.js";
import {
  DEFAULT_BEHAVIOUR,
  ERROR_CODE,
  Prng,
  parseDuration,
  parseErrorRate,
  parseHeaderMix,
  parseLatencyMs,
  parseRps,
  podBehaviour,
  sampleResponse,
} from "../../sandbox/traffic/index.js";

function pod(annotations: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns", annotations } };
}

describe("annotation parsers", () => {
  it.each([
    ["10", 10],
    ["0", 0],
    ["0.5", 0.5],
    [" 40 ", 40],
    ["1e3", 1000],
  ])("rps %j → %d", (raw, value) => {
    expect(parseRps(raw)).toEqual({ ok: true, value });
  });

  it.each(["-5", "", "ten", "0x10", "Infinity", "NaN", "1e9"])("rejects rps %j", (raw) => {
    expect(parseRps(raw).ok).toBe(false);
  });

  it.each(["0", "0.05", "1"])("accepts error-rate %j", (raw) => {
    expect(parseErrorRate(raw).ok).toBe(true);
  });

  it.each(["1.5", "-0.1", "5%", "abc"])("rejects error-rate %j", (raw) => {
    expect(parseErrorRate(raw).ok).toBe(false);
  });

  it("accepts latency >= 0 only", () => {
    expect(parseLatencyMs("120")).toEqual({ ok: true, value: 120 });
    expect(parseLatencyMs("-3").ok).toBe(false);
    expect(parseLatencyMs("slow").ok).toBe(false);
  });

  it.each([
    ["10s", 10_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["3", 3000],
  ])("duration %j → %d ms", (raw, ms) => {
    expect(parseDuration(raw)).toEqual({ ok: true, value: ms });
  });

  it.each(["", "10 s", "5x", "-1s", "-2"])("rejects duration %j", (raw) => {
    expect(parseDuration(raw).ok).toBe(false);
  });

  it("groups the header mix by lower-cased name with cumulative slices", () => {
    const parsed = parseHeaderMix(
      '[{"name":"X-Cohort","value":"beta","fraction":0.2},{"name":"x-cohort","value":"alpha","fraction":0.3},' +
        '{"name":"x-region","value":"eu","fraction":1}]',
    );
    expect(parsed).toEqual({
      ok: true,
      value: [
        {
          name: "x-cohort",
          choices: [
            { value: "beta", cumulative: 0.2 },
            { value: "alpha", cumulative: 0.5 },
          ],
        },
        { name: "x-region", choices: [{ value: "eu", cumulative: 1 }] },
      ],
    });
  });

  it.each([
    ["not json", "is not valid JSON"],
    ['{"name":"x"}', "must be a JSON list"],
    ['["x"]', "entry 0 is not an object"],
    ['[{"name":"bad name","value":"v","fraction":0.1}]', '"name" must be an HTTP header name'],
    ['[{"name":"x","value":1,"fraction":0.1}]', '"value" must be a string'],
    ['[{"name":"x","value":"v","fraction":1.5}]', '"fraction" must be a number in [0, 1]'],
    [
      '[{"name":"x","value":"a","fraction":0.6},{"name":"X","value":"b","fraction":0.6}]',
      "add up to more than 1",
    ],
  ])("rejects header mix %j", (raw, message) => {
    const parsed = parseHeaderMix(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });
});

describe("pod behaviour", () => {
  it("answers error-rate of requests with 500, within 4σ of the binomial", () => {
    const behaviour = podBehaviour(pod({ "sim.slipway.dev/error-rate": "0.2" }));
    const random = new Prng(3);
    let errors = 0;
    const n = 10_000;
    for (let i = 0; i < n; i++) if (sampleResponse(behaviour, random).code === ERROR_CODE) errors++;
    expect(Math.abs(errors - n * 0.2)).toBeLessThanOrEqual(4 * Math.sqrt(n * 0.2 * 0.8));
  });

  it("spreads latency around the annotated mean", () => {
    const behaviour = podBehaviour(pod({ "sim.slipway.dev/latency-ms": "200" }));
    const random = new Prng(4);
    const samples = Array.from(
      { length: 20_000 },
      () => sampleResponse(behaviour, random).latencySeconds * 1000,
    );
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    // Lognormal σ=0.25: the sample mean's standard error is ~0.25·200/√20000 ≈ 0.36 ms.
    expect(Math.abs(mean - 200)).toBeLessThan(2);
    expect(Math.min(...samples)).toBeGreaterThan(0);
    expect(new Set(samples).size).toBeGreaterThan(19_000);
  });

  it("reports invalid annotations and uses the defaults", () => {
    const reported: string[] = [];
    const behaviour = podBehaviour(
      pod({ "sim.slipway.dev/error-rate": "1.5", "sim.slipway.dev/latency-ms": "-3" }),
      (_pod, annotation, message) => reported.push(`${annotation}: ${message}`),
    );
    expect(behaviour).toEqual(DEFAULT_BEHAVIOUR);
    expect(reported).toEqual([
      'sim.slipway.dev/error-rate: "1.5" is outside [0, 1]; using 0',
      'sim.slipway.dev/latency-ms: "-3" is negative; using 10',
    ]);
  });

  it("zero latency answers at once", () => {
    expect(
      sampleResponse(podBehaviour(pod({ "sim.slipway.dev/latency-ms": "0" })), new Prng(1)).latencySeconds,
    ).toBe(0);
  });
});
