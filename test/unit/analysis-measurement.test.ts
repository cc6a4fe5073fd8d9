import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../analysis/duration.js";
import { AnalysisSpecError } from "../../analysis/errors.js";
import {
  assessMetric,
  assessRun,
  type Clock,
  decideMeasurement,
  effectiveCount,
  isWorse,
  nextMeasurementAt,
  stepRun,
} from "../../analysis/measurement/index.js";
import type { MeasurementValue } from "../../analysis/providers/provider.js";
import { buildRunSpec, mergeArgs, resolveRunMetrics } from "../../analysis/run-spec.js";
import { validateTemplateSpec } from "../../analysis/validate.js";
import type {
  AnalysisPhase,
  AnalysisRunSpec,
  AnalysisRunStatus,
  Measurement,
  Metric,
  MetricResult,
} from "../../api/v1alpha1/analysis.js";

// ---------------------------------------------------------------------------------------------
// helpers

class FakeClock implements Clock {
  constructor(public ms = Date.parse("2030-01-01T00:00:00Z")) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const T0 = Date.parse("2030-01-01T00:00:00Z");
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function metric(overrides: Partial<Metric> = {}): Metric {
  return {
    name: "success-rate",
    successCondition: "result[0] >= 0.95",
    provider: { prometheus: { address: "http://prometheus:9090", query: "up" } },
    ...overrides,
  };
}

function done(phase: AnalysisPhase): Measurement {
  return { phase, startedAt: at(0), finishedAt: at(0) };
}

function result(overrides: Partial<MetricResult> & { last?: AnalysisPhase | "inflight" } = {}): MetricResult {
  const { last = "Successful", ...rest } = overrides;
  const measurements = last === "inflight" ? [{ phase: "Running" as const, startedAt: at(0) }] : [done(last)];
  return {
    name: "success-rate",
    phase: "Running",
    measurements,
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
    ...rest,
  };
}

/** What a scripted provider returns next: a sample (as a one-element vector), a vector, or an error. */
type Outcome = number | number[] | "error" | Error | { result: unknown; value?: string };

function scripted(script: Record<string, Outcome[]>) {
  const calls: { name: string; at: number; metric: Metric }[] = [];
  let clock: FakeClock | undefined;
  const measure = async (m: Metric): Promise<MeasurementValue> => {
    calls.push({ name: m.name, at: clock ? (clock.ms - T0) / 1000 : 0, metric: m });
    const next = script[m.name]?.shift();
    if (next === undefined) throw new Error(`script for ${m.name} exhausted`);
    if (next === "error") throw new Error("dial tcp 10.0.0.1:9090: connect: connection refused");
    if (next instanceof Error) throw next;
    if (typeof next === "number") return { value: `[${next}]`, result: [next] };
    if (Array.isArray(next)) return { value: JSON.stringify(next), result: next };
    return { value: next.value ?? JSON.stringify(next.result), result: next.result };
  };
  return { measure, calls, attach: (c: FakeClock) => (clock = c) };
}

interface Driven {
  status: AnalysisRunStatus;
  steps: number;
  phases: AnalysisPhase[];
}

/** Calls stepRun like the reconciler would, advancing the fake clock by each requeueAfter. */
async function drive(
  spec: AnalysisRunSpec,
  script: Record<string, Outcome[]>,
  options: { clock?: FakeClock; status?: AnalysisRunStatus; maxSteps?: number; roundTrip?: boolean } = {},
): Promise<Driven & { calls: ReturnType<typeof scripted>["calls"]; clock: FakeClock }> {
  const clock = options.clock ?? new FakeClock();
  const s = scripted(script);
  s.attach(clock);
  let status = options.status;
  const phases: AnalysisPhase[] = [];
  for (let steps = 1; steps <= (options.maxSteps ?? 200); steps++) {
    const r = await stepRun({ spec, status }, { clock, measure: s.measure });
    // A killed controller keeps nothing but what it wrote: pass the status through JSON.
    status = options.roundTrip ? (JSON.parse(JSON.stringify(r.status)) as AnalysisRunStatus) : r.status;
    phases.push(status.phase);
    if (r.requeueAfter === undefined) return { status, steps, phases, calls: s.calls, clock };
    clock.advance(r.requeueAfter);
  }
  throw new Error(`run did not finish; phases ${phases.join(",")}`);
}

const resultOf = (status: AnalysisRunStatus, name = "success-rate"): MetricResult =>
  status.metricResults!.find((r) => r.name === name)!;

// ---------------------------------------------------------------------------------------------

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["2h45m", 9_900_000],
    ["0", 0],
    ["30", 30_000],
    [45, 45_000],
    ["-1s", -1000],
  ] as [string | number, number][])("%s → %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(["", "abc", "10q", "1x", "s", "1.s5", "5m3"])("rejects %j", (input) => {
    expect(() => parseDuration(input)).toThrow(/duration/);
  });

  it("formats like Go", () => {
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(500)).toBe("500ms");
    expect(formatDuration(3_600_000)).toBe("1h0m0s");
    expect(formatDuration(0)).toBe("0s");
  });
});

