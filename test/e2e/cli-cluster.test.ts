/**
 * `slipway cluster add|list|rm` as a user drives them: three sandboxes (a hub where slipway is
 * installed, two targets), the built binary, and kubectl as an independent check of the Secrets
 * written. The Secret `add` writes is read back with the controller's parser, so what the CLI
 * stores is what the controller's ClusterRegistry will use.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClusterSecret } from "../../controller/clusters/cluster-secret.js";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";

const execFileAsync = promisify(execFile);
const CLI = join(process.cwd(), "dist/cli/main.js");
const NS = "slipway-system";

let hub: TestSandbox;
let east: TestSandbox;
let west: TestSandbox;
let blackhole: Server;
const held: Socket[] = [];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `slipway ... --kubeconfig <hub>` and never rejects on the exit code. */
async function slipway(args: string[]): Promise<Result> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [CLI, ...args, "--kubeconfig", hub.kubeconfig],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - started };
  }
}

async function ok(args: string[]): Promise<string> {
  const r = await slipway(args);
  if (r.code !== 0) throw new Error(`slipway ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[]): Promise<string> {
  const r = await slipway(args);
  expect(r.code, `slipway ${args.join(" ")} should fail`).toBe(1);
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  return r.stderr.trim();
}

function app(name: string, destination: string): string {
  return `apiVersion: slipway.dev/v1alpha1
kind: Application
metadata: { name: ${name}, namespace: ${NS} }
spec:
  project: default
  source: { repoURL: "https://git.example.com/apps.git", path: guestbook, targetRevision: HEAD }
  destination: { ${destination}, namespace: guestbook }
`;
}

/** The table as rows of cells (columns are separated by at least two spaces). */
function table(text: string): string[][] {
  return text
    .trim()
    .split("\n")
    .map((line) => line.split(/\s{2,}/));
}

beforeAll(async () => {
  [hub, east, west] = await Promise.all([
    startTestSandbox({ simulation: false }),
    startTestSandbox({ simulation: false }),
    startTestSandbox({ simulation: false }),
  ]);
  await ok(["install"]);
  blackhole = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  blackhole?.close();
  await Promise.all([hub, east, west].map((sb) => sb?.stop()));
});

describe("slipway cluster", () => {
  it("adds clusters from kubeconfig contexts into the hub's controller namespace", async () => {
    expect(await ok(["cluster", "add", "east", "--from-kubeconfig", east.kubeconfig])).toBe(
      `cluster "east" added: ${east.url} (secret ${NS}/cluster-east)\n`,
    );
    expect(
      await ok([
        "cluster",
        "add",
        "west",
        "--from-kubeconfig",
        west.kubeconfig,
        "--from-context",
        "slipway-sandbox",
      ]),
    ).toBe(`cluster "west" added: ${west.url} (secret ${NS}/cluster-west)\n`);
    // kubectl sees Argo CD's layout, and the controller's parser reads it back.
    const secret = await hub.kubectlJson<V1Secret>(["get", "secret", "cluster-east", "-n", NS]);
    expect(secret.metadata?.labels?.["slipway.dev/secret-type"]).toBe("cluster");
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(["config", "name", "server"]);
    expect(parseClusterSecret(secret)).toEqual({
      name: "east",
      server: east.url,
      config: {
        bearerToken: east.sandbox.token,
        tlsClientConfig: { caData: Buffer.from(east.sandbox.caPem).toString("base64") },
      },
    });
    // The target clusters are untouched.
    expect(
      (await east.kubectl(["get", "secret", "-A", "-l", "slipway.dev/secret-type=cluster", "-o", "name"]))
        .stdout,
    ).toBe("");
    expect(await ok(["cluster", "add", "east", "--from-kubeconfig", east.kubeconfig])).toMatch(
      /^cluster "east" unchanged/,
    );
  });

  it("refuses bad requests with one line saying what to do", async () => {
    expect(await fails(["cluster", "add", "nowhere"])).toMatch(
      /^error: say which cluster to add: --from-kubeconfig FILE and\/or --from-context NAME/,
    );
    expect(await fails(["cluster", "add", "in-cluster", "--from-kubeconfig", east.kubeconfig])).toMatch(
      /"in-cluster" is the controller's own cluster/,
    );
    expect(await fails(["cluster", "add", "East_1", "--from-kubeconfig", east.kubeconfig])).toMatch(
      /cluster name "East_1" must be lowercase/,
    );
    expect(await fails(["cluster", "add", "east2", "--from-kubeconfig", east.kubeconfig])).toBe(
      `error: server ${east.url} is already registered as cluster "east"; remove it first ("slipway cluster rm east")`,
    );
    expect(
      await fails([
        "cluster",
        "add",
        "east",
        "--from-kubeconfig",
        east.kubeconfig,
        "--server-override",
        "https://127.0.0.1:1",
      ]),
    ).toMatch(
      /^error: cluster https:\/\/127\.0\.0\.1:1 did not answer: .*ECONNREFUSED.* \(nothing stored; --skip-check stores it anyway\)$/,
    );
    expect(
      await fails([
        "cluster",
        "add",
        "east",
        "--from-kubeconfig",
        east.kubeconfig,
        "--server-override",
        east.url.replace("127.0.0.1", "localhost"),
      ]),
    ).toMatch(
      /^error: cluster "east" is already registered \(https:\/\/127\.0\.0\.1:\d+\) with other settings; use --upsert/,
    );
    const viaLocalhost = east.url.replace("127.0.0.1", "localhost");
    expect(
      await ok([
        "cluster",
        "add",
        "east",
        "--from-kubeconfig",
        east.kubeconfig,
        "--server-override",
        viaLocalhost,
        "--upsert",
      ]),
    ).toBe(`cluster "east" updated: ${viaLocalhost} (secret ${NS}/cluster-east)\n`);
    expect(await ok(["cluster", "add", "east", "--from-kubeconfig", east.kubeconfig, "--upsert"])).toMatch(
      /^cluster "east" updated: https:\/\/127\.0\.0\.1:/,
    );
    const exec = join(east.dir, "exec.kubeconfig");
    writeFileSync(
      exec,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: { server: "https://eks.example.com" } }],
        users: [
          {
            name: "u",
            user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws" } },
          },
        ],
        contexts: [{ name: "eks", context: { cluster: "c", user: "u" } }],
        "current-context": "eks",
      }),
    );
    expect(await fails(["cluster", "add", "eks", "--from-kubeconfig", exec])).toMatch(
      /gets its credentials from an exec plugin, which cannot be stored in a Secret/,
    );
  });

  it("lists clusters with connection state, server, Application count and age", async () => {
    await hub.kubectlOk(["apply", "-f", "-"], {
      input: [
        app("east-a", `server: "${east.url}/"`),
        app("east-b", `server: "${east.url}"`),
        app("west-a", "name: west"),
        app("local", "server: https://kubernetes.default.svc"),
      ].join("---\n"),
    });
    const rows = table(await ok(["cluster", "list"]));
    expect(rows[0]).toEqual(["NAME", "SERVER", "STATUS", "APPS", "AGE"]);
    expect(rows.slice(1).map((r) => r.slice(0, 4))).toEqual([
      ["in-cluster", "https://kubernetes.default.svc", "Successful", "1"],
      ["east", east.url, "Successful", "2"],
      ["west", west.url, "Successful", "1"],
    ]);
    expect(rows[2]![4]).toMatch(/^\d+s$/);

    const json = JSON.parse(await ok(["cluster", "list", "-o", "json"])) as {
      name: string;
      server: string;
      connectionState: { status: string; serverVersion?: string };
      applications: number;
      config?: unknown;
    }[];
    const eastRow = json.find((c) => c.name === "east")!;
    expect(eastRow).toMatchObject({
      server: east.url,
      secret: `${NS}/cluster-east`,
      connectionState: { status: "Successful", serverVersion: expect.stringMatching(/^v1\./) },
      applications: 2,
      config: { auth: "bearerToken", tlsClientConfig: { insecure: false, caData: "(set)" } },
    });
    // Never a credential, in any format.
    for (const format of ["json", "yaml", "wide"]) {
      const out = await ok(["cluster", "list", "-o", format]);
      expect(out).not.toContain(east.sandbox.token);
      expect(out).not.toContain(Buffer.from(east.sandbox.caPem).toString("base64").slice(0, 40));
    }
  });

  it("shows a dead or silent cluster as Failed with the reason, without waiting on it for the others", async () => {
    const port = (blackhole.address() as { port: number }).port;
    await ok([
      "cluster",
      "add",
      "silent",
      "--from-kubeconfig",
      east.kubeconfig,
      "--server-override",
      `https://127.0.0.1:${port}`,
      "--skip-check",
    ]);
    await hub.kubectlOk(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Secret
metadata: { name: broken, namespace: ${NS}, labels: { slipway.dev/secret-type: cluster } }
stringData: { name: broken, server: "https://10.1.2.3", config: "{oops" }
`,
    });
    await west.stop();
    const r = await slipway(["cluster", "list", "--timeout", "2s"]);
    expect(r.code).toBe(0);
    const rows = new Map(table(r.stdout).map((row) => [row[0], row]));
    expect(rows.get("east")![2]).toBe("Successful");
    expect(rows.get("west")![2]).toMatch(/^Failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(rows.get("silent")![2]).toBe("Failed: no answer within 2s");
    expect(rows.get("(secret broken)")![2]).toMatch(/^Invalid: config is not valid JSON/);
    // Bounded by the timeout, not stuck on the silent cluster (the registry test times the overlap).
    expect(r.ms).toBeLessThan(15_000);
  });

  it("removes a cluster's Secret, warning about Applications that still target it", async () => {
    const r = await slipway(["cluster", "rm", "west"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`cluster "west" removed (secret ${NS}/cluster-west)\n`);
    expect(r.stderr).toBe(
      `warning: 1 Application still targets ${west.url}; they cannot sync until the cluster is added again\n`,
    );
    expect((await hub.kubectl(["get", "secret", "cluster-west", "-n", NS])).code).toBe(1);
    expect(await ok(["cluster", "rm", "silent"])).toMatch(/^cluster "silent" removed/);
    const names = table(await ok(["cluster", "list", "--timeout", "2s"]))
      .slice(1)
      .map((row) => row[0]);
    expect(names).toEqual(["in-cluster", "east", "(secret broken)"]);
    expect(await fails(["cluster", "rm", "west"])).toBe(
      `error: cluster "west" not found in namespace "${NS}" (see "slipway cluster list")`,
    );
    expect(await fails(["cluster", "rm", "in-cluster"])).toMatch(/built in and cannot be removed/);
  });
});
