/**
 * RenderCache over a real local Git repository (file://) and a real RepoCache: which requests
 * share one render and which do not.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RenderCache } from "../../controller/gitops/render-cache.js";
import { RepoCache } from "../../controller/gitops/source/index.js";

const run = promisify(execFile);
let dir: string;
let repoURL: string;
let sha: string;

async function git(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("git", ["-c", "user.name=t", "-c", "user.email=t@e", ...args], { cwd });
  return stdout.trim();
}

const cm = (name: string, ns?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ""}data:\n  v: "1"\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "slipway-render-cache-"));
  const work = join(dir, "repo");
  const files: Record<string, string> = {
    "plain/a.yaml": cm("a"),
    "plain/b.yaml": cm("b"),
    // Duplicates only when the destination namespace is "team": `c` without a namespace lands there.
    "clash/c1.yaml": cm("c"),
    "clash/c2.yaml": cm("c", "team"),
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(work, path)), { recursive: true });
    await writeFile(join(work, path), text);
  }
  await git(["init", "-q", "--initial-branch=main"], work);
  await git(["add", "-A"], work);
  await git(["commit", "-q", "-m", "init"], work);
  sha = await git(["rev-parse", "HEAD"], work);
  repoURL = pathToFileURL(work).href;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function newCache(): RenderCache {
  return new RenderCache({ repoCache: new RepoCache({ dir: join(dir, `cache-${Math.random()}`) }) });
}

describe("RenderCache", () => {
  it("renders a plain directory once for every app of the same source, whatever their names and namespaces", async () => {
    const cache = newCache();
    const source = { repoURL, path: "plain", targetRevision: "main" };
    const results = await Promise.all(
      ["one", "two", "three"].map((appName, i) =>
        cache.render({ source, sha, appName, namespace: `ns-${i}` }),
      ),
    );
    const again = await cache.render({ source, sha, appName: "four", namespace: "ns-4" });
    expect(cache.renders).toBe(3); // three at once each miss (none finished yet); the fourth hits
    expect(again.objects.map((o) => o.metadata?.name)).toEqual(["a", "b"]);
    expect(again.objects.every((o) => o.metadata?.namespace === undefined)).toBe(true);
    expect(results.map((r) => r.type)).toEqual(["Directory", "Directory", "Directory"]);
  });

  it("checks duplicates against each app's own destination namespace on a shared render", async () => {
    const cache = newCache();
    const source = { repoURL, path: "clash", targetRevision: "main" };
    await expect(cache.render({ source, sha, appName: "x", namespace: "other" })).resolves.toBeDefined();
    await expect(cache.render({ source, sha, appName: "y", namespace: "team" })).rejects.toThrow(
      /duplicate resource ConfigMap team\/c/,
    );
    await expect(cache.render({ source, sha, appName: "z", namespace: "elsewhere" })).resolves.toBeDefined();
    expect(cache.renders).toBe(1);
  });

  it("keeps a render per app where the app's name matters (a chart's release name)", async () => {
    const cache = newCache();
    const source = { repoURL, path: "chart", targetRevision: "main" };
    const first = cache.render({ source, sha, appName: "first", namespace: "n" }).catch((e: Error) => e);
    const second = cache.render({ source, sha, appName: "second", namespace: "n" }).catch((e: Error) => e);
    await Promise.all([first, second]);
    // Without a helm binary the render fails; either way, each app rendered its own.
    expect(cache.renders).toBe(2);
  });
});
