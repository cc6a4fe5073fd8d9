/**
 * Destination → cluster resolution and the queue group of an app (cluster-targets.ts), with the
 * per-cluster limit rules they feed (concurrency-limits.ts). No request is made: the clients here
 * point at a port nothing listens on, and resolution is a map read by design.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster, ClusterRegistry } from "../../controller/clusters/cluster-registry.js";
import type { ConnectionState } from "../../controller/clusters/connection-check.js";
import {
  ClusterTargets,
  clusterGroup,
  type DestinationRef,
} from "../../controller/gitops/cluster-targets.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { compileLimits, groupOf } from "../../controller/queue/concurrency-limits.js";

const OWN_SERVER = "https://127.0.0.1:1";

function client(server = OWN_SERVER): ClusterClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return new ClusterClient(kc);
}

/** A registered cluster as the registry hands it out (its client is made, never used). */
function cluster(name: string, server: string, state: ConnectionState): Cluster {
  const c = client(server);
  const informers = new InformerFactory(c);
  return {
    name,
    server,
    inCluster: false,
    secret: `slipway-system/cluster-${name}`,
    labels: {},
    annotations: {},
    connectionState: state,
    client: () => c,
    informers: () => informers,
  };
}

/** The registry's lookup surface over a fixed set of clusters. */
function registry(clusters: Cluster[]): ClusterRegistry {
  return {
    checkIntervalMs: 30_000,
    lookup: (ref: { server?: string; name?: string }) =>
      clusters.find((c) => (ref.server !== undefined ? c.server === ref.server : c.name === ref.name)),
    onChange: () => () => undefined,
    checkNow: async () => undefined,
  } as unknown as ClusterRegistry;
}

const OK: ConnectionState = { status: "Successful" };
let made: ClusterTargets[] = [];

function targets(clusters?: ClusterRegistry): ClusterTargets {
  const c = client();
  const t = new ClusterTargets({
    client: c,
    informers: new InformerFactory(c),
    namespace: "slipway-system",
    onChange: () => undefined,
    ...(clusters ? { clusters } : {}),
  });
  made.push(t);
  return t;
}

afterEach(() => {
  for (const t of made) t.close();
  made = [];
});

describe("clusterGroup", () => {
  const east = cluster("east", "https://east.example:6443", OK);
  it("names one group per destination cluster", () => {
    expect(clusterGroup({ kind: "cluster", cluster: east })).toBe("cluster/east/");
    expect(clusterGroup({ kind: "in-cluster" })).toBe("cluster/in-cluster/");
    expect(clusterGroup({ kind: "in-cluster" }, "hub")).toBe("cluster/hub/");
  });
  it("keeps a name with a slash in one segment", () => {
    const odd = cluster("team/a", "https://a.example", OK);
    expect(clusterGroup({ kind: "cluster", cluster: odd })).toBe("cluster/team%2Fa/");
  });
  it("gives an unresolved destination no group (it does no work)", () => {
    const ref: DestinationRef = { kind: "unresolved", reason: "NotRegistered", message: "x" };
    expect(clusterGroup(ref)).toBeUndefined();
  });
  it("feeds the `cluster/*/` limit rules, the most specific rule winning", () => {
    const rules = compileLimits({ "cluster/*/": 4, "cluster/prod/": 1 });
    const group = (name: string) =>
      clusterGroup({ kind: "cluster", cluster: cluster(name, `https://${name}`, OK) })!;
    expect(groupOf(rules, group("east"))).toEqual({ group: "cluster/east/", limit: 4 });
    expect(groupOf(rules, group("prod"))).toEqual({ group: "cluster/prod/", limit: 1 });
    expect(groupOf(rules, group("team/a"))).toEqual({ group: "cluster/team%2Fa/", limit: 4 });
  });
});

