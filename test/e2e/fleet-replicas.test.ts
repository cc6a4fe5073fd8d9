/**
 * Two `slipway controller --redis` processes deliver a fleet: a hub sandbox (slipway installed, two
 * targets added with `slipway cluster add`) and an ApplicationSet crossing the clusters generator
 * with a list of apps, from a Git repo over HTTP. Both replicas reconcile Applications (their own
 * /metrics say so); the Lease holder alone runs generators. The leader is then SIGKILLed: the
 * survivor carries the next commit to both targets at once, and after the Lease expires takes over
 * the generators (an app added to the list reaches both targets). kubectl against each target and
 * the hub is the judge of what was delivered where.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitServer, startGitServer, type TestRepo } from "../helpers/git-server.js";
import { connectRedis, deletePrefix, randomPrefix, redisAvailable } from "../helpers/redis.js";
import { type KubeJson, startTestSandbox, type TestSandbox, waitFor } from "../helpers/sandbox.js";
import { configMap, NS } from "./gitops-harness.js";
import { CLI, isLeader, type Replica, reconciles, startReplica, waitReady } from "./replicas-harness.js";

const execFileAsync = promisify(execFile);
const TARGETS = ["target-1", "target-2"];
const APPS = ["app-0", "app-1", "app-2", "app-3"];

describe.skipIf(!redisAvailable())("a fleet delivered by two controller replicas", () => {
  const prefix = randomPrefix();
  let admin: Redis;
  let hub: TestSandbox;
  let targets: TestSandbox[] = [];
  let git: GitServer;
  let repo: TestRepo;
  let cacheRoot: string;
  let first: string;
  const replicas: Replica[] = [];

  const slipway = (args: string[]) =>
    execFileAsync(process.execPath, [CLI, ...args, "--kubeconfig", hub.kubeconfig], { timeout: 30_000 });

  /** The set, its list generator holding `apps`. */
  const appSet = (apps: string[]) => ({
    apiVersion: "slipway.dev/v1alpha1",
    kind: "ApplicationSet",
    metadata: { name: "fleet", namespace: NS },
    spec: {
      generators: [
        {
          matrix: {
            generators: [
              { clusters: { selector: { matchLabels: { "slipway.dev/secret-type": "cluster" } } } },
              { list: { elements: apps.map((app) => ({ app })) } },
            ],
          },
        },
      ],
      template: {
        metadata: { name: "{{name}}-{{app}}" },
        spec: {
          project: "default",
          source: { repoURL: repo.url, path: "fleet", targetRevision: "main" },
          destination: { server: "{{server}}", namespace: "{{app}}" },
          syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ["CreateNamespace=true"] },
        },
      },
    },
  });

  beforeAll(async () => {
    admin = connectRedis();
    let hubAndTargets: TestSandbox[];
    [git, ...hubAndTargets] = await Promise.all([
      startGitServer(),
      startTestSandbox(),
      startTestSandbox(),
      startTestSandbox(),
    ]);
    [hub, ...targets] = hubAndTargets as [TestSandbox, ...TestSandbox[]];
    repo = await git.createRepo("fleet");
    first = await repo.commit({
      "fleet/settings.yaml": configMap("fleet-settings", { color: "blue" }),
      "fleet/flags.yaml": configMap("fleet-flags", { beta: "off" }),
    });
    cacheRoot = await mkdtemp(join(tmpdir(), "slipway-fleet-replicas-"));
    await slipway(["install"]);
    for (const [i, name] of TARGETS.entries())
      await slipway(["cluster", "add", name, "--from-kubeconfig", targets[i]!.kubeconfig]);
    await hub.kubectlOk(["apply", "-f", "-"], { input: JSON.stringify(appSet(APPS)) });
  }, 60_000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill("SIGKILL");
    await Promise.all([hub?.stop(), ...targets.map((t) => t.stop()), git?.close()]);
    if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
    if (admin) {
      await deletePrefix(admin, prefix);
      await admin.quit();
    }
  });

  /** A replica on the hub with its own repo cache (as each pod has), killed in afterAll. */
  async function launch(): Promise<Replica> {
    const dir = join(cacheRoot, `replica-${replicas.length}`);
    const replica = await startReplica(hub.kubeconfig, prefix, ["--repo-cache-dir", dir]);
    replicas.push(replica);
    await waitReady(replica);
    return replica;
  }

  async function settingsIn(t: TestSandbox, app: string): Promise<KubeJson | undefined> {
    const r = await t.kubectl(["get", "configmap", "fleet-settings", "-n", app, "-o", "json"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as KubeJson).data : undefined;
  }

  /** Every generated app (clusters × `apps`) Synced to `revision` and Healthy. */
  async function fleetSynced(apps: string[], revision: string): Promise<true | undefined> {
    const list = await hub.kubectlJson(["get", "applications.slipway.dev", "-n", NS]);
    const want = TARGETS.flatMap((t) => apps.map((a) => `${t}-${a}`)).sort();
    const done = (list.items as KubeJson[])
      .filter(
        (a) =>
          a.status?.sync?.status === "Synced" &&
          a.status.sync.revision === revision &&
          a.status.health?.status === "Healthy",
      )
      .map((a) => a.metadata.name as string)
      .sort();
    return JSON.stringify(done) === JSON.stringify(want) ? true : undefined;
  }

  /** Every app's namespace in both targets holds fleet-settings with `color`. */
  async function delivered(apps: string[], color: string): Promise<true | undefined> {
    for (const t of targets)
      for (const app of apps) if ((await settingsIn(t, app))?.color !== color) return undefined;
    return true;
  }

  const logsOf = () => replicas.map((r, i) => `replica ${i}:\n${r.logs.join("").slice(-1500)}`).join("\n");

  it("both replicas reconcile the set's apps; the ConfigMaps reach both targets, not the hub", async () => {
    await launch();
    await launch();
    await waitFor(() => fleetSynced(APPS, first), {
      timeoutMs: 45_000,
      intervalMs: 250,
      message: `8 apps Synced to ${first} and Healthy (${logsOf()})`,
    });
    expect(await delivered(APPS, "blue")).toBe(true);
    for (const t of targets)
      for (const app of APPS)
        expect((await t.kubectlJson(["get", "configmap", "fleet-flags", "-n", app])).data).toEqual({
          beta: "off",
        });
    // Nothing in the hub: the in-cluster entry is not selected.
    const hubConfigMaps = (await hub.kubectlJson(["get", "configmaps", "-A"])).items as KubeJson[];
    expect(hubConfigMaps.map((c) => c.metadata.name)).not.toContain("fleet-settings");
    expect((await hub.kubectl(["get", "namespace", "app-0"])).code).not.toBe(0);

    // Eight apps, each created, synced and checked: both replicas took some of the keys.
    const done = await Promise.all(replicas.map((r) => reconciles(r, "applications")));
    for (const n of done) expect(n).toBeGreaterThan(0);
    expect(done[0]! + done[1]!).toBeGreaterThanOrEqual(TARGETS.length * APPS.length);
    const leaders = await Promise.all(replicas.map(isLeader));
    expect(leaders.filter(Boolean)).toHaveLength(1);
  }, 60_000);

  it("with the leader SIGKILLed, the survivor delivers the next commit and takes over the generators", async () => {
    const leaders = await Promise.all(replicas.map(isLeader));
    const leader = replicas[leaders.indexOf(true)]!;
    const survivor = replicas[leaders.indexOf(false)]!;
    leader.child.kill("SIGKILL");
    await leader.exited;
    const before = await reconciles(survivor, "applications");

    const second = await repo.commit({
      "fleet/settings.yaml": configMap("fleet-settings", { color: "green" }),
    });
    // A push webhook to the survivor: the apps are refreshed now, not at their next resync.
    const push = await fetch(`${survivor.url}/api/webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-GitHub-Event": "push" },
      body: JSON.stringify({
        ref: "refs/heads/main",
        after: second,
        repository: { clone_url: repo.url, html_url: repo.url.replace(/\.git$/, ""), default_branch: "main" },
        commits: [{ id: second, added: [], removed: [], modified: ["fleet/settings.yaml"] }],
      }),
    });
    expect(push.status).toBe(200);
    await waitFor(() => delivered(APPS, "green"), {
      timeoutMs: 45_000,
      intervalMs: 250,
      message: `the new commit in both targets from the survivor (${logsOf()})`,
    });
    expect(await reconciles(survivor, "applications")).toBeGreaterThanOrEqual(
      before + TARGETS.length * APPS.length,
    );

    // Only a generator run can make apps for a new list element: the survivor must hold the Lease.
    const grown = [...APPS, "app-4"];
    await hub.kubectlOk(["apply", "-f", "-"], { input: JSON.stringify(appSet(grown)) });
    await waitFor(() => fleetSynced(grown, second), {
      timeoutMs: 45_000,
      intervalMs: 250,
      message: `10 apps Synced to ${second} once the survivor leads (${logsOf()})`,
    });
    expect(await delivered(grown, "green")).toBe(true);
    expect(await isLeader(survivor)).toBe(true);
    expect((await hub.kubectl(["get", "namespace", "app-4"])).code).not.toBe(0);

    const exited = survivor.exited;
    survivor.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});
