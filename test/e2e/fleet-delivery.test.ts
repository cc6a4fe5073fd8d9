/**
 * Fleet delivery end to end: a hub sandbox (slipway's CRDs, the Application and ApplicationSet
 * controllers in this process, sharing one cluster registry) and two target sandboxes registered
 * as cluster Secrets, plus a "cluster" that accepts connections and never answers. kubectl against
 * each target is the judge of what was delivered where.
 */
import { createServer, type Server, type Socket } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import { clusterFromKubeconfig } from "../../cli/cluster-actions.js";
import {
  type ApplicationSetController,
  createApplicationSetController,
} from "../../controller/appset/index.js";
import { clusterSecret } from "../../controller/clusters/cluster-secret.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import {
  application,
  configMap,
  type GitopsEnv,
  NS,
  type RunningController,
  startGitopsEnv,
} from "./gitops-harness.js";

let env: GitopsEnv;
let targets: TestSandbox[] = [];
let ctl: RunningController;
let appsets: ApplicationSetController;
let silent: Server;
const sockets = new Set<Socket>();

const deployment = (name: string) =>
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    "  replicas: 2",
    `  selector: { matchLabels: { app: ${name} } }`,
    "  template:",
    `    metadata: { labels: { app: ${name} } }`,
    "    spec:",
    `      containers: [{ name: ${name}, image: nginx:1.27 }]`,
    "",
  ].join("\n");

/** An Application delivering `path` to the cluster named `cluster`, namespace `namespace`. */
function remoteApp(
  name: string,
  cluster: string,
  path: string,
  namespace: string,
  extra: Parameters<typeof application>[4] = {},
): Record<string, unknown> {
  const app = application(name, env.repo.url, path, namespace, {
    syncPolicy: { automated: {}, syncOptions: ["CreateNamespace=true"] },
    ...extra,
  }) as { spec: { destination: Record<string, string> } };
  app.spec.destination = { name: cluster, namespace };
  return app as unknown as Record<string, unknown>;
}

/** A merge patch of an Application, as a user would write it with kubectl. */
async function patchApp(name: string, patch: string | Record<string, unknown>): Promise<void> {
  const body = typeof patch === "string" ? patch : JSON.stringify(patch);
  await env.sb.kubectlOk([
    "patch",
    "applications.slipway.dev",
    name,
    "-n",
    NS,
    "--type",
    "merge",
    "-p",
    body,
  ]);
}

const condition = (app: Application, type: string) => app.status?.conditions?.find((c) => c.type === type);

async function configMapData(sb: TestSandbox, name: string, namespace: string) {
  const r = await sb.kubectl(["get", "configmap", name, "-n", namespace, "-o", "json"]);
  return r.code === 0 ? (JSON.parse(r.stdout) as KubeJson).data : undefined;
}

beforeAll(async () => {
  [env, ...targets] = await Promise.all([startGitopsEnv("fleet"), startTestSandbox(), startTestSandbox()]);
  for (const [i, t] of targets.entries()) {
    const kc = new KubeConfig();
    kc.loadFromFile(t.kubeconfig);
    const secret = clusterSecret(clusterFromKubeconfig(`target-${i + 1}`, kc), NS);
    secret.metadata!.labels = { ...secret.metadata!.labels, tier: "target" };
    await env.applyJson(secret);
  }
  // A cluster that takes connections and never answers (a black-holed API server).
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
  const port = (silent.address() as { port: number }).port;
  await env.applyJson(
    clusterSecret(
      {
        name: "silent",
        server: `https://127.0.0.1:${port}`,
        config: { bearerToken: "t", tlsClientConfig: { insecure: true } },
      },
      NS,
    ),
  );
  await env.repo.commit({
    "fleet/cm.yaml": configMap("fleet-config", { color: "blue" }),
    "fleet/deploy.yaml": deployment("web"),
    "drift/cm.yaml": configMap("drift-config", { x: "1" }),
    "doomed/cm.yaml": configMap("doomed-config", { x: "1" }),
  });
  ctl = await env.startController({
    // Requests keep the default 30 s timeout: a worker waiting on the silent cluster would show.
    clusters: { checkIntervalMs: 1_000, checkTimeoutMs: 1_000 },
  });
  appsets = createApplicationSetController({
    client: ctl.client,
    informers: ctl.informers,
    namespace: NS,
    clusters: ctl.clusters!,
    repoCache: ctl.apps.repoCache,
    recorder: ctl.recorder,
    log: pino({ level: process.env.SLIPWAY_TEST_LOG ?? "silent" }),
    resyncMs: 2_000,
  });
  await appsets.start();
}, 60_000);

afterAll(async () => {
  await appsets?.stop();
  for (const s of sockets) s.destroy();
  silent?.close();
  await Promise.all([env?.stop(), ...targets.map((t) => t.stop())]);
});

