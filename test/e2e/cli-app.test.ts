/**
 * `slipway app ...` and `slipway repo ...` as a user runs them: the built CLI binary in a child
 * process, against a sandbox cluster (with slipway installed) and a real Git smart-HTTP server
 * with basic auth; kubectl is the independent judge of what the CLI wrote.
 *
 * No Application controller runs here yet (controller/gitops/index.ts does not export
 * createApplicationController at the time of writing). The flows that need one (`sync` end to
 * end, `wait` reaching its state, `history`, `rollback`, `terminate-op`) are tested against a
 * SIMULATED CONTROLLER: the test itself plays the reconciler's part with
 * `kubectl patch --subresource=status` (and removes `.operation` as Argo CD's controller does).
 * They check the CLI's half of the contract; the real-controller versions are still to do.
 *
 * Needs dist/ (npm test builds it; alone, beforeAll rebuilds when dist is older than cli/).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitServer, startGitServer, type TestRepo } from "../helpers/git-server.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "dist/cli/main.js");
const AUTH = { username: "ci", password: "s3cret-pw" };
const NS = "slipway-system";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let sb: TestSandbox;
let git: GitServer;
let repo: TestRepo;
let dir: string;
let env: NodeJS.ProcessEnv;

function slipway(args: string[], options: { input?: string } = {}): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [cli, ...args, "--kubeconfig", sb.kubeconfig],
      { env, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

async function ok(args: string[], options: { input?: string } = {}): Promise<string> {
  const r = await slipway(args, options);
  if (r.code !== 0) throw new Error(`slipway ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const getApp = (name: string): Promise<KubeJson> => sb.kubectlJson(["get", "applications", name, "-n", NS]);

/** Patches the Application's status as the reconciler would (status subresource, merge patch). */
const patchStatus = (name: string, status: unknown) =>
  sb.kubectlOk([
    "patch",
    "applications",
    name,
    "-n",
    NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);

const patchApp = (name: string, patch: unknown, type = "merge") =>
  sb.kubectlOk(["patch", "applications", name, "-n", NS, `--type=${type}`, "-p", JSON.stringify(patch)]);

/** dist is rebuilt when it is missing or older than any CLI source. */
function ensureBuilt(): void {
  const newest = Math.max(
    ...readdirSync(join(root, "cli"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => statSync(join(root, "cli", f)).mtimeMs),
  );
  const built = join(root, "dist/cli/app-actions.js");
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  try {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "ignore" });
  } catch {
    // tsc exits non-zero on type errors elsewhere but still emits; the check below decides.
  }
  if (!existsSync(built))
    throw new Error("dist/cli/app-actions.js is missing: run npx tsc -p tsconfig.build.json");
}

