/**
 * `slipway analysis run|list|get` as a user runs them: the built CLI binary in a child process,
 * against a web endpoint served here, a real Prometheus (when installed) and a sandbox cluster
 * that kubectl fills with AnalysisRuns and Secrets.
 *
 * Needs dist/ (npm test builds it; alone: `npx tsc -p tsconfig.build.json` first, or let
 * beforeAll build when dist is older than the CLI source).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Counter, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKubeconfig } from "../../sandbox/kubeconfig.js";
import { Sandbox } from "../../sandbox/sandbox.js";
import { prometheusAvailable, type RunningPrometheus, startPrometheus } from "../helpers/prometheus.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
/** No kubeconfig anywhere: file templates must work without a cluster. */
let isolatedEnv: NodeJS.ProcessEnv;

function slipway(args: string[], env: NodeJS.ProcessEnv = isolatedEnv): Promise<Result> {
  return new Promise((done) => {
    execFile("node", [cli, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const lastLine = (text: string): string => text.trimEnd().split("\n").at(-1) ?? "";

/** dist is rebuilt only when it is missing or older than the command's source. */
function ensureBuilt(): void {
  const source = join(root, "cli/analysis.ts");
  const built = join(root, "dist/cli/analysis.js");
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(source).mtimeMs) return;
  try {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "ignore" });
  } catch {
    // tsc exits non-zero on type errors elsewhere but still emits; the check below decides.
  }
  if (!existsSync(built))
    throw new Error("dist/cli/analysis.js is missing: run npx tsc -p tsconfig.build.json");
}

let web: Server;
let webHost: string;
let webHits = 0;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-analysis-"));
  isolatedEnv = { ...process.env, HOME: dir, KUBECONFIG: "" };
  delete isolatedEnv.KUBERNETES_SERVICE_HOST;

  // The web provider's endpoint: a success rate, and a secured flag behind a bearer token.
  web = createServer((req, res) => {
    webHits++;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/rate") return json(200, { data: { rate: 0.97 } });
    if (req.url === "/secure") {
      return req.headers.authorization === "Bearer s3cret"
        ? json(200, { ok: true })
        : json(401, { error: "bad token" });
    }
    json(404, {});
  });
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  webHost = `127.0.0.1:${(web.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (web) await new Promise((r) => web.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The template a release manager drafts for the web endpoint. */
const webTemplate = (metric: string) => `apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: web-rate
spec:
  args:
    - name: host
    - name: threshold
      value: "0.95"
  metrics:
${metric}`;

const rateMetric = (extra = "") => `    - name: success-rate
      successCondition: "result >= {{args.threshold}}"${extra}
      provider:
        web:
          url: "http://{{args.host}}/rate"
          jsonPath: "{$.data.rate}"
`;

describe("analysis run against a web endpoint", () => {
  it("a passing condition: the measurement table, a Successful line, exit 0", async () => {
    const template = file("web.yaml", webTemplate(rateMetric()));
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      template,
      "--arg",
      `host=${webHost}`,
      "--once",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^METRIC\s+VALUE\s+PHASE\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^success-rate\s+0\.97\s+Successful$/);
    expect(lastLine(r.stdout)).toBe("Successful: 1 of 1 metric successful");
  });

  it("a failing condition: Failed with Argo's reason, exit 1", async () => {
    const template = file("web.yaml", webTemplate(rateMetric()));
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      template,
      "--arg",
      `host=${webHost}`,
      "--arg",
      "threshold=0.99",
      "--once",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^success-rate\s+0\.97\s+Failed$/m);
    expect(lastLine(r.stdout)).toBe(
      'Failed: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0); 1 of 1 metric failed',
    );
  });

  it("a condition that does not parse: one line with its position, exit 1, nothing measured", async () => {
    const before = webHits;
    const template = file(
      "broken.json",
      JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "AnalysisTemplate",
        metadata: { name: "broken" },
        spec: {
          metrics: [
            {
              name: "success-rate",
              successCondition: "result >= (0.95",
              provider: { web: { url: `http://${webHost}/rate`, jsonPath: "{$.data.rate}" } },
            },
          ],
        },
      }),
    );
    const r = await slipway(["analysis", "run", "--template", template, "--once"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `error: invalid template "broken" (${template}): metrics[0] "success-rate": successCondition "result >= (0.95": unexpected token end of expression, expected ")" at column 16\n`,
    );
    expect(webHits).toBe(before);
  });

  it("a missing arg is named with the flag that supplies it; an undeclared one is a typo", async () => {
    const template = file("web.yaml", webTemplate(rateMetric()));
    const missing = await slipway(["analysis", "run", "--template", template, "--once"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("error: missing value for argument 'host' (pass --arg host=VALUE)\n");
    const typo = await slipway(["analysis", "run", "--template", template, "--arg", "hots=x", "--once"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      'error: argument "hots" is not declared by the template (it declares host, threshold)\n',
    );
  });

  it("-o json prints the AnalysisRun it evaluated, spec and status", async () => {
    const template = file("web.yaml", webTemplate(rateMetric()));
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      template,
      "--arg",
      `host=${webHost}`,
      "--once",
      "-o",
      "json",
    ]);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({
      apiVersion: "slipway.dev/v1alpha1",
      kind: "AnalysisRun",
      metadata: { name: "web-rate", namespace: "default" },
      spec: {
        args: [
          { name: "host", value: webHost },
          { name: "threshold", value: "0.95" },
        ],
      },
      status: { phase: "Successful", runSummary: { count: 1, successful: 1 } },
    });
    expect(run.status.metricResults[0].measurements[0]).toMatchObject({ phase: "Successful", value: "0.97" });
  });

  it("without --once it follows the metric's schedule and prints each measurement as it is taken", async () => {
    const template = file("web.yaml", webTemplate(rateMetric("\n      interval: 300ms\n      count: 3")));
    const before = webHits;
    const started = Date.now();
    const r = await slipway(["analysis", "run", "--template", template, "--arg", `host=${webHost}`]);
    expect(r.code).toBe(0);
    expect(webHits - before).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(r.stdout.match(/^success-rate\s+0\.97\s+Successful$/gm)).toHaveLength(3);
    expect(lastLine(r.stdout)).toBe("Successful: 1 of 1 metric successful");
  });

  it("Ctrl-C terminates an unbounded run and prints the verdict so far", async () => {
    const template = file("web.yaml", webTemplate(rateMetric("\n      interval: 200ms")));
    const child = spawn(
      "node",
      [cli, "analysis", "run", "--template", template, "--arg", `host=${webHost}`],
      {
        env: isolatedEnv,
      },
    );
    let stdout = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await new Promise<void>((r) =>
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if ((stdout.match(/Successful/g) ?? []).length >= 2) r();
      }),
    );
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(lastLine(stdout)).toMatch(/^Successful: Run Terminated; 1 of 1 metric successful$/);
  });
});

