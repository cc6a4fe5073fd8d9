/**
 * controller/kube against a real sandbox over HTTPS: the cluster client (typed, dynamic,
 * discovery that notices new CRDs), and shared informers through adds, updates, deletes,
 * dropped watches and 410 Gone.
 */
import { KubeConfig, type KubernetesObject, type V1ConfigMap } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterClient, type RequestRecord } from "../../controller/kube/cluster-client.js";
import { UnknownKindError } from "../../controller/kube/discovery.js";
import { isNotFound } from "../../controller/kube/errors.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { startCluster, type TestCluster, until } from "./controller-helpers.js";

let cluster: TestCluster;
let client: ClusterClient;
const requests: RequestRecord[] = [];

beforeAll(async () => {
  cluster = await startCluster("kube");
  client = new ClusterClient(cluster.kc, { onRequest: (r) => requests.push(r), discoveryMissTtlMs: 0 });
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

async function namespace(name: string): Promise<void> {
  await client.core.createNamespace({ body: { metadata: { name } } });
}

function widgetCrd(group: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          },
        },
      ],
    },
  };
}

describe("ClusterClient", () => {
  it("reads and writes through typed clients, the dynamic client and raw requests", async () => {
    await namespace("client");
    await client.core.createNamespacedConfigMap({
      namespace: "client",
      body: { metadata: { name: "a" }, data: { k: "1" } },
    });
    const viaDynamic = await client.dynamic.get<V1ConfigMap>({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "client",
      name: "a",
    });
    expect(viaDynamic?.data).toEqual({ k: "1" });
    const applied = await client.dynamic.apply<V1ConfigMap>(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: "client" }, data: { k: "2" } },
      { fieldManager: "slipway-test" },
    );
    expect(applied.metadata?.managedFields?.[0]?.manager).toBe("slipway-test");
    const patched = await client.dynamic.patch<V1ConfigMap>(
      { apiVersion: "v1", kind: "ConfigMap", namespace: "client", name: "b" },
      { data: { k: "3" } },
      "merge",
    );
    expect(patched.data).toEqual({ k: "3" });
    const listed = await client.dynamic.list("v1", "ConfigMap", { namespace: "client" });
    expect(listed.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(
      expect.arrayContaining(["ConfigMap/a", "ConfigMap/b"]),
    );
    expect(
      await client.dynamic.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "client", name: "b" }),
    ).toBe(true);
    expect(
      await client.dynamic.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "client", name: "b" }),
    ).toBe(false);
    expect(
      await client.dynamic.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "client", name: "b" }),
    ).toBeUndefined();
    const error = await client
      .request("GET", "/api/v1/namespaces/client/configmaps/nope")
      .catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
    expect((error as Error).message).toMatch(/^GET \/api\/v1\/namespaces\/client\/configmaps\/nope: 404 /);
    // Every request, typed or raw, was seen by the observer.
    expect(
      requests.some((r) => r.method === "POST" && r.path.endsWith("/configmaps") && r.code === 201),
    ).toBe(true);
    expect(requests.some((r) => r.method === "PATCH" && r.code === 200)).toBe(true);
  });

  it("re-discovers a group/version on a miss, so kinds from a new CRD resolve", async () => {
    await expect(client.dynamic.resource("example.dev/v1", "Widget")).rejects.toBeInstanceOf(
      UnknownKindError,
    );
    await client.dynamic.create(widgetCrd("example.dev"));
    const info = await until("the Widget kind to be served", () =>
      client.dynamic.resource("example.dev/v1", "Widget").catch(() => undefined),
    );
    expect(info).toMatchObject({
      group: "example.dev",
      version: "v1",
      resource: "widgets",
      namespaced: true,
    });
    // Served kinds come from the cache afterwards: no more discovery requests.
    const before = requests.length;
    await client.dynamic.resource("example.dev/v1", "Widget");
    await client.dynamic.resource("v1", "ConfigMap");
    expect(requests.length).toBe(before);
  });

  it("trusts only the kubeconfig's CA, and reuses connections across concurrent requests", async () => {
    // A CA the sandbox's certificate was not issued by: every request must fail verification.
    const other = await startCluster("kube-other-ca");
    try {
      const wrong = new KubeConfig();
      wrong.loadFromString(cluster.kc.exportConfig());
      const otherCa = other.kc.getCurrentCluster()!.caData!;
      wrong.clusters = wrong.clusters.map((c) => ({ ...c, caData: otherCa, caFile: undefined }));
      const untrusting = new ClusterClient(wrong);
      await expect(untrusting.request("GET", "/api/v1/namespaces")).rejects.toThrow(
        /certificate|self.signed|issuer/i,
      );
      untrusting.close();
    } finally {
      await other.stop();
    }
    const pooled = new ClusterClient(cluster.kc);
    const ports = new Set<number>();
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 4 }, () => pooled.request("GET", "/api/v1/namespaces").then(() => undefined)),
      );
    }
    // Sockets the agent holds after the rounds: at most one per request in flight, reused.
    const agent = await (
      pooled as unknown as { sharedAgent(): Promise<import("node:https").Agent> }
    ).sharedAgent();
    for (const list of Object.values(agent.freeSockets))
      for (const socket of list ?? []) ports.add(socket.localPort ?? 0);
    expect(ports.size).toBeGreaterThan(0);
    expect(ports.size).toBeLessThanOrEqual(4);
    pooled.close();
  });

  it("exports request metrics per cluster, method and code", async () => {
    const registry = new Registry();
    const counted = new ClusterClient(cluster.kc, { name: "hub", registry });
    await counted.core.listNamespace();
    await counted.request("GET", "/api/v1/namespaces/default/configmaps/missing").catch(() => undefined);
    const text = await registry.metrics();
    expect(text).toContain('slipway_kube_requests_total{cluster="hub",method="GET",code="200"} 1');
    expect(text).toContain('slipway_kube_requests_total{cluster="hub",method="GET",code="404"} 1');
    counted.close();
  });
});

