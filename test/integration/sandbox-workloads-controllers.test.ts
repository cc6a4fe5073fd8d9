/**
 * The workload controllers in process, on the real SandboxCore, with a manual clock: rolling-update
 * bounds, history limits, pause, minReadySeconds, Job variants, StatefulSet ordering and endpoint
 * conditions are checked step by step, deterministically and without waiting for wall time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SandboxCore } from "../../sandbox/core/api.js";
import type { GroupVersionResource, KubeObject } from "../../sandbox/core/types.js";
import {
  type Clock,
  parseDurationMs,
  podsToDelete,
  podTemplateHash,
  startWorkloadControllers,
  type WorkloadControllers,
} from "../../sandbox/sim/index.js";

const R = {
  pods: { group: "", version: "v1", resource: "pods" },
  namespaces: { group: "", version: "v1", resource: "namespaces" },
  serviceAccounts: { group: "", version: "v1", resource: "serviceaccounts" },
  services: { group: "", version: "v1", resource: "services" },
  endpoints: { group: "", version: "v1", resource: "endpoints" },
  events: { group: "", version: "v1", resource: "events" },
  deployments: { group: "apps", version: "v1", resource: "deployments" },
  replicaSets: { group: "apps", version: "v1", resource: "replicasets" },
  statefulSets: { group: "apps", version: "v1", resource: "statefulsets" },
  jobs: { group: "batch", version: "v1", resource: "jobs" },
  slices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
} satisfies Record<string, GroupVersionResource>;

/** A clock that moves only when told to, firing due timers in order. */
class ManualClock implements Clock {
  private t = Date.parse("2025-03-01T12:00:00.000Z");
  private timers: { at: number; fn: () => void }[] = [];

  now(): Date {
    return new Date(this.t);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** Fires the timers due by `ms` from now, one at a time, letting the controllers settle between. */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

let core: SandboxCore;
let clock: ManualClock;
let controllers: WorkloadControllers | undefined;
/** Errors the controllers could not recover from: every test expects none. */
let errors: string[] = [];

function start(options: { jobBackoffBaseMs?: number } = {}): void {
  clock = new ManualClock();
  core = new SandboxCore(() => clock.now());
  core.bootstrap();
  errors = [];
  controllers = startWorkloadControllers(core, {
    clock,
    ...options,
    onError: (controller, key, error) => errors.push(`${controller} ${key}: ${String(error)}`),
  });
}

afterEach(() => {
  controllers?.stop();
  controllers = undefined;
  expect(errors).toEqual([]);
});

/** Lets queued reconciles run until the store stops changing. */
async function settle(): Promise<void> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 20_000 && stable < 5; i++) {
    await new Promise((r) => setImmediate(r));
    const rev = core.store.currentRevision;
    if (rev === last) stable++;
    else {
      stable = 0;
      last = rev;
    }
  }
}

const advance = (ms: number) => clock.advance(ms, settle);

function list(gvr: GroupVersionResource, selector?: string, namespace = "default"): KubeObject[] {
  return core.list(gvr, { namespace, ...(selector ? { labelSelector: selector } : {}) });
}

const isReady = (pod: KubeObject) =>
  (pod.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
  );

function deployment(
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name, image: "app:1", ports: [{ name: "http", containerPort: 8080 }] }] },
      },
      ...spec,
    },
  };
}

function setImage(name: string, image: string): void {
  const d = core.get(R.deployments, "default", name)!;
  d.spec.template.spec.containers[0].image = image;
  core.update(R.deployments, d, { fieldManager: "test" });
}

function getDeployment(name: string): KubeObject {
  return core.get(R.deployments, "default", name)!;
}

