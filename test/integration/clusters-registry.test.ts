/**
 * ClusterRegistry against three sandboxes: a hub (the controller's own cluster, holding the
 * cluster Secrets) and two targets. Clusters come and go with their Secrets, each with its own
 * lazily made client and informers; connection checks say Successful or Failed with a reason; a
 * dead or silent cluster slows neither lookups nor the checks of the others; malformed Secrets
 * are reported and ignored.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { V1ConfigMap, V1Secret } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterRegistry } from "../../controller/clusters/cluster-registry.js";
import {
  CLUSTER_SECRET_LABEL,
  type ClusterSpec,
  clusterSecret,
  IN_CLUSTER_SERVER,
} from "../../controller/clusters/cluster-secret.js";
import { ClusterClient } from "../../controller/kube/cluster-client.js";
import { EventRecorder } from "../../controller/kube/event-recorder.js";
import { InformerFactory } from "../../controller/kube/informer-factory.js";
import { loadKubeConfig } from "../../controller/kube/kubeconfig.js";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.js";
import { until } from "./controller-helpers.js";

const NS = "slipway-system";

let hub: TestSandbox;
let east: TestSandbox;
let west: TestSandbox;
let hubClient: ClusterClient;
let hubInformers: InformerFactory;
let recorder: EventRecorder;
let registry: ClusterRegistry;
const metrics = new Registry();
let blackhole: Server;
const held: Socket[] = [];
let changes = 0;

function specFor(name: string, sb: TestSandbox, token = sb.sandbox.token): ClusterSpec {
  return {
    name,
    server: sb.url,
    config: {
      bearerToken: token,
      tlsClientConfig: { caData: Buffer.from(sb.sandbox.caPem).toString("base64") },
    },
  };
}

async function putSecret(secret: V1Secret): Promise<void> {
  const name = secret.metadata!.name!;
  await hubClient.core.deleteNamespacedSecret({ namespace: NS, name }).catch(() => undefined);
  await hubClient.core.createNamespacedSecret({ namespace: NS, body: secret });
}

async function deleteSecret(name: string): Promise<void> {
  await hubClient.core.deleteNamespacedSecret({ namespace: NS, name });
}

beforeAll(async () => {
  [hub, east, west] = await Promise.all([
    startTestSandbox({ simulation: false }),
    startTestSandbox({ simulation: false }),
    startTestSandbox({ simulation: false }),
  ]);
  hubClient = new ClusterClient(loadKubeConfig({ kubeconfig: hub.kubeconfig }), { name: "hub" });
  await hubClient.core.createNamespace({ body: { metadata: { name: NS } } });
  hubInformers = new InformerFactory(hubClient);
  recorder = new EventRecorder(hubClient);
  // A server that accepts connections and never answers: a cluster behind a black hole.
  blackhole = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
  registry = new ClusterRegistry({
    client: hubClient,
    informers: hubInformers,
    namespace: NS,
    checkIntervalMs: 60_000,
    checkTimeoutMs: 3_000,
    recorder,
    registry: metrics,
  });
  registry.onChange(() => changes++);
  hubInformers.start();
  registry.start();
  expect(await registry.waitForSync()).toBe(true);
});

afterAll(async () => {
  await registry?.stop();
  await hubInformers?.stop();
  await recorder?.flush();
  hubClient?.close();
  for (const socket of held) socket.destroy();
  blackhole?.close();
  await Promise.all([hub, east, west].map((sb) => sb?.stop()));
});

describe("ClusterRegistry", () => {
  it("always has the controller's own cluster as in-cluster", async () => {
    const inCluster = registry.lookup({ name: "in-cluster" })!;
    expect(inCluster.server).toBe(IN_CLUSTER_SERVER);
    expect(registry.lookup({ server: `${IN_CLUSTER_SERVER}/` })).toBe(inCluster);
    expect(inCluster.client()).toBe(hubClient);
    expect(inCluster.informers()).toBe(hubInformers);
    await registry.checkNow("in-cluster");
    expect(inCluster.connectionState.status).toBe("Successful");
  });

  it("adds a cluster per Secret, with its own client and informers made on first use", async () => {
    const before = changes;
    await putSecret(clusterSecret(specFor("east", east), NS));
    await putSecret({
      ...clusterSecret(specFor("west", west), NS),
      metadata: {
        name: "cluster-west",
        labels: { [CLUSTER_SECRET_LABEL]: "cluster", env: "staging" },
        // kubectl apply's copy of the Secret (credentials included) is not a parameter for generators.
        annotations: {
          owner: "ops",
          "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{}}',
        },
      },
    });
    const eastCluster = await until("east registered", () => registry.lookup({ name: "east" }));
    await until("west registered", () => registry.lookup({ name: "west" }));
    expect(changes).toBeGreaterThan(before);
    expect(registry.lookup({ server: `${east.url}/` })).toBe(eastCluster);
    expect(registry.list().map((c) => [c.name, c.server])).toEqual([
      ["east", east.url],
      ["in-cluster", IN_CLUSTER_SERVER],
      ["west", west.url],
    ]);
    expect(registry.lookup({ name: "west" })!.labels.env).toBe("staging");
    expect(registry.lookup({ name: "west" })!.annotations).toEqual({ owner: "ops" });
    expect(eastCluster.secret).toBe(`${NS}/cluster-east`);

    await until("east checked", () => eastCluster.connectionState.status === "Successful");
    expect(eastCluster.connectionState.serverVersion).toMatch(/^v1\./);
    expect(await metrics.metrics()).toMatch(/slipway_cluster_connected\{cluster="east"\} 1/);

    // The client reaches east (not the hub), and its informers see east's objects.
    const configMaps = eastCluster
      .informers()
      .forResource<V1ConfigMap>(
        { group: "", version: "v1", resource: "configmaps" },
        { namespace: "default" },
      );
    await eastCluster.client().core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "only-in-east" } },
    });
    await until("east's informer sees it", () => configMaps.get("default", "only-in-east"));
    expect(await hub.kubectl(["get", "configmap", "only-in-east", "-n", "default"])).toMatchObject({
      code: 1,
    });
    expect(eastCluster.client()).toBe(eastCluster.client());
  });

  it("reports malformed Secrets (log, Warning Event, problems) and keeps working", async () => {
    const bad = (name: string, stringData: Record<string, string>): V1Secret => ({
      metadata: { name, labels: { [CLUSTER_SECRET_LABEL]: "cluster" } },
      stringData,
    });
    await putSecret(bad("broken-json", { name: "broken", server: "https://10.0.0.1", config: "{not json" }));
    await putSecret(bad("no-server", { name: "nowhere", config: "{}" }));
    await putSecret(
      bad("half-cert", {
        name: "half",
        server: "https://10.0.0.2",
        config: JSON.stringify({
          tlsClientConfig: { certData: Buffer.from("-----BEGIN CERTIFICATE-----").toString("base64") },
        }),
      }),
    );
    await putSecret(
      bad("exec", {
        name: "eks",
        server: "https://10.0.0.3",
        config: '{"execProviderConfig":{"command":"aws"}}',
      }),
    );
    // Same server as east, registered later: refused, east keeps its Secret.
    await putSecret({
      ...clusterSecret(specFor("east-again", east), NS),
      metadata: { name: "dup-server", labels: { [CLUSTER_SECRET_LABEL]: "cluster" } },
    });
    const problems = await until("problems reported", () => {
      const p = registry.problems();
      return p.length === 5 ? p : undefined;
    });
    expect(Object.fromEntries(problems.map((p) => [p.secret, p.message]))).toEqual({
      [`${NS}/broken-json`]: expect.stringMatching(/^config is not valid JSON/),
      [`${NS}/no-server`]: 'missing "server" (the API server URL)',
      [`${NS}/half-cert`]: "config.tlsClientConfig.certData and keyData go together",
      [`${NS}/exec`]: expect.stringMatching(/execProviderConfig is not supported/),
      [`${NS}/dup-server`]: `server ${east.url} is already registered by ${NS}/cluster-east`,
    });
    expect(registry.lookup({ name: "broken" })).toBeUndefined();
    expect(registry.lookup({ server: east.url })!.name).toBe("east");
    await recorder.flush();
    const events = await hub.kubectlJson([
      "get",
      "events",
      "-n",
      NS,
      "--field-selector",
      "reason=InvalidClusterSecret",
    ]);
    const about = events.items.map((e: { involvedObject: { name: string }; type: string }) => [
      e.involvedObject.name,
      e.type,
    ]);
    expect(about).toEqual(
      expect.arrayContaining([
        ["broken-json", "Warning"],
        ["no-server", "Warning"],
        ["dup-server", "Warning"],
      ]),
    );
    // Fixing a Secret clears its problem.
    await putSecret(bad("no-server", { name: "nowhere", server: "https://10.0.0.4", config: "{}" }));
    await until("fixed", () => registry.lookup({ name: "nowhere" }));
    expect(registry.problems().map((p) => p.secret)).not.toContain(`${NS}/no-server`);
    for (const name of ["broken-json", "no-server", "half-cert", "exec", "dup-server"])
      await deleteSecret(name);
    await until("problems cleared", () => registry.problems().length === 0);
  });

  it("says why a cluster fails: refused credentials, a dead server, a silent one", async () => {
    await putSecret(
      clusterSecret(
        specFor("east-bad-token", { ...east, url: east.url.replace("127.0.0.1", "localhost") }, "wrong"),
        NS,
      ),
    );
    await putSecret(
      clusterSecret(
        {
          name: "silent",
          server: `https://127.0.0.1:${(blackhole.address() as { port: number }).port}`,
          config: {},
        },
        NS,
      ),
    );
    const badToken = await until("bad-token registered", () => registry.lookup({ name: "east-bad-token" }));
    const silent = await until("silent registered", () => registry.lookup({ name: "silent" }));
    await until("bad token checked", () => badToken.connectionState.status === "Failed");
    expect(badToken.connectionState.message).toBe("the cluster refused the credentials (401 Unauthorized)");

    // All checks at once: east answers long before the silent cluster times out.
    const eastCluster = registry.lookup({ name: "east" })!;
    const started = Date.now();
    const all = registry.checkNow();
    await registry.checkNow("east"); // joins the check in flight
    expect(Date.now() - started).toBeLessThan(2_500);
    await all;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(silent.connectionState).toMatchObject({ status: "Failed", message: "no answer within 3s" });
    expect(eastCluster.connectionState.status).toBe("Successful");

    // A stopped cluster: Failed with the reason, and lookups stay instant.
    await west.stop();
    const westCluster = registry.lookup({ name: "west" })!;
    await registry.checkNow("west");
    expect(westCluster.connectionState.status).toBe("Failed");
    expect(westCluster.connectionState.message).toMatch(/ECONNREFUSED/);
    expect(await metrics.metrics()).toMatch(/slipway_cluster_connected\{cluster="west"\} 0/);
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) registry.lookup({ name: "east" });
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it("closes a cluster's client and informers when its Secret goes, and makes new ones when it changes", async () => {
    const eastCluster = registry.lookup({ name: "east" })!;
    const informer = eastCluster
      .informers()
      .forResource<V1ConfigMap>(
        { group: "", version: "v1", resource: "configmaps" },
        { namespace: "default" },
      );
    expect(informer.started).toBe(true);
    // A changed config (here: the same credentials, one more field) means a fresh client.
    const changed = clusterSecret(
      {
        ...specFor("east", east),
        config: {
          ...specFor("east", east).config,
          tlsClientConfig: { ...specFor("east", east).config.tlsClientConfig, serverName: "localhost" },
        },
      },
      NS,
    );
    await hubClient.core.replaceNamespacedSecret({ namespace: NS, name: "cluster-east", body: changed });
    const renewed = await until("east replaced", () => {
      const c = registry.lookup({ name: "east" });
      return c && c !== eastCluster ? c : undefined;
    });
    await until("old informers stopped", () => !informer.started);
    await until("new client checked", () => renewed.connectionState.status === "Successful");

    const renewedInformer = renewed
      .informers()
      .forResource<V1ConfigMap>(
        { group: "", version: "v1", resource: "configmaps" },
        { namespace: "default" },
      );
    await deleteSecret("cluster-east");
    await until("east removed", () => registry.lookup({ name: "east" }) === undefined);
    expect(registry.lookup({ server: east.url })).toBeUndefined();
    await until("its informers stopped", () => !renewedInformer.started);
    expect(await metrics.metrics()).not.toMatch(/slipway_cluster_connected\{cluster="east"\}/);
  });

  it("refuses a second Secret with a cluster name already taken, and lets a Secret rename in-cluster", async () => {
    await putSecret({
      ...clusterSecret({ ...specFor("silent", east) }, NS),
      metadata: { name: "silent-twin", labels: { [CLUSTER_SECRET_LABEL]: "cluster" } },
    });
    await until("name conflict reported", () =>
      registry
        .problems()
        .find(
          (p) => p.secret === `${NS}/silent-twin` && /cluster name "silent" is already used/.test(p.message),
        ),
    );
    await deleteSecret("silent-twin");
    await putSecret({
      ...clusterSecret({ name: "hub", server: IN_CLUSTER_SERVER, config: {} }, NS),
      metadata: { name: "in-cluster-name", labels: { [CLUSTER_SECRET_LABEL]: "cluster", role: "hub" } },
    });
    const renamed = await until("in-cluster renamed", () => registry.lookup({ name: "hub" }));
    expect(renamed.server).toBe(IN_CLUSTER_SERVER);
    expect(renamed.client()).toBe(hubClient);
    expect(renamed.labels.role).toBe("hub");
    expect(registry.lookup({ name: "in-cluster" })).toBeUndefined();
    await deleteSecret("in-cluster-name");
    await until("name back", () => registry.lookup({ name: "in-cluster" }));
  });
});