describe("SharedInformer", () => {
  it("delivers adds, updates (old and new) and deletes, and serves reads from its cache", async () => {
    await namespace("inf");
    const factory = new InformerFactory(client);
    const informer = factory.forResource<V1ConfigMap>(
      { group: "", version: "v1", resource: "configmaps" },
      {
        namespace: "inf",
      },
    );
    // The same resource and scope give the same cache.
    expect(
      factory.forResource({ group: "", version: "v1", resource: "configmaps" }, { namespace: "inf" }),
    ).toBe(informer);
    await client.core.createNamespacedConfigMap({ namespace: "inf", body: { metadata: { name: "pre" } } });
    const events: string[] = [];
    informer.addHandler({
      onAdd: (o) => events.push(`add ${o.metadata?.name}`),
      onUpdate: (old, now) => events.push(`update ${now.metadata?.name} ${old.data?.v}->${now.data?.v}`),
      onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
    });
    informer.addIndex("by-v", (o) => (o.data?.v ? [o.data.v] : []));
    factory.start();
    expect(await factory.waitForSync()).toBe(true);
    expect(events).toEqual(["add pre"]);
    for (const name of ["a", "b"]) {
      await client.core.createNamespacedConfigMap({
        namespace: "inf",
        body: { metadata: { name }, data: { v: "1" } },
      });
    }
    await client.core.patchNamespacedConfigMap({
      namespace: "inf",
      name: "b",
      body: [{ op: "replace", path: "/data/v", value: "2" }],
    });
    await client.core.deleteNamespacedConfigMap({ namespace: "inf", name: "a" });
    await until("every event", () => events.length >= 5);
    expect(events).toEqual(["add pre", "add a", "add b", "update b 1->2", "delete a"]);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["b", "pre"]);
    expect(informer.get("inf", "b")?.data).toEqual({ v: "2" });
    expect(informer.get("inf", "b")?.kind).toBe("ConfigMap");
    expect(informer.byIndex("by-v", "2").map((o) => o.metadata?.name)).toEqual(["b"]);
    expect(informer.byIndex("by-v", "1")).toEqual([]);
    // A late subscriber is told about what is already cached.
    const late: string[] = [];
    informer.addHandler({ onAdd: (o) => late.push(o.metadata!.name!) });
    expect(late.sort()).toEqual(["b", "pre"]);
    await factory.stop();
  });

  it("resumes dropped watches without relisting, relists after 410 Gone, and misses no change", async () => {
    await namespace("faults");
    const registry = new Registry();
    const factory = new InformerFactory(client, {
      registry,
      cluster: "sandbox",
      backoff: { initialMs: 20, maxMs: 200 },
    });
    const informer = factory.forResource(
      { group: "", version: "v1", resource: "configmaps" },
      { namespace: "faults" },
    );
    const deleted: string[] = [];
    informer.addHandler({ onDelete: (o) => deleted.push(o.metadata!.name!) });
    // Faults apply to watches opened after they are set: every watch is cut after 200 ms, and
    // each new one must resume from the last resourceVersion seen.
    await cluster.setFaults([{ verbs: ["watch"], resources: ["configmaps"], dropWatchAfterMs: 200 }]);
    factory.start();
    await informer.waitForSync();
    const counter = async (name: string) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return Number(metric?.values[0]?.value ?? 0);
    };
    try {
      for (let i = 0; i < 6; i++) {
        await client.core.createNamespacedConfigMap({
          namespace: "faults",
          body: { metadata: { name: `cm-${i}` } },
        });
        await new Promise((r) => setTimeout(r, 70));
      }
      await until("all six cached", () => informer.list().length === 6);
      expect(await counter("slipway_informer_lists_total")).toBe(1);
      expect(await counter("slipway_informer_watches_total")).toBeGreaterThan(1);

      // Now every resume is answered 410 Gone: once the open watch is cut, the informer can only
      // relist, and the relist's diff reports the delete it never saw as a watch event.
      await cluster.setFaults([
        { verbs: ["watch"], resources: ["configmaps"], dropWatchAfterMs: 200, goneOnResume: true },
      ]);
      await until("a relist", async () => (await counter("slipway_informer_lists_total")) > 1);
      await client.core.deleteNamespacedConfigMap({ namespace: "faults", name: "cm-2" });
      await client.core.createNamespacedConfigMap({
        namespace: "faults",
        body: { metadata: { name: "late" } },
      });
      await until(
        "the delete and the add",
        () => !informer.get("faults", "cm-2") && informer.get("faults", "late"),
      );
      expect(deleted).toEqual(["cm-2"]);

      await cluster.setFaults([]);
      await client.core.deleteNamespacedConfigMap({ namespace: "faults", name: "late" });
      await until("the last delete", () => !informer.get("faults", "late"), 5000);
      expect(informer.list().map((o) => o.metadata?.name)).toEqual(["cm-0", "cm-1", "cm-3", "cm-4", "cm-5"]);
    } finally {
      await cluster.setFaults([]);
      await factory.stop();
    }
  });

  it("waits for a kind whose CRD is not installed yet, then syncs", async () => {
    const factory = new InformerFactory(client, { backoff: { initialMs: 20, maxMs: 100 } });
    const informer = factory.forResource<KubernetesObject & { spec?: { size?: number } }>({
      apiVersion: "later.dev/v1",
      kind: "Widget",
    });
    factory.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(informer.hasSynced()).toBe(false);
    await client.dynamic.create(widgetCrd("later.dev"));
    expect(await informer.waitForSync()).toBe(true);
    await client.dynamic.create({
      apiVersion: "later.dev/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "default" },
      spec: { size: 3 },
    });
    const widget = await until("the widget", () => informer.get("default", "w"));
    expect(widget.spec?.size).toBe(3);
    await factory.stop();
  });
});