function condition(object: KubeObject, type: string): Record<string, string> | undefined {
  return (object.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
}

describe("Deployment rolling update", () => {
  for (const [label, strategy, maxTotal, minReady] of [
    ["defaults (25%/25% of 4)", {}, 5, 3],
    ["maxSurge 1, maxUnavailable 0", { maxSurge: 1, maxUnavailable: 0 }, 5, 4],
    ["maxSurge 0, maxUnavailable 1", { maxSurge: 0, maxUnavailable: 1 }, 4, 3],
    ["maxSurge 50%, maxUnavailable 50%", { maxSurge: "50%", maxUnavailable: "50%" }, 6, 2],
  ] as const) {
    it(`stays within maxSurge/maxUnavailable: ${label}`, async () => {
      start();
      core.create(
        R.deployments,
        deployment(
          "web",
          { replicas: 4, strategy: { type: "RollingUpdate", rollingUpdate: strategy } },
          { "sim.slipway.dev/ready-after": "10s" },
        ),
      );
      await settle();
      expect(list(R.pods, "app=web")).toHaveLength(4);
      await advance(10_000);
      expect(list(R.pods, "app=web").filter(isReady)).toHaveLength(4);

      setImage("web", "app:2");
      await settle();
      let steps = 0;
      for (; steps < 20; steps++) {
        const pods = list(R.pods, "app=web");
        expect(pods.length).toBeLessThanOrEqual(maxTotal);
        expect(pods.filter(isReady).length).toBeGreaterThanOrEqual(minReady);
        const d = getDeployment("web");
        if (d.status.updatedReplicas === 4 && d.status.availableReplicas === 4 && d.status.replicas === 4)
          break;
        await advance(10_000);
      }
      expect(steps).toBeGreaterThan(0);
      expect(steps).toBeLessThan(20);
      const pods = list(R.pods, "app=web");
      expect(pods).toHaveLength(4);
      expect(pods.every((p) => p.spec.containers[0].image === "app:2")).toBe(true);
      expect(condition(getDeployment("web"), "Progressing")).toMatchObject({
        reason: "NewReplicaSetAvailable",
      });
    });
  }

  it("keeps revisionHistoryLimit old ReplicaSets", async () => {
    start();
    core.create(R.deployments, deployment("hist", { revisionHistoryLimit: 1 }));
    await settle();
    for (const image of ["app:2", "app:3", "app:4"]) {
      setImage("hist", image);
      await settle();
    }
    const sets = list(R.replicaSets, "app=hist");
    expect(sets).toHaveLength(2);
    const revisions = sets.map((rs) => rs.metadata.annotations!["deployment.kubernetes.io/revision"]).sort();
    expect(revisions).toEqual(["3", "4"]);
  });

  it("does not roll out while paused, and does on resume", async () => {
    start();
    core.create(R.deployments, deployment("p", {}));
    await settle();
    core.patch(R.deployments, "default", "p", "merge", { spec: { paused: true } });
    await settle();
    expect(condition(getDeployment("p"), "Progressing")).toMatchObject({
      status: "Unknown",
      reason: "DeploymentPaused",
    });
    setImage("p", "app:2");
    await settle();
    expect(list(R.replicaSets, "app=p")).toHaveLength(1);
    // Scaling while paused still works.
    core.patch(R.deployments, "default", "p", "merge", { spec: { replicas: 5 } });
    await settle();
    expect(list(R.pods, "app=p")).toHaveLength(5);
    core.patch(R.deployments, "default", "p", "merge", { spec: { paused: false } });
    await settle();
    expect(list(R.replicaSets, "app=p")).toHaveLength(2);
    expect(list(R.pods, "app=p").every((p) => p.spec.containers[0].image === "app:2")).toBe(true);
    expect(condition(getDeployment("p"), "Progressing")).toMatchObject({ reason: "NewReplicaSetAvailable" });
  });

  it("counts pods as available only after minReadySeconds", async () => {
    start();
    core.create(R.deployments, deployment("mr", { replicas: 2, minReadySeconds: 5 }));
    await settle();
    let d = getDeployment("mr");
    expect(d.status.readyReplicas).toBe(2);
    expect(d.status.availableReplicas).toBeUndefined();
    expect(condition(d, "Available")).toMatchObject({
      status: "False",
      reason: "MinimumReplicasUnavailable",
    });
    const rs = list(R.replicaSets, "app=mr")[0]!;
    expect(rs.spec.minReadySeconds).toBe(5);
    await advance(6_000);
    d = getDeployment("mr");
    expect(d.status.availableReplicas).toBe(2);
    expect(condition(d, "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
  });

  it("times out after progressDeadlineSeconds and recovers on progress", async () => {
    start();
    core.create(
      R.deployments,
      deployment("dl", { replicas: 1, progressDeadlineSeconds: 3 }, { "sim.slipway.dev/ready-after": "10s" }),
    );
    await settle();
    expect(condition(getDeployment("dl"), "Progressing")).toMatchObject({ status: "True" });
    await advance(5_000);
    expect(condition(getDeployment("dl"), "Progressing")).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
    });
    await advance(6_000);
    expect(condition(getDeployment("dl"), "Progressing")).toMatchObject({
      status: "True",
      reason: "NewReplicaSetAvailable",
    });
  });

  it("replaces deleted pods and settles without further writes", async () => {
    start();
    core.create(R.deployments, deployment("calm", {}));
    await settle();
    const victim = list(R.pods, "app=calm")[0]!;
    core.delete(R.pods, "default", victim.metadata.name!);
    await settle();
    const pods = list(R.pods, "app=calm");
    expect(pods).toHaveLength(3);
    expect(pods.map((p) => p.metadata.name)).not.toContain(victim.metadata.name);
    const rev = core.store.currentRevision;
    await advance(120_000);
    expect(core.store.currentRevision).toBe(rev);
  });

  it("releases a pod relabelled out of its ReplicaSet and replaces it", async () => {
    start();
    core.create(R.deployments, deployment("rel", { replicas: 2 }));
    await settle();
    const [pod] = list(R.pods, "app=rel");
    core.patch(R.pods, "default", pod!.metadata.name!, "merge", { metadata: { labels: { app: "debug" } } });
    await settle();
    const released = core.get(R.pods, "default", pod!.metadata.name!)!;
    expect(released.metadata.ownerReferences).toBeUndefined();
    expect(list(R.pods, "app=rel")).toHaveLength(2);
    expect(list(R.pods, "app=rel").map((p) => p.metadata.name)).not.toContain(pod!.metadata.name);
  });

  it("goes away with its namespace", async () => {
    start();
    core.create(R.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: "tmp" } });
    await settle();
    const d = deployment("ns", {});
    d.metadata.namespace = "tmp";
    core.create(R.deployments, d);
    core.create(R.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ns", namespace: "tmp" },
      spec: { selector: { app: "ns" }, ports: [{ port: 80 }] },
    });
    await settle();
    expect(list(R.pods, "app=ns", "tmp")).toHaveLength(3);
    expect(core.get(R.serviceAccounts, "tmp", "default")).toBeDefined();
    core.delete(R.namespaces, undefined, "tmp");
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    await settle();
    expect(core.get(R.namespaces, undefined, "tmp")).toBeUndefined();
    expect(list(R.pods, undefined, "tmp")).toHaveLength(0);
  });

  it("stops reconciling after stop()", async () => {
    start();
    controllers!.stop();
    core.create(R.deployments, deployment("off", {}));
    await settle();
    expect(list(R.replicaSets, "app=off")).toHaveLength(0);
  });
});