describe.skipIf(!prometheusAvailable())("analysis run against a real Prometheus", () => {
  let exporter: Server;
  let prometheus: RunningPrometheus | undefined;

  beforeAll(async () => {
    const registry = new Registry();
    const requests = new Counter({
      name: "slipway_cli_test_requests_total",
      help: "requests seen by the test exporter",
      labelNames: ["service", "code"],
      registers: [registry],
    });
    requests.inc({ service: "checkout", code: "200" }, 990);
    requests.inc({ service: "checkout", code: "500" }, 10);
    exporter = createServer(async (_req, res) => {
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(await registry.metrics());
    });
    await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`],
      waitForQuery: "slipway_cli_test_requests_total",
      minSeries: 2,
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    if (exporter) await new Promise((r) => exporter.close(r));
  });

  /** Argo's success-rate template, unchanged but for apiVersion. */
  const successRate = () =>
    file(
      "success-rate.yaml",
      `apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
    - name: service
    - name: prometheus-address
  metrics:
    - name: success-rate
      successCondition: result[0] >= 0.95
      failureCondition: result[0] < 0.90
      provider:
        prometheus:
          address: "{{args.prometheus-address}}"
          query: |
            sum(slipway_cli_test_requests_total{service="{{args.service}}",code!~"5.."}) /
            sum(slipway_cli_test_requests_total{service="{{args.service}}"})
`,
    );

  it("a success-rate template with --arg service=... evaluates to Successful", async () => {
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      successRate(),
      "--arg",
      "service=checkout",
      "--arg",
      `prometheus-address=${prometheus!.address}`,
      "--once",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^success-rate\s+\[0\.99\]\s+Successful$/m);
    expect(lastLine(r.stdout)).toBe("Successful: 1 of 1 metric successful");
  });

  it("--prometheus points the template at another Prometheus; the address arg is no longer needed", async () => {
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      successRate(),
      "--arg",
      "service=checkout",
      "--prometheus",
      prometheus!.address,
      "--once",
      "-o",
      "json",
    ]);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.spec.metrics[0].provider.prometheus.address).toBe(prometheus!.address);
    expect(run.status.phase).toBe("Successful");
  });

  it("no data for a service is reported as such, not as a success", async () => {
    const r = await slipway([
      "analysis",
      "run",
      "--template",
      successRate(),
      "--arg",
      "service=nobody",
      "--prometheus",
      prometheus!.address,
      "--once",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^success-rate\s+\[\]\s+Error\s+query returned no data \(no traffic yet\?\)/m);
  });
});

describe("analysis list/get and templates from a sandbox cluster", () => {
  let sandbox: Sandbox;
  let kubeconfig: string;
  let env: NodeJS.ProcessEnv;

  /** Asynchronous on purpose: the sandbox serves from this process, so blocking would deadlock it. */
  const kubectl = (args: string[], input?: string): Promise<string> =>
    new Promise((done, fail) => {
      const child = execFile(
        "kubectl",
        ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "kcache"), ...args],
        { timeout: 30_000 },
        (error, stdout, stderr) =>
          error ? fail(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : done(stdout),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const cluster = (args: string[]) => slipway([...args, "--kubeconfig", kubeconfig], env);

  beforeAll(async () => {
    sandbox = new Sandbox({});
    await sandbox.start();
    kubeconfig = join(dir, "kubeconfig");
    writeKubeconfig(kubeconfig, sandbox.url, sandbox.caPem, sandbox.token);
    env = isolatedEnv;
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it("before install: says the CRDs are missing and how to fix it", async () => {
    const r = await cluster(["analysis", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: slipway's CRDs are not installed in this cluster (run "slipway install")\n`,
    );
  });

  it("lists runs with phase, metric outcomes and age; -o json has the full objects", async () => {
    const install = await cluster(["install"]);
    expect(install.code).toBe(0);
    await kubectl(["create", "namespace", "shop"]);
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: slipway.dev/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-canary-1
  namespace: default
spec:
  metrics:
    - name: success-rate
      interval: 1m
      successCondition: result[0] >= 0.95
      failureLimit: 1
      provider:
        prometheus:
          address: http://prometheus:9090
          query: up
    - name: latency
      successCondition: result[0] < 0.5
      provider:
        prometheus:
          address: http://prometheus:9090
          query: up
---
apiVersion: slipway.dev/v1alpha1
kind: AnalysisRun
metadata:
  name: web-smoke
  namespace: shop
spec:
  metrics:
    - name: ping
      provider:
        web:
          url: http://web/ping
`,
    );
    const status = {
      status: {
        phase: "Failed",
        message: 'Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
        startedAt: "2025-01-01T10:00:00Z",
        completedAt: "2025-01-01T10:02:00Z",
        runSummary: { count: 2, successful: 1, failed: 1, inconclusive: 0, error: 0 },
        metricResults: [
          {
            name: "success-rate",
            phase: "Failed",
            count: 3,
            successful: 1,
            failed: 2,
            inconclusive: 0,
            error: 0,
            consecutiveError: 0,
            measurements: [
              {
                phase: "Successful",
                value: "[0.97]",
                startedAt: "2025-01-01T10:00:00Z",
                finishedAt: "2025-01-01T10:00:01Z",
              },
              {
                phase: "Failed",
                value: "[0.81]",
                startedAt: "2025-01-01T10:01:00Z",
                finishedAt: "2025-01-01T10:01:01Z",
              },
              {
                phase: "Failed",
                value: "[0.62]",
                startedAt: "2025-01-01T10:02:00Z",
                finishedAt: "2025-01-01T10:02:01Z",
              },
            ],
          },
          {
            name: "latency",
            phase: "Successful",
            count: 1,
            successful: 1,
            measurements: [
              {
                phase: "Successful",
                value: "[0.21]",
                startedAt: "2025-01-01T10:00:00Z",
                finishedAt: "2025-01-01T10:00:01Z",
              },
            ],
          },
        ],
      },
    };
    await kubectl([
      "patch",
      "analysisrun",
      "checkout-canary-1",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);

    const [table, all, json, empty] = await Promise.all([
      cluster(["analysis", "list"]),
      cluster(["analysis", "list", "-A"]),
      cluster(["analysis", "list", "-o", "json"]),
      cluster(["analysis", "list", "-n", "nothing-here"]),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+METRICS\s+AGE$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^checkout-canary-1\s+Failed\s+1 successful, 1 failed\s+\d+s$/);

    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME\s+STATUS\s+METRICS\s+AGE$/m);
    expect(all.stdout).toMatch(/^shop\s+web-smoke\s+Pending\s+1 pending\s+\d+s$/m);

    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout);
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ kind: "AnalysisRun", status: status.status });

    expect(empty.code).toBe(0);
    expect(empty.stderr).toBe('No analysis runs found in namespace "nothing-here".\n');
  });

  it("get shows each metric's counts and last measurement, and the measurements", async () => {
    const [r, json, missing] = await Promise.all([
      cluster(["analysis", "get", "checkout-canary-1"]),
      cluster(["analysis", "get", "checkout-canary-1", "-o", "json"]),
      cluster(["analysis", "get", "nope"]),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Status:\s+Failed$/m);
    expect(r.stdout).toMatch(
      /^Message:\s+Metric "success-rate" assessed Failed due to failed \(2\) > failureLimit \(1\)$/m,
    );
    expect(r.stdout).toMatch(/^Summary:\s+1 successful, 1 failed of 2 metrics$/m);
    expect(r.stdout).toMatch(
      /^METRIC\s+PHASE\s+COUNT\s+SUCCESSFUL\s+FAILED\s+INCONCLUSIVE\s+ERROR\s+LAST VALUE\s+LAST PHASE\s+MEASURED\s+MESSAGE$/m,
    );
    expect(r.stdout).toMatch(/^success-rate\s+Failed\s+3\s+1\s+2\s+0\s+0\s+\[0\.62\]\s+Failed\s+\d+d ago$/m);
    expect(r.stdout).toMatch(
      /^latency\s+Successful\s+1\s+1\s+0\s+0\s+0\s+\[0\.21\]\s+Successful\s+\d+d ago$/m,
    );
    expect(r.stdout).toMatch(/^success-rate\s+\[0\.81\]\s+Failed\s+2025-01-01T10:01:01Z$/m);

    expect(JSON.parse(json.stdout)).toMatchObject({
      metadata: { name: "checkout-canary-1", namespace: "default" },
      status: { phase: "Failed" },
    });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: analysis run "nope" not found in namespace "default" (list them with "slipway analysis list -n default")\n',
    );
  });

  it("run reads a template by name and a secretKeyRef arg from the cluster, and writes nothing", async () => {
    await kubectl(["create", "secret", "generic", "web-token", "-n", "shop", "--from-literal=token=s3cret"]);
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: slipway.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: secured
  namespace: shop
spec:
  args:
    - name: host
    - name: token
      valueFrom:
        secretKeyRef: {name: web-token, key: token}
  metrics:
    - name: secured
      successCondition: result == true
      provider:
        web:
          url: "http://{{args.host}}/secure"
          headers: [{key: Authorization, value: "Bearer {{args.token}}"}]
          jsonPath: "{$.ok}"
---
apiVersion: slipway.dev/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: shared-rate
spec:
  args: [{name: host}]
  metrics:
    - name: success-rate
      successCondition: result >= 0.95
      provider:
        web: {url: "http://{{args.host}}/rate", jsonPath: "{$.data.rate}"}
`,
    );
    const runsBefore = await kubectl(["get", "analysisruns", "-A", "-o", "name"]);

    const r = await cluster([
      "analysis",
      "run",
      "--template",
      "secured",
      "-n",
      "shop",
      "--arg",
      `host=${webHost}`,
      "--once",
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("s3cret");
    const run = JSON.parse(r.stdout);
    expect(run.status.phase).toBe("Successful");
    expect(run.spec.args).toContainEqual({
      name: "token",
      valueFrom: { secretKeyRef: { name: "web-token", key: "token" } },
    });

    const shared = await cluster([
      "analysis",
      "run",
      "--cluster-template",
      "shared-rate",
      "--arg",
      `host=${webHost}`,
      "--once",
    ]);
    expect(shared.code).toBe(0);
    expect(lastLine(shared.stdout)).toBe("Successful: 1 of 1 metric successful");

    expect(await kubectl(["get", "analysisruns", "-A", "-o", "name"])).toBe(runsBefore);
  });

  it("a template that is not there says where it looked and what to try", async () => {
    const [wrongKind, nowhere] = await Promise.all([
      cluster(["analysis", "run", "--template", "shared-rate", "--arg", `host=${webHost}`]),
      cluster(["analysis", "run", "--template", "x"]),
    ]);
    expect(wrongKind.code).toBe(1);
    expect(wrongKind.stderr).toBe(
      'error: analysis template "shared-rate" not found in namespace "default" (there is a ClusterAnalysisTemplate "shared-rate": use --cluster-template shared-rate)\n',
    );
    expect(nowhere.stderr).toBe(
      'error: analysis template "x" not found in namespace "default" (did you mean --cluster-template, or a file path?)\n',
    );
  });

  it("a missing Secret ends the run Error with the reason, never Successful", async () => {
    await kubectl(["delete", "secret", "web-token", "-n", "shop"]);
    const r = await cluster([
      "analysis",
      "run",
      "--template",
      "secured",
      "-n",
      "shop",
      "--arg",
      `host=${webHost}`,
      "--once",
    ]);
    expect(r.code).toBe(1);
    expect(lastLine(r.stdout)).toBe(
      `Error: Unable to resolve metric arguments: argument 'token': secret web-token key token: secret "web-token" not found in namespace "shop"`,
    );
  });
});
