/**
 * The Application controller end to end: sandbox over HTTPS, Git over `git http-backend`, the
 * controller in process, kubectl as the judge. First sync (manual and automated), zero requests
 * for an unchanged app, self-heal driven by the watch, a webhook-delivered commit, prune safety,
 * a broken commit, history and rollback, and no Secret value in status or events.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import { startGitServer } from "../helpers/git-server.js";
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

const synced = (sha?: string) => (app: Application) =>
  app.status?.sync?.status === "Synced" && (sha === undefined || app.status.sync.revision === sha);

beforeAll(async () => {
  env = await startGitopsEnv();
  await env.sb.kubectlOk(["create", "namespace", "team-a"]);
  await env.sb.kubectlOk(["create", "namespace", "team-b"]);
  ctl = await env.startController();
});

afterAll(async () => {
  await env?.stop();
});

describe("manual sync through the operation field", () => {
  let sha: string;
  beforeAll(async () => {
    sha = await env.repo.commit({
      "manual/cm.yaml": configMap("settings", { color: "blue" }),
      "manual/deploy.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        "  name: web",
        "spec:",
        "  replicas: 2",
        "  selector: { matchLabels: { app: web } }",
        "  template:",
        "    metadata: { labels: { app: web } }",
        "    spec:",
        "      containers: [{ name: web, image: nginx:1.27 }]",
        "",
      ].join("\n"),
    });
  });

  it("compares without touching the cluster, then syncs when asked", async () => {
    await env.applyJson(application("manual", env.repo.url, "manual", "team-a"));
    const outOfSync = await env.waitApp("manual", "OutOfSync", (a) => a.status?.sync?.status === "OutOfSync");
    expect(outOfSync.status?.sync?.revision).toBe(sha);
    expect(
      outOfSync.status?.resources?.map((r) => `${r.kind}/${r.name}:${r.status}:${r.health?.status ?? "-"}`),
    ).toEqual(["ConfigMap/settings:OutOfSync:Missing", "Deployment/web:OutOfSync:Missing"]);
    expect((await env.sb.kubectl(["get", "configmap", "settings", "-n", "team-a"])).code).not.toBe(0);

    await env.sb.kubectlOk([
      "patch",
      "applications.slipway.dev",
      "manual",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      JSON.stringify({ operation: { sync: {}, initiatedBy: { username: "tester" } } }),
    ]);
    const done = await env.waitApp(
      "manual",
      "sync succeeded",
      (a) => a.status?.operationState?.phase === "Succeeded" && a.operation === undefined && synced(sha)(a),
    );
    expect(done.status?.operationState?.syncResult?.revision).toBe(sha);
    expect(done.status?.history?.map((h) => [h.id, h.revision, h.initiatedBy?.username])).toEqual([
      [0, sha, "tester"],
    ]);
    const cm = await env.sb.kubectlJson<KubeJson>(["get", "configmap", "settings", "-n", "team-a"]);
    expect(cm.data).toEqual({ color: "blue" });
    expect(cm.metadata.annotations["slipway.dev/tracking-id"]).toBe("manual:/ConfigMap:team-a/settings");
    const healthy = await env.waitApp("manual", "Healthy", (a) => a.status?.health?.status === "Healthy");
    expect(healthy.status?.summary?.images).toEqual(["nginx:1.27"]);
  });
});

/** Annotates an app so the controller refreshes it now (as `slipway app refresh` does). */
async function refresh(name: string): Promise<void> {
  await env.sb.kubectlOk([
    "annotate",
    "--overwrite",
    "applications.slipway.dev",
    name,
    "-n",
    NS,
    "slipway.dev/refresh=normal",
  ]);
}

async function requestOperation(name: string, operation: Record<string, unknown>): Promise<void> {
  await env.sb.kubectlOk([
    "patch",
    "applications.slipway.dev",
    name,
    "-n",
    NS,
    "--type",
    "merge",
    "-p",
    JSON.stringify({ operation }),
  ]);
}

