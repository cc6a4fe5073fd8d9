/**
 * The sandbox as a user runs it: `slipway sandbox up|down|status` as processes (the "Process
 * contract" in DESIGN.md), state surviving a restart, clean shutdown on SIGTERM, `slipway install`
 * being idempotent, and the API's answers to malformed requests.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");

let dir: string;
const children: ChildProcess[] = [];

/** Starts `slipway sandbox up` and resolves with its URL once it printed `ready <url>`. */
function up(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "sandbox", "up", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^ready (https:\/\/\S+)$/m.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.once("exit", (code) => reject(new Error(`sandbox exited with ${code} before ready: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("kubectl", [
    "--kubeconfig",
    kubeconfig,
    "--cache-dir",
    join(dir, "kcache"),
    ...args,
  ]);
  return stdout;
}

/** A raw HTTPS request with the kubeconfig's token and CA, to send what kubectl never would. */
function raw(
  kubeconfig: string,
  method: string,
  path: string,
  body?: string,
  contentType = "application/json",
) {
  const config = parse(readFileSync(kubeconfig, "utf8"));
  const server: string = config.clusters[0].cluster.server;
  const ca = Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64");
  const token: string = config.users[0].user.token;
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = https.request(
      `${server}${path}`,
      { method, ca, headers: { Authorization: `Bearer ${token}`, "Content-Type": contentType } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-sandbox-"));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("slipway sandbox", () => {
  it("serves until SIGTERM, then exits 0; objects survive a restart with --state-dir", async () => {
    const kubeconfig = join(dir, "state.kubeconfig");
    const stateDir = join(dir, "state");
    const first = await up(["--port", "0", "--kubeconfig", kubeconfig, "--state-dir", stateDir]);
    const config = parse(readFileSync(kubeconfig, "utf8"));
    expect(config["current-context"]).toBe("slipway-sandbox");
    expect(config.clusters[0].cluster.server).toBe(first.url);
    expect(config.clusters[0].cluster["certificate-authority-data"]).toBeTruthy();
    await kubectl(kubeconfig, "create", "configmap", "kept", "--from-literal=k=v");
    const rv1 = Number(
      await kubectl(kubeconfig, "get", "configmap", "kept", "-o", "jsonpath={.metadata.resourceVersion}"),
    );
    first.child.kill("SIGTERM");
    expect(await exited(first.child)).toBe(0);

    const second = await up(["--port", "0", "--kubeconfig", kubeconfig, "--state-dir", stateDir]);
    expect(await kubectl(kubeconfig, "get", "configmap", "kept", "-o", "jsonpath={.data.k}")).toBe("v");
    // The same CA and token: the kubeconfig written before the restart still verifies the server.
    expect(parse(readFileSync(kubeconfig, "utf8")).users[0].user.token).toBe(config.users[0].user.token);
    await kubectl(kubeconfig, "label", "configmap", "kept", "again=yes");
    const rv2 = Number(
      await kubectl(kubeconfig, "get", "configmap", "kept", "-o", "jsonpath={.metadata.resourceVersion}"),
    );
    expect(rv2).toBeGreaterThan(rv1);
    second.child.kill("SIGINT");
    expect(await exited(second.child)).toBe(0);
  });

  it("--detach returns once ready; status and down manage the background sandbox", async () => {
    const home = join(dir, "home");
    const kubeconfig = join(dir, "detached.kubeconfig");
    const env = { ...process.env, SLIPWAY_HOME: home };
    const { stdout } = await run(
      process.execPath,
      [CLI, "sandbox", "up", "--detach", "--kubeconfig", kubeconfig],
      { env },
    );
    const url = /^ready (\S+)$/m.exec(stdout)?.[1];
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await run(process.execPath, [CLI, "sandbox", "status"], { env })).stdout).toContain(
      `running ${url}`,
    );
    expect(await kubectl(kubeconfig, "get", "namespace", "default", "-o", "name")).toContain(
      "namespace/default",
    );
    const again = await run(
      process.execPath,
      [CLI, "sandbox", "up", "--detach", "--kubeconfig", kubeconfig],
      { env },
    ).then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    expect(again?.code).toBe(1);
    expect(again?.stderr).toMatch(/^error: a sandbox is already running/);
    expect((await run(process.execPath, [CLI, "sandbox", "down"], { env })).stdout).toContain(
      `stopped sandbox at ${url}`,
    );
    const status = await run(process.execPath, [CLI, "sandbox", "status"], { env }).then(
      () => 0,
      (e: { code: number; stdout: string }) => e.code,
    );
    expect(status).toBe(1);
  });

  it("install is idempotent and its objects are served", async () => {
    const kubeconfig = join(dir, "install.kubeconfig");
    const sandbox = await up(["--port", "0", "--kubeconfig", kubeconfig]);
    try {
      const first = (await run(process.execPath, [CLI, "install", "--kubeconfig", kubeconfig])).stdout;
      expect(first).toContain("customresourcedefinition.apiextensions.k8s.io/rollouts.slipway.dev created");
      expect(first).toContain("appproject.slipway.dev/default created");
      const second = (await run(process.execPath, [CLI, "install", "--kubeconfig", kubeconfig])).stdout;
      const lines = second.trim().split("\n");
      expect(lines.length).toBe(first.trim().split("\n").length);
      expect(lines.every((l) => l.endsWith(" unchanged"))).toBe(true);
      const project = JSON.parse(
        await kubectl(kubeconfig, "get", "appproject", "default", "-n", "slipway-system", "-o", "json"),
      );
      expect(project.spec.sourceRepos).toEqual(["*"]);
    } finally {
      sandbox.child.kill("SIGTERM");
      await exited(sandbox.child);
    }
  });

  it("injects the faults of --faults FILE", async () => {
    const kubeconfig = join(dir, "faults.kubeconfig");
    const faults = join(dir, "faults.yaml");
    writeFileSync(faults, "- verbs: [list]\n  resources: [configmaps]\n  errorRate: 1\n  status: 500\n");
    const sandbox = await up(["--port", "0", "--kubeconfig", kubeconfig, "--faults", faults]);
    try {
      const failed = await kubectl(kubeconfig, "get", "configmaps").then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );
      expect(failed).toContain("injected fault");
      // Other verbs and resources are untouched.
      expect(await kubectl(kubeconfig, "get", "namespaces", "-o", "name")).toContain("namespace/default");
      const bad = join(dir, "bad-faults.yaml");
      writeFileSync(bad, "- errorRate: 2\n");
      const refused = await run(process.execPath, [
        CLI,
        "sandbox",
        "up",
        "--port",
        "0",
        "--kubeconfig",
        kubeconfig,
        "--faults",
        bad,
      ]).then(
        () => undefined,
        (e: { stderr: string; code: number }) => e,
      );
      expect(refused?.code).toBe(1);
      expect(refused?.stderr).toContain("errorRate must be a number between 0 and 1");
    } finally {
      sandbox.child.kill("SIGTERM");
      await exited(sandbox.child);
    }
  });

  it("answers malformed requests with the API server's Status errors", async () => {
    const kubeconfig = join(dir, "errors.kubeconfig");
    const sandbox = await up(["--port", "0", "--kubeconfig", kubeconfig]);
    try {
      const malformed = await raw(
        kubeconfig,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        '{"kind": "ConfigMap", ',
      );
      expect(malformed.status).toBe(400);
      expect(malformed.json).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
      const badYaml = await raw(
        kubeconfig,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x?fieldManager=t",
        "a: [",
        "application/apply-patch+yaml",
      );
      expect(badYaml.status).toBe(400);
      const unknownResource = await raw(kubeconfig, "GET", "/api/v1/namespaces/default/widgets");
      expect(unknownResource.status).toBe(404);
      expect(unknownResource.json).toMatchObject({ kind: "Status", reason: "NotFound" });
      const unknownVersion = await raw(kubeconfig, "GET", "/apis/apps/v9/deployments");
      expect(unknownVersion.status).toBe(404);
      const wrongKind = await raw(
        kubeconfig,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}',
      );
      expect(wrongKind.status).toBe(400);
      const noToken = await new Promise<number>((resolve) => {
        const config = parse(readFileSync(kubeconfig, "utf8"));
        const ca = Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64");
        https
          .get(`${sandbox.url}/api/v1/namespaces`, { ca }, (res) => resolve(res.statusCode ?? 0))
          .on("error", () => resolve(0));
      });
      expect(noToken).toBe(401);
      // Nothing half-written: the failed creates left no object behind.
      expect(await kubectl(kubeconfig, "get", "configmaps", "-o", "name")).not.toContain("configmap/x");
    } finally {
      sandbox.child.kill("SIGTERM");
      await exited(sandbox.child);
    }
  });
});