describe("decideMeasurement (Argo's evaluate rules)", () => {
  const table: [string, Partial<Metric>, unknown, AnalysisPhase][] = [
    ["no conditions → Successful", { successCondition: undefined }, [0.1], "Successful"],
    ["success only, true", { successCondition: "result[0] >= 0.95" }, [0.99], "Successful"],
    ["success only, false → Failed", { successCondition: "result[0] >= 0.95" }, [0.5], "Failed"],
    [
      "failure only, false → Successful",
      { successCondition: undefined, failureCondition: "result[0] > 0.1" },
      [0.05],
      "Successful",
    ],
    [
      "failure only, true → Failed",
      { successCondition: undefined, failureCondition: "result[0] > 0.1" },
      [0.5],
      "Failed",
    ],
    [
      "both true → failure checked first",
      { successCondition: "true", failureCondition: "true" },
      1,
      "Failed",
    ],
    [
      "success true, failure false",
      { successCondition: "result >= 0.9", failureCondition: "result < 0.5" },
      0.95,
      "Successful",
    ],
    [
      "neither → Inconclusive",
      { successCondition: "result >= 0.9", failureCondition: "result < 0.5" },
      0.7,
      "Inconclusive",
    ],
    ["evaluation error → Error", { successCondition: "result[0] >= 0.95" }, "x", "Error"],
    [
      "error in failure condition → Error",
      { successCondition: "true", failureCondition: "result.a > 1" },
      null,
      "Error",
    ],
    ["empty string conditions are absent", { successCondition: "", failureCondition: "" }, 1, "Successful"],
  ];
  for (const [name, m, value, phase] of table) {
    it(name, () => {
      expect(decideMeasurement(metric(m), value).phase).toBe(phase);
    });
  }

  it("says why when the query returned no data (empty vector)", () => {
    const d = decideMeasurement(metric(), []);
    expect(d.phase).toBe("Error");
    expect(d.message).toMatch(
      /^query returned no data \(no traffic yet\?\): successCondition .*index out of range/,
    );
  });

  it("keeps the condition's verdict when it handles no data, without a warning", () => {
    expect(
      decideMeasurement(metric({ successCondition: "len(result) == 0 || result[0] >= 0.95" }), []),
    ).toEqual({
      phase: "Successful",
    });
  });

  it("says NaN came back, distinct from a real failure", () => {
    const nan = decideMeasurement(metric(), [Number.NaN]);
    expect(nan).toEqual({ phase: "Failed", message: "query returned NaN (no traffic yet?)" });
    const real = decideMeasurement(metric(), [0.5]);
    expect(real).toEqual({ phase: "Failed" });
    expect(decideMeasurement(metric({ successCondition: "isNaN(result)" }), Number.NaN)).toEqual({
      phase: "Successful",
    });
  });
});

