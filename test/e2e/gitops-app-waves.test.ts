/**
 * Sync operations end to end: hooks and waves in order (recorded by a watch), hook delete
 * policies, a controller killed mid-sync and a fresh one finishing without duplicates, timeouts
 * and terminate, the prune budget, AppProject refusals, and cascading / non-cascading deletion.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { SharedInformer } from "../../controller/kube/informer.js";
import { type KubeJson, waitFor } from "../helpers/sandbox.js";
import {
  application,
  configMap,
  type GitopsEnv,
  NS,
  type RunningController,
  startGitopsEnv,
} from "./gitops-harness.js";

let env: GitopsEnv;
let ctl: RunningController;
let watcher: ClusterClient;
const informers: SharedInformer[] = [];

/**
 * What the test's own watch saw: `ADDED Job/pre@uid`, `READY Deployment/db`, ... each with the
 * resourceVersion at which it first held. The sandbox's resourceVersions are one global counter
 * (as etcd's revisions), so they order events across kinds regardless of watch delivery timing.
 */
const timeline: { what: string; at: number }[] = [];

function at(what: string): number {
  const entry = timeline.find((e) => e.what === what);
  if (!entry) throw new Error(`never saw ${what}; saw ${timeline.map((e) => e.what).join(", ")}`);
  return entry.at;
}

function record(what: string, object: KubeJson): void {
  if (!timeline.some((e) => e.what === what))
    timeline.push({ what, at: Number(object.metadata.resourceVersion) });
}

function watch(
  resource: { group: string; version: string; resource: string },
  onChange: (o: KubeJson) => void,
) {
  const informer = new SharedInformer(watcher, resource, {});
  informer.addHandler({
    onAdd: (o) => onChange(o as KubeJson),
    onUpdate: (_old, o) => onChange(o as KubeJson),
  });
  informer.start();
  informers.push(informer);
  return informer;
}

const jobSpec = (duration: string, exitCode = 0) => [
  "spec:",
  "  backoffLimit: 0",
  "  template:",
  "    metadata:",
  `      annotations: { sim.slipway.dev/duration: "${duration}", sim.slipway.dev/exit-code: "${exitCode}" }`,
  "    spec:",
  "      restartPolicy: Never",
  "      containers: [{ name: main, image: busybox }]",
];

function hookJob(name: string, hook: string, duration: string, deletePolicy?: string): string {
  return [
    "apiVersion: batch/v1",
    "kind: Job",
    "metadata:",
    `  name: ${name}`,
    "  annotations:",
    `    argocd.argoproj.io/hook: ${hook}`,
    ...(deletePolicy ? [`    argocd.argoproj.io/hook-delete-policy: ${deletePolicy}`] : []),
    ...jobSpec(duration),
    "",
  ].join("\n");
}

