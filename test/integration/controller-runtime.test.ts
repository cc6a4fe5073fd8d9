/**
 * A Controller with a trivial reconciler (copy a ConfigMap's data into `<name>-copy`) against a
 * real sandbox over HTTPS: it reconciles on watch events, heals its output, makes no API request
 * when nothing changed, retries injected API failures with backoff, and gives up on a
 * TerminalError.
 */
import { isDeepStrictEqual } from "node:util";
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1ConfigMap } from "@kubernetes/client-node";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient, type RequestRecord } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import type { SharedInformer } from "../../controller/kube/informer.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { keyOf, splitKey } from "../../controller/kube/resource.js";
import { Controller } from "../../controller/runtime/controller.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../../controller/runtime/reconciler.js";
import { TerminalError } from "../../controller/runtime/terminal-error.js";
import { delay, startCluster, type TestCluster, until } from "./controller-helpers.js";

const NS = "copies";

/** Copies `data` of ConfigMaps labelled role=source into `<name>-copy` (labelled copy-of=<name>). */
class CopyReconciler implements Reconciler {
  readonly name = "copier";
  readonly attempts: { key: string; at: number; retries: number }[] = [];

  constructor(
    private readonly client: ClusterClient,
    private readonly sources: SharedInformer<V1ConfigMap>,
    private readonly copies: SharedInformer<V1ConfigMap>,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    this.attempts.push({ key, at: Date.now(), retries: ctx.retries });
    const { namespace, name } = splitKey(key);
    const source = this.sources.get(namespace, name);
    const copyName = `${name}-copy`;
    const copy = this.copies.get(namespace, copyName);
    if (!source) {
      if (copy) await this.client.core.deleteNamespacedConfigMap({ namespace: namespace!, name: copyName });
      return {};
    }
    if (source.metadata?.annotations?.["test.slipway.dev/refuse"]) {
      throw new TerminalError(
        `refusing to copy ${key}: ${source.metadata.annotations["test.slipway.dev/refuse"]}`,
      );
    }
    const data = source.data ?? {};
    if (!copy) {
      await this.client.core.createNamespacedConfigMap({
        namespace: namespace!,
        body: { metadata: { name: copyName, labels: { "copy-of": name } }, data },
      });
      this.events.recordEvent(source, "Normal", "Copied", `copied into ${copyName}`);
    } else if (!isDeepStrictEqual(copy.data ?? {}, data)) {
      await this.client.core.replaceNamespacedConfigMap({
        namespace: namespace!,
        name: copyName,
        body: { ...structuredClone(copy), data },
      });
      this.events.recordEvent(source, "Normal", "Copied", `copied into ${copyName}`);
    }
    return {};
  }
}

let cluster: TestCluster;
let core: CoreV1Api;
let client: ClusterClient;
let factory: InformerFactory;
let controller: Controller;
let reconciler: CopyReconciler;
let recorder: EventRecorder;
const registry = new Registry();
/** Every request the controller's client makes. */
const requests: RequestRecord[] = [];

function attemptsFor(key: string) {
  return reconciler.attempts.filter((a) => a.key === key);
}

/** Creates or updates a source ConfigMap with the test's own client (server-side apply). */
async function applySource(name: string, data: Record<string, string>, annotations?: Record<string, string>) {
  await core.patchNamespacedConfigMap(
    {
      namespace: NS,
      name,
      fieldManager: "test",
      force: true,
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          namespace: NS,
          labels: { role: "source" },
          ...(annotations ? { annotations } : {}),
        },
        data,
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
  );
}

async function readCopy(name: string): Promise<Record<string, string> | undefined> {
  return core.readNamespacedConfigMap({ namespace: NS, name: `${name}-copy` }).then(
    (cm) => cm.data ?? {},
    () => undefined,
  );
}

beforeAll(async () => {
  cluster = await startCluster("runtime");
  core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  client = new ClusterClient(cluster.kc, { name: "sandbox", onRequest: (r) => requests.push(r) });
  const log = pino({ level: "silent" });
  factory = new InformerFactory(client, { log, backoff: { initialMs: 20, maxMs: 200 } });
  const sources = factory.forResource<V1ConfigMap>(
    { group: "", version: "v1", resource: "configmaps" },
    { namespace: NS, labelSelector: "role=source" },
  );
  const copies = factory.forResource<V1ConfigMap>(
    { group: "", version: "v1", resource: "configmaps" },
    { namespace: NS, labelSelector: "copy-of" },
  );
  recorder = new EventRecorder(client, { component: "slipway-test" });
  reconciler = new CopyReconciler(client, sources, copies, recorder);
  controller = new Controller({
    reconciler,
    concurrency: 2,
    log,
    registry,
    backoff: { baseDelayMs: 20, maxDelayMs: 1000, jitter: 0.2 },
  })
    .watch(sources)
    .watch(copies, { map: (cm) => keyOf(cm.metadata?.namespace, cm.metadata?.labels?.["copy-of"] ?? "") });
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await factory?.stop();
  client?.close();
  await cluster?.stop();
});