describe("EventRecorder", () => {
  it("writes core/v1 Events and counts repeats instead of writing duplicates", async () => {
    const recorder = new EventRecorder(client, { component: "slipway-controller", host: "pod-1" });
    const cm = await client.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "ev" } },
    });
    const object = { ...cm, apiVersion: "v1", kind: "ConfigMap" };
    recorder.recordEvent(object, "Normal", "Synced", "applied 3 resources");
    recorder.recordEvent(object, "Normal", "Synced", "applied 3 resources");
    recorder.recordEvent(object, "Warning", "SyncFailed", "boom");
    recorder.recordEvent(object, "Normal", "Synced", "applied 3 resources");
    await recorder.flush();
    const list = async () =>
      (
        await client.core.listNamespacedEvent({
          namespace: "default",
          fieldSelector: "involvedObject.name=ev",
        })
      ).items;
    const events = await list();
    expect(events.map((e) => [e.reason, e.type, e.count, e.message]).sort()).toEqual([
      ["SyncFailed", "Warning", 1, "boom"],
      ["Synced", "Normal", 3, "applied 3 resources"],
    ]);
    const synced = events.find((e) => e.reason === "Synced")!;
    expect(synced.source).toEqual({ component: "slipway-controller", host: "pod-1" });
    expect(synced.involvedObject).toMatchObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "ev",
      namespace: "default",
      uid: cm.metadata?.uid,
    });
    expect(synced.metadata?.name).toMatch(/^ev\.[0-9a-f]+$/);

    // The Event expired meanwhile (API servers drop them after an hour): a new one is written.
    await client.core.deleteNamespacedEvent({ namespace: "default", name: synced.metadata!.name! });
    recorder.recordEvent(object, "Normal", "Synced", "applied 3 resources");
    await recorder.flush();
    expect((await list()).filter((e) => e.reason === "Synced").map((e) => e.count)).toEqual([1]);

    // Events of cluster-scoped objects go to "default".
    const ns = await client.core.readNamespace({ name: "client" });
    recorder.recordEvent({ ...ns, apiVersion: "v1", kind: "Namespace" }, "Warning", "Odd", "cluster-scoped");
    await recorder.flush();
    const nsEvents = await client.core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.name=client",
    });
    expect(nsEvents.items.map((e) => [e.involvedObject.kind, e.reason])).toEqual([["Namespace", "Odd"]]);
  });

  it("never throws into the caller when the API refuses the Event", async () => {
    await cluster.setFaults([{ verbs: ["create"], resources: ["events"], errorRate: 1, status: 500 }]);
    try {
      const recorder = new EventRecorder(client);
      recorder.recordEvent(
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "default" } },
        "Normal",
        "Tried",
        "nothing",
      );
      await expect(recorder.flush()).resolves.toBeUndefined();
    } finally {
      await cluster.setFaults([]);
    }
  });
});