/** Waits until the controller has made no request for `quietMs`. */
async function quiet(quietMs = 1500): Promise<void> {
  await ctl.recorder.flush();
  let seen = ctl.requests.length;
  let since = Date.now();
  await waitFor(
    () => {
      if (ctl.requests.length !== seen) {
        seen = ctl.requests.length;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= quietMs;
    },
    { timeoutMs: 20_000, intervalMs: 100, message: "the controller to go quiet" },
  );
}

describe("steady state", () => {
  it("a resync of an unchanged app makes no API request and writes nothing", async () => {
    await env.waitApp(
      "manual",
      "Synced and Healthy",
      (a) => synced()(a) && a.status?.health?.status === "Healthy",
    );
    await quiet();
    const before = ctl.requests.length;
    const reconciles = ctl.apps.reconciler.reconciles;
    const status = (await env.app("manual")).status;
    for (let i = 0; i < 3; i++) await ctl.apps.resyncAll();
    expect(ctl.apps.reconciler.reconciles).toBeGreaterThanOrEqual(reconciles + 3);
    await ctl.recorder.flush();
    expect(ctl.requests.slice(before)).toEqual([]);
    expect((await env.app("manual")).status).toEqual(status);
  });
});

describe("automated sync", () => {
  let first: string;
  beforeAll(async () => {
    first = await env.repo.commit({
      "auto/cm.yaml": configMap("auto-cm", { color: "red" }),
      "auto/extra.yaml": configMap("auto-extra", { keep: "me" }),
      "auto/deploy.yaml": [
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: { name: api }",
        "spec:",
        "  replicas: 2",
        "  selector: { matchLabels: { app: api } }",
        "  template:",
        "    metadata: { labels: { app: api } }",
        "    spec: { containers: [{ name: api, image: 'example/api:1' }] }",
        "",
      ].join("\n"),
    });
    await env.applyJson(
      application("auto", env.repo.url, "auto", "team-b", {
        syncPolicy: { automated: { selfHeal: true } },
      }),
    );
  });

  it("syncs a new app by itself", async () => {
    const app = await env.waitApp(
      "auto",
      "auto-synced",
      (a) => synced(first)(a) && a.status?.operationState?.phase === "Succeeded",
    );
    expect(app.status?.operationState?.operation.initiatedBy).toEqual({
      username: "automated-sync",
      automated: true,
    });
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "auto-cm", "-n", "team-b"])).data,
    ).toEqual({ color: "red" });
  });

  it("heals drift from the watch (the resync is an hour away)", async () => {
    await env.sb.kubectlOk([
      "patch",
      "configmap",
      "auto-cm",
      "-n",
      "team-b",
      "--type",
      "merge",
      "-p",
      '{"data":{"color":"hacked"}}',
    ]);
    await env.sb.kubectlOk(["scale", "deployment", "api", "-n", "team-b", "--replicas=5"]);
    await waitFor(
      async () => {
        const cm = await env.sb.kubectlJson<KubeJson>(["get", "configmap", "auto-cm", "-n", "team-b"]);
        const deploy = await env.sb.kubectlJson<KubeJson>(["get", "deployment", "api", "-n", "team-b"]);
        return cm.data.color === "red" && deploy.spec.replicas === 2;
      },
      { timeoutMs: 15_000, message: "self-heal" },
    );
    const app = await env.waitApp("auto", "Synced after heal", synced(first));
    expect(app.status?.history?.length).toBeGreaterThanOrEqual(2);
    expect(app.status?.history?.at(-1)?.initiatedBy?.automated).toBe(true);
  });

  it("picks up a commit delivered by a signed GitHub webhook at once", async () => {
    const secret = "webhook-s3cret";
    await env.applyJson({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "slipway-secret", namespace: NS },
      stringData: { "webhook.github.secret": secret },
    });
    const second = await env.repo.commit({ "auto/cm.yaml": configMap("auto-cm", { color: "green" }) });
    const payload = JSON.stringify({
      ref: "refs/heads/main",
      after: second,
      repository: {
        clone_url: env.repo.url,
        html_url: env.repo.url.replace(/\.git$/, ""),
        default_branch: "main",
      },
      commits: [{ id: second, added: [], removed: [], modified: ["auto/cm.yaml"] }],
    });
    const post = (signature: string | undefined) =>
      fetch(`${ctl.url}/api/webhook`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-GitHub-Event": "push",
          ...(signature ? { "X-Hub-Signature-256": signature } : {}),
        },
        body: payload,
      });
    // The informer must have seen the Secret before the signature can be checked against it.
    await waitFor(async () => (await post("sha256=00")).status === 401, { timeoutMs: 10_000 });
    expect((await post(undefined)).status).toBe(401);
    const signed = await post(`sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`);
    expect(signed.status).toBe(200);
    expect(await signed.text()).toContain("auto");
    const app = await env.waitApp("auto", "synced to the pushed commit", synced(second), 10_000);
    expect(app.status?.operationState?.syncResult?.revision).toBe(second);
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "auto-cm", "-n", "team-b"])).data,
    ).toEqual({ color: "green" });
  });

  it("does not prune without automated prune: the resource shows requiresPruning", async () => {
    const third = await env.repo.commit({ "auto/extra.yaml": null });
    await refresh("auto");
    const app = await env.waitApp("auto", "extra requires pruning", (a) =>
      Boolean(a.status?.resources?.some((r) => r.name === "auto-extra" && r.requiresPruning)),
    );
    expect(app.status?.sync).toMatchObject({ status: "OutOfSync", revision: third });
    expect((await env.sb.kubectl(["get", "configmap", "auto-extra", "-n", "team-b"])).code).toBe(0);
  });

  it("prunes a removed manifest with automated prune", async () => {
    await env.sb.kubectlOk([
      "patch",
      "applications.slipway.dev",
      "auto",
      "-n",
      NS,
      "--type",
      "merge",
      "-p",
      '{"spec":{"syncPolicy":{"automated":{"selfHeal":true,"prune":true}}}}',
    ]);
    await waitFor(
      async () => (await env.sb.kubectl(["get", "configmap", "auto-extra", "-n", "team-b"])).code !== 0,
      {
        timeoutMs: 15_000,
        message: "auto-extra pruned",
      },
    );
    const app = await env.waitApp("auto", "Synced after prune", (a) => synced()(a));
    expect(app.status?.resources?.some((r) => r.name === "auto-extra")).toBe(false);
    expect(
      app.status?.operationState?.syncResult?.resources?.find((r) => r.name === "auto-extra")?.status,
    ).toBe("Pruned");
  });
});

