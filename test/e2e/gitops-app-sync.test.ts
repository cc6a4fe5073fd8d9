/**
 * The Application controller end to end: sandbox over HTTPS, Git over `git http-backend`, the
 * controller in process, kubectl as the judge. First sync (manual and automated), zero requests
 * for an unchanged app, self-heal driven by the watch, a webhook-delivered commit, prune safety,
 * a broken commit, history and rollback, and no Secret value in status or events.
 */
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Application } from "../../api/v1alpha1/application.js";
import { type KubeJson, waitFor } from "../helpers/sandbox.js";
import {
  application,
  configMap,
  type GitopsEnv,
  NS,
  type RunningController,
  startGitopsEnv,
  writesOf,
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
