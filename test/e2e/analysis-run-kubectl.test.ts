/**
 * AnalysisRuns as a user drives them: `slipway install` puts the CRDs into a sandbox, `kubectl
 * apply` creates runs, the controller (in-process, as `slipway controller` will run it) measures
 * them, and `kubectl` — an independent client — checks phases, measurements, Events and the Jobs
 * of a job metric; `slipway analysis get` shows the verdict.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnalysisRunController } from "../../analysis/reconciler/controller.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import type { Controller } from "../../controller/runtime/controller.js";
import { type KubeJson, startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");
const NS = "shop";

function slipway(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile("node", [cli, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let sb: TestSandbox;
let web: Server;
let webUrl = "";
let controller: Controller;
let informers: InformerFactory;
let recorder: EventRecorder;
let client: ClusterClient;

beforeAll(async () => {
  sb = await startTestSandbox();
  const installed = await slipway(["install", "--kubeconfig", sb.kubeconfig]);
  expect(installed.code, installed.stderr).toBe(0);
  await sb.kubectlOk(["create", "namespace", NS]);

  web = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", successRate: 0.995 }));
  });
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

  const kc = new KubeConfig();
  kc.loadFromFile(sb.kubeconfig);
  const log = pino({ level: "silent" });
  client = new ClusterClient(kc);
  informers = new InformerFactory(client, { log });
  recorder = new EventRecorder(client, { log });
  controller = createAnalysisRunController({ client, informers, recorder, log });
  await controller.start();
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await informers?.stop();
  client?.close();
  if (web) await new Promise((r) => web.close(r));
  await sb?.stop();
});

describe.skipIf(!existsSync(cli))("AnalysisRuns with kubectl and the slipway CLI", () => {
  it("a web and a job metric decide a run; kubectl sees the status, Events and the Job", async () => {
    await sb.kubectlOk(["apply", "-f", "-"], {
      input: `
apiVersion: slipway.dev/v1alpha1
kind: AnalysisRun
metadata: {name: checkout-canary, namespace: ${NS}}
spec:
  metrics:
    - name: success-rate
      interval: 500ms
      count: 2
      successCondition: result >= 0.99
      provider:
        web: {url: "${webUrl}/stats", jsonPath: "{$.successRate}"}
    - name: smoke-test
      provider:
        job:
          spec:
            backoffLimit: 0
            template:
              metadata: {annotations: {sim.slipway.dev/duration: 300ms, sim.slipway.dev/exit-code: "0"}}
              spec:
                restartPolicy: Never
                containers: [{name: smoke, image: registry.example/smoke:1}]
`,
    });
    await sb.kubectlOk(
      [
        "wait",
        "-n",
        NS,
        "analysisrun/checkout-canary",
        "--for=jsonpath={.status.phase}=Successful",
        "--timeout=20s",
      ],
      { timeoutMs: 30_000 },
    );

    const run = await sb.kubectlJson(["get", "ar", "-n", NS, "checkout-canary"]);
    const results = run.status.metricResults as KubeJson[];
    expect(results.map((r) => [r.name, r.phase, r.count])).toEqual([
      ["success-rate", "Successful", 2],
      ["smoke-test", "Successful", 1],
    ]);
    const job = results[1]!.measurements[0];
    expect(job.metadata["job-name"]).toBe("checkout-canary-smoke-test-1");

    const jobs = (
      await sb.kubectlJson(["get", "jobs", "-n", NS, "-l", "slipway.dev/analysis-run=checkout-canary"])
    ).items as KubeJson[];
    expect(jobs.map((j) => j.metadata.name)).toEqual(["checkout-canary-smoke-test-1"]);
    expect(jobs[0]!.metadata.ownerReferences[0]).toMatchObject({
      kind: "AnalysisRun",
      name: "checkout-canary",
    });
    expect(jobs[0]!.status.succeeded).toBe(1);

    await recorder.flush();
    const events = (
      await sb.kubectlJson([
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.name=checkout-canary",
      ])
    ).items as KubeJson[];
    expect(events.map((e) => e.reason).sort()).toEqual([
      "AnalysisRunSuccessful",
      "MetricSuccessful",
      "MetricSuccessful",
    ]);

    const shown = await slipway([
      "analysis",
      "get",
      "checkout-canary",
      "-n",
      NS,
      "--kubeconfig",
      sb.kubeconfig,
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("Successful");
    expect(shown.stdout).toContain("smoke-test");
  });

  it("deleting a run deletes its Jobs (owner references)", async () => {
    await sb.kubectlOk(["delete", "ar", "-n", NS, "checkout-canary", "--wait=true"]);
    const deadline = Date.now() + 10_000;
    let names: string[] = [];
    do {
      names = ((await sb.kubectlJson(["get", "jobs", "-n", NS])).items as KubeJson[]).map(
        (j) => j.metadata.name,
      );
      if (names.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    expect(names).toEqual([]);
  });
});