describe("Controller against the sandbox", () => {
  it("reconciles on watch events: creates, updates and heals the copy, and records an Event", async () => {
    await applySource("a", { colour: "blue" });
    expect(await until("the copy", () => readCopy("a"))).toEqual({ colour: "blue" });
    await applySource("a", { colour: "green" });
    await until("the updated copy", async () => (await readCopy("a"))?.colour === "green");
    // Someone edits the copy by hand: the watch on copies brings the controller back.
    await core.patchNamespacedConfigMap({
      namespace: NS,
      name: "a-copy",
      body: [{ op: "replace", path: "/data/colour", value: "red" }],
    });
    await until("the healed copy", async () => (await readCopy("a"))?.colour === "green");
    await recorder.flush();
    const events = await core.listNamespacedEvent({ namespace: NS, fieldSelector: "involvedObject.name=a" });
    const copied = events.items.filter((e) => e.reason === "Copied");
    expect(copied.length).toBe(1);
    expect(copied[0]).toMatchObject({
      type: "Normal",
      count: 3,
      source: { component: "slipway-test" },
      involvedObject: { kind: "ConfigMap", name: "a", namespace: NS },
    });
  });

  it("makes no API request when it reconciles objects that did not change", async () => {
    await applySource("b", { size: "1" });
    await until("the copy", () => readCopy("b"));
    await until("the controller to go idle", async () => (await controller.queue.len()) === 0 && true);
    await delay(100);
    const before = requests.length;
    const revision = cluster.sandbox.core.store.currentRevision;
    const calls = reconciler.attempts.length;
    // Resyncs by hand, and a change the reconciler does not care about (a label on the source,
    // made with the test's own client): reconciles run, reading only the caches.
    for (const key of [`${NS}/a`, `${NS}/b`]) controller.enqueue(key);
    await core.patchNamespacedConfigMap({
      namespace: NS,
      name: "b",
      body: [{ op: "add", path: "/metadata/labels/unrelated", value: "yes" }],
    });
    const revisionAfterTestWrite = cluster.sandbox.core.store.currentRevision;
    await until("three reconciles", () => reconciler.attempts.length >= calls + 3);
    await delay(150);
    expect(requests.slice(before)).toEqual([]);
    expect(revisionAfterTestWrite).toBe(revision + 1);
    expect(cluster.sandbox.core.store.currentRevision).toBe(revisionAfterTestWrite);
  });

  it("retries a failing write with growing backoff, then succeeds once the API recovers", async () => {
    const errorsBefore = await reconcileCount("error");
    await cluster.setFaults([{ verbs: ["create"], resources: ["configmaps"], errorRate: 1, status: 500 }]);
    try {
      await applySource("c", { n: "3" }); // server-side apply is a patch: not hit by the fault
      await until("five failed attempts", () => attemptsFor(`${NS}/c`).length >= 5, 5000);
    } finally {
      await cluster.setFaults([]);
    }
    expect(await until("the copy", () => readCopy("c"))).toEqual({ n: "3" });
    const attempts = attemptsFor(`${NS}/c`);
    expect(attempts.slice(0, 5).map((a) => a.retries)).toEqual([0, 1, 2, 3, 4]);
    // Gaps follow 20 · 2^n ms, less at most 20 % jitter (timers may fire a ms early).
    for (let i = 1; i < 5; i++) {
      const gap = attempts[i]!.at - attempts[i - 1]!.at;
      expect(gap).toBeGreaterThanOrEqual(20 * 2 ** (i - 1) * 0.8 - 2);
    }
    expect(await reconcileCount("error")).toBeGreaterThanOrEqual(errorsBefore + 4);
    expect(requests.some((r) => r.method === "POST" && r.code === 500)).toBe(true);
  });

  it("does not retry a TerminalError, and reconciles again when the object changes", async () => {
    await applySource("d", { x: "1" }, { "test.slipway.dev/refuse": "policy" });
    await until("the refusal", () => attemptsFor(`${NS}/d`).length >= 1);
    await delay(300);
    expect(attemptsFor(`${NS}/d`).length).toBe(1);
    expect(await readCopy("d")).toBeUndefined();
    expect(await reconcileCount("terminal_error")).toBe(1);
    await core.patchNamespacedConfigMap({
      namespace: NS,
      name: "d",
      body: [{ op: "remove", path: "/metadata/annotations" }],
    });
    expect(await until("the copy", () => readCopy("d"))).toEqual({ x: "1" });
  });

  it("cleans up the copy when the source goes", async () => {
    await core.deleteNamespacedConfigMap({ namespace: NS, name: "a" });
    await until("the copy to go", async () => (await readCopy("a")) === undefined);
  });
});

async function reconcileCount(result: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === "slipway_reconcile_total");
  const value = metric?.values.find((v) => v.labels.result === result)?.value;
  return Number(value ?? 0);
}
