/**
 * `slipway controller` as a process (DESIGN.md "Process contract"): it prints `listening <url>`,
 * serves /healthz, /readyz and /metrics, takes the slipway-controller Lease, releases it on
 * SIGTERM and exits 0, and refuses to start, with what to do, when slipway is not installed.
 * In-cluster, it finds the API server from KUBERNETES_SERVICE_HOST/PORT and its service
 * account's token and CA under /var/run/secrets, which the test provides inside a private mount
 * namespace (`unshare -m`, a tmpfs over /run), so the machine's own /run is untouched.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const run = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
let env: TestSandbox;

function startController(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "controller", "--kubeconfig", env.kubeconfig, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once("exit", (code) => reject(new Error(`controller exited with ${code}: ${out}`)));
  });
}

beforeAll(async () => {
  env = await startTestSandbox({ simulation: false });
});

afterAll(async () => {
  await env?.stop();
});

describe("slipway controller", () => {
  it("refuses to start before slipway is installed, saying what to do", async () => {
    const error = await run(process.execPath, [
      CLI,
      "controller",
      "--kubeconfig",
      env.kubeconfig,
      "--http-addr",
      "127.0.0.1:0",
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr.trim()).toBe(
      `error: namespace "slipway-system" not found in ${env.url}: run "slipway install" first (or pass -n)`,
    );
  });

  it("serves probes and metrics, leads through the Lease, and releases it on SIGTERM", async () => {
    await run(process.execPath, [CLI, "install", "--kubeconfig", env.kubeconfig]);
    const { child, url } = await startController(["--http-addr", "127.0.0.1:0"]);
    try {
      expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok\n");
      const holder = await waitFor(async () => {
        const lease = await env
          .kubectlJson(["get", "lease", "slipway-controller", "-n", "slipway-system"])
          .catch(() => undefined);
        return lease?.spec?.holderIdentity as string | undefined;
      });
      expect(holder).toBeTruthy();
      await waitFor(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^slipway_leader\{lease="slipway-system\/slipway-controller"\} 1$/m);
      expect(metrics).toContain("slipway_kube_requests_total");
      expect((await fetch(`${url}/nope`)).status).toBe(404);

      // The process runs the reconcilers: an Application from a local Git repository is synced.
      const repo = mkdtempSync(join(tmpdir(), "slipway-ctl-repo-"));
      mkdirSync(join(repo, "app"));
      writeFileSync(
        join(repo, "app", "cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-git}\ndata: {color: blue}\n",
      );
      const git = (...args: string[]) =>
        run("git", ["-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);
      await git("init", "-q", "-b", "main");
      await git("add", "-A");
      await git("commit", "-qm", "init");
      await env.kubectlOk(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "slipway.dev/v1alpha1",
          kind: "Application",
          metadata: { name: "smoke", namespace: "slipway-system" },
          spec: {
            project: "default",
            source: { repoURL: `file://${repo}`, path: "app", targetRevision: "main" },
            destination: { server: "https://kubernetes.default.svc", namespace: "default" },
            syncPolicy: { automated: {} },
          },
        }),
      });
      const color = await waitFor(async () => {
        const r = await env.kubectl(["get", "configmap", "from-git", "-o", "jsonpath={.data.color}"]);
        return r.code === 0 && r.stdout ? r.stdout : undefined;
      });
      expect(color).toBe("blue");
      const app = await waitFor(async () => {
        const a = await env.kubectlJson(["get", "application", "smoke", "-n", "slipway-system"]);
        return a.status?.sync?.status === "Synced" && a.status?.health?.status === "Healthy" ? a : undefined;
      });
      expect(app.status.resources).toHaveLength(1);
      rmSync(repo, { recursive: true, force: true });
    } finally {
      child.kill("SIGTERM");
    }
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    const lease = await env.kubectlJson(["get", "lease", "slipway-controller", "-n", "slipway-system"]);
    expect(lease.spec.holderIdentity ?? "").toBe("");
  });

  it("rejects bad flags with one clear line", async () => {
    const error = await run(process.execPath, [
      CLI,
      "controller",
      "--kubeconfig",
      env.kubeconfig,
      "--app-resync",
      "soon",
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(error?.stderr).toMatch(/^error: .*soon/);
    const level = await run(process.execPath, [
      CLI,
      "controller",
      "--kubeconfig",
      env.kubeconfig,
      "--log-level",
      "loud",
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(level?.code).toBe(1);
    expect(level?.stderr).toBe(
      'error: --log-level must be one of fatal, error, warn, info, debug, trace, got "loud"\n',
    );
  });

  /** `unshare -m` with a tmpfs mount works here (root, or a user namespace allowed). */
  const canUnshare =
    spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs tmpfs /run"], { stdio: "ignore" }).status === 0;

  it.skipIf(!canUnshare)(
    "runs in-cluster from the service account's token and CA (needs unshare -m: private mounts)",
    async () => {
      await run(process.execPath, [CLI, "install", "--kubeconfig", env.kubeconfig]);
      const dir = mkdtempSync(join(tmpdir(), "slipway-in-cluster-"));
      try {
        writeFileSync(join(dir, "token"), env.sandbox.token);
        writeFileSync(join(dir, "ca.crt"), env.sandbox.caPem);
        writeFileSync(join(dir, "namespace"), "slipway-system");
        const sa = "/run/secrets/kubernetes.io/serviceaccount";
        const { hostname, port } = new URL(env.url);
        const child = spawn(
          "unshare",
          [
            "-m",
            "sh",
            "-c",
            `mount -t tmpfs tmpfs /run && mkdir -p ${sa} && cp "$0"/token "$0"/ca.crt "$0"/namespace ${sa}/ && exec "$1" "$2" controller --http-addr 127.0.0.1:0`,
            dir,
            process.execPath,
            CLI,
          ],
          {
            stdio: ["ignore", "pipe", "pipe"],
            // No kubeconfig anywhere: HOME is empty, KUBECONFIG unset.
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              HOME: dir,
              KUBERNETES_SERVICE_HOST: hostname,
              KUBERNETES_SERVICE_PORT: port,
            },
          },
        );
        const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
        let out = "";
        let err = "";
        child.stderr!.on("data", (c: Buffer) => {
          err += c.toString();
        });
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout!.on("data", (c: Buffer) => {
            out += c.toString();
            const m = /^listening (http:\/\/\S+)$/m.exec(out);
            if (m) resolve(m[1]!);
          });
          void exited.then((code) => reject(new Error(`controller exited with ${code}: ${out}${err}`)));
        });
        await waitFor(async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined));
        // It reached the API server as the service account: the Lease names it.
        const lease = await waitFor(async () => {
          const l = await env.kubectlJson(["get", "lease", "slipway-controller", "-n", "slipway-system"]);
          return l.spec?.holderIdentity ? l : undefined;
        });
        expect(lease.spec.holderIdentity).toBeTruthy();
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).toMatch(/^slipway_leader\{[^}]*\} 1$/m);
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