describe("CreateNamespace", () => {
  it("creates the destination namespace first and does not report it as the app's", async () => {
    const sha = await env.repo.commit({ "fresh/cm.yaml": configMap("fresh-cm", { v: "1" }) });
    await env.applyJson(
      application("fresh", env.repo.url, "fresh", "fresh-ns", {
        syncPolicy: { automated: { prune: true }, syncOptions: ["CreateNamespace=true"] },
      }),
    );
    const app = await env.waitApp(
      "fresh",
      "synced",
      (a) => synced(sha)(a) && a.status?.operationState?.phase === "Succeeded",
    );
    expect(app.status?.resources?.map((r) => `${r.kind}/${r.name}`)).toEqual(["ConfigMap/fresh-cm"]);
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "fresh-cm", "-n", "fresh-ns"])).data,
    ).toEqual({ v: "1" });
    const results = app.status?.operationState?.syncResult?.resources ?? [];
    expect(results.map((r) => `${r.syncPhase}:${r.kind}/${r.name}:${r.status}`).sort()).toEqual([
      "PreSync:Namespace/fresh-ns:Synced",
      "Sync:ConfigMap/fresh-cm:Synced",
    ]);
  });
});

describe("a broken commit", () => {
  it("sets ComparisonError naming the file, prunes nothing, and recovers on the next good commit", async () => {
    const good = await env.repo.commit({
      "fragile/a.yaml": configMap("fragile-a", { v: "1" }),
      "fragile/b.yaml": configMap("fragile-b", { v: "1" }),
    });
    await env.applyJson(
      application("fragile", env.repo.url, "fragile", "team-a", {
        syncPolicy: { automated: { prune: true } },
      }),
    );
    await env.waitApp("fragile", "synced", synced(good));
    await env.repo.commit({
      "fragile/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fragile-a\ndata: [\n",
    });
    await refresh("fragile");
    const broken = await env.waitApp("fragile", "ComparisonError", (a) =>
      Boolean(a.status?.conditions?.some((c) => c.type === "ComparisonError")),
    );
    const condition = broken.status?.conditions?.find((c) => c.type === "ComparisonError");
    expect(condition?.message).toContain("a.yaml");
    expect(broken.status?.sync?.status).toBe("Unknown");
    expect(broken.status?.resources?.map((r) => r.name)).toEqual(["fragile-a", "fragile-b"]);
    for (const name of ["fragile-a", "fragile-b"]) {
      expect((await env.sb.kubectl(["get", "configmap", name, "-n", "team-a"])).code).toBe(0);
    }
    const fixed = await env.repo.commit({ "fragile/a.yaml": configMap("fragile-a", { v: "2" }) });
    await refresh("fragile");
    const recovered = await env.waitApp(
      "fragile",
      "recovered",
      (a) => synced(fixed)(a) && !a.status?.conditions?.length,
    );
    expect(recovered.status?.operationState?.phase).toBe("Succeeded");
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "fragile-a", "-n", "team-a"])).data,
    ).toEqual({ v: "2" });

    // A kind the cluster does not serve: the same, naming the file and the kind.
    await env.repo.commit({
      "fragile/b.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
    });
    await refresh("fragile");
    const unknown = await env.waitApp("fragile", "unknown kind", (a) =>
      Boolean(a.status?.conditions?.some((c) => c.type === "ComparisonError")),
    );
    expect(unknown.status?.conditions?.[0]?.message).toMatch(/b\.yaml.*no kind Widget in example\.com\/v1/);
    expect((await env.sb.kubectl(["get", "configmap", "fragile-b", "-n", "team-a"])).code).toBe(0);
  });
});