function job(
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "default" },
    spec: {
      template: {
        metadata: { annotations },
        spec: { restartPolicy: "Never", containers: [{ name: "work", image: "busybox" }] },
      },
      ...spec,
    },
  };
}

const getJob = (name: string) => core.get(R.jobs, "default", name)!;

describe("Job", () => {
  it("runs completions with bounded parallelism", async () => {
    start();
    core.create(R.jobs, job("par", { completions: 3, parallelism: 2 }, { "sim.slipway.dev/duration": "1s" }));
    await settle();
    expect(getJob("par").status).toMatchObject({ active: 2 });
    await advance(1_000);
    expect(getJob("par").status).toMatchObject({ active: 1, succeeded: 2 });
    await advance(1_000);
    const status = getJob("par").status;
    expect(status.succeeded).toBe(3);
    expect(status.active).toBeUndefined();
    expect(condition(getJob("par"), "Complete")).toMatchObject({ status: "True" });
  });

  it("gives Indexed pods their completion index", async () => {
    start();
    core.create(R.jobs, job("idx", { completions: 3, parallelism: 3, completionMode: "Indexed" }));
    await settle();
    const indexes = list(R.pods, "job-name=idx")
      .map((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"])
      .sort();
    expect(indexes).toEqual(["0", "1", "2"]);
    expect(getJob("idx").status.completedIndexes).toBe("0-2");
    expect(condition(getJob("idx"), "Complete")).toMatchObject({ status: "True" });
  });

  it("retries failures with exponential backoff until backoffLimit", async () => {
    start();
    core.create(R.jobs, job("retry", { backoffLimit: 2 }, { "sim.slipway.dev/exit-code": "3" }));
    await settle();
    expect(list(R.pods, "job-name=retry")).toHaveLength(1);
    await advance(9_000);
    expect(list(R.pods, "job-name=retry")).toHaveLength(1);
    await advance(1_500);
    expect(list(R.pods, "job-name=retry")).toHaveLength(2);
    await advance(19_000);
    expect(list(R.pods, "job-name=retry")).toHaveLength(2);
    await advance(1_500);
    expect(list(R.pods, "job-name=retry")).toHaveLength(3);
    await settle();
    expect(getJob("retry").status.failed).toBe(3);
    expect(condition(getJob("retry"), "Failed")).toMatchObject({
      status: "True",
      reason: "BackoffLimitExceeded",
    });
    expect(condition(getJob("retry"), "FailureTarget")).toMatchObject({ status: "True" });
  });

  it("counts OnFailure container restarts against backoffLimit", async () => {
    start();
    const spec = job(
      "onf",
      { backoffLimit: 1 },
      { "sim.slipway.dev/exit-code": "1", "sim.slipway.dev/duration": "1s" },
    );
    spec.spec.template.spec.restartPolicy = "OnFailure";
    core.create(R.jobs, spec);
    await settle();
    await advance(1_000);
    expect(condition(getJob("onf"), "Failed")).toMatchObject({
      status: "True",
      reason: "BackoffLimitExceeded",
    });
    expect(list(R.pods, "job-name=onf")).toHaveLength(0);
  });

  it("suspends and resumes", async () => {
    start();
    core.create(R.jobs, job("sus", { suspend: true }, { "sim.slipway.dev/duration": "1s" }));
    await settle();
    expect(list(R.pods, "job-name=sus")).toHaveLength(0);
    expect(condition(getJob("sus"), "Suspended")).toMatchObject({ status: "True", reason: "JobSuspended" });
    expect(getJob("sus").status.startTime).toBeUndefined();
    core.patch(R.jobs, "default", "sus", "merge", { spec: { suspend: false } });
    await settle();
    expect(list(R.pods, "job-name=sus")).toHaveLength(1);
    expect(condition(getJob("sus"), "Suspended")).toMatchObject({ status: "False", reason: "JobResumed" });
    await advance(1_000);
    expect(condition(getJob("sus"), "Complete")).toMatchObject({ status: "True" });
  });

  it("fails with DeadlineExceeded after activeDeadlineSeconds", async () => {
    start();
    core.create(R.jobs, job("late", { activeDeadlineSeconds: 2 }, { "sim.slipway.dev/duration": "1m" }));
    await settle();
    await advance(2_100);
    expect(condition(getJob("late"), "Failed")).toMatchObject({ reason: "DeadlineExceeded" });
    expect(list(R.pods, "job-name=late")).toHaveLength(0);
  });

  it("deletes finished Jobs after ttlSecondsAfterFinished", async () => {
    start();
    core.create(R.jobs, job("ttl", { ttlSecondsAfterFinished: 5 }));
    await settle();
    expect(condition(getJob("ttl"), "Complete")).toMatchObject({ status: "True" });
    await advance(4_000);
    expect(core.get(R.jobs, "default", "ttl")).toBeDefined();
    await advance(2_000);
    expect(core.get(R.jobs, "default", "ttl")).toBeUndefined();
    expect(list(R.pods, "job-name=ttl")).toHaveLength(0);
  });
});

describe("StatefulSet", () => {
  it("creates pods in order, each after the previous is ready, and updates from the top", async () => {
    start();
    core.create(R.statefulSets, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "default" },
      spec: {
        serviceName: "db",
        replicas: 3,
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" }, annotations: { "sim.slipway.dev/ready-after": "5s" } },
          spec: { containers: [{ name: "db", image: "pg:1" }] },
        },
      },
    });
    await settle();
    const names = () =>
      list(R.pods, "app=db")
        .map((p) => p.metadata.name)
        .sort();
    expect(names()).toEqual(["db-0"]);
    expect(list(R.pods, "app=db")[0]!.spec.hostname).toBe("db-0");
    await advance(5_000);
    expect(names()).toEqual(["db-0", "db-1"]);
    await advance(10_000);
    expect(names()).toEqual(["db-0", "db-1", "db-2"]);
    const sts = core.get(R.statefulSets, "default", "db")!;
    expect(sts.status).toMatchObject({ replicas: 3, readyReplicas: 3, updatedReplicas: 3 });
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);

    const next = core.get(R.statefulSets, "default", "db")!;
    next.spec.template.spec.containers[0].image = "pg:2";
    core.update(R.statefulSets, next);
    await settle();
    const image = (n: string) => core.get(R.pods, "default", n)?.spec.containers[0].image;
    expect(image("db-2")).toBe("pg:2");
    expect(image("db-1")).toBe("pg:1");
    await advance(30_000);
    expect(["db-0", "db-1", "db-2"].map(image)).toEqual(["pg:2", "pg:2", "pg:2"]);
    const done = core.get(R.statefulSets, "default", "db")!;
    expect(done.status.currentRevision).toBe(done.status.updateRevision);
  });
});

