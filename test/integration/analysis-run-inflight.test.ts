/**
 * stepRun with measurements that stay in flight across steps (the job provider's shape): they are
 * stored as Running without `finishedAt`, resumed from the status alone on later steps (also by a
 * "new controller" that only has the status), decided by the provider, and terminated with the
 * run. Plain data and a scripted provider: no cluster needed.
 */
import { describe, expect, it } from "vitest";
import { stepRun } from "../../analysis/measurement/step.js";
import type { MeasureInfo, MeasureOutcome } from "../../analysis/providers/provider.js";
import type { AnalysisRunSpec, AnalysisRunStatus, Measurement, Metric } from "../../api/v1alpha1/analysis.js";

const T0 = Date.UTC(2026, 0, 1);

class Clock {
  ms = T0;
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

const jobMetric = (name: string, extra: Partial<Metric> = {}): Metric => ({
  name,
  provider: { job: { spec: { template: { spec: { containers: [] } } } } },
  ...extra,
});

/** A provider whose Jobs finish when the test says so. */
function fakeJobs() {
  const outcomes = new Map<string, MeasureOutcome>();
  const calls: string[] = [];
  const terminated: string[] = [];
  const inFlight = (name: string): MeasureOutcome => ({ inFlight: true, metadata: { "job-name": name } });
  return {
    calls,
    terminated,
    finish(job: string, outcome: MeasureOutcome) {
      outcomes.set(job, outcome);
    },
    measure: async (metric: Metric, _signal?: AbortSignal, info?: MeasureInfo) => {
      const job = `run-${metric.name}-${info?.ordinal}`;
      calls.push(`measure ${job}`);
      return outcomes.get(job) ?? inFlight(job);
    },
    resume: async (_metric: Metric, m: Measurement) => {
      const job = m.metadata?.["job-name"] ?? "?";
      calls.push(`resume ${job}`);
      return outcomes.get(job) ?? inFlight(job);
    },
    terminate: async (_metric: Metric, m: Measurement) => {
      terminated.push(m.metadata?.["job-name"] ?? "?");
    },
  };
}

describe("stepRun with in-flight measurements", () => {
  it("stores a started Job as Running, resumes it from status alone, and replaces it with its outcome", async () => {
    const clock = new Clock();
    const jobs = fakeJobs();
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke", { interval: "1s", count: 2 })] };

    const first = await stepRun({ spec }, { clock, ...jobs });
    expect(first.changed).toBe(true);
    expect(first.requeueAfter).toBeUndefined(); // waits for the Job's events
    expect(first.status.phase).toBe("Running");
    const started = first.status.metricResults![0]!;
    expect(started).toMatchObject({ phase: "Running", count: 0 });
    expect(started.measurements).toEqual([
      { phase: "Running", startedAt: new Date(T0).toISOString(), metadata: { "job-name": "run-smoke-1" } },
    ]);

    // Still running: nothing changes, so nothing would be written.
    clock.advance(500);
    const idle = await stepRun({ spec, status: first.status }, { clock, ...jobs });
    expect(idle.changed).toBe(false);

    // A new controller with only the stored status (a JSON round trip) finds the same Job.
    const stored = JSON.parse(JSON.stringify(first.status)) as AnalysisRunStatus;
    jobs.finish("run-smoke-1", { phase: "Successful", metadata: { "job-name": "run-smoke-1" } });
    clock.advance(500);
    const done = await stepRun({ spec, status: stored }, { clock, ...jobs });
    expect(jobs.calls).toEqual(["measure run-smoke-1", "resume run-smoke-1", "resume run-smoke-1"]);
    const m = done.status.metricResults![0]!;
    expect(m).toMatchObject({ phase: "Running", count: 1, successful: 1 });
    expect(m.measurements).toEqual([
      {
        phase: "Successful",
        startedAt: new Date(T0).toISOString(),
        finishedAt: new Date(T0 + 1000).toISOString(),
        metadata: { "job-name": "run-smoke-1" },
      },
    ]);
    expect(done.requeueAfter).toBe(1000);

    // The next measurement's ordinal comes from the counters: Job 2.
    clock.advance(1000);
    const second = await stepRun({ spec, status: done.status }, { clock, ...jobs });
    expect(jobs.calls.at(-1)).toBe("measure run-smoke-2");
    jobs.finish("run-smoke-2", { phase: "Failed", message: "job run-smoke-2 failed: BackoffLimitExceeded" });
    const last = await stepRun({ spec, status: second.status }, { clock, ...jobs });
    expect(last.status.phase).toBe("Failed");
    expect(last.status.metricResults![0]!.measurements!.map((x) => x.phase)).toEqual([
      "Successful",
      "Failed",
    ]);
  });

  it("ordinals count Error measurements too, so a retried Job gets a new name", async () => {
    const clock = new Clock();
    const seen: number[] = [];
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke", { interval: "1s", count: 3 })] };
    let status: AnalysisRunStatus | undefined;
    const measure = async (_m: Metric, _s?: AbortSignal, info?: MeasureInfo): Promise<MeasureOutcome> => {
      seen.push(info!.ordinal);
      if (seen.length === 1) throw new Error("admission webhook said no");
      return { phase: "Successful" };
    };
    for (let i = 0; i < 4 && status?.phase !== "Successful"; i++) {
      const r = await stepRun({ spec, ...(status ? { status } : {}) }, { clock, measure });
      status = r.status;
      clock.advance(r.requeueAfter ?? 0);
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(status!.metricResults![0]).toMatchObject({ count: 3, error: 1 });
  });

  it("terminate: true deletes the running Job and keeps the verdict so far", async () => {
    const clock = new Clock();
    const jobs = fakeJobs();
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke", { interval: "1s" })] };
    jobs.finish("run-smoke-1", { phase: "Successful" });
    let r = await stepRun({ spec }, { clock, ...jobs });
    clock.advance(1000);
    r = await stepRun({ spec, status: r.status }, { clock, ...jobs }); // Job 2 starts
    expect(r.status.metricResults![0]!.measurements!.at(-1)!.phase).toBe("Running");

    clock.advance(200);
    const ended = await stepRun({ spec: { ...spec, terminate: true }, status: r.status }, { clock, ...jobs });
    expect(jobs.terminated).toEqual(["run-smoke-2"]);
    expect(ended.status.phase).toBe("Successful");
    expect(ended.status.message).toBe("Run Terminated");
    expect(ended.status.metricResults![0]!.measurements!.at(-1)).toMatchObject({
      phase: "Successful",
      message: "Metric Terminated",
      metadata: { "job-name": "run-smoke-2" },
    });
    expect(ended.requeueAfter).toBeUndefined();
  });

  it("a metric that fails terminates another metric's running Job in the same step", async () => {
    const clock = new Clock();
    const jobs = fakeJobs();
    const spec: AnalysisRunSpec = {
      metrics: [
        jobMetric("long"),
        { name: "rate", successCondition: "result > 0.9", provider: { web: { url: "http://x" } } },
      ],
    };
    const measure = async (
      metric: Metric,
      signal?: AbortSignal,
      info?: MeasureInfo,
    ): Promise<MeasureOutcome> =>
      metric.provider.web ? { value: "0.5", result: 0.5 } : jobs.measure(metric, signal, info);
    const r = await stepRun({ spec }, { clock, ...jobs, measure });
    expect(jobs.terminated).toEqual(["run-long-1"]);
    expect(r.status.phase).toBe("Failed");
    expect(r.status.metricResults!.find((x) => x.name === "long")!.phase).toBe("Successful");
  });

  it("an in-flight measurement nothing can resume ends as an Error, never silently re-measured", async () => {
    const clock = new Clock();
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke", { consecutiveErrorLimit: 0 })] };
    const status: AnalysisRunStatus = {
      phase: "Running",
      startedAt: new Date(T0).toISOString(),
      metricResults: [
        {
          name: "smoke",
          phase: "Running",
          measurements: [
            { phase: "Running", startedAt: new Date(T0).toISOString(), metadata: { "job-name": "j" } },
          ],
        },
      ],
    };
    let measured = 0;
    const r = await stepRun(
      { spec, status },
      {
        clock,
        measure: async () => {
          measured++;
          return { phase: "Successful" };
        },
      },
    );
    expect(measured).toBe(0);
    expect(r.status.metricResults![0]!.measurements).toHaveLength(1);
    expect(r.status.metricResults![0]!.measurements![0]).toMatchObject({
      phase: "Error",
      metadata: { "job-name": "j" },
    });
    expect(r.status.phase).toBe("Error");
  });

  it("a stored resumeAt still ahead defers the resume and sets the timer", async () => {
    const clock = new Clock();
    const jobs = fakeJobs();
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke")] };
    const status: AnalysisRunStatus = {
      phase: "Running",
      startedAt: new Date(T0).toISOString(),
      metricResults: [
        {
          name: "smoke",
          phase: "Running",
          measurements: [
            {
              phase: "Running",
              startedAt: new Date(T0).toISOString(),
              resumeAt: new Date(T0 + 3000).toISOString(),
              metadata: { "job-name": "run-smoke-1" },
            },
          ],
        },
      ],
    };
    const r = await stepRun({ spec, status }, { clock, ...jobs });
    expect(jobs.calls).toEqual([]);
    expect(r.status.metricResults![0]!.measurements).toEqual(status.metricResults![0]!.measurements);
    expect(r.requeueAfter).toBe(3000);
  });

  it("status handed back with its keys in another order is not a change", async () => {
    const clock = new Clock();
    const jobs = fakeJobs();
    const spec: AnalysisRunSpec = { metrics: [jobMetric("smoke")] };
    const first = await stepRun({ spec }, { clock, ...jobs });
    // As a Go API server would serialise it: keys sorted.
    const sorted = JSON.parse(
      JSON.stringify(first.status, (_k, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(
              Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
            )
          : v,
      ),
    ) as AnalysisRunStatus;
    const again = await stepRun({ spec, status: sorted }, { clock, ...jobs });
    expect(again.changed).toBe(false);
  });
});