describe("observability", () => {
  it("exports app sync counts and state, and records events on the Application", async () => {
    const text = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(text).toMatch(
      /slipway_app_sync_total\{namespace="slipway-system",name="manual",phase="Succeeded"\} [1-9]/,
    );
    expect(text).toMatch(
      /slipway_app_info\{namespace="slipway-system",name="manual",project="default",sync_status="Synced",health_status="Healthy"\} 1/,
    );
    expect(text).toContain("slipway_app_reconcile_duration_seconds_count");
    await ctl.recorder.flush();
    const events = await env.sb.kubectlJson<KubeJson>([
      "get",
      "events",
      "-n",
      NS,
      "--field-selector",
      "involvedObject.name=manual",
    ]);
    const reasons = new Set((events.items as KubeJson[]).map((e) => e.reason));
    for (const reason of ["OperationStarted", "OperationCompleted", "ResourceUpdated"])
      expect(reasons).toContain(reason);
  });
});

describe("history and rollback", () => {
  it("records each sync and syncs an older commit on request", async () => {
    const initial = (await env.app("manual")).status?.history?.[0]?.revision;
    expect(initial).toBeDefined();
    const next = await env.repo.commit({ "manual/cm.yaml": configMap("settings", { color: "yellow" }) });
    await refresh("manual");
    await env.waitApp(
      "manual",
      "OutOfSync at the new commit",
      (a) => a.status?.sync?.revision === next && a.status.sync.status === "OutOfSync",
    );
    await requestOperation("manual", { sync: { revision: next }, initiatedBy: { username: "tester" } });
    await env.waitApp("manual", "second sync", (a) => (a.status?.history?.length ?? 0) === 2 && !a.operation);
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "settings", "-n", "team-a"])).data,
    ).toEqual({ color: "yellow" });

    await requestOperation("manual", { sync: { revision: initial }, initiatedBy: { username: "tester" } });
    const rolledBack = await env.waitApp(
      "manual",
      "rollback",
      (a) => (a.status?.history?.length ?? 0) === 3 && !a.operation,
    );
    expect(rolledBack.status?.history?.map((h) => [h.id, h.revision])).toEqual([
      [0, initial],
      [1, next],
      [2, initial],
    ]);
    expect(
      (await env.sb.kubectlJson<KubeJson>(["get", "configmap", "settings", "-n", "team-a"])).data,
    ).toEqual({ color: "blue" });
    // Compared with the branch again, the app is OutOfSync until synced forward.
    await env.waitApp("manual", "OutOfSync after rollback", (a) => a.status?.sync?.status === "OutOfSync");
  });
});

