/**
 * The sandbox's simulated workloads, judged by the real kubectl over HTTPS: rollouts, rollbacks,
 * scaling, readiness delays, endpoints, Jobs, cascading deletion and progress deadlines behave as
 * kubectl expects of a real cluster. Each test works in its own namespace of one shared sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

let sb: TestSandbox;

beforeAll(async () => {
  sb = await startTestSandbox();
});

afterAll(async () => {
  await sb?.stop();
});

async function namespace(name: string): Promise<void> {
  await sb.kubectlOk(["create", "namespace", name]);
}

async function apply(ns: string, yaml: string): Promise<void> {
  await sb.kubectlOk(["apply", "-n", ns, "-f", "-"], { input: yaml });
}

function deployment(
  name: string,
  options: {
    replicas?: number;
    image?: string;
    annotations?: Record<string, string>;
    extraSpec?: string;
  } = {},
): string {
  const annotations = Object.entries(options.annotations ?? {})
    .map(([k, v]) => `\n        ${k}: "${v}"`)
    .join("");
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${options.replicas ?? 3}
  selector:
    matchLabels: {app: ${name}}${options.extraSpec ? `\n  ${options.extraSpec}` : ""}
  template:
    metadata:
      labels: {app: ${name}}${annotations ? `\n      annotations:${annotations}` : ""}
    spec:
      containers:
      - name: ${name}
        image: ${options.image ?? "nginx:1"}
        ports: [{name: http, containerPort: 8080}]
`;
}

function service(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports: [{name: web, port: 80, targetPort: http}]
`;
}

const isReady = (pod: KubeJson) =>
  (pod.status?.conditions ?? []).some((c: KubeJson) => c.type === "Ready" && c.status === "True");

async function pods(ns: string, selector: string): Promise<KubeJson[]> {
  return (await sb.kubectlJson<KubeJson>(["get", "pods", "-n", ns, "-l", selector])).items;
}

async function replicaSets(ns: string, selector: string): Promise<KubeJson[]> {
  return (await sb.kubectlJson<KubeJson>(["get", "rs", "-n", ns, "-l", selector])).items;
}

async function rolloutStatus(ns: string, name: string, timeout = "30s") {
  return sb.kubectl(["rollout", "status", "-n", ns, `deployment/${name}`, `--timeout=${timeout}`]);
}

describe("Deployments", () => {
  it("roll out, update, roll back, scale and restart", async () => {
    const ns = "rollout";
    await namespace(ns);
    await apply(ns, `${deployment("web")}---\n${service("web")}`);

    const first = await rolloutStatus(ns, "web");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('deployment "web" successfully rolled out');

    const [rs1] = await replicaSets(ns, "app=web");
    const hash1: string = rs1!.metadata.labels["pod-template-hash"];
    expect(hash1).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(rs1!.metadata.name).toBe(`web-${hash1}`);
    expect(rs1!.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("1");
    expect(rs1!.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "Deployment",
        name: "web",
        controller: true,
        blockOwnerDeletion: true,
      }),
    ]);
    expect(rs1!.spec.selector.matchLabels).toEqual({ app: "web", "pod-template-hash": hash1 });

    const running = await pods(ns, "app=web");
    expect(running).toHaveLength(3);
    for (const pod of running) {
      expect(pod.status.phase).toBe("Running");
      expect(isReady(pod)).toBe(true);
      expect(pod.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      expect(pod.spec.nodeName).toBe("sandbox-node");
      expect(pod.metadata.labels["pod-template-hash"]).toBe(hash1);
      expect(pod.metadata.name.startsWith(`web-${hash1}-`)).toBe(true);
      expect(pod.status.containerStatuses[0]).toMatchObject({ name: "web", ready: true, restartCount: 0 });
    }
    const ips = running.map((p) => p.status.podIP as string);
    expect(new Set(ips).size).toBe(3);

    const deploy = await sb.kubectlJson<KubeJson>(["get", "deployment", "web", "-n", ns]);
    expect(deploy.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    const conditions = Object.fromEntries(deploy.status.conditions.map((c: KubeJson) => [c.type, c]));
    expect(conditions.Available).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(conditions.Progressing).toMatchObject({
      status: "True",
      reason: "NewReplicaSetAvailable",
      message: `ReplicaSet "web-${hash1}" has successfully progressed.`,
    });

    // Endpoints list the ready pods, with the named targetPort resolved to the container port.
    const endpoints = await sb.kubectlJson<KubeJson>(["get", "endpoints", "web", "-n", ns]);
    expect(endpoints.subsets).toHaveLength(1);
    expect(endpoints.subsets[0].addresses.map((a: KubeJson) => a.ip).sort()).toEqual([...ips].sort());
    expect(endpoints.subsets[0].addresses[0].targetRef).toMatchObject({ kind: "Pod", namespace: ns });
    expect(endpoints.subsets[0].ports).toEqual([{ name: "web", port: 8080, protocol: "TCP" }]);
    const slices = await sb.kubectlJson<KubeJson>([
      "get",
      "endpointslices",
      "-n",
      ns,
      "-l",
      "kubernetes.io/service-name=web",
    ]);
    expect(slices.items).toHaveLength(1);
    const slice = slices.items[0];
    expect(slice.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
    expect(slice.addressType).toBe("IPv4");
    expect(slice.ports).toEqual([{ name: "web", port: 8080, protocol: "TCP" }]);
    expect(slice.endpoints).toHaveLength(3);
    for (const e of slice.endpoints) {
      expect(e.conditions).toEqual({ ready: true, serving: true, terminating: false });
      expect(ips).toContain(e.addresses[0]);
    }

    // A new image: a new ReplicaSet at revision 2, the old one scaled to zero.
    // (kubectl set image sends a JSON strategic-merge patch, so this needs no protobuf.)
    await sb.kubectlOk(["set", "image", "-n", ns, "deployment/web", "web=nginx:2"]);
    expect((await rolloutStatus(ns, "web")).code).toBe(0);
    const afterUpdate = await replicaSets(ns, "app=web");
    expect(afterUpdate).toHaveLength(2);
    const old1 = afterUpdate.find((rs) => rs.metadata.name === `web-${hash1}`)!;
    const rs2 = afterUpdate.find((rs) => rs.metadata.name !== `web-${hash1}`)!;
    expect(old1.spec.replicas).toBe(0);
    expect(rs2.spec.replicas).toBe(3);
    expect(rs2.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("2");
    expect(rs2.spec.template.spec.containers[0].image).toBe("nginx:2");
    const updated = await sb.kubectlJson<KubeJson>(["get", "deployment", "web", "-n", ns]);
    expect(updated.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("2");
    await waitFor(async () => {
      const current = await pods(ns, "app=web");
      return (
        current.length === 3 && current.every((p) => p.spec.containers[0].image === "nginx:2" && isReady(p))
      );
    });
    const history = await sb.kubectlOk(["rollout", "history", "-n", ns, "deployment/web"]);
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);

    // Undo: the template goes back to revision 1's, whose ReplicaSet is reused as revision 3.
    await sb.kubectlOk(["rollout", "undo", "-n", ns, "deployment/web"]);
    expect((await rolloutStatus(ns, "web")).code).toBe(0);
    const undone = await sb.kubectlJson<KubeJson>(["get", "deployment", "web", "-n", ns]);
    expect(undone.spec.template.spec.containers[0].image).toBe("nginx:1");
    expect(undone.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("3");
    const afterUndo = await replicaSets(ns, "app=web");
    expect(afterUndo).toHaveLength(2);
    const reused = afterUndo.find((rs) => rs.metadata.name === `web-${hash1}`)!;
    expect(reused.spec.replicas).toBe(3);
    expect(reused.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("3");
    expect(reused.metadata.annotations["deployment.kubernetes.io/revision-history"]).toBe("1");
    expect(afterUndo.find((rs) => rs.metadata.name === rs2.metadata.name)!.spec.replicas).toBe(0);

    // Scale up and down.
    await sb.kubectlOk(["scale", "-n", ns, "deployment/web", "--replicas=5"]);
    expect((await rolloutStatus(ns, "web")).code).toBe(0);
    await waitFor(async () => (await pods(ns, "app=web")).filter(isReady).length === 5);
    await sb.kubectlOk(["scale", "-n", ns, "deployment/web", "--replicas=1"]);
    expect((await rolloutStatus(ns, "web")).code).toBe(0);
    await waitFor(async () => (await pods(ns, "app=web")).length === 1, { message: "1 pod" });
    await waitFor(async () => {
      const ep = await sb.kubectlJson<KubeJson>(["get", "endpoints", "web", "-n", ns]);
      return ep.subsets?.[0]?.addresses?.length === 1;
    });

    // Restart: a template annotation, so a new ReplicaSet at revision 4.
    await sb.kubectlOk(["rollout", "restart", "-n", ns, "deployment/web"]);
    expect((await rolloutStatus(ns, "web")).code).toBe(0);
    const afterRestart = await replicaSets(ns, "app=web");
    expect(afterRestart).toHaveLength(3);
    const newest = afterRestart.find(
      (rs) => rs.metadata.annotations["deployment.kubernetes.io/revision"] === "4",
    );
    expect(newest?.spec.replicas).toBe(1);
    expect(newest?.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toBeDefined();

    const events = await sb.kubectlJson<KubeJson>([
      "get",
      "events",
      "-n",
      ns,
      "--field-selector",
      "involvedObject.kind=Deployment",
    ]);
    const messages = events.items.map((e: KubeJson) => e.message as string);
    expect(messages).toContain(`Scaled up replica set web-${hash1} from 0 to 3`);
    expect(messages).toContain(`Scaled down replica set web-${hash1} from 1 to 0`);
  });

  it("Recreate replaces all pods at once", async () => {
    const ns = "recreate";
    await namespace(ns);
    await apply(ns, deployment("db", { replicas: 2, extraSpec: "strategy: {type: Recreate}" }));
    expect((await rolloutStatus(ns, "db")).code).toBe(0);
    await sb.kubectlOk(["set", "image", "-n", ns, "deployment/db", "db=postgres:17"]);
    expect((await rolloutStatus(ns, "db")).code).toBe(0);
    const sets = await replicaSets(ns, "app=db");
    expect(sets.map((rs) => rs.spec.replicas).sort()).toEqual([0, 2]);
    await waitFor(async () => {
      const current = await pods(ns, "app=db");
      return current.length === 2 && current.every((p) => p.spec.containers[0].image === "postgres:17");
    });
  });

  it("delays readiness by sim.slipway.dev/ready-after", async () => {
    const ns = "slow";
    await namespace(ns);
    const started = Date.now();
    await apply(
      ns,
      `${deployment("slow", { replicas: 2, annotations: { "sim.slipway.dev/ready-after": "2s" } })}---\n${service("slow")}`,
    );
    const running = await waitFor(async () => {
      const list = await pods(ns, "app=slow");
      return list.length === 2 && list.every((p) => p.status?.phase === "Running" && p.status.podIP) && list;
    });
    // Pods run with an IP at once but are not Ready yet (see the "stuck" test for their endpoints).
    expect(running.some(isReady)).toBe(false);

    const wait = await sb.kubectl([
      "wait",
      "-n",
      ns,
      "--for=condition=Ready",
      "pod",
      "-l",
      "app=slow",
      "--timeout=15s",
    ]);
    expect(wait.code).toBe(0);
    // Pods are created after apply returns, so Ready comes at least 2s after `started`.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect((await rolloutStatus(ns, "slow")).code).toBe(0);
    await waitFor(async () => {
      const ep = await sb.kubectlJson<KubeJson>(["get", "endpoints", "slow", "-n", ns]);
      return ep.subsets?.[0]?.addresses?.length === 2 && !ep.subsets[0].notReadyAddresses;
    });
  });

  it("reports an invalid simulation annotation as a Warning Event and uses the default", async () => {
    const ns = "invalid";
    await namespace(ns);
    await apply(
      ns,
      `apiVersion: v1
kind: Pod
metadata:
  name: odd
  annotations: {sim.slipway.dev/ready-after: "soon"}
spec:
  containers: [{name: c, image: nginx}]
`,
    );
    const wait = await sb.kubectl(["wait", "-n", ns, "--for=condition=Ready", "pod/odd", "--timeout=10s"]);
    expect(wait.code).toBe(0);
    const events = await waitFor(async () => {
      const list = await sb.kubectlJson<KubeJson>(["get", "events", "-n", ns]);
      return list.items.find((e: KubeJson) => e.reason === "InvalidSimAnnotation");
    });
    expect(events.type).toBe("Warning");
    expect(events.involvedObject).toMatchObject({ kind: "Pod", name: "odd" });
    expect(events.message).toContain("sim.slipway.dev/ready-after");
  });

  it("fails kubectl rollout status once progressDeadlineSeconds pass without progress", async () => {
    const ns = "stuck";
    await namespace(ns);
    await apply(
      ns,
      `${deployment("stuck", {
        replicas: 1,
        annotations: { "sim.slipway.dev/ready-after": "1h" },
        extraSpec: "progressDeadlineSeconds: 2",
      })}---\n${service("stuck")}`,
    );
    const status = await rolloutStatus(ns, "stuck", "20s");
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('deployment "stuck" exceeded its progress deadline');
    const deploy = await sb.kubectlJson<KubeJson>(["get", "deployment", "stuck", "-n", ns]);
    const progressing = deploy.status.conditions.find((c: KubeJson) => c.type === "Progressing");
    expect(progressing).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });

    // The running but unready pod is listed as not ready, and as not ready/serving in the slice.
    const [pod] = await pods(ns, "app=stuck");
    expect(pod!.status.phase).toBe("Running");
    expect(isReady(pod!)).toBe(false);
    const endpoints = await sb.kubectlJson<KubeJson>(["get", "endpoints", "stuck", "-n", ns]);
    expect(endpoints.subsets[0].addresses).toBeUndefined();
    expect(endpoints.subsets[0].notReadyAddresses.map((a: KubeJson) => a.ip)).toEqual([pod!.status.podIP]);
    const slices = await sb.kubectlJson<KubeJson>([
      "get",
      "endpointslices",
      "-n",
      ns,
      "-l",
      "kubernetes.io/service-name=stuck",
    ]);
    expect(slices.items[0].endpoints[0].conditions).toEqual({
      ready: false,
      serving: false,
      terminating: false,
    });
  });

  it("deletes ReplicaSets and pods with the Deployment (default cascade)", async () => {
    const ns = "cascade";
    await namespace(ns);
    await apply(ns, deployment("gone", { replicas: 2 }));
    expect((await rolloutStatus(ns, "gone")).code).toBe(0);
    expect(await pods(ns, "app=gone")).toHaveLength(2);
    await sb.kubectlOk(["delete", "-n", ns, "deployment/gone"]);
    await waitFor(
      async () => (await sb.kubectlJson<KubeJson>(["get", "rs,pods", "-n", ns])).items.length === 0,
      {
        message: "no ReplicaSets or pods left",
      },
    );
  });
});

describe("Jobs", () => {
  it("complete after sim.slipway.dev/duration with exit code 0", async () => {
    const ns = "jobs-ok";
    await namespace(ns);
    await apply(
      ns,
      `apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  template:
    metadata:
      annotations: {sim.slipway.dev/duration: 1s, sim.slipway.dev/exit-code: "0"}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox}]
`,
    );
    const wait = await sb.kubectl(["wait", "-n", ns, "--for=condition=complete", "job/ok", "--timeout=20s"]);
    expect(wait.code).toBe(0);
    const job = await sb.kubectlJson<KubeJson>(["get", "job", "ok", "-n", ns]);
    expect(job.status).toMatchObject({ succeeded: 1, ready: 0 });
    // Second-precision timestamps, but a 1s run always spans at least one second boundary.
    expect(Date.parse(job.status.completionTime) - Date.parse(job.status.startTime)).toBeGreaterThanOrEqual(
      1000,
    );
    expect(job.status.conditions.map((c: KubeJson) => c.type)).toEqual(["SuccessCriteriaMet", "Complete"]);
    const [pod] = await pods(ns, "job-name=ok");
    expect(pod!.status.phase).toBe("Succeeded");
    expect(pod!.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
  });

  it("fail with BackoffLimitExceeded when the exit code is non-zero and backoffLimit is 0", async () => {
    const ns = "jobs-fail";
    await namespace(ns);
    await apply(
      ns,
      `apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {sim.slipway.dev/exit-code: "1"}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox}]
`,
    );
    const wait = await sb.kubectl(["wait", "-n", ns, "--for=condition=failed", "job/bad", "--timeout=20s"]);
    expect(wait.code).toBe(0);
    const job = await sb.kubectlJson<KubeJson>(["get", "job", "bad", "-n", ns]);
    expect(job.status.failed).toBe(1);
    const failed = job.status.conditions.find((c: KubeJson) => c.type === "Failed");
    expect(failed).toMatchObject({ status: "True", reason: "BackoffLimitExceeded" });
    const [pod] = await pods(ns, "job-name=bad");
    expect(pod!.status.phase).toBe("Failed");
    expect(pod!.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
  });
});

describe("cluster basics", () => {
  it("has a Ready node and a default ServiceAccount in every namespace", async () => {
    const nodes = await sb.kubectlJson<KubeJson>(["get", "nodes"]);
    expect(nodes.items.map((n: KubeJson) => n.metadata.name)).toEqual(["sandbox-node"]);
    const ready = nodes.items[0].status.conditions.find((c: KubeJson) => c.type === "Ready");
    expect(ready.status).toBe("True");
    await namespace("fresh");
    await waitFor(
      async () => (await sb.kubectl(["get", "serviceaccount", "default", "-n", "fresh"])).code === 0,
    );
  });

  it("runs StatefulSets in order and a DaemonSet pod on the node", async () => {
    const ns = "stateful";
    await namespace(ns);
    await apply(
      ns,
      `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:17}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: fluent-bit:3}]
`,
    );
    const sts = await sb.kubectl(["rollout", "status", "-n", ns, "statefulset/db", "--timeout=20s"]);
    expect(sts.code).toBe(0);
    const names = (await pods(ns, "app=db")).map((p) => p.metadata.name).sort();
    expect(names).toEqual(["db-0", "db-1", "db-2"]);
    const ds = await sb.kubectl(["rollout", "status", "-n", ns, "daemonset/agent", "--timeout=20s"]);
    expect(ds.code).toBe(0);
    const agents = await pods(ns, "app=agent");
    expect(agents).toHaveLength(1);
    expect(agents[0]!.spec.nodeName).toBe("sandbox-node");
  });
});