describe("assessMetric (Argo's assessMetricStatus, strict >)", () => {
  const interval = { interval: "1m" };
  const table: [string, Partial<Metric>, Parameters<typeof result>[0], boolean, AnalysisPhase][] = [
    ["no measurements → Pending", {}, { measurements: [] }, false, "Pending"],
    ["no measurements, terminating → Successful", {}, { measurements: [] }, true, "Successful"],
    ["measurement in flight → Running", {}, { last: "inflight" }, false, "Running"],
    ["completed phase sticks", {}, { phase: "Failed", failed: 0 }, false, "Failed"],
    // failureLimit
    [
      "failureLimit 0: first failure fails",
      interval,
      { failed: 1, count: 1, last: "Failed" },
      false,
      "Failed",
    ],
    [
      "failureLimit 3: 3 failures keep running",
      { ...interval, failureLimit: 3 },
      { failed: 3, count: 3, last: "Failed" },
      false,
      "Running",
    ],
    [
      "failureLimit 3: the 4th failure fails",
      { ...interval, failureLimit: 3 },
      { failed: 4, count: 4, last: "Failed" },
      false,
      "Failed",
    ],
    [
      "failureLimit as string",
      { ...interval, failureLimit: "3" },
      { failed: 4, count: 4, last: "Failed" },
      false,
      "Failed",
    ],
    [
      "failureLimit -1 never fails",
      { ...interval, failureLimit: -1 },
      { failed: 50, count: 50, last: "Failed" },
      false,
      "Running",
    ],
    [
      "failureLimit -1, count reached → Successful",
      { ...interval, count: 5, failureLimit: -1 },
      { failed: 5, count: 5, last: "Failed" },
      false,
      "Successful",
    ],
    [
      "failures below limit, count reached → Successful",
      { ...interval, count: 5, failureLimit: 2 },
      { failed: 2, successful: 3, count: 5 },
      false,
      "Successful",
    ],
    // inconclusiveLimit
    [
      "inconclusiveLimit 0: first inconclusive",
      interval,
      { inconclusive: 1, count: 1, last: "Inconclusive" },
      false,
      "Inconclusive",
    ],
    [
      "inconclusiveLimit 2: 2 keep running",
      { ...interval, inconclusiveLimit: 2 },
      { inconclusive: 2, count: 2, last: "Inconclusive" },
      false,
      "Running",
    ],
    [
      "inconclusiveLimit 2: the 3rd",
      { ...interval, inconclusiveLimit: 2 },
      { inconclusive: 3, count: 3, last: "Inconclusive" },
      false,
      "Inconclusive",
    ],
    // consecutiveErrorLimit (default 4)
    [
      "4 consecutive errors keep running",
      {},
      { error: 4, consecutiveError: 4, last: "Error" },
      false,
      "Running",
    ],
    [
      "the 5th consecutive error → Error",
      {},
      { error: 5, consecutiveError: 5, last: "Error" },
      false,
      "Error",
    ],
    [
      "consecutiveErrorLimit 0: first error",
      { consecutiveErrorLimit: 0 },
      { error: 1, consecutiveError: 1, last: "Error" },
      false,
      "Error",
    ],
    [
      "consecutiveErrorLimit 10: 10 errors",
      { consecutiveErrorLimit: 10 },
      { error: 10, consecutiveError: 10, last: "Error" },
      false,
      "Running",
    ],
    [
      "errors not in a row do not add up",
      {},
      { error: 8, consecutiveError: 1, successful: 0, count: 0, last: "Error" },
      false,
      "Running",
    ],
    // later match wins, as in Argo
    [
      "failed and inconclusive → Inconclusive",
      interval,
      { failed: 1, inconclusive: 1, count: 2, last: "Inconclusive" },
      false,
      "Inconclusive",
    ],
    [
      "failed and errors → Error",
      interval,
      { failed: 1, consecutiveError: 5, count: 1, last: "Error" },
      false,
      "Error",
    ],
    // count
    [
      "count reached → Successful",
      { ...interval, count: 3 },
      { successful: 3, count: 3 },
      false,
      "Successful",
    ],
    ["count not reached → Running", { ...interval, count: 3 }, { successful: 2, count: 2 }, false, "Running"],
    ["default count is 1 without interval", {}, { successful: 1, count: 1 }, false, "Successful"],
    [
      "errors do not count toward count",
      {},
      { error: 3, consecutiveError: 3, count: 0, last: "Error" },
      false,
      "Running",
    ],
    ["unbounded (interval only) keeps running", interval, { successful: 100, count: 100 }, false, "Running"],
    ["unbounded, terminating → Successful", interval, { successful: 3, count: 3 }, true, "Successful"],
    ["terminating keeps a breach", interval, { failed: 1, count: 1, last: "Failed" }, true, "Failed"],
    // consecutiveSuccessLimit
    [
      "consecutiveSuccessLimit reached ends early",
      { ...interval, count: 10, consecutiveSuccessLimit: 3 },
      { successful: 3, consecutiveSuccess: 3, count: 3 },
      false,
      "Successful",
    ],
    [
      "consecutiveSuccessLimit on an unbounded metric",
      { ...interval, consecutiveSuccessLimit: 2 },
      { successful: 2, consecutiveSuccess: 2, count: 2 },
      false,
      "Successful",
    ],
    [
      "streak not reached yet → Running",
      { ...interval, count: 10, consecutiveSuccessLimit: 3 },
      { successful: 2, consecutiveSuccess: 2, count: 2 },
      false,
      "Running",
    ],
    [
      "count runs out before the streak → Inconclusive",
      { ...interval, count: 4, consecutiveSuccessLimit: 3, inconclusiveLimit: 4 },
      { successful: 2, inconclusive: 2, consecutiveSuccess: 1, count: 4 },
      false,
      "Inconclusive",
    ],
    [
      "…and with failureLimit -1 → Failed",
      { ...interval, count: 4, consecutiveSuccessLimit: 3, failureLimit: -1 },
      { successful: 2, failed: 2, consecutiveSuccess: 2, count: 4, last: "Failed" },
      false,
      "Failed",
    ],
    [
      "failureLimit still applies with a streak limit",
      { ...interval, count: 10, consecutiveSuccessLimit: 3, failureLimit: 1 },
      { failed: 2, count: 2, last: "Failed" },
      false,
      "Failed",
    ],
  ];
  for (const [name, m, r, terminating, phase] of table) {
    it(name, () => {
      expect(assessMetric(metric(m), result(r), terminating)).toBe(phase);
    });
  }
});

describe("assessRun", () => {
  const m = (name: string) => metric({ name });
  const r = (name: string, phase: AnalysisPhase, extra: Partial<MetricResult> = {}): MetricResult => ({
    ...result({ name, ...extra }),
    phase,
  });

  it("orders phases as Argo: Successful < Running < Pending < Inconclusive < Error < Failed", () => {
    const order: AnalysisPhase[] = ["Successful", "Running", "Pending", "Inconclusive", "Error", "Failed"];
    for (let i = 0; i < order.length - 1; i++) {
      expect(isWorse(order[i]!, order[i + 1]!)).toBe(true);
      expect(isWorse(order[i + 1]!, order[i]!)).toBe(false);
    }
  });

  it("is Running while any metric is undecided or not started", () => {
    expect(
      assessRun([m("a"), m("b")], [r("a", "Failed", { failed: 1 }), r("b", "Running")], new Set(), false)
        .phase,
    ).toBe("Running");
    expect(assessRun([m("a"), m("b")], [r("a", "Successful")], new Set(), false).phase).toBe("Running");
  });

  it("takes the worst completed phase, with Argo's message", () => {
    const a = assessRun(
      [m("a"), m("b"), m("c")],
      [
        r("a", "Successful"),
        r("b", "Failed", { failed: 2, message: "boom" }),
        r("c", "Inconclusive", { inconclusive: 1 }),
      ],
      new Set(),
      false,
    );
    expect(a.phase).toBe("Failed");
    expect(a.message).toBe(
      'Metric "b" assessed Failed due to failed (2) > failureLimit (0): "Error Message: boom"',
    );
    expect(a.runSummary).toEqual({ count: 3, successful: 1, failed: 1, inconclusive: 1, error: 0 });
  });

  it("ignores dry-run metrics", () => {
    const a = assessRun(
      [m("a"), m("dry")],
      [r("a", "Successful"), r("dry", "Failed", { failed: 1 })],
      new Set(["dry"]),
      false,
    );
    expect(a.phase).toBe("Successful");
    expect(a.dryRunSummary).toEqual({ count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0 });
    expect(assessRun([m("dry")], [r("dry", "Error")], new Set(["dry"]), false).phase).toBe("Successful");
  });

  it("ends Successful when terminated before anything was decided", () => {
    expect(assessRun([m("a")], [], new Set(), true).phase).toBe("Successful");
  });
});