describe("a private repository", () => {
  it("fails with a clear condition without credentials and syncs once a repository Secret provides them", async () => {
    const privateGit = await startGitServer({ auth: { username: "ci", password: "t0ken-value" } });
    try {
      const repo = await privateGit.createRepo("private");
      const sha = await repo.commit({ "app/cm.yaml": configMap("private-cm", { v: "1" }) });
      await env.applyJson(
        application("private", repo.url, "app", "team-b", { syncPolicy: { automated: {} } }),
      );
      const failing = await env.waitApp("private", "ComparisonError", (a) =>
        Boolean(a.status?.conditions?.some((c) => c.type === "ComparisonError")),
      );
      expect(failing.status?.conditions?.[0]?.message).toContain("authentication failed");
      await env.applyJson({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "private-repo",
          namespace: NS,
          labels: { "slipway.dev/secret-type": "repository" },
        },
        stringData: { url: repo.url, username: "ci", password: "t0ken-value" },
      });
      await env.waitApp("private", "synced with credentials", synced(sha), 20_000);
      expect(JSON.stringify(await env.app("private"))).not.toContain("t0ken-value");
    } finally {
      await privateGit.close();
    }
  });
});

describe("secrets", () => {
  it("never shows Secret values in status or events", async () => {
    const value = "hunter2-very-secret";
    const sha = await env.repo.commit({
      "secret/secret.yaml": [
        "apiVersion: v1",
        "kind: Secret",
        "metadata: { name: db }",
        "type: Opaque",
        "stringData:",
        `  password: ${value}`,
        "",
      ].join("\n"),
    });
    await env.applyJson(
      application("secret", env.repo.url, "secret", "team-a", { syncPolicy: { automated: {} } }),
    );
    await env.waitApp("secret", "synced", synced(sha));
    const live = await env.sb.kubectlJson<KubeJson>(["get", "secret", "db", "-n", "team-a"]);
    expect(Buffer.from(live.data.password, "base64").toString()).toBe(value);
    // Drift on the secret is reported, still without values.
    await env.sb.kubectlOk([
      "patch",
      "secret",
      "db",
      "-n",
      "team-a",
      "--type",
      "merge",
      "-p",
      '{"stringData":{"password":"other-value"}}',
    ]);
    await env.waitApp("secret", "drift reported", (a) => a.status?.sync?.status === "OutOfSync");
    await ctl.recorder.flush();
    const everything = JSON.stringify([
      await env.app("secret"),
      await env.sb.kubectlJson<KubeJson>(["get", "events", "-n", NS]),
    ]);
    for (const leaked of [value, Buffer.from(value).toString("base64"), "other-value"]) {
      expect(everything).not.toContain(leaked);
    }
    expect(everything).toContain("OperationCompleted");
  });
});
