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

  private async lead(): Promise<void> {
    this.state = "leading";
    this.log.info("leading: starting controllers");
    this.informers.start();
    await Promise.all(this.controllers.map((c) => c.start()));
    this.leadingReady = true;
  }

  private stopping = false;

  private async unlead(): Promise<void> {
    if (this.state !== "leading") return;
    this.log.warn("no longer leading: stopping controllers");
    this.leadingReady = false;
    await Promise.all(this.controllers.map((c) => c.stop()));
    this.state = "standby";
    if (!this.stopping) this.options.onLostLeadership?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.elector) await this.elector.stop();
    else await this.unlead();
    this.state = "stopped";
    await this.informers.stop();
    await this.recorder.flush();
    await this.http.close();
    this.client.close();
  }
}
