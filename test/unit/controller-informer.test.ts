/**
 * SharedInformer and Discovery against a scripted API (no network) and a FakeClock: resume
 * points, relist diffs, reconnect pacing, pagination fallback and handler isolation.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { Discovery, UnknownKindError } from "../../controller/kube/discovery.js";
import { apiException } from "../../controller/kube/errors.js";
import { type InformerClient, SharedInformer } from "../../controller/kube/informer.js";
import type { KubeRequestOptions, QueryValue, WatchEvent } from "../../controller/kube/requester.js";
import { FakeClock, flushPromises } from "../../controller/queue/fake-clock.js";

type Obj = KubernetesObject & { data?: Record<string, string> };

const cm = (name: string, rv: string, data: Record<string, string> = {}): Obj => ({
  metadata: { name, namespace: "ns", resourceVersion: rv },
  data,
});

interface ListPage {
  kind?: string;
  apiVersion?: string;
  items: Obj[];
  metadata: { resourceVersion: string; continue?: string };
}

type WatchStep = (
  onEvent: (e: WatchEvent) => void,
  signal: AbortSignal | undefined,
  query: Record<string, QueryValue>,
) => Promise<void>;

/** An API whose list answers and watch streams the test scripts, recording every call. */
class ScriptedApi implements InformerClient {
  readonly server = "https://scripted";
  readonly name = "scripted";
  readonly discovery: Discovery;
  readonly calls: string[] = [];
  lists: (ListPage | Error)[] = [];
  watches: WatchStep[] = [];
  resources: Record<string, { name: string; kind: string; namespaced: boolean }[]> = {};

  constructor(readonly clock: FakeClock) {
    this.discovery = new Discovery(this, { clock, missTtlMs: 1000 });
  }

  async request<T>(method: string, path: string, options: KubeRequestOptions = {}): Promise<T> {
    const q = options.query ?? {};
    if (!path.includes("/configmaps")) {
      this.calls.push(`${method} ${path}`);
      const resources = this.resources[path];
      if (!resources)
        throw apiException(method, path, 404, { kind: "Status", code: 404, reason: "NotFound" });
      return { resources } as T;
    }
    this.calls.push(
      `LIST${q.limit ? ` limit=${q.limit}` : ""}${q.continue ? ` continue=${q.continue}` : ""}`,
    );
    const next = this.lists.shift();
    if (!next) throw new Error("unscripted list");
    if (next instanceof Error) throw next;
    return structuredClone(next) as T;
  }

  watch(
    _path: string,
    query: Record<string, QueryValue>,
    onEvent: (event: WatchEvent) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    this.calls.push(`WATCH rv=${query.resourceVersion}@${this.clock.now()}`);
    const step = this.watches.shift() ?? hang;
    return step(onEvent, signal, query);
  }
}

/** A watch that stays open until the informer stops. */
const hang: WatchStep = (_e, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener("abort", () => resolve());
  });

const deliver =
  (...events: WatchEvent[]): WatchStep =>
  async (onEvent) => {
    for (const e of events) onEvent(e);
  };

const fail =
  (code: number): WatchStep =>
  async () => {
    throw apiException("WATCH", "/api/v1/configmaps", code, { kind: "Status", code });
  };

const gone = (): WatchEvent => ({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });

function informer(api: ScriptedApi, settings: { initialMs?: number; maxMs?: number } = {}) {
  return new SharedInformer<Obj>(
    api,
    { group: "", version: "v1", resource: "configmaps" },
    { namespace: "ns" },
    {
      clock: api.clock,
      random: () => 0,
      backoff: { initialMs: settings.initialMs ?? 100, maxMs: settings.maxMs ?? 400 },
    },
  );
}

function recorder(inf: SharedInformer<Obj>) {
  const events: string[] = [];
  inf.addHandler({
    onAdd: (o) => events.push(`add ${o.metadata?.name}`),
    onUpdate: (old, o) =>
      events.push(
        `update ${o.metadata?.name} ${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`,
      ),
    onDelete: (o) => events.push(`delete ${o.metadata?.name}`),
  });
  return events;
}