describe("nextMeasurementAt", () => {
  const start = new Date(T0);
  const now = new Date(T0 + 5000);
  it("first measurement: now, or after initialDelay", () => {
    expect(nextMeasurementAt(metric(), undefined, start, now)).toEqual(now);
    expect(nextMeasurementAt(metric({ initialDelay: "30s" }), undefined, start, now)).toEqual(
      new Date(T0 + 30_000),
    );
  });
  it("next: finishedAt + interval; after an Error: 10s", () => {
    const r = result({ count: 1, measurements: [{ ...done("Successful"), finishedAt: at(2) }] });
    expect(nextMeasurementAt(metric({ interval: "1m" }), r, start, now)).toEqual(new Date(T0 + 62_000));
    const e = result({ measurements: [{ ...done("Error"), finishedAt: at(2) }] });
    expect(nextMeasurementAt(metric({ interval: "5m" }), e, start, now)).toEqual(new Date(T0 + 12_000));
    expect(nextMeasurementAt(metric(), e, start, now)).toEqual(new Date(T0 + 12_000));
  });
  it("none once count is reached or the metric completed", () => {
    expect(
      nextMeasurementAt(metric({ interval: "1m", count: 2 }), result({ count: 2 }), start, now),
    ).toBeUndefined();
    expect(
      nextMeasurementAt(metric({ interval: "1m" }), result({ phase: "Failed" }), start, now),
    ).toBeUndefined();
  });
  it("effective count: 1 without interval, unbounded with one", () => {
    expect(effectiveCount(metric())).toBe(1);
    expect(effectiveCount(metric({ interval: "1m" }))).toBeUndefined();
    expect(effectiveCount(metric({ interval: "1m", count: 0 }))).toBeUndefined();
    expect(effectiveCount(metric({ interval: "1m", count: "4" }))).toBe(4);
  });
});