describe("delivery to registered clusters", () => {
  it("an ApplicationSet's clusters generator delivers into both targets and not the hub", async () => {
    await env.applyJson({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "ApplicationSet",
      metadata: { name: "fleet", namespace: NS },
      spec: {
        generators: [{ clusters: { selector: { matchLabels: { tier: "target" } } } }],
        template: {
          metadata: { name: "{{name}}-fleet" },
          spec: {
            project: "default",
            source: { repoURL: env.repo.url, path: "fleet", targetRevision: "main" },
            destination: { server: "{{server}}", namespace: "fleet" },
            syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ["CreateNamespace=true"] },
          },
        },
      },
    });
    for (const [i, t] of targets.entries()) {
      const app = await env.waitApp(
        `target-${i + 1}-fleet`,
        "Synced and Healthy",
        (a) => a.status?.sync?.status === "Synced" && a.status?.health?.status === "Healthy",
        40_000,
      );
      expect(app.status?.sync?.comparedTo?.destination?.server).toBe(t.url);
      expect(await configMapData(t, "fleet-config", "fleet")).toEqual({ color: "blue" });
      const deploy = await t.kubectlJson(["get", "deployment", "web", "-n", "fleet"]);
      expect(deploy.status.readyReplicas).toBe(2);
      expect(deploy.metadata.annotations?.["slipway.dev/tracking-id"]).toContain(`target-${i + 1}-fleet`);
    }
    // The hub got nothing: no namespace, no ConfigMap anywhere.
    expect((await env.sb.kubectl(["get", "namespace", "fleet"])).code).not.toBe(0);
    const hubConfigMaps = (await env.sb.kubectlJson(["get", "configmaps", "-A"])).items as KubeJson[];
    expect(hubConfigMaps.map((c) => c.metadata.name)).not.toContain("fleet-config");
  }, 60_000);

  it("shows drift in a target and heals it", async () => {
    const t2 = targets[1]!;
    await env.applyJson(remoteApp("drift", "target-2", "drift", "drift"));
    await env.waitApp("drift", "Synced", (a) => a.status?.sync?.status === "Synced", 30_000);
    await t2.kubectlOk([
      "patch",
      "configmap",
      "drift-config",
      "-n",
      "drift",
      "-p",
      '{"data":{"x":"tampered"}}',
    ]);
    // Without selfHeal the drift is shown (from the target's watch, the resync is an hour away)…
    const drifted = await env.waitApp("drift", "OutOfSync", (a) => a.status?.sync?.status === "OutOfSync");
    expect(drifted.status?.resources?.map((r) => `${r.kind}/${r.name}:${r.status}`)).toEqual([
      "ConfigMap/drift-config:OutOfSync",
    ]);
    expect(await configMapData(t2, "drift-config", "drift")).toEqual({ x: "tampered" });
    // …and with selfHeal it is undone in the target.
    await patchApp("drift", '{"spec":{"syncPolicy":{"automated":{"selfHeal":true}}}}');
    await env.waitApp("drift", "Synced again", (a) => a.status?.sync?.status === "Synced");
    expect(await configMapData(t2, "drift-config", "drift")).toEqual({ x: "1" });

    // A cascading delete removes the resources from the target, then the app.
    await patchApp("drift", '{"metadata":{"finalizers":["resources-finalizer.argocd.argoproj.io"]}}');
    await env.sb.kubectlOk(["delete", "applications.slipway.dev", "drift", "-n", NS, "--timeout=30s"]);
    expect((await t2.kubectl(["get", "configmap", "drift-config", "-n", "drift"])).code).not.toBe(0);
  }, 60_000);

  it("an unknown cluster name: a condition, nothing applied anywhere", async () => {
    await env.applyJson(remoteApp("nowhere", "no-such-cluster", "fleet", "nowhere"));
    const app = await env.waitApp("nowhere", "InvalidSpecError", (a) => !!condition(a, "InvalidSpecError"));
    expect(condition(app, "InvalidSpecError")?.message).toMatch(
      /cluster with name "no-such-cluster" has not been configured/,
    );
    expect(app.status?.sync?.status).toBe("Unknown");
    expect(app.status?.health?.status).toBe("Unknown");
    expect(app.status?.operationState).toBeUndefined();
    // A sync asked for by hand ends in Error naming the cluster; still nothing is applied.
    await patchApp("nowhere", { operation: { sync: {}, initiatedBy: { username: "test" } } });
    const refused = await env.waitApp(
      "nowhere",
      "operation Error",
      (a) => a.status?.operationState?.phase === "Error" && !a.operation,
    );
    expect(refused.status?.operationState?.message).toMatch(/has not been configured/);
    for (const sb of [env.sb, ...targets])
      expect((await sb.kubectl(["get", "namespace", "nowhere"])).code).not.toBe(0);
  });
});

