/**
 * install.yaml, applied to a sandbox the way the README tells a user to: the API server accepts
 * every object (server-side dry run, then for real). A first apply into an empty cluster cannot
 * create the default AppProject until its CRD is established, so the documented recipe is: apply
 * the CRDs first (`-l`-free: `kubectl apply -f charts/slipway/crds/` or the whole file, then wait
 * for `condition=established`), then apply the whole file.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";

const file = join(process.cwd(), "install.yaml");
const chartCrds = join(process.cwd(), "charts/slipway/crds");
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const docs = parseAllDocuments(readFileSync(file, "utf8"))
  .map((d) => d.toJSON() as Doc | null)
  .filter((d): d is Doc => d !== null);
const crdDocs = docs.filter((d) => d.kind === "CustomResourceDefinition");

let sb: TestSandbox;
beforeAll(async () => {
  sb = await startTestSandbox({ simulation: false });
});
afterAll(() => sb?.stop());

/** "customresourcedefinition.apiextensions.k8s.io/x created (server dry run)" → one per object. */
function acceptedNames(out: string): string[] {
  return out
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => l.split(" ")[0]!.split("/")[1]!);
}

describe("install.yaml", () => {
  it("has the CRDs, the controller's identity, RBAC, Service, Deployment and the default project", () => {
    expect(docs.map((d) => d.kind)).toEqual([
      ...crdDocs.map(() => "CustomResourceDefinition"),
      "Namespace",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "AppProject",
      "Service",
      "Deployment",
    ]);
    expect(crdDocs).toHaveLength(7);
  });

  it("is accepted object by object by the API server (dry run, then for real)", async () => {
    // 1. The CRDs alone pass a server-side dry run on an empty cluster.
    const dry1 = await sb.kubectlOk(["apply", "--server-side", "--dry-run=server", "-f", chartCrds]);
    expect(acceptedNames(dry1).sort()).toEqual(crdDocs.map((d) => d.metadata.name).sort());

    // 2. What a user does: apply the CRDs, wait until they are established, apply the whole file.
    await sb.kubectlOk(["apply", "--server-side", "-f", chartCrds]);
    await sb.kubectlOk([
      "wait",
      "--for",
      "condition=established",
      "--timeout=30s",
      "crd",
      "-l",
      "app.kubernetes.io/part-of=slipway",
    ]);
    // A server-side dry run cannot create the namespace, so it refuses exactly the namespaced
    // objects (as a real cluster does) and accepts every cluster-scoped one.
    const dry2 = await sb.kubectl(["apply", "--server-side", "--dry-run=server", "-f", file]);
    const namespaced = docs.filter((d) => d.metadata.namespace);
    expect(dry2.stderr.trim().split("\n")).toEqual(
      namespaced.map(() => 'Error from server (NotFound): namespaces "slipway-system" not found'),
    );
    expect(acceptedNames(dry2.stdout)).toEqual(
      docs.filter((d) => !d.metadata.namespace).map((d) => d.metadata.name),
    );
    const real = await sb.kubectlOk(["apply", "--server-side", "-f", file]);
    expect(acceptedNames(real)).toEqual(docs.map((d) => d.metadata.name));

    // 3. Everything is there, and a second dry run of the whole file is clean.
    for (const d of docs) {
      const args = [
        "get",
        `${d.kind.toLowerCase()}.${d.apiVersion.includes("/") ? d.apiVersion.split("/")[0] : ""}`.replace(
          /\.$/,
          "",
        ),
        d.metadata.name,
      ];
      if (d.metadata.namespace) args.push("-n", d.metadata.namespace);
      await sb.kubectlOk(args);
    }
    const dry3 = await sb.kubectlOk(["apply", "--server-side", "--dry-run=server", "-f", file]);
    expect(acceptedNames(dry3)).toEqual(docs.map((d) => d.metadata.name));
  });

  it("applied twice into an empty cluster, the second run also creates the default AppProject", async () => {
    const fresh = await startTestSandbox({ simulation: false });
    try {
      await fresh.kubectl(["apply", "--server-side", "-f", file]);
      await fresh.kubectlOk([
        "wait",
        "--for",
        "condition=established",
        "--timeout=30s",
        "crd",
        "-l",
        "app.kubernetes.io/part-of=slipway",
      ]);
      await fresh.kubectlOk(["apply", "--server-side", "-f", file]);
      await fresh.kubectlOk(["get", "appprojects.slipway.dev", "default", "-n", "slipway-system"]);
      await fresh.kubectlOk(["get", "deployment", "slipway-controller", "-n", "slipway-system"]);
    } finally {
      await fresh.stop();
    }
  });
});