describe("SharedInformer", () => {
  it("lists, then watches from the list's resourceVersion and resumes from the last event or bookmark", async () => {
    const api = new ScriptedApi(new FakeClock(0));
    api.lists = [
      { kind: "ConfigMapList", apiVersion: "v1", items: [cm("a", "5")], metadata: { resourceVersion: "7" } },
    ];
    api.watches = [
      deliver(
        { type: "ADDED", object: { ...cm("b", "8"), kind: "ConfigMap", apiVersion: "v1" } },
        { type: "MODIFIED", object: cm("a", "9", { x: "1" }) },
        { type: "MODIFIED", object: cm("a", "9", { x: "1" }) }, // a replay: no second update
        { type: "DELETED", object: cm("b", "10") },
        { type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } },
      ),
    ];
    const inf = informer(api);
    const events = recorder(inf);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    await flushPromises();
    expect(events).toEqual(["add a", "add b", "update a 5->9", "delete b"]);
    // The stream ended cleanly but quickly without news? It delivered events, so at once.
    expect(api.calls).toEqual(["LIST limit=500", "WATCH rv=7@0", "WATCH rv=12@0"]);
    expect(inf.get("ns", "a")).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", data: { x: "1" } });
    expect(inf.lastSyncResourceVersion()).toBe("12");
    await inf.stop();
  });

  it("relists on 410 Gone and reports the difference as adds, updates and deletes", async () => {
    const api = new ScriptedApi(new FakeClock(0));
    api.lists = [
      { items: [cm("keep", "1"), cm("change", "2"), cm("drop", "3")], metadata: { resourceVersion: "3" } },
      { items: [cm("keep", "1"), cm("change", "8"), cm("new", "9")], metadata: { resourceVersion: "9" } },
    ];
    api.watches = [deliver(gone())];
    const inf = informer(api);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    await flushPromises();
    expect(api.calls).toEqual(["LIST limit=500", "WATCH rv=3@0", "LIST limit=500", "WATCH rv=9@0"]);
    expect(events.slice(3)).toEqual(["delete drop", "update change 2->8", "add new"]);
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(["change", "keep", "new"]);
    await inf.stop();
  });

  it("paces failing or empty watches with exponential backoff and resets after a useful one", async () => {
    const clock = new FakeClock(0);
    const api = new ScriptedApi(clock);
    api.lists = [{ items: [], metadata: { resourceVersion: "1" } }];
    const empty: WatchStep = async () => undefined;
    api.watches = [
      fail(500),
      fail(500),
      empty,
      fail(503),
      fail(500),
      deliver({ type: "ADDED", object: cm("x", "2") }),
      fail(500),
      fail(500),
    ];
    const inf = informer(api, { initialMs: 100, maxMs: 400 });
    inf.start();
    await inf.waitForSync();
    await clock.advance(5000);
    const times = api.calls.filter((c) => c.startsWith("WATCH")).map((c) => Number(c.split("@")[1]));
    // 1st failure: retry at once; then 100, 200, 400 (cap), 400; the useful watch resets.
    expect(times).toEqual([0, 0, 100, 300, 700, 1100, 1100, 1100, 1200]);
    expect(api.calls.filter((c) => c.startsWith("LIST"))).toHaveLength(1);
    await inf.stop();
  });

  it("lists again in one piece when a continue token expires mid-pagination", async () => {
    const api = new ScriptedApi(new FakeClock(0));
    const expired = apiException("GET", "/api/v1/configmaps", 410, { kind: "Status", code: 410 });
    api.lists = [
      { items: [cm("a", "1")], metadata: { resourceVersion: "4", continue: "t1" } },
      expired,
      { items: [cm("a", "1"), cm("b", "4")], metadata: { resourceVersion: "6" } },
    ];
    const inf = informer(api);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    expect(api.calls.slice(0, 3)).toEqual(["LIST limit=500", "LIST limit=500 continue=t1", "LIST"]);
    expect(events).toEqual(["add a", "add b"]);
    expect(inf.lastSyncResourceVersion()).toBe("6");
    await inf.stop();
  });

  it("keeps going when a handler throws, and serves indexes", async () => {
    const api = new ScriptedApi(new FakeClock(0));
    api.lists = [
      {
        items: [cm("a", "1", { team: "x" }), cm("b", "2", { team: "y" })],
        metadata: { resourceVersion: "2" },
      },
    ];
    api.watches = [deliver({ type: "MODIFIED", object: cm("b", "3", { team: "x" }) }), hang];
    const inf = informer(api);
    inf.addIndex("team", (o) => (o.data?.team ? [o.data.team] : []));
    inf.addHandler({
      onAdd: () => {
        throw new Error("handler bug");
      },
    });
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    await flushPromises();
    expect(events).toEqual(["add a", "add b", "update b 2->3"]);
    expect(inf.byIndex("team", "x").map((o) => o.metadata?.name)).toEqual(["a", "b"]);
    expect(inf.byIndex("team", "y")).toEqual([]);
    expect(inf.list("ns")).toHaveLength(2);
    expect(inf.list("other")).toEqual([]);
    expect(() => inf.byIndex("nope", "x")).toThrow(/no index "nope"/);
    await inf.stop();
  });

  it("resolves waitForSync with false when stopped first", async () => {
    const api = new ScriptedApi(new FakeClock(0));
    api.lists = [new Error("connection refused")];
    const inf = informer(api);
    inf.start();
    const waiting = inf.waitForSync();
    await flushPromises();
    await inf.stop();
    expect(await waiting).toBe(false);
    expect(inf.hasSynced()).toBe(false);
  });
});

describe("Discovery", () => {
  it("caches per group/version and looks again on a miss at most once per missTtl", async () => {
    const clock = new FakeClock(0);
    const api = new ScriptedApi(clock);
    api.resources["/apis/example.dev/v1"] = [
      { name: "widgets", kind: "Widget", namespaced: true },
      { name: "widgets/status", kind: "Widget", namespaced: true },
    ];
    const widget = await api.discovery.forKind("example.dev/v1", "Widget");
    expect(widget).toMatchObject({ resource: "widgets", namespaced: true, subresources: ["status"] });
    await api.discovery.forKind("example.dev/v1", "Widget");
    expect(api.calls).toEqual(["GET /apis/example.dev/v1"]);

    // A kind not (yet) served: one look within the TTL, then one more look after it.
    await expect(api.discovery.forKind("example.dev/v1", "Gadget")).rejects.toBeInstanceOf(UnknownKindError);
    expect(api.calls).toHaveLength(1);
    await clock.advance(1000);
    api.resources["/apis/example.dev/v1"]!.push({ name: "gadgets", kind: "Gadget", namespaced: false });
    const gadget = await api.discovery.forKind("example.dev/v1", "Gadget");
    expect(gadget).toMatchObject({ resource: "gadgets", namespaced: false });
    expect(api.calls).toHaveLength(2);

    // A group that is not served at all is a miss too, with the same message as client-go.
    await expect(api.discovery.forKind("nope.dev/v1", "Thing")).rejects.toThrow(
      'no matches for kind "Thing" in version "nope.dev/v1"',
    );
  });
});