const CONFIGMAP = (color: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  color: ${color}
  size: large
`;

const SECRET = (password: string) => `apiVersion: v1
kind: Secret
metadata:
  name: web-secret
type: Opaque
stringData:
  password: ${password}
  user: admin
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - containerPort: 80
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
`;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "slipway-cli-app-"));
  env = { ...process.env, HOME: dir, KUBECONFIG: "", XDG_CACHE_HOME: join(dir, "cache") };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.SLIPWAY_APP_NAMESPACE;
  [sb, git] = await Promise.all([startTestSandbox(), startGitServer({ auth: AUTH })]);
  repo = await git.createRepo("apps");
  await repo.commit({
    "guestbook/configmap.yaml": CONFIGMAP("blue"),
    "guestbook/secret.yaml": SECRET("hunter2"),
    "guestbook/deployment.yaml": DEPLOYMENT,
  });
  await repo.tag("v1");
  await ok(["install"]);
  await sb.kubectlOk(["create", "namespace", "guestbook"]);
}, 90_000);

afterAll(async () => {
  await Promise.all([sb?.stop(), git?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("slipway repo", () => {
  it("refuses a repository it cannot read, stores one it can, and never prints the password", async () => {
    const refused = await slipway(["repo", "add", repo.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("authentication failed");
    expect(refused.stderr).toContain("nothing stored");

    const added = await slipway(["repo", "add", repo.url, "--username", AUTH.username, "--password-stdin"], {
      input: `${AUTH.password}\n`,
    });
    expect(added.stderr).toBe("");
    expect(added.stdout).toBe(`repository '${repo.url}' added\n`);
    const secrets = await sb.kubectlJson([
      "get",
      "secrets",
      "-n",
      NS,
      "-l",
      "slipway.dev/secret-type=repository",
    ]);
    expect(secrets.items).toHaveLength(1);
    const data = secrets.items[0].data as Record<string, string>;
    const text = (k: string) => Buffer.from(data[k]!, "base64").toString("utf8");
    expect([text("url"), text("username"), text("password"), text("type")]).toEqual([
      repo.url,
      AUTH.username,
      AUTH.password,
      "git",
    ]);

    // Adding it again changes nothing; other credentials need --upsert.
    expect(
      await ok(["repo", "add", repo.url, "--username", AUTH.username, "--password", AUTH.password]),
    ).toContain("unchanged");
    const other = await slipway(["repo", "add", repo.url, "--token", "t0ken", "--skip-check"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("--upsert");

    // A repository that does not answer is listed with the reason.
    await ok(["repo", "add", `${git.url}/missing.git`, "--name", "missing", "--skip-check"]);
    const list = await slipway(["repo", "list"]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^URL\s+NAME\s+TYPE\s+CREDS\s+CONNECTION$/);
    expect(lines.find((l) => l.startsWith(`${repo.url} `))).toMatch(/git\s+true\s+Successful$/);
    expect(lines.find((l) => l.startsWith(`${git.url}/missing.git`))).toMatch(
      /missing\s+git\s+false\s+Failed: /,
    );

    const json = await slipway(["repo", "list", "-o", "json"]);
    expect(JSON.parse(json.stdout)).toContainEqual(
      expect.objectContaining({ url: repo.url, type: "git", connectionState: { status: "Successful" } }),
    );
    for (const out of [added, list, json]) expect(out.stdout + out.stderr).not.toContain(AUTH.password);
  });
});

describe("slipway app create|list|get|set", () => {
  it("creates an Application in the controller namespace and refuses to overwrite a different one", async () => {
    const created = await slipway([
      "app",
      "create",
      "guestbook",
      "--repo",
      repo.url,
      "--path",
      "guestbook",
      "--dest-namespace",
      "guestbook",
      "--sync-option",
      "CreateNamespace=true",
    ]);
    expect(created).toMatchObject({ code: 0, stdout: "application 'guestbook' created\n" });
    const app = await getApp("guestbook");
    expect(app.spec).toEqual({
      project: "default",
      source: { repoURL: repo.url, path: "guestbook" },
      destination: { server: "https://kubernetes.default.svc", namespace: "guestbook" },
      syncPolicy: { syncOptions: ["CreateNamespace=true"] },
    });

    const same = ["app", "create", "guestbook", "--repo", repo.url, "--path", "guestbook"];
    const sameSpec = [...same, "--dest-namespace", "guestbook", "--sync-option", "CreateNamespace=true"];
    expect(await ok(sameSpec)).toBe("application 'guestbook' unchanged\n");
    const different = await slipway([...same, "--dest-namespace", "other"]);
    expect(different.code).toBe(1);
    expect(different.stderr).toContain("already exists with a different spec; use --upsert");
    expect(await ok([...same, "--dest-namespace", "other", "--upsert"])).toBe(
      "application 'guestbook' updated\n",
    );
    expect((await getApp("guestbook")).spec.destination.namespace).toBe("other");
    await ok([...sameSpec, "--upsert"]);

    const noProject = await slipway([
      "app",
      "create",
      "x",
      "--repo",
      repo.url,
      "--path",
      ".",
      "--project",
      "nope",
    ]);
    expect(noProject.code).toBe(1);
    expect(noProject.stderr).toContain('project "nope" not found');
  });

  it("creates from an Argo CD manifest with -f, flags overriding its fields", async () => {
    const file = join(dir, "app.yaml");
    writeFileSync(
      file,
      `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: from-file
  namespace: argocd
spec:
  project: default
  source: { repoURL: ${repo.url}, path: guestbook, targetRevision: v1 }
  destination: { server: https://kubernetes.default.svc, namespace: guestbook }
`,
    );
    // Argo's namespace (argocd) is not carried over: the app goes to slipway's.
    expect(await ok(["app", "create", "-f", file, "--revision", "main"])).toBe(
      "application 'from-file' created\n",
    );
    const app = await getApp("from-file");
    expect(app.apiVersion).toBe("slipway.dev/v1alpha1");
    expect(app.spec.source.targetRevision).toBe("main");
  });

  it("lists apps like argocd app list, with -o json holding the full objects", async () => {
    const list = await ok(["app", "list"]);
    const [headers, ...rows] = list.trim().split("\n");
    expect(headers!.split(/\s+/)).toEqual([
      "NAME",
      "CLUSTER",
      "NAMESPACE",
      "PROJECT",
      "STATUS",
      "HEALTH",
      "SYNCPOLICY",
      "CONDITIONS",
      "REPO",
      "PATH",
      "TARGET",
    ]);
    const row = rows.find((r) => r.startsWith(`${NS}/guestbook `))!.split(/\s+/);
    expect(row).toEqual([
      `${NS}/guestbook`,
      "https://kubernetes.default.svc",
      "guestbook",
      "default",
      "Unknown",
      "Unknown",
      "Manual",
      "<none>",
      repo.url,
      "guestbook",
    ]);
    const json = JSON.parse(await ok(["app", "list", "-o", "json"]));
    expect(json.items.map((a: KubeJson) => a.metadata.name)).toEqual(["from-file", "guestbook"]);
    expect(json.items[1].spec.source.repoURL).toBe(repo.url);
  });

  it("gets an app: header, resources with sync and health, conditions; -o yaml the object", async () => {
    await patchStatus("guestbook", {
      sync: { status: "OutOfSync", revision: "0123456789abcdef0123456789abcdef01234567" },
      health: { status: "Progressing" },
      resources: [
        { version: "v1", kind: "ConfigMap", namespace: "guestbook", name: "web-config", status: "Synced" },
        {
          group: "apps",
          version: "v1",
          kind: "Deployment",
          namespace: "guestbook",
          name: "web",
          status: "OutOfSync",
          health: { status: "Progressing", message: "Waiting for rollout" },
        },
      ],
      conditions: [{ type: "SyncError", message: "something failed" }],
    });
    const out = await ok(["app", "get", "guestbook"]);
    expect(out).toContain(`Name:               ${NS}/guestbook`);
    expect(out).toContain(`- Repo:             ${repo.url}`);
    expect(out).toContain("Sync Policy:        Manual");
    expect(out).toContain("Sync Status:        OutOfSync from HEAD (0123456)");
    expect(out).toContain("Health Status:      Progressing");
    expect(out).toMatch(/^CONDITION\s+MESSAGE\s+LAST TRANSITION\nSyncError\s+something failed/m);
    expect(out).toMatch(/^GROUP\s+KIND\s+NAMESPACE\s+NAME\s+STATUS\s+HEALTH\s+HOOK\s+MESSAGE$/m);
    expect(out).toMatch(/^\s+ConfigMap\s+guestbook\s+web-config\s+Synced$/m);
    expect(out).toMatch(
      /^apps\s+Deployment\s+guestbook\s+web\s+OutOfSync\s+Progressing\s+Waiting for rollout$/m,
    );

    const yaml = await ok(["app", "get", "guestbook", "-o", "yaml"]);
    expect(yaml).toContain("kind: Application");
    expect(yaml).toContain("status:");

    const missing = await slipway(["app", "get", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: application "nope" not found in namespace "slipway-system" (list them with "slipway app list")\n',
    );
  });

  it("sets spec fields, and refuses self-heal without automated sync", async () => {
    const refused = await slipway(["app", "set", "from-file", "--self-heal"]);
    expect(refused.stderr).toContain("cannot set --self-heal: the app has no automated sync");
    await ok([
      "app",
      "set",
      "from-file",
      "--revision",
      "v1",
      "--sync-policy",
      "auto",
      "--self-heal",
      "--auto-prune",
    ]);
    let app = await getApp("from-file");
    expect(app.spec.source.targetRevision).toBe("v1");
    expect(app.spec.syncPolicy.automated).toEqual({ enabled: true, selfHeal: true, prune: true });
    await ok(["app", "set", "from-file", "--no-self-heal", "--dest-namespace", "elsewhere"]);
    app = await getApp("from-file");
    expect(app.spec.syncPolicy.automated).toEqual({ enabled: true, prune: true });
    expect(app.spec.destination.namespace).toBe("elsewhere");
    await ok(["app", "set", "from-file", "--sync-policy", "none"]);
    expect((await getApp("from-file")).spec.syncPolicy).toBeUndefined();
  });
});

describe("slipway app diff|manifests (computed locally from Git and the live cluster)", () => {
  it("exits 1 while resources are missing, 0 once kubectl applied the same manifests", async () => {
    const before = await slipway(["app", "diff", "guestbook"]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain("===== /ConfigMap guestbook/web-config ======");
    expect(before.stdout).toContain("===== apps/Deployment guestbook/web ======");

    await sb.kubectlOk(["apply", "-n", "guestbook", "-f", "-"], {
      input: [CONFIGMAP("blue"), SECRET("hunter2"), DEPLOYMENT].join("---\n"),
    });
    const after = await slipway(["app", "diff", "guestbook"]);
    expect(after).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("exits 1 after a commit changes a manifest, showing the change and masking Secret values", async () => {
    await repo.commit({
      "guestbook/configmap.yaml": CONFIGMAP("green"),
      "guestbook/secret.yaml": SECRET("correct-horse"),
    });
    const diff = await slipway(["app", "diff", "guestbook"]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain("===== /ConfigMap guestbook/web-config ======");
    expect(diff.stdout).toMatch(/^-\s+color: blue$/m);
    expect(diff.stdout).toMatch(/^\+\s+color: green$/m);
    expect(diff.stdout).toContain("===== /Secret guestbook/web-secret ======");
    // Masked on both sides, with masks of different lengths: the value changed, nothing else shows.
    const live = /^-\s+password: (\++)$/m.exec(diff.stdout)?.[1];
    const desired = /^\+\s+password: (\++)$/m.exec(diff.stdout)?.[1];
    expect(live && desired && live.length >= 8 && desired.length >= 8 && live !== desired).toBe(true);
    expect(diff.stdout).toMatch(/^ \s+user: \+{8,}$/m);
    expect(diff.stdout).not.toContain("apps/Deployment");
    for (const secret of ["hunter2", "correct-horse", "aHVudGVyMg==", "Y29ycmVjdC1ob3JzZQ=="]) {
      expect(diff.stdout).not.toContain(secret);
    }

    // The tag still points at what is live; --revision compares it.
    expect((await slipway(["app", "diff", "guestbook", "--revision", "v1"])).code).toBe(0);
  });

  it("honours ignoreDifferences and --local", async () => {
    await patchApp("guestbook", {
      spec: {
        ignoreDifferences: [
          { kind: "ConfigMap", jsonPointers: ["/data/color"] },
          { kind: "Secret", jsonPointers: ["/data"] },
        ],
      },
    });
    try {
      expect(await slipway(["app", "diff", "guestbook"])).toMatchObject({ code: 0, stdout: "" });
    } finally {
      await patchApp("guestbook", [{ op: "remove", path: "/spec/ignoreDifferences" }], "json");
    }
    const local = join(dir, "local");
    execFileSync("mkdir", ["-p", local]);
    writeFileSync(join(local, "cm.yaml"), CONFIGMAP("red"));
    const diff = await slipway(["app", "diff", "guestbook", "--local", local]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^\+\s+color: red$/m);
    expect(diff.stdout).not.toContain("Deployment");
  });

  it("exits 2 on a repository it cannot read", async () => {
    await ok([
      "app",
      "create",
      "broken",
      "--repo",
      `${git.url}/nope.git`,
      "--path",
      ".",
      "--dest-namespace",
      "x",
    ]);
    const diff = await slipway(["app", "diff", "broken"]);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toBe("");
    expect(diff.stderr).toMatch(/^error: .*nope\.git/);
    expect((await slipway(["app", "diff", "no-such-app"])).code).toBe(2);
  });

  it("prints the rendered manifests with tracking ids (Secrets masked), or the live objects", async () => {
    const manifests = await ok(["app", "manifests", "guestbook"]);
    expect(manifests).toContain("slipway.dev/tracking-id: guestbook:/ConfigMap:guestbook/web-config");
    expect(manifests).toContain("slipway.dev/tracking-id: guestbook:apps/Deployment:guestbook/web");
    expect(manifests).toContain("color: green");
    expect(manifests).not.toContain("correct-horse");
    expect(manifests.split("---\n")).toHaveLength(3);

    const live = await ok(["app", "manifests", "guestbook", "--source", "live", "-o", "json"]);
    const items = JSON.parse(live).items as KubeJson[];
    const cm = items.find((o) => o.kind === "ConfigMap")!;
    expect(cm.data.color).toBe("blue");
    expect(cm.metadata.managedFields).toBeUndefined();
  });
});

describe("slipway app sync|wait|history|rollback|terminate-op (SIMULATED controller via kubectl)", () => {
  /** Plays the reconciler: waits for `.operation`, reports it Running, then finished. */
  async function simulateOperation(
    name: string,
    finish: { phase: string; message: string; revision: string },
  ): Promise<KubeJson> {
    const app = await waitFor(async () => {
      const a = await getApp(name);
      return a.operation ? a : undefined;
    });
    const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    await patchStatus(name, {
      operationState: { operation: app.operation, phase: "Running", message: "syncing", startedAt },
    });
    await patchApp(name, [{ op: "remove", path: "/operation" }], "json");
    await patchStatus(name, {
      operationState: {
        operation: app.operation,
        phase: finish.phase,
        message: finish.message,
        startedAt,
        finishedAt: startedAt,
        syncResult: {
          revision: finish.revision,
          resources: [
            {
              version: "v1",
              kind: "ConfigMap",
              namespace: "guestbook",
              name: "web-config",
              status: finish.phase === "Succeeded" ? "Synced" : "SyncFailed",
              message: "configmap/web-config configured",
              syncPhase: "Sync",
            },
          ],
        },
      },
    });
    return app;
  }

  it("sync writes the operation as Argo CD does and prints the result when the controller finishes", async () => {
    const sha = await repo.revParse("main");
    const running = slipway([
      "app",
      "sync",
      "guestbook",
      "--prune",
      "--revision",
      "main",
      "--resource",
      ":ConfigMap:guestbook/web-config",
      "--timeout",
      "30s",
    ]);
    const app = await simulateOperation("guestbook", {
      phase: "Succeeded",
      message: "successfully synced (all tasks run)",
      revision: sha,
    });
    expect(app.operation.sync).toEqual({
      revision: "main",
      prune: true,
      resources: [{ kind: "ConfigMap", namespace: "guestbook", name: "web-config" }],
    });
    expect(app.operation.initiatedBy.username).toBeTruthy();
    const result = await running;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Phase:              Succeeded");
    expect(result.stdout).toContain("Message:            successfully synced (all tasks run)");
    expect(result.stdout).toMatch(
      /^\s+ConfigMap\s+guestbook\s+web-config\s+Synced\s+configmap\/web-config configured$/m,
    );
  });

  it("sync --prune-budget n prunes with a budget of n (the fix the prune-budget message names)", async () => {
    const bad = await slipway(["app", "sync", "guestbook", "--prune-budget", "ten"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: --prune-budget expects a number of resources, got "ten"\n');
    const running = slipway(["app", "sync", "guestbook", "--prune-budget", "10", "--timeout", "30s"]);
    const app = await simulateOperation("guestbook", {
      phase: "Succeeded",
      message: "successfully synced (all tasks run)",
      revision: await repo.revParse("main"),
    });
    expect(app.operation.sync).toMatchObject({ prune: true, syncOptions: ["PruneBudget=10"] });
    expect((await running).code).toBe(0);
  });

  it("sync exits non-zero when the operation fails, and refuses while one is in progress", async () => {
    const running = slipway(["app", "sync", "guestbook", "--dry-run"]);
    const app = await simulateOperation("guestbook", {
      phase: "Failed",
      message: "one or more objects failed",
      revision: "x",
    });
    expect(app.operation.sync).toEqual({ dryRun: true });
    const result = await running;
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: operation Failed: one or more objects failed\n");

    await patchApp("guestbook", { operation: { sync: {}, initiatedBy: { username: "someone" } } });
    const busy = await slipway(["app", "sync", "guestbook"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe("error: another operation is already in progress\n");
    // The operation has not started: terminate-op withdraws it.
    expect(await ok(["app", "terminate-op", "guestbook"])).toContain("withdrawn");
    expect((await getApp("guestbook")).operation).toBeUndefined();
  });

  it("terminate-op asks the controller to stop: annotation, and phase Terminating via the status subresource", async () => {
    const none = await slipway(["app", "terminate-op", "guestbook"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no operation is in progress");
    await patchStatus("guestbook", {
      operationState: {
        operation: { sync: {} },
        phase: "Running",
        message: "waiting for hooks",
        startedAt: "2024-01-01T00:00:00Z",
        finishedAt: null,
      },
    });
    expect(await ok(["app", "terminate-op", "guestbook"])).toBe(
      "application 'guestbook': operation terminating\n",
    );
    const app = await getApp("guestbook");
    expect(app.status.operationState.phase).toBe("Terminating");
    expect(app.metadata.annotations["slipway.dev/terminate-op"]).toBe("true");
    await patchApp("guestbook", { metadata: { annotations: { "slipway.dev/terminate-op": null } } });
    await patchStatus("guestbook", { operationState: { phase: "Failed", message: "terminated" } });
  });

  it("wait exits 0 once the state is reached, and non-zero on timeout printing the last state", async () => {
    const timedOut = await slipway(["app", "wait", "guestbook", "--timeout", "2s"]);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stdout).toContain("Sync Status:        OutOfSync");
    expect(timedOut.stderr).toContain(
      "error: timed out after 2s waiting for application 'guestbook' (want sync=Synced health=Healthy operation=none; last seen sync=OutOfSync health=Progressing",
    );

    const waiting = slipway(["app", "wait", "guestbook", "--sync", "--health", "--timeout", "20s"]);
    await new Promise((r) => setTimeout(r, 800));
    await patchStatus("guestbook", { sync: { status: "Synced" }, health: { status: "Healthy" } });
    const reached = await waiting;
    expect(reached.code).toBe(0);
    expect(reached.stdout).toContain("Health Status:      Healthy");
  });

  it("history lists deployments; rollback syncs an older one, and is refused under auto-sync", async () => {
    const [sha1, sha2] = [await repo.revParse("v1"), await repo.revParse("main")];
    const source = { repoURL: repo.url, path: "guestbook" };
    await patchStatus("guestbook", {
      history: [
        {
          id: 0,
          revision: sha1,
          deployedAt: "2024-01-01T00:00:00Z",
          source: { ...source, targetRevision: "v1" },
        },
        { id: 1, revision: sha2, deployedAt: "2024-01-02T00:00:00Z", source },
      ],
    });
    const history = await ok(["app", "history", "guestbook"]);
    expect(history.trim().split("\n")).toEqual([
      expect.stringMatching(/^ID\s+DATE\s+REVISION$/),
      expect.stringMatching(new RegExp(`^0\\s+2024-01-01T00:00:00Z\\s+v1 \\(${sha1.slice(0, 7)}\\)$`)),
      expect.stringMatching(new RegExp(`^1\\s+2024-01-02T00:00:00Z\\s+HEAD \\(${sha2.slice(0, 7)}\\)$`)),
    ]);

    await ok(["app", "set", "guestbook", "--sync-policy", "auto"]);
    const refused = await slipway(["app", "rollback", "guestbook", "0"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("error: rollback cannot be initiated when auto-sync is enabled");
    expect((await getApp("guestbook")).operation).toBeUndefined();
    await ok(["app", "set", "guestbook", "--sync-policy", "none"]);

    const running = slipway(["app", "rollback", "guestbook"]);
    const app = await simulateOperation("guestbook", {
      phase: "Succeeded",
      message: "rolled back",
      revision: sha1,
    });
    expect(app.operation.sync).toEqual({ revision: sha1, source: { ...source, targetRevision: "v1" } });
    expect((await running).code).toBe(0);
  });
});

describe("slipway app refresh|delete", () => {
  it("refresh sets the refresh annotation and says when no controller picked it up", async () => {
    const r = await slipway(["app", "refresh", "guestbook", "--hard", "--timeout", "1s"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("has not picked it up");
    expect((await getApp("guestbook")).metadata.annotations["slipway.dev/refresh"]).toBe("hard");
  });

  it("deletes without cascade at once, and with cascade leaves the app to the controller's finalizer", async () => {
    expect(await ok(["app", "delete", "from-file", "--cascade=false", "--wait", "--timeout", "10s"])).toBe(
      "application 'from-file' deleted\n",
    );
    expect((await sb.kubectl(["get", "applications", "from-file", "-n", NS])).code).not.toBe(0);

    const waited = await slipway(["app", "delete", "broken", "--yes", "--wait", "--timeout", "1s"]);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toContain("finalizers: resources-finalizer.slipway.dev");
    const app = await getApp("broken");
    expect(app.metadata.deletionTimestamp).toBeTruthy();
    await patchApp("broken", { metadata: { finalizers: null } });
    await waitFor(async () => (await sb.kubectl(["get", "applications", "broken", "-n", NS])).code !== 0);
  });
});