describe("Endpoints and EndpointSlices", () => {
  it("track readiness and termination, and skip pods without the named port", async () => {
    start();
    core.create(R.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "api", namespace: "default", labels: { team: "a" } },
      spec: { selector: { app: "api" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    const pod = (name: string, port: string, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { app: "api" }, ...extra },
      spec: { containers: [{ name: "c", image: "x", ports: [{ name: port, containerPort: 9000 }] }] },
    });
    core.create(R.pods, pod("a", "http"));
    core.create(R.pods, pod("b", "other"));
    core.create(R.pods, pod("c", "http", { finalizers: ["test/hold"] }));
    await settle();
    let ep = core.get(R.endpoints, "default", "api")!;
    expect(ep.metadata.labels).toEqual({ team: "a" });
    expect(ep.subsets).toHaveLength(1);
    expect(
      ep.subsets[0].addresses.map((a: { targetRef: { name: string } }) => a.targetRef.name).sort(),
    ).toEqual(["a", "c"]);
    expect(ep.subsets[0].ports).toEqual([{ name: "http", port: 9000, protocol: "TCP" }]);

    core.delete(R.pods, "default", "c");
    await settle();
    ep = core.get(R.endpoints, "default", "api")!;
    expect(ep.subsets[0].addresses.map((a: { targetRef: { name: string } }) => a.targetRef.name)).toEqual([
      "a",
    ]);
    const [slice] = list(R.slices, "kubernetes.io/service-name=api");
    const byName = Object.fromEntries(
      slice!.endpoints.map((e: { targetRef: { name: string }; conditions: unknown }) => [
        e.targetRef.name,
        e.conditions,
      ]),
    );
    expect(byName).toEqual({
      a: { ready: true, serving: true, terminating: false },
      c: { ready: false, serving: true, terminating: true },
    });
    expect(slice!.metadata.labels).toMatchObject({
      team: "a",
      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    });

    // No writes once settled.
    const rev = core.store.currentRevision;
    await advance(60_000);
    expect(core.store.currentRevision).toBe(rev);

    // A Service without selector is left to its owner.
    core.create(R.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "manual", namespace: "default" },
      spec: { ports: [{ port: 80 }] },
    });
    await settle();
    expect(core.get(R.endpoints, "default", "manual")).toBeUndefined();
    expect(list(R.slices, "kubernetes.io/service-name=manual")).toHaveLength(0);

    // Deleting the Service removes its endpoints.
    core.delete(R.services, "default", "api");
    await settle();
    expect(core.get(R.endpoints, "default", "api")).toBeUndefined();
    expect(list(R.slices, "kubernetes.io/service-name=api")).toHaveLength(0);
  });
});

