/**
 * The controller process: one cluster client, shared informer caches, the HTTP server, leader
 * election, and the reconcilers plugged in by factories. `slipway controller` builds one of these;
 * tests and the demo can build one in-process the same way.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { ClusterClient } from "./kube/cluster-client.js";
import { EventRecorder } from "./kube/event-recorder.js";
import { InformerFactory } from "./kube/informer-factory.js";
import { LeaderElector } from "./kube/leader-election.js";
import { ControllerHttpServer, type WebhookHandler } from "./server/http-server.js";

/** What every reconciler factory gets: the shared parts of the process. */
export interface ManagerDeps {
  client: ClusterClient;
  informers: InformerFactory;
  registry: Registry;
  recorder: EventRecorder;
  log: Logger;
  /** Namespace of Applications, ApplicationSets, AppProjects and slipway's own Secrets. */
  namespace: string;
  appResyncMs: number;
  workers: number;
  /** Where Git repositories are cached. */
  repoCacheDir: string;
}

/** A reconciler (or group of them) the manager starts while it leads and stops on shutdown. */
export interface ManagedController {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Handles POST /api/webhook (at most one controller provides it). */
  webhookHandler?: WebhookHandler;
  /**
   * Runs on every replica, not only the leader: its keys live in a queue shared by the replicas
   * (Redis), which hands each key to one worker at a time, so more replicas mean more capacity.
   * Work that must have one owner (generators) leaves this unset and runs under the Lease.
   */
  everyReplica?: boolean;
}

export type ControllerFactory = (deps: ManagerDeps) => ManagedController | Promise<ManagedController>;

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  httpAddr: string;
  appResyncMs: number;
  workers: number;
  repoCacheDir: string;
  controllers: ControllerFactory[];
  /** Lease-based leader election so only one process reconciles (default true). */
  leaderElection?: boolean;
  /**
   * Called when leadership is lost while running. Controllers cannot be restarted in place, so the
   * command exits and lets its supervisor start a fresh process (as controller-runtime does).
   */
  onLostLeadership?: () => void;
  log?: Logger;
}

export class ControllerManager {
  readonly registry = new Registry();
  readonly log: Logger;
  readonly client: ClusterClient;
  readonly informers: InformerFactory;
  readonly recorder: EventRecorder;
  private readonly http: ControllerHttpServer;
  private readonly controllers: ManagedController[] = [];
  private elector: LeaderElector | undefined;
  private state: "starting" | "standby" | "leading" | "stopped" = "starting";
  private leadingReady = false;
  /** The every-replica controllers have synced their caches and run (true when there are none). */
  private sharedReady = true;

  constructor(private readonly options: ManagerOptions) {
    this.log = options.log ?? pino({ name: "slipway-controller" });
    collectDefaultMetrics({ register: this.registry, prefix: "slipway_process_" });
    this.client = new ClusterClient(options.kubeConfig, { registry: this.registry });
    this.informers = new InformerFactory(this.client, { registry: this.registry, log: this.log });
    this.recorder = new EventRecorder(this.client, { component: "slipway-controller", log: this.log });
    this.http = new ControllerHttpServer({
      addr: options.httpAddr,
      registry: this.registry,
      readiness: () => {
        if (!this.sharedReady) return { ready: false, reason: "caches syncing" };
        if (this.state === "standby") return { ready: true };
        if (this.state === "leading" && this.leadingReady) return { ready: true };
        return { ready: false, reason: this.state === "leading" ? "caches syncing" : this.state };
      },
    });
  }

  /** Starts the HTTP server, then campaigns for leadership; returns the HTTP server's URL. */
  async start(): Promise<string> {
    await this.checkInstalled();
    const deps: ManagerDeps = {
      client: this.client,
      informers: this.informers,
      registry: this.registry,
      recorder: this.recorder,
      log: this.log,
      namespace: this.options.namespace,
      appResyncMs: this.options.appResyncMs,
      workers: this.options.workers,
      repoCacheDir: this.options.repoCacheDir,
    };
    for (const factory of this.options.controllers) this.controllers.push(await factory(deps));
    const webhook = this.controllers.find((c) => c.webhookHandler)?.webhookHandler;
    if (webhook) this.http.setWebhookHandler(webhook);
    const url = await this.http.listen();
    await this.startShared();

    if (this.options.leaderElection === false) {
      await this.lead();
      return url;
    }
    this.state = "standby";
    this.elector = new LeaderElector(this.client, {
      namespace: this.options.namespace,
      name: "slipway-controller",
      identity: `${hostname()}-${randomBytes(4).toString("hex")}`,
      registry: this.registry,
      log: this.log,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => this.unlead(),
    });
    this.elector.start();
    return url;
  }

  /** Fails fast, with what to do, when slipway is not installed in the cluster. */
  private async checkInstalled(): Promise<void> {
    const ns = this.options.namespace;
    const namespace = await this.client.dynamic.get({ apiVersion: "v1", kind: "Namespace", name: ns });
    if (!namespace) {
      throw new Error(
        `namespace "${ns}" not found in ${this.client.server}: run "slipway install" first (or pass -n)`,
      );
    }
  }

  private get shared(): ManagedController[] {
    return this.controllers.filter((c) => c.everyReplica);
  }

  private get leaderOnly(): ManagedController[] {
    return this.controllers.filter((c) => !c.everyReplica);
  }

  /** Starts the controllers whose work the replicas divide through a shared queue. */
  private async startShared(): Promise<void> {
    const shared = this.shared;
    if (shared.length === 0) return;
    this.sharedReady = false;
    this.log.info({ controllers: shared.map((c) => c.name) }, "starting controllers shared by every replica");
    this.informers.start();
    await Promise.all(shared.map((c) => c.start()));
    this.sharedReady = true;
  }

  private async lead(): Promise<void> {
    this.state = "leading";
    const leaderOnly = this.leaderOnly;
    this.log.info({ controllers: leaderOnly.map((c) => c.name) }, "leading: starting controllers");
    this.informers.start();
    await Promise.all(leaderOnly.map((c) => c.start()));
    this.leadingReady = true;
  }

  private stopping = false;

  private async unlead(): Promise<void> {
    if (this.state !== "leading") return;
    this.log.warn("no longer leading: stopping controllers");
    this.leadingReady = false;
    await Promise.all(this.leaderOnly.map((c) => c.stop()));
    this.state = "standby";
    if (!this.stopping) this.options.onLostLeadership?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.elector) await this.elector.stop();
    else await this.unlead();
    await Promise.all(this.shared.map((c) => c.stop()));
    this.state = "stopped";
    await this.informers.stop();
    await this.recorder.flush();
    await this.http.close();
    this.client.close();
  }
}
