/**
 * Real clients against the sandbox over HTTPS: @kubernetes/client-node informers (list, watch,
 * resume, relist on 410, surviving dropped watches and injected 500s) and the official Python
 * client (Debian python3-kubernetes).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiException, CoreV1Api, KubeConfig, makeInformer } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeKubeconfig } from "../../sandbox/kubeconfig.js";
import { Sandbox } from "../../sandbox/sandbox.js";
import type { FaultRule } from "../../sandbox/server/faults.js";
import { setSandboxFaults } from "../helpers/sandbox.js";
import { commandWorks, serviceAvailable } from "../helpers/services.js";

const run = promisify(execFile);

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined && last !== false) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let sandbox: Sandbox;
let dir: string;
let kubeconfig: string;
let kc: KubeConfig;
let core: CoreV1Api;

function setFaults(rules: FaultRule[]): Promise<void> {
  return setSandboxFaults(sandbox, rules);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "slipway-clients-"));
  kubeconfig = join(dir, "kubeconfig");
  sandbox = new Sandbox({});
  await sandbox.start();
  writeKubeconfig(kubeconfig, sandbox.url, sandbox.caPem, sandbox.token);
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sandbox?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("client-node", () => {
  it("keeps an informer cache in step through creates, updates and deletes", async () => {
    await core.createNamespace({ body: { metadata: { name: "informers" } } });
    const informer = makeInformer(kc, "/api/v1/namespaces/informers/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "informers" }),
    );
    const events: string[] = [];
    informer.on("add", (cm) => events.push(`add ${cm.metadata?.name}`));
    informer.on("update", (cm) => events.push(`update ${cm.metadata?.name}`));
    informer.on("delete", (cm) => events.push(`delete ${cm.metadata?.name}`));
    await informer.start();
    try {
      for (const name of ["a", "b", "c"]) {
        await core.createNamespacedConfigMap({
          namespace: "informers",
          body: { metadata: { name }, data: { v: "1" } },
        });
      }
      await core.patchNamespacedConfigMap({
        namespace: "informers",
        name: "b",
        body: [{ op: "replace", path: "/data/v", value: "2" }],
      });
      await core.deleteNamespacedConfigMap({ namespace: "informers", name: "c" });
      await until("informer to see every change", () => (events.length >= 5 ? true : undefined));
      expect(events).toEqual(["add a", "add b", "add c", "update b", "delete c"]);
      const cached = informer
        .list("informers")
        .map((cm) => `${cm.metadata?.name}=${cm.data?.v}`)
        .sort();
      expect(cached).toEqual(["a=1", "b=2"]);
    } finally {
      await informer.stop();
    }
  });

  it("resumes after dropped watches and relists after 410 Gone, missing no change", async () => {
    await core.createNamespace({ body: { metadata: { name: "resume" } } });
    const informer = makeInformer(kc, "/api/v1/namespaces/resume/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "resume" }),
    );
    const errors: unknown[] = [];
    informer.on("error", (e) => {
      errors.push(e);
      // client-node stops on error; restart it as a controller would (after a short backoff).
      setTimeout(() => void informer.start().catch(() => undefined), 100);
    });
    await informer.start();
    try {
      // Every watch is cut after 300 ms, and every resume from a resourceVersion gets 410.
      await setFaults([
        { verbs: ["watch"], resources: ["configmaps"], dropWatchAfterMs: 300, goneOnResume: true },
      ]);
      for (let i = 0; i < 10; i++) {
        await core.createNamespacedConfigMap({
          namespace: "resume",
          body: { metadata: { name: `cm-${i}` } },
        });
        await new Promise((r) => setTimeout(r, 80));
      }
      await until(
        "informer to hold all 10",
        () => (informer.list("resume").length === 10 ? true : undefined),
        15_000,
      );
      await setFaults([]);
      await core.deleteNamespacedConfigMap({ namespace: "resume", name: "cm-3" });
      await until(
        "informer to see the delete",
        () => (informer.list("resume").length === 9 ? true : undefined),
        15_000,
      );
      expect(informer.list("resume").map((c) => c.metadata?.name)).not.toContain("cm-3");
    } finally {
      await setFaults([]);
      await informer.stop();
    }
  });

  it("surfaces injected 500s as Kubernetes Status errors", async () => {
    await setFaults([{ verbs: ["list"], resources: ["secrets"], errorRate: 1, status: 500 }]);
    try {
      const error = await core.listNamespacedSecret({ namespace: "default" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiException);
      const e = error as ApiException<unknown>;
      expect(e.code).toBe(500);
      const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
      expect(body).toMatchObject({ kind: "Status", status: "Failure", reason: "InternalError", code: 500 });
    } finally {
      await setFaults([]);
    }
    // And the same call works again once the fault is lifted.
    await expect(core.listNamespacedSecret({ namespace: "default" })).resolves.toBeDefined();
  });

  it("rejects requests without the bearer token with 401", async () => {
    const anonymous = new KubeConfig();
    anonymous.loadFromFile(kubeconfig);
    anonymous.users[0] = { name: anonymous.users[0]!.name };
    const error = await anonymous
      .makeApiClient(CoreV1Api)
      .listNamespace()
      .then(
        () => undefined,
        (e: unknown) => e as ApiException<unknown>,
      );
    expect(error?.code).toBe(401);
  });
});

const python = "/usr/bin/python3";
const hasPythonClient = serviceAvailable(
  "the Python Kubernetes client",
  () => commandWorks(python, ["-c", "import kubernetes"]),
  "apt-get install python3-kubernetes",
);

describe.skipIf(!hasPythonClient)("official Python client", () => {
  it("creates, lists, patches, watches and deletes", async () => {
    const script = `
import json, sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
out = {}
v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))
for i in range(3):
    v1.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm{i}", labels={"app": "py"}), data={"i": str(i)}))
lst = v1.list_namespaced_config_map("py", label_selector="app=py")
out["names"] = sorted(c.metadata.name for c in lst.items)
v1.patch_namespaced_config_map("cm1", "py", {"data": {"i": "patched"}})
out["patched"] = v1.read_namespaced_config_map("cm1", "py").data["i"]
w = watch.Watch()
seen = []
for ev in w.stream(v1.list_namespaced_config_map, "py", timeout_seconds=2):
    seen.append(ev["type"] + " " + ev["object"].metadata.name)
    if len(seen) == 3:
        w.stop()
out["watched"] = sorted(seen)
v1.delete_namespaced_config_map("cm2", "py")
try:
    v1.read_namespaced_config_map("cm2", "py")
    out["deleted"] = False
except client.exceptions.ApiException as e:
    out["deleted"] = e.status == 404
try:
    v1.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm0")))
except client.exceptions.ApiException as e:
    out["conflict"] = [e.status, json.loads(e.body)["reason"]]
print(json.dumps(out))
`;
    writeFileSync(join(dir, "client.py"), script);
    const { stdout } = await run(python, [join(dir, "client.py"), kubeconfig], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({
      names: ["cm0", "cm1", "cm2"],
      patched: "patched",
      watched: ["ADDED cm0", "ADDED cm1", "ADDED cm2"],
      deleted: true,
      conflict: [409, "AlreadyExists"],
    });
  });
});