describe("stepRun", () => {
  it("one measurement without interval decides the run", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.99] });
    const r = await stepRun({ spec: { metrics: [metric()] } }, { clock, measure: s.measure });
    expect(r.status.phase).toBe("Successful");
    expect(r.requeueAfter).toBeUndefined();
    expect(r.changed).toBe(true);
    expect(r.status.startedAt).toBe(at(0));
    expect(r.status.completedAt).toBe(at(0));
    expect(resultOf(r.status)).toMatchObject({
      phase: "Successful",
      count: 1,
      successful: 1,
      measurements: [{ phase: "Successful", value: "[0.99]", startedAt: at(0), finishedAt: at(0) }],
    });
  });

  it("measures every interval, count times", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "1m", count: 3 })] },
      { "success-rate": [0.99, 0.97, 0.98] },
    );
    expect(run.status.phase).toBe("Successful");
    expect(run.calls.map((c) => c.at)).toEqual([0, 60, 120]);
    expect(run.phases).toEqual(["Running", "Running", "Successful"]);
    expect(resultOf(run.status).count).toBe(3);
  });

  it("failureLimit 3 fails on the 4th failure, not the 3rd", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "30s", failureLimit: 3 })] },
      { "success-rate": [0.5, 0.99, 0.5, 0.5, 0.5, 0.99] },
    );
    expect(run.status.phase).toBe("Failed");
    expect(run.calls).toHaveLength(5);
    expect(resultOf(run.status)).toMatchObject({ failed: 4, successful: 1 });
    expect(run.status.message).toBe(
      'Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)',
    );
  });

  it("failureLimit 0 (default) fails on the first failure", async () => {
    const run = await drive({ metrics: [metric({ interval: "30s" })] }, { "success-rate": [0.99, 0.5] });
    expect(run.status.phase).toBe("Failed");
    expect(run.calls).toHaveLength(2);
  });

  it("failureLimit -1 never fails; the count decides", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "30s", count: 3, failureLimit: -1 })] },
      { "success-rate": [0.5, 0.5, 0.5] },
    );
    expect(run.status.phase).toBe("Successful");
  });

  it("Error on the 5th consecutive error (consecutiveErrorLimit 4), retried every 10s, not counted", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "5m", count: 2 })] },
      { "success-rate": ["error", "error", "error", "error", "error"] },
    );
    expect(run.status.phase).toBe("Error");
    expect(run.calls.map((c) => c.at)).toEqual([0, 10, 20, 30, 40]);
    expect(resultOf(run.status)).toMatchObject({ error: 5, consecutiveError: 5, count: 0 });
    expect(run.status.message).toBe(
      'Metric "success-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): ' +
        '"Error Message: dial tcp 10.0.0.1:9090: connect: connection refused"',
    );
    expect(
      resultOf(run.status).measurements!.every((m) => m.phase === "Error" && m.message?.includes("refused")),
    ).toBe(true);
  });

  it("errors in between do not count toward count and reset nothing else", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "1m", count: 2 })] },
      { "success-rate": ["error", 0.99, "error", "error", 0.98] },
    );
    expect(run.status.phase).toBe("Successful");
    expect(resultOf(run.status)).toMatchObject({ count: 2, successful: 2, error: 3, consecutiveError: 0 });
    expect(run.calls.map((c) => c.at)).toEqual([0, 10, 70, 80, 90]);
  });

  it("consecutiveSuccessLimit ends an unbounded metric", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "1m", consecutiveSuccessLimit: 3, failureLimit: -1 })] },
      { "success-rate": [0.99, 0.5, 0.99, 0.99, "error", 0.99, 0.99, 0.99] },
    );
    expect(run.status.phase).toBe("Successful");
    expect(run.calls).toHaveLength(8);
    expect(resultOf(run.status)).toMatchObject({ consecutiveSuccess: 3, failed: 1 });
  });

  it("Inconclusive when neither condition holds", async () => {
    const run = await drive(
      { metrics: [metric({ successCondition: "result[0] >= 0.9", failureCondition: "result[0] < 0.5" })] },
      { "success-rate": [0.7] },
    );
    expect(run.status.phase).toBe("Inconclusive");
    expect(run.status.message).toBe(
      'Metric "success-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)',
    );
  });

  it("a failing metric ends unbounded siblings at once, keeping its verdict", async () => {
    const spec: AnalysisRunSpec = {
      metrics: [metric({ name: "latency", interval: "1m" }), metric({ name: "errors", interval: "1m" })],
    };
    const run = await drive(spec, { latency: [0.99, 0.99], errors: [0.99, 0.1] });
    expect(run.status.phase).toBe("Failed");
    expect(run.steps).toBe(2);
    expect(resultOf(run.status, "latency").phase).toBe("Successful");
    expect(resultOf(run.status, "errors").phase).toBe("Failed");
  });

  it("dry-run metrics never fail the run", async () => {
    const spec: AnalysisRunSpec = {
      metrics: [metric({ name: "real" }), metric({ name: "experimental" })],
      dryRun: [{ metricName: "experimental" }],
    };
    const run = await drive(spec, { real: [0.99], experimental: [0.1] });
    expect(run.status.phase).toBe("Successful");
    expect(resultOf(run.status, "experimental")).toMatchObject({
      phase: "Failed",
      dryRun: true,
      message: "Metric assessed Failed due to failed (1) > failureLimit (0)",
    });
    expect(run.status.dryRunSummary).toMatchObject({ count: 1, failed: 1 });
    expect(run.status.runSummary).toMatchObject({ count: 1, successful: 1 });
  });

  it("a failing dry-run metric does not stop the others", async () => {
    const spec: AnalysisRunSpec = {
      metrics: [metric({ name: "real", interval: "1m", count: 3 }), metric({ name: "dry", interval: "1m" })],
      dryRun: [{ metricName: "dr.*" }],
    };
    const run = await drive(spec, { real: [0.99, 0.99, 0.99], dry: [0.1, 0.1, 0.1] });
    expect(run.status.phase).toBe("Successful");
    expect(resultOf(run.status, "real").count).toBe(3);
  });

  it("terminate stops an unbounded run as Successful and takes no more measurements", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.99, 0.99] });
    const spec: AnalysisRunSpec = { metrics: [metric({ interval: "1m" })] };
    let r = await stepRun({ spec }, { clock, measure: s.measure });
    expect(r.status.phase).toBe("Running");
    expect(r.requeueAfter).toBe(60_000);
    clock.advance(60_000);
    r = await stepRun(
      { spec: { ...spec, terminate: true }, status: r.status },
      { clock, measure: s.measure },
    );
    expect(r.status.phase).toBe("Successful");
    expect(r.status.message).toBe("Run Terminated");
    expect(s.calls).toHaveLength(1);
    expect(r.requeueAfter).toBeUndefined();
  });

  it("terminate keeps a verdict already reached", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.1] });
    const spec: AnalysisRunSpec = { metrics: [metric({ interval: "1m" })] };
    const failed = await stepRun({ spec }, { clock, measure: s.measure });
    expect(failed.status.phase).toBe("Failed");
    const again = await stepRun(
      { spec: { ...spec, terminate: true }, status: failed.status },
      { clock, measure: s.measure },
    );
    expect(again.status).toBe(failed.status);
    expect(again.changed).toBe(false);
  });

  it("waits for initialDelay, from the run's start", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.99] });
    const spec: AnalysisRunSpec = { metrics: [metric({ initialDelay: "2m" })] };
    const first = await stepRun({ spec }, { clock, measure: s.measure });
    expect(s.calls).toHaveLength(0);
    expect(first.status.phase).toBe("Running");
    expect(first.requeueAfter).toBe(120_000);
    clock.advance(119_000);
    const early = await stepRun({ spec, status: first.status }, { clock, measure: s.measure });
    expect(s.calls).toHaveLength(0);
    expect(early.changed).toBe(false);
    expect(early.requeueAfter).toBe(1000);
    clock.advance(1000);
    const due = await stepRun({ spec, status: early.status }, { clock, measure: s.measure });
    expect(s.calls).toHaveLength(1);
    expect(due.status.phase).toBe("Successful");
  });

  it("does nothing before the interval is up", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.99, 0.99] });
    const spec: AnalysisRunSpec = { metrics: [metric({ interval: "1m", count: 2 })] };
    const first = await stepRun({ spec }, { clock, measure: s.measure });
    clock.advance(20_000);
    const early = await stepRun({ spec, status: first.status }, { clock, measure: s.measure });
    expect(early.changed).toBe(false);
    expect(early.requeueAfter).toBe(40_000);
    expect(s.calls).toHaveLength(1);
  });

  it("resumes from status alone: a restarted controller decides the same at the same times", async () => {
    const spec: AnalysisRunSpec = {
      metrics: [
        metric({ name: "a", interval: "30s", count: 4, failureLimit: 1 }),
        metric({ name: "b", interval: "45s", initialDelay: "10s", count: 3 }),
      ],
    };
    const script = () => ({
      a: [0.99, 0.5, "error", 0.99, 0.97] as Outcome[],
      b: [0.99, 0.98, 0.97] as Outcome[],
    });
    const continuous = await drive(spec, script());
    const restarted = await drive(spec, script(), { roundTrip: true });
    expect(restarted.status).toEqual(continuous.status);
    expect(restarted.calls.map((c) => [c.name, c.at])).toEqual(continuous.calls.map((c) => [c.name, c.at]));
    expect(continuous.status.phase).toBe("Successful");
  });

  it("after a long outage it measures at once (overdue), without catching up missed ones", async () => {
    const clock = new FakeClock();
    const s = scripted({ "success-rate": [0.99, 0.99, 0.99] });
    const spec: AnalysisRunSpec = { metrics: [metric({ interval: "1m", count: 3 })] };
    const first = await stepRun({ spec }, { clock, measure: s.measure });
    const stored = JSON.parse(JSON.stringify(first.status)) as AnalysisRunStatus;
    clock.advance(3_600_000);
    const later = await stepRun({ spec, status: stored }, { clock, measure: s.measure });
    expect(s.calls).toHaveLength(2);
    expect(resultOf(later.status).count).toBe(2);
    expect(later.requeueAfter).toBe(60_000);
  });

  it("keeps the last 10 measurements per metric by default, and measurementRetention's limit", async () => {
    const values = Array.from({ length: 15 }, () => 0.99);
    const dflt = await drive(
      { metrics: [metric({ interval: "1s", count: 15 })] },
      { "success-rate": [...values] },
    );
    expect(resultOf(dflt.status).measurements).toHaveLength(10);
    expect(resultOf(dflt.status).count).toBe(15);
    expect(resultOf(dflt.status).measurements!.at(-1)!.finishedAt).toBe(at(14));

    const kept = await drive(
      {
        metrics: [metric({ interval: "1s", count: 15 })],
        measurementRetention: [{ metricName: ".*", limit: 3 }],
      },
      { "success-rate": [...values] },
    );
    expect(resultOf(kept.status).measurements).toHaveLength(3);
  });

  it("reports 'no data' distinctly and ends Error after 5 empty answers", async () => {
    const run = await drive(
      { metrics: [metric({ interval: "1m" })] },
      { "success-rate": [[], [], [], [], []] },
    );
    expect(run.status.phase).toBe("Error");
    const m = resultOf(run.status).measurements![0]!;
    expect(m.value).toBe("[]");
    expect(m.message).toMatch(/^query returned no data \(no traffic yet\?\)/);
    expect(run.status.message).toContain("query returned no data (no traffic yet?)");
  });

  it("NaN from no traffic fails as Argo does, with the reason in the message", async () => {
    const run = await drive(
      { metrics: [metric()] },
      { "success-rate": [{ result: [Number.NaN], value: "[NaN]" }] },
    );
    expect(run.status.phase).toBe("Failed");
    expect(resultOf(run.status).message).toBe("query returned NaN (no traffic yet?)");
    expect(run.status.message).toContain('"Error Message: query returned NaN (no traffic yet?)"');
  });

  it("a provider that throws anything becomes an Error measurement, never an exception", async () => {
    const clock = new FakeClock();
    const r = await stepRun(
      { spec: { metrics: [metric({ consecutiveErrorLimit: 0 })] } },
      {
        clock,
        measure: () => {
          throw "plain string";
        },
      },
    );
    expect(r.status.phase).toBe("Error");
    expect(resultOf(r.status).measurements![0]).toMatchObject({ phase: "Error", message: "plain string" });
  });

  it("a condition that does not parse makes the run Error with the position, before measuring", async () => {
    const s = scripted({});
    const r = await stepRun(
      { spec: { metrics: [metric({ successCondition: "result[0] >= )" })] } },
      { clock: new FakeClock(), measure: s.measure },
    );
    expect(r.status.phase).toBe("Error");
    expect(r.status.message).toBe(
      'Analysis spec invalid: metrics[0] "success-rate": successCondition "result[0] >= )": unexpected token ")" at column 14',
    );
    expect(s.calls).toHaveLength(0);
  });

  it("a missing arg makes the run Error naming it", async () => {
    const r = await stepRun(
      {
        spec: {
          metrics: [
            metric({ provider: { prometheus: { address: "http://p", query: "up{job='{{args.job}}'}" } } }),
          ],
        },
      },
      { clock: new FakeClock(), measure: scripted({}).measure },
    );
    expect(r.status.phase).toBe("Error");
    expect(r.status.message).toBe(
      "Unable to resolve metric arguments: failed to resolve {{args.job}}: no such argument or it has no value",
    );
  });

  it("resolves secret args per step and masks them in messages", async () => {
    const spec: AnalysisRunSpec = {
      args: [{ name: "token", valueFrom: { secretKeyRef: { name: "prom", key: "token" } } }],
      metrics: [
        metric({
          consecutiveErrorLimit: 0,
          provider: {
            prometheus: {
              address: "http://p",
              query: "up",
              headers: [{ key: "Authorization", value: "Bearer {{args.token}}" }],
            },
          },
        }),
      ],
    };
    const seen: Metric[] = [];
    const r = await stepRun(
      { spec },
      {
        clock: new FakeClock(),
        resolveSecret: async (ref) => (ref.name === "prom" && ref.key === "token" ? "s3cr3t" : "?"),
        measure: async (m) => {
          seen.push(m);
          throw new Error("401 Unauthorized for token s3cr3t");
        },
      },
    );
    expect(seen[0]!.provider.prometheus!.headers![0]!.value).toBe("Bearer s3cr3t");
    expect(JSON.stringify(r.status)).not.toContain("s3cr3t");
    expect(resultOf(r.status).measurements![0]!.message).toBe("401 Unauthorized for token *****");
    expect(JSON.stringify(spec)).toContain("{{args.token}}");
  });

  it("a secret that cannot be read makes the run Error", async () => {
    const r = await stepRun(
      {
        spec: {
          args: [{ name: "t", valueFrom: { secretKeyRef: { name: "x", key: "y" } } }],
          metrics: [metric()],
        },
      },
      {
        clock: new FakeClock(),
        measure: scripted({}).measure,
        resolveSecret: async () => {
          throw new Error('secrets "x" not found');
        },
      },
    );
    expect(r.status.phase).toBe("Error");
    expect(r.status.message).toBe(
      "Unable to resolve metric arguments: argument 't': secret x key y: secrets \"x\" not found",
    );
  });

  it("a completed run is left alone", async () => {
    const status: AnalysisRunStatus = { phase: "Failed", message: "x" };
    const s = scripted({});
    const r = await stepRun(
      { spec: { metrics: [metric()] }, status },
      { clock: new FakeClock(), measure: s.measure },
    );
    expect(r).toEqual({ status, changed: false });
    expect(s.calls).toHaveLength(0);
  });

  it("measures due metrics concurrently and waits for the earliest next one", async () => {
    const clock = new FakeClock();
    const s = scripted({ fast: [0.99, 0.99], slow: [0.99] });
    const spec: AnalysisRunSpec = {
      metrics: [
        metric({ name: "fast", interval: "10s", count: 2 }),
        metric({ name: "slow", interval: "1m", count: 2 }),
      ],
    };
    const r = await stepRun({ spec }, { clock, measure: s.measure });
    expect(s.calls.map((c) => c.name).sort()).toEqual(["fast", "slow"]);
    expect(r.requeueAfter).toBe(10_000);
  });
});