describe("ClusterTargets.locate", () => {
  it("knows the controller's own cluster by every spelling", () => {
    const t = targets();
    for (const destination of [
      { server: "https://kubernetes.default.svc" },
      { server: "https://kubernetes.default.svc/" },
      { server: OWN_SERVER },
      { name: "in-cluster" },
    ]) {
      expect(t.locate(destination).kind).toBe("in-cluster");
    }
  });
  it("refuses clusters no Secret registers, and a destination naming none", () => {
    const t = targets(registry([]));
    const byName = t.locate({ name: "east" });
    expect(byName).toMatchObject({ kind: "unresolved", reason: "NotRegistered" });
    expect(byName.kind === "unresolved" && byName.message).toMatch(
      /^cluster with name "east" has not been configured: no Secret labelled slipway.dev\/secret-type=cluster in slipway-system/,
    );
    const byServer = t.locate({ server: "https://east.example:6443/" });
    expect(byServer.kind === "unresolved" && byServer.message).toMatch(
      /^cluster with server https:\/\/east.example:6443 has not been configured/,
    );
    expect(t.locate({ namespace: "x" })).toMatchObject({ kind: "unresolved", reason: "Invalid" });
  });
  it("accepts server and name together only when they name the same cluster", () => {
    const east = cluster("east", "https://east.example:6443", OK);
    const west = cluster("west", "https://west.example:6443", OK);
    const t = targets(registry([east, west]));
    expect(t.locate({ server: east.server, name: "east" })).toEqual({ kind: "cluster", cluster: east });
    expect(t.locate({ server: "https://kubernetes.default.svc", name: "in-cluster" })).toEqual({
      kind: "in-cluster",
    });
    const mixed = t.locate({ server: east.server, name: "west" });
    expect(mixed).toMatchObject({ kind: "unresolved", reason: "Invalid" });
    expect(mixed.kind === "unresolved" && mixed.message).toBe(
      'spec.destination names server https://east.example:6443 and cluster "west", which are not the same cluster; give one of them',
    );
  });
  it("finds registered clusters by server (with or without a trailing slash) or by name", () => {
    const east = cluster("east", "https://east.example:6443", OK);
    const t = targets(registry([east]));
    expect(t.locate({ server: "https://east.example:6443/" })).toEqual({ kind: "cluster", cluster: east });
    expect(t.locate({ name: "east" })).toEqual({ kind: "cluster", cluster: east });
  });
});

describe("ClusterTargets.resolve", () => {
  it("reports a cluster not checked yet or failing as Unavailable, with a retry and no client", () => {
    const fresh = cluster("fresh", "https://fresh.example", {
      status: "Unknown",
      message: "not checked yet",
    });
    const down = cluster("down", "https://down.example", {
      status: "Failed",
      message: "connect ECONNREFUSED 10.0.0.1:6443",
    });
    const t = targets(registry([fresh, down]));
    expect(t.resolve({ name: "fresh" })).toMatchObject({
      ok: false,
      reason: "Unavailable",
      message: 'cluster "fresh" (https://fresh.example) has not answered its first connection check yet',
    });
    expect(t.resolve({ name: "down" })).toEqual({
      ok: false,
      reason: "Unavailable",
      message: 'cluster "down" (https://down.example) is unreachable: connect ECONNREFUSED 10.0.0.1:6443',
      retryAfterMs: 30_000,
    });
  });
  it("gives a healthy cluster its own client and one live-state cache, replaced with new credentials", () => {
    const first = cluster("east", "https://east.example", OK);
    const clusters = [first];
    const t = targets(registry(clusters));
    const a = t.resolve({ server: "https://east.example" });
    const b = t.resolve({ name: "east" });
    if (!a.ok || !b.ok) throw new Error("expected the cluster to resolve");
    expect(a.target).toMatchObject({ name: "east", server: "https://east.example", inCluster: false });
    expect(a.target.client).toBe(first.client());
    expect(b.target.live).toBe(a.target.live);
    // The registry replaces the entry when the Secret's credentials change.
    clusters[0] = cluster("east", "https://east.example", OK);
    const c = t.resolve({ name: "east" });
    if (!c.ok) throw new Error("expected the cluster to resolve");
    expect(c.target.live).not.toBe(a.target.live);
    expect(c.target.client).toBe(clusters[0].client());
  });
  it("uses the controller's own client for the in-cluster destination", () => {
    const t = targets();
    const r = t.resolve({ server: "https://kubernetes.default.svc", namespace: "x" });
    if (!r.ok) throw new Error("expected the in-cluster destination to resolve");
    expect(r.target).toMatchObject({
      name: "in-cluster",
      server: "https://kubernetes.default.svc",
      inCluster: true,
    });
    expect(r.target.client).toBe(t.inCluster.client);
    expect(r.target.live).toBe(t.inCluster.live);
  });
});