describe("helpers", () => {
  it("parses Go durations and plain seconds", () => {
    expect(parseDurationMs("5s")).toBe(5000);
    expect(parseDurationMs("1h30m")).toBe(5_400_000);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseDurationMs("1.5s")).toBe(1500);
    expect(parseDurationMs("2")).toBe(2000);
    expect(parseDurationMs("0")).toBe(0);
    expect(parseDurationMs("soon")).toBeUndefined();
    expect(parseDurationMs("5 s")).toBeUndefined();
    expect(parseDurationMs("-1s")).toBeUndefined();
  });

  it("hashes pod templates stably, ignoring key order and the hash label", () => {
    const a = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "i" }] } };
    const b = { spec: { containers: [{ image: "i", name: "c" }] }, metadata: { labels: { app: "x" } } };
    const withHash = { ...a, metadata: { labels: { app: "x", "pod-template-hash": "zzz" } } };
    expect(podTemplateHash(a)).toBe(podTemplateHash(b));
    expect(podTemplateHash(a)).toBe(podTemplateHash(withHash));
    expect(podTemplateHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(podTemplateHash(a, 1)).not.toBe(podTemplateHash(a));
  });

  it("deletes unready and newer pods first when scaling down", () => {
    const pod = (name: string, created: string, ready: boolean, phase = "Running"): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, creationTimestamp: created },
      spec: { nodeName: "n" },
      status: {
        phase,
        conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: created }],
      },
    });
    const pods = [
      pod("old-ready", "2025-01-01T00:00:00Z", true),
      pod("new-ready", "2025-01-01T00:05:00Z", true),
      pod("old-unready", "2025-01-01T00:00:00Z", false),
      pod("pending", "2025-01-01T00:00:00Z", false, "Pending"),
    ];
    expect(podsToDelete(pods, 3).map((p) => p.metadata.name)).toEqual([
      "pending",
      "old-unready",
      "new-ready",
    ]);
  });
});