describe("buildRunSpec (templates + args → run)", () => {
  const tmpl = (metrics: Metric[], args?: { name: string; value?: string }[]) => ({
    spec: { metrics, ...(args ? { args } : {}) },
  });

  it("merges templates and args; the caller's value wins over the template default", () => {
    const spec = buildRunSpec(
      [
        tmpl(
          [
            metric({
              name: "a",
              provider: { prometheus: { address: "{{args.prom}}", query: "q{svc='{{ args.svc }}'}" } },
            }),
          ],
          [{ name: "svc" }, { name: "prom", value: "http://default:9090" }],
        ),
        tmpl([metric({ name: "b", provider: { web: { url: "http://x/{{args.svc}}" } } })], [{ name: "svc" }]),
      ],
      [
        { name: "svc", value: "checkout" },
        { name: "prom", value: "http://prom:9090" },
        { name: "unused", value: "x" },
      ],
    );
    expect(spec.metrics.map((m) => m.name)).toEqual(["a", "b"]);
    expect(spec.args).toEqual([
      { name: "svc", value: "checkout" },
      { name: "prom", value: "http://prom:9090" },
    ]);
  });

  it("substitutes args everywhere in the metric when the run measures", async () => {
    const spec = buildRunSpec(
      [
        tmpl(
          [
            metric({
              count: "{{args.count}}",
              interval: "{{args.every}}",
              successCondition: "result[0] >= {{args.min}}",
              provider: {
                web: {
                  url: "http://api/{{args.svc}}?q={{args.svc}}",
                  headers: [{ key: "X-Svc", value: "{{args.svc}}" }],
                  jsonPath: "{$.{{args.field}}}",
                },
              },
            }),
          ],
          [
            { name: "svc" },
            { name: "count", value: "3" },
            { name: "every", value: "1m" },
            { name: "min", value: "0.9" },
            { name: "field", value: "ok" },
          ],
        ),
      ],
      [{ name: "svc", value: "cart" }],
    );
    const { metrics } = await resolveRunMetrics(spec);
    expect(metrics[0]).toMatchObject({
      count: "3",
      interval: "1m",
      successCondition: "result[0] >= 0.9",
      provider: {
        web: {
          url: "http://api/cart?q=cart",
          headers: [{ key: "X-Svc", value: "cart" }],
          jsonPath: "{$.ok}",
        },
      },
    });
    expect(effectiveCount(metrics[0]!)).toBe(3);
  });

  it("refuses duplicate metric names across templates", () => {
    expect(() => buildRunSpec([tmpl([metric({ name: "a" })]), tmpl([metric({ name: "a" })])])).toThrow(
      new AnalysisSpecError("two metrics have the same name 'a'"),
    );
  });

  it("names a missing argument", () => {
    expect(() =>
      buildRunSpec([tmpl([metric()], [{ name: "service-name" }, { name: "x", value: "1" }])], []),
    ).toThrow("missing value for argument 'service-name'");
    expect(() => mergeArgs([], [{ name: "a" }, { name: "b" }])).toThrow(
      "missing value for arguments 'a', 'b'",
    );
  });

  it("names a placeholder without an argument", () => {
    expect(() => buildRunSpec([tmpl([metric({ successCondition: "result[0] >= {{args.min}}" })])])).toThrow(
      "failed to resolve {{args.min}}",
    );
  });

  it("refuses a condition that does not parse, with its column", () => {
    expect(() => buildRunSpec([tmpl([metric({ successCondition: "result[0] >= )" })])])).toThrow(
      'metrics[0] "success-rate": successCondition "result[0] >= )": unexpected token ")" at column 14',
    );
  });

  it("resolves fieldRef and pod hash args through the injected resolver; keeps secret refs", () => {
    const spec = buildRunSpec(
      [
        {
          metrics: [metric()],
          args: [
            { name: "app", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: "hash", valueFrom: { podTemplateHashValue: "Latest" } },
            { name: "token", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
          ],
        },
      ],
      [],
      { resolveField: (arg) => (arg.valueFrom?.fieldRef ? "checkout" : "abc123") },
    );
    expect(spec.args).toEqual([
      { name: "app", value: "checkout" },
      { name: "hash", value: "abc123" },
      { name: "token", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
    ]);
    expect(() =>
      buildRunSpec([
        { metrics: [metric()], args: [{ name: "app", valueFrom: { fieldRef: { fieldPath: "x" } } }] },
      ]),
    ).toThrow("argument 'app': could not resolve fieldRef x");
  });

  it("refuses the same arg with two different values across templates", () => {
    expect(() =>
      buildRunSpec([
        tmpl([metric({ name: "a" })], [{ name: "x", value: "1" }]),
        tmpl([metric({ name: "b" })], [{ name: "x", value: "2" }]),
      ]),
    ).toThrow("argument 'x' specified multiple times with different values: '1', '2'");
  });

  it("validates limits as Argo does", () => {
    const bad: [Partial<Metric>, string][] = [
      [{ count: 2, interval: "1m", failureLimit: 3 }, "count must be >= failureLimit"],
      [{ count: 3 }, "interval must be specified when count > 1"],
      [{ consecutiveErrorLimit: -1 }, "consecutiveErrorLimit must be >= 0"],
      [{ failureLimit: -2 }, "failureLimit must be >= -1"],
      [{ interval: "soon" }, "invalid interval"],
      [{ failureLimit: "lots" }, 'failureLimit must be an integer, got "lots"'],
      [{ provider: {} }, "no provider specified"],
      [
        { provider: { web: { url: "http://x" }, prometheus: { query: "up" } } },
        "multiple providers specified",
      ],
      [
        { provider: { datadog: { query: "x" } } as unknown as Metric["provider"] },
        "unsupported provider datadog",
      ],
    ];
    for (const [m, message] of bad) expect(() => buildRunSpec([tmpl([metric(m)])]), message).toThrow(message);
  });

  it("validates a template as applied, leaving placeholders for the run", () => {
    expect(() =>
      validateTemplateSpec({
        args: [{ name: "n" }],
        metrics: [
          metric({
            count: "{{args.n}}",
            successCondition: "result[0] >= {{args.min}}",
            interval: "{{args.i}}",
          }),
        ],
      }),
    ).not.toThrow();
    expect(() => validateTemplateSpec({ metrics: [metric({ failureCondition: "result[0] <" })] })).toThrow(
      'failureCondition "result[0] <": unexpected token end of expression at column 12',
    );
  });

  it("a dryRun rule that matches nothing is a spec error", async () => {
    const r = await stepRun(
      { spec: { metrics: [metric()], dryRun: [{ metricName: "nope" }] } },
      { clock: new FakeClock(), measure: scripted({}).measure },
    );
    expect(r.status).toMatchObject({
      phase: "Error",
      message: "Analysis spec invalid: dryRun[0]: rule didn't match any metric name(s)",
    });
  });
});