function deployment(name: string, wave: number, readyAfter: string): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${name}`,
    `  annotations: { slipway.dev/sync-wave: "${wave}" }`,
    "spec:",
    "  replicas: 1",
    `  selector: { matchLabels: { app: ${name} } }`,
    "  template:",
    "    metadata:",
    `      labels: { app: ${name} }`,
    `      annotations: { sim.slipway.dev/ready-after: "${readyAfter}" }`,
    `    spec: { containers: [{ name: main, image: "example/${name}:1" }] }`,
    "",
  ].join("\n");
}

async function requestSync(name: string, sync: Record<string, unknown> = {}): Promise<void> {
  await env.sb.kubectlOk([
    "patch",
    "applications.slipway.dev",
    name,
    "-n",
    NS,
    "--type",
    "merge",
    "-p",
    JSON.stringify({ operation: { sync, initiatedBy: { username: "tester" } } }),
  ]);
}

const finished = (a: Application) =>
  !a.operation && ["Succeeded", "Failed", "Error"].includes(a.status?.operationState?.phase ?? "");

beforeAll(async () => {
  env = await startGitopsEnv();
  for (const ns of ["waves", "restart", "ops", "budget", "gone", "kept"])
    await env.sb.kubectlOk(["create", "namespace", ns]);
  const kc = new KubeConfig();
  kc.loadFromFile(env.sb.kubeconfig);
  watcher = new ClusterClient(kc);
  const ready = (o: KubeJson) => (o.status?.availableReplicas ?? 0) >= 1;
  watch({ group: "batch", version: "v1", resource: "jobs" }, (o) => {
    const id = `Job/${o.metadata.namespace}/${o.metadata.name}`;
    record(`ADDED ${id}@${o.metadata.uid}`, o);
    if ((o.status?.succeeded ?? 0) > 0) record(`DONE ${id}@${o.metadata.uid}`, o);
  });
  watch({ group: "apps", version: "v1", resource: "deployments" }, (o) => {
    const id = `Deployment/${o.metadata.namespace}/${o.metadata.name}`;
    record(`ADDED ${id}`, o);
    if (ready(o)) record(`READY ${id}`, o);
  });
  watch({ group: "", version: "v1", resource: "configmaps" }, (o) => {
    record(`ADDED ConfigMap/${o.metadata.namespace}/${o.metadata.name}`, o);
  });
  await Promise.all(informers.map((i) => i.waitForSync()));
  ctl = await env.startController({ hookTimeoutMs: 6_000 });
});

afterAll(async () => {
  for (const i of informers) await i.stop();
  watcher?.close();
  await env?.stop();
});

function jobUid(ns: string, name: string): string {
  const entry = timeline.find((e) => e.what.startsWith(`ADDED Job/${ns}/${name}@`));
  if (!entry) throw new Error(`no Job ${ns}/${name} seen`);
  return entry.what.slice(entry.what.indexOf("@") + 1);
}

describe("waves and hooks", () => {
  it("runs PreSync, wave -1, wave 0, PostSync in order, each after the previous settled", async () => {
    const sha = await env.repo.commit({
      "waves/pre.yaml": hookJob("pre", "PreSync", "1s", "HookSucceeded"),
      "waves/db.yaml": deployment("db", -1, "1s"),
      "waves/config.yaml": configMap("app-config", { v: "1" }),
      "waves/post.yaml": hookJob("post", "PostSync", "0s"),
    });
    await env.applyJson(application("waves", env.repo.url, "waves", "waves"));
    await env.waitApp("waves", "compared", (a) => a.status?.sync?.revision === sha);
    await requestSync("waves");
    const app = await env.waitApp("waves", "finished", finished, 40_000);
    expect(app.status?.operationState?.phase).toBe("Succeeded");

    const preUid = jobUid("waves", "pre");
    const postUid = jobUid("waves", "post");
    expect(at(`ADDED Job/waves/pre@${preUid}`)).toBeLessThan(at(`DONE Job/waves/pre@${preUid}`));
    expect(at(`DONE Job/waves/pre@${preUid}`)).toBeLessThan(at("ADDED Deployment/waves/db"));
    expect(at("ADDED Deployment/waves/db")).toBeLessThan(at("READY Deployment/waves/db"));
    expect(at("READY Deployment/waves/db")).toBeLessThan(at("ADDED ConfigMap/waves/app-config"));
    expect(at("ADDED ConfigMap/waves/app-config")).toBeLessThan(at(`ADDED Job/waves/post@${postUid}`));

    const results = app.status?.operationState?.syncResult?.resources ?? [];
    expect(
      results
        .filter((r) => r.hookType)
        .map((r) => `${r.name}:${r.syncPhase}:${r.hookPhase}`)
        .sort(),
    ).toEqual(["post:PostSync:Succeeded", "pre:PreSync:Succeeded"]);
    // HookSucceeded deletes the PreSync Job; the PostSync Job (BeforeHookCreation) stays until the next sync.
    await waitFor(async () => (await env.sb.kubectl(["get", "job", "pre", "-n", "waves"])).code !== 0, {
      message: "pre deleted (HookSucceeded)",
    });
    expect((await env.sb.kubectl(["get", "job", "post", "-n", "waves"])).code).toBe(0);
    expect(app.status?.resources?.find((r) => r.name === "db")?.syncWave).toBe(-1);
  });

  it("replaces a BeforeHookCreation hook on the next sync", async () => {
    const before = jobUid("waves", "post");
    await requestSync("waves");
    await env.waitApp(
      "waves",
      "second sync",
      (a) => finished(a) && (a.status?.history?.length ?? 0) === 2,
      40_000,
    );
    const uids = timeline
      .filter((e) => e.what.startsWith("ADDED Job/waves/post@"))
      .map((e) => e.what.split("@")[1]);
    expect(uids.length).toBe(2);
    expect(uids[0]).toBe(before);
    const live = await env.sb.kubectlJson<KubeJson>(["get", "job", "post", "-n", "waves"]);
    expect(live.metadata.uid).toBe(uids[1]);
  });
});

describe("a controller killed mid-sync", () => {
  it("is replaced by one that finishes the operation without running anything twice", async () => {
    const sha = await env.repo.commit({
      "restart/migrate.yaml": hookJob("migrate", "PreSync", "0s"),
      "restart/slow.yaml": deployment("slow", 0, "3s"),
      "restart/after.yaml": configMap("after", { v: "1" }, { "slipway.dev/sync-wave": "1" }),
    });
    await env.applyJson(application("restart", env.repo.url, "restart", "restart"));
    await env.waitApp("restart", "compared", (a) => a.status?.sync?.revision === sha);
    await requestSync("restart");
    await env.waitApp("restart", "waiting on wave 0", (a) =>
      Boolean(
        a.status?.operationState?.syncResult?.resources?.some(
          (r) => r.name === "slow" && r.status === "Synced",
        ),
      ),
    );
    await ctl.stop();
    const midway = await env.app("restart");
    expect(midway.status?.operationState?.phase).toBe("Running");
    expect((await env.sb.kubectl(["get", "configmap", "after", "-n", "restart"])).code).not.toBe(0);

    ctl = await env.startController({ hookTimeoutMs: 6_000 });
    const done = await env.waitApp("restart", "finished by the new controller", finished, 30_000);
    expect(done.status?.operationState?.phase).toBe("Succeeded");
    expect(done.status?.history?.length).toBe(1);
    expect(timeline.filter((e) => e.what.startsWith("ADDED Job/restart/migrate@")).length).toBe(1);
    expect(at("READY Deployment/restart/slow")).toBeLessThan(at("ADDED ConfigMap/restart/after"));
  });
});

describe("stuck operations", () => {
  it("fails a hook that runs past its timeout, naming it", async () => {
    await env.repo.commit({
      "stuck/hang.yaml": hookJob("hang", "PreSync", "60s"),
      "stuck/cm.yaml": configMap("never", { v: "1" }),
    });
    await env.applyJson(application("stuck", env.repo.url, "stuck", "ops"));
    await env.waitApp(
      "stuck",
      "compared",
      (a) => a.status?.sync?.status !== undefined && a.status.sync.status !== "Unknown",
    );
    await requestSync("stuck");
    const app = await env.waitApp("stuck", "timed out", finished, 30_000);
    expect(app.status?.operationState?.phase).toBe("Failed");
    expect(app.status?.operationState?.message).toMatch(
      /PreSync hook batch\/Job ops\/hang did not complete within 6s/,
    );
    expect(app.status?.conditions?.find((c) => c.type === "SyncError")?.message).toContain("hang");
    expect((await env.sb.kubectl(["get", "configmap", "never", "-n", "ops"])).code).not.toBe(0);
  });

  it("ends a running operation on terminate-op", async () => {
    await requestSync("stuck");
    await env.waitApp("stuck", "running the hook", (a) =>
      Boolean(
        a.status?.operationState?.phase === "Running" && a.status.operationState.message?.includes("hang"),
      ),
    );
    await env.sb.kubectlOk([
      "annotate",
      "applications.slipway.dev",
      "stuck",
      "-n",
      NS,
      "slipway.dev/terminate-op=true",
    ]);
    const app = await env.waitApp("stuck", "terminated", finished, 10_000);
    expect(app.status?.operationState).toMatchObject({ phase: "Failed", message: "Operation terminated" });
    expect(app.metadata.annotations?.["slipway.dev/terminate-op"]).toBeUndefined();
    await waitFor(async () => (await env.sb.kubectl(["get", "job", "hang", "-n", "ops"])).code !== 0, {
      message: "running hook deleted",
    });
  });
});

describe("retries, dry runs and selective syncs", () => {
  it("retries a failing sync per syncPolicy.retry, then fails with the count", async () => {
    await env.repo.commit({ "retry/cm.yaml": configMap("needs-ns", { v: "1" }) });
    await env.applyJson(
      application("retry", env.repo.url, "retry", "does-not-exist", {
        syncPolicy: { retry: { limit: 2, backoff: { duration: "200ms", factor: 2 } } },
      }),
    );
    await env.waitApp("retry", "compared", (a) => a.status?.sync?.status === "OutOfSync");
    await requestSync("retry");
    const app = await env.waitApp("retry", "failed after retries", finished, 20_000);
    expect(app.status?.operationState).toMatchObject({ phase: "Failed", retryCount: 2 });
    expect(app.status?.operationState?.syncResult?.resources?.[0]).toMatchObject({
      name: "needs-ns",
      status: "SyncFailed",
    });
    expect(app.status?.operationState?.syncResult?.resources?.[0]?.message).toContain("does-not-exist");
  });

  it("dry-runs without changing the cluster or history, and syncs only the selected resources", async () => {
    await env.repo.commit({
      "select/one.yaml": configMap("one", { v: "1" }),
      "select/two.yaml": configMap("two", { v: "2" }),
    });
    await env.applyJson(application("select", env.repo.url, "select", "ops"));
    await env.waitApp("select", "compared", (a) => a.status?.sync?.status === "OutOfSync");
    await requestSync("select", { dryRun: true });
    const dry = await env.waitApp("select", "dry run done", finished);
    expect(dry.status?.operationState?.phase).toBe("Succeeded");
    expect(dry.status?.history ?? []).toEqual([]);
    expect(dry.status?.operationState?.syncResult?.resources?.map((r) => r.message).sort()).toEqual([
      "ConfigMap ops/one created (dry run)",
      "ConfigMap ops/two created (dry run)",
    ]);
    expect((await env.sb.kubectl(["get", "configmap", "one", "-n", "ops"])).code).not.toBe(0);

    await requestSync("select", { resources: [{ kind: "ConfigMap", name: "two" }] });
    const selective = await env.waitApp(
      "select",
      "selective done",
      (a) => finished(a) && !a.status?.operationState?.operation.sync?.dryRun,
    );
    expect(selective.status?.operationState?.phase).toBe("Succeeded");
    expect(selective.status?.history ?? []).toEqual([]);
    expect((await env.sb.kubectl(["get", "configmap", "two", "-n", "ops"])).code).toBe(0);
    expect((await env.sb.kubectl(["get", "configmap", "one", "-n", "ops"])).code).not.toBe(0);
  });
});

describe("prune budget", () => {
  it("refuses to prune most of an app without confirmation, and prunes with it", async () => {
    const files = Object.fromEntries(
      ["a", "b", "c", "d"].map((n) => [`budget/${n}.yaml`, configMap(`cm-${n}`, { v: n })]),
    );
    await env.repo.commit(files);
    await env.applyJson(application("budget", env.repo.url, "budget", "budget"));
    await env.waitApp("budget", "compared", (a) => a.status?.sync?.status === "OutOfSync");
    await requestSync("budget");
    await env.waitApp("budget", "synced", (a) => finished(a) && a.status?.sync?.status === "Synced");
    await env.repo.commit({ "budget/b.yaml": null, "budget/c.yaml": null, "budget/d.yaml": null });
    await env.sb.kubectlOk([
      "annotate",
      "--overwrite",
      "applications.slipway.dev",
      "budget",
      "-n",
      NS,
      "slipway.dev/refresh=normal",
    ]);
    await env.waitApp(
      "budget",
      "three to prune",
      (a) => (a.status?.resources ?? []).filter((r) => r.requiresPruning).length === 3,
    );
    await requestSync("budget", { prune: true });
    const refused = await env.waitApp(
      "budget",
      "refused",
      (a) => finished(a) && a.status?.operationState?.phase === "Failed",
    );
    expect(refused.status?.operationState?.message).toContain("would prune 3 of the app's 4 resources");
    expect((await env.sb.kubectl(["get", "configmap", "cm-b", "-n", "budget"])).code).toBe(0);

    await requestSync("budget", { prune: true, syncOptions: ["PruneBudget=3"] });
    await env.waitApp(
      "budget",
      "pruned",
      (a) => finished(a) && a.status?.operationState?.phase === "Succeeded",
    );
    for (const n of ["b", "c", "d"]) {
      await waitFor(
        async () => (await env.sb.kubectl(["get", "configmap", `cm-${n}`, "-n", "budget"])).code !== 0,
      );
    }
    expect((await env.sb.kubectl(["get", "configmap", "cm-a", "-n", "budget"])).code).toBe(0);
  });
});

describe("AppProject", () => {
  it("refuses an app whose destination namespace the project does not allow, saying which rule", async () => {
    await env.applyJson({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "AppProject",
      metadata: { name: "restricted", namespace: NS },
      spec: {
        sourceRepos: ["*"],
        destinations: [{ server: "https://kubernetes.default.svc", namespace: "allowed-*" }],
        namespaceResourceBlacklist: [{ group: "", kind: "Secret" }],
      },
    });
    await env.repo.commit({ "project/cm.yaml": configMap("forbidden", { v: "1" }) });
    await env.applyJson(
      application("refused", env.repo.url, "project", "ops", {
        project: "restricted",
        syncPolicy: { automated: {} },
      }),
    );
    const app = await env.waitApp("refused", "InvalidSpecError", (a) =>
      Boolean(a.status?.conditions?.some((c) => c.type === "InvalidSpecError")),
    );
    const message = app.status?.conditions?.find((c) => c.type === "InvalidSpecError")?.message ?? "";
    expect(message).toContain('namespace "ops"');
    expect(message).toContain("'restricted'");
    expect(message).toContain("allowed-*");
    expect(app.status?.sync?.status).toBe("Unknown");
    // An explicit sync is refused too, with the same rule.
    await requestSync("refused");
    const op = await env.waitApp("refused", "operation refused", finished);
    expect(op.status?.operationState?.phase).toBe("Error");
    expect(op.status?.operationState?.message).toContain("'restricted'");
    expect((await env.sb.kubectl(["get", "configmap", "forbidden", "-n", "ops"])).code).not.toBe(0);
  });
});

describe("deletion", () => {
  it("deletes the app's resources first with the resources finalizer", async () => {
    await env.repo.commit({ "deleting/cm.yaml": configMap("doomed", { v: "1" }) });
    await env.applyJson(
      application("gone", env.repo.url, "deleting", "gone", {
        syncPolicy: { automated: {} },
        finalizers: ["resources-finalizer.argocd.argoproj.io"],
      }),
    );
    await env.waitApp("gone", "synced", (a) => a.status?.sync?.status === "Synced");
    await env.sb.kubectlOk(["delete", "applications.slipway.dev", "gone", "-n", NS, "--wait=false"]);
    await waitFor(
      async () => (await env.sb.kubectl(["get", "applications.slipway.dev", "gone", "-n", NS])).code !== 0,
      {
        message: "app gone",
      },
    );
    expect((await env.sb.kubectl(["get", "configmap", "doomed", "-n", "gone"])).code).not.toBe(0);
  });

  it("leaves the resources without it", async () => {
    await env.applyJson(
      application("kept", env.repo.url, "deleting", "kept", { syncPolicy: { automated: {} } }),
    );
    await env.waitApp("kept", "synced", (a) => a.status?.sync?.status === "Synced");
    await env.sb.kubectlOk(["delete", "applications.slipway.dev", "kept", "-n", NS]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await env.sb.kubectl(["get", "configmap", "doomed", "-n", "kept"])).code).toBe(0);
  });
});