describe("clusters that fail", () => {
  it("apps on a cluster that never answers turn Unknown and hold no worker from the others", async () => {
    // More apps on the silent cluster than the controller has workers (4).
    for (let i = 0; i < 6; i++) await env.applyJson(remoteApp(`silent-${i}`, "silent", "fleet", "fleet"));
    for (let i = 0; i < 6; i++) {
      const app = await env.waitApp(
        `silent-${i}`,
        "ComparisonError naming the cluster",
        (a) => /no answer within/.test(condition(a, "ComparisonError")?.message ?? ""),
        20_000,
      );
      expect(condition(app, "ComparisonError")?.message).toMatch(
        /^cluster "silent" \(https:\/\/127\.0\.0\.1:/,
      );
      expect(app.status?.sync?.status).toBe("Unknown");
      expect(app.status?.health?.status).toBe("Unknown");
    }
    // A new commit still reaches target-1 at once (refresh asked, no resync needed).
    await env.repo.commit({
      "fleet/cm.yaml": configMap("fleet-config", { color: "green" }),
      "fleet/deploy.yaml": null,
    });
    await env.sb.kubectlOk([
      "annotate",
      "applications.slipway.dev",
      "target-1-fleet",
      "-n",
      NS,
      "slipway.dev/refresh=normal",
    ]);
    await waitFor(
      async () => (await configMapData(targets[0]!, "fleet-config", "fleet"))?.color === "green",
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        message: "the new commit in target-1 while the silent cluster's apps retry",
      },
    );
    // Automated prune removed the Deployment from the target.
    await waitFor(
      async () => (await targets[0]!.kubectl(["get", "deployment", "web", "-n", "fleet"])).code !== 0,
      { timeoutMs: 10_000, intervalMs: 200, message: "deployment/web pruned from target-1" },
    );
  }, 60_000);

  it("a stopped target: its apps Unknown with a condition, deletion keeps the finalizer, the other target syncs", async () => {
    const [t1, t2] = [targets[0]!, targets[1]!];
    await env.applyJson(
      remoteApp("doomed", "target-2", "doomed", "doomed", {
        finalizers: ["resources-finalizer.argocd.argoproj.io"],
      }),
    );
    await env.waitApp("doomed", "Synced", (a) => a.status?.sync?.status === "Synced", 30_000);
    await t2.stop();

    const down = await env.waitApp(
      "target-2-fleet",
      "Unknown with a condition naming target-2",
      (a) => a.status?.sync?.status === "Unknown" && !!condition(a, "ComparisonError"),
      20_000,
    );
    expect(down.status?.health?.status).toBe("Unknown");
    expect(condition(down, "ComparisonError")?.message).toMatch(
      /^cluster "target-2" \(.*\) is unreachable: /,
    );

    // target-1 still gets a new commit at once.
    await env.repo.commit({ "fleet/cm.yaml": configMap("fleet-config", { color: "red" }) });
    await env.sb.kubectlOk([
      "annotate",
      "applications.slipway.dev",
      "target-1-fleet",
      "-n",
      NS,
      "slipway.dev/refresh=normal",
    ]);
    await waitFor(async () => (await configMapData(t1, "fleet-config", "fleet"))?.color === "red", {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "the new commit in target-1 while target-2 is down",
    });
    await env.waitApp("target-1-fleet", "Synced", (a) => a.status?.sync?.status === "Synced");

    // Cascading deletion cannot reach target-2: the app stays, finalizer and all, saying why.
    await env.sb.kubectlOk(["delete", "applications.slipway.dev", "doomed", "-n", NS, "--wait=false"]);
    const stuck = await env.waitApp(
      "doomed",
      "DeletionError naming target-2",
      (a) => /target-2/.test(condition(a, "DeletionError")?.message ?? ""),
      20_000,
    );
    expect(stuck.metadata.deletionTimestamp).toBeDefined();
    expect(stuck.metadata.finalizers).toEqual(["resources-finalizer.argocd.argoproj.io"]);
    expect(condition(stuck, "DeletionError")?.message).toMatch(/finalizer .* stays/);

    // target-2's Secret goes: the set deletes its app (cascading, as Argo does), which cannot reach
    // the cluster either; both apps stay, saying the cluster is not configured.
    const secrets = (
      await env.sb.kubectlJson(["get", "secrets", "-n", NS, "-l", "slipway.dev/secret-type=cluster"])
    ).items as KubeJson[];
    const secret = secrets.find((x) => x.metadata.name.includes("target-2"));
    await env.sb.kubectlOk(["delete", "secret", "-n", NS, secret!.metadata.name]);
    for (const name of ["target-2-fleet", "doomed"]) {
      const app = await env.waitApp(name, "DeletionError: not configured", (a) =>
        /has not been configured/.test(condition(a, "DeletionError")?.message ?? ""),
      );
      expect(app.metadata.deletionTimestamp).toBeDefined();
    }
    // Removing the finalizer by hand is how a user leaves the resources behind.
    const gone = (name: string) => async () =>
      (await env.sb.kubectl(["get", "applications.slipway.dev", name, "-n", NS])).code !== 0;
    for (const name of ["target-2-fleet", "doomed"]) {
      await patchApp(name, '{"metadata":{"finalizers":null}}');
      await waitFor(gone(name), {
        timeoutMs: 10_000,
        intervalMs: 200,
        message: `${name} gone without its finalizer`,
      });
    }
  }, 90_000);
});
