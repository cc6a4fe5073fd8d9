/**
 * The ApplicationSet controller: generators → Applications owned by the set, written per
 * `syncPolicy.applicationsSync`, and a RollingSync strategy that triggers syncs step by step.
 * A generator error or an invalid result never deletes what was generated before.
 */

import type { KubernetesObject } from "@kubernetes/client-node";
import pino, { type Logger } from "pino";
import type { Registry } from "prom-client";
import { cloneJson } from "../../api/json.js";
import type { Application } from "../../api/v1alpha1/application.js";
import type {
  ApplicationSet,
  ApplicationSetApplicationStatus,
  ApplicationSetCondition,
  ApplicationSetStatus,
} from "../../api/v1alpha1/applicationset.js";
import { API_VERSION } from "../../api/v1alpha1/common.js";
import { DEFAULT_NAMESPACE } from "../../api/v1alpha1/crds.js";
import type { ClusterRegistry } from "../clusters/cluster-registry.js";
import { ARGO_RESOURCES_FINALIZER, RESOURCES_FINALIZER } from "../gitops/app-deletion.js";
import { deepEqual } from "../gitops/diff/object.js";
import { objectCache } from "../gitops/object-cache.js";
import type { RepoCache } from "../gitops/source/repo-cache.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import { isAlreadyExists, isNotFound } from "../kube/errors.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { InformerFactory } from "../kube/informer-factory.js";
import { keyOf, splitKey } from "../kube/resource.js";
import type { Clock } from "../queue/clock.js";
import { systemClock } from "../queue/clock.js";
import { Controller, type InformerEvent } from "../runtime/controller.js";
import { controllerOwnerKey } from "../runtime/key-mappers.js";
import { mapLimited } from "../runtime/map-limited.js";
import type { ReconcileContext, ReconcileResult, Reconciler } from "../runtime/reconciler.js";
import { type ClusterInfo, type GeneratorContext, generateParams } from "./generators.js";
import { type GeneratedSet, ownedBy, planWrites, renderApplications } from "./plan.js";
import { planRollingSync } from "./rolling-sync.js";

export interface ApplicationSetControllerOptions {
  client: ClusterClient;
  informers: InformerFactory;
  /** Where ApplicationSets and their Applications live. Default `slipway-system`. */
  namespace?: string;
  /** For the clusters generator; without it only the in-cluster entry is known. */
  clusters?: ClusterRegistry;
  /** For the git generator; without it a git generator reports an error. */
  repoCache?: RepoCache;
  registry?: Registry;
  log?: Logger;
  recorder?: EventRecorder;
  clock?: Clock;
  concurrency?: number;
  /** Re-run generators this often (git, clusters). Default 180 s. */
  resyncMs?: number;
}

export interface ApplicationSetController {
  readonly name: "applicationsets";
  readonly controller: Controller;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const IN_CLUSTER: ClusterInfo = {
  name: "in-cluster",
  server: "https://kubernetes.default.svc",
  labels: {},
  annotations: {},
};

function condition(
  type: string,
  status: "True" | "False",
  reason: string,
  message: string,
  previous: readonly ApplicationSetCondition[],
  now: string,
): ApplicationSetCondition {
  const before = previous.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: before && before.status === status ? (before.lastTransitionTime ?? now) : now,
  };
}

function isResourcesFinalizer(f: string): boolean {
  return (
    f === RESOURCES_FINALIZER || f === ARGO_RESOURCES_FINALIZER || f.startsWith(`${RESOURCES_FINALIZER}/`)
  );
}

export class ApplicationSetReconciler implements Reconciler {
  readonly name = "applicationsets";
  constructor(
    private readonly deps: {
      client: ClusterClient;
      sets: { get(ns: string | undefined, name: string): ApplicationSet | undefined };
      apps: { list(ns?: string): Application[] };
      clusters?: ClusterRegistry;
      repoCache?: RepoCache;
      recorder?: EventRecorder;
      resyncMs: number;
    },
  ) {}

  private generatorContext(set: ApplicationSet): GeneratorContext {
    const { clusters, repoCache } = this.deps;
    return {
      goTemplate: set.spec.goTemplate === true,
      clusters: () => (clusters ? clusters.list() : [IN_CLUSTER]),
      checkout: async (repoURL, revision) => {
        if (!repoCache) throw new Error("this controller has no Git cache");
        return (await repoCache.checkoutRevision(repoURL, revision, { refresh: true })).dir;
      },
    };
  }

  /** Per set: the last render and what it was rendered from. */
  private readonly renders = new Map<string, { input: string; apps: Application[] }>();
  /** Per set: apps that needed no write, with the resourceVersion and desired object compared. */
  private readonly upToDate = new Map<
    string,
    Map<string, { rv: string | undefined; desired: Application }>
  >();

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.deps.sets.get(namespace, name);
    if (!cached) {
      this.renders.delete(key);
      this.upToDate.delete(key);
      return {};
    }
    const set = cloneJson(cached);
    const owned = this.deps.apps.list(namespace).filter((a) => ownedBy(a, set));
    if (set.metadata.deletionTimestamp) {
      if (set.spec.syncPolicy?.preserveResourcesOnDeletion) await this.stripFinalizers(owned);
      return {};
    }
    // Seconds, as metav1.Time is stored: a re-read status compares equal and writes nothing.
    const now = new Date(Math.floor(ctx.clock.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const prevConditions = set.status?.conditions ?? [];
    const fail = async (reason: string, message: string): Promise<ReconcileResult> => {
      ctx.log.warn({ reason }, message);
      this.deps.recorder?.recordEvent(set as unknown as KubernetesObject, "Warning", reason, message);
      await this.writeStatus(set, {
        ...set.status,
        conditions: [
          condition("ErrorOccurred", "True", reason, message, prevConditions, now),
          condition("ParametersGenerated", "False", reason, message, prevConditions, now),
          condition("ResourcesUpToDate", "False", reason, message, prevConditions, now),
        ],
        ...this.resourcesStatus(owned),
      });
      return { requeueAfter: Math.min(30_000, this.deps.resyncMs) };
    };

    // 1. Parameters.
    const genCtx = this.generatorContext(set);
    const generated: GeneratedSet[] = [];
    for (const [i, gen] of set.spec.generators.entries()) {
      try {
        generated.push({ generatorIndex: i, params: await generateParams(gen, genCtx) });
      } catch (error) {
        return fail("ApplicationGenerationFromParamsError", (error as Error).message);
      }
    }
    // 2. Applications: rendered again only when the set or its generators' output changed (a set
    // of 500 apps is woken by their status changes far more often than its inputs change).
    let desired: Application[];
    const renderInput = JSON.stringify([set.metadata.uid, set.metadata.generation, set.spec, generated]);
    const lastRender = this.renders.get(key);
    if (lastRender?.input === renderInput) {
      desired = lastRender.apps;
    } else {
      try {
        desired = renderApplications(set, generated);
      } catch (error) {
        this.renders.delete(key);
        return fail("ApplicationGenerationFromParamsError", (error as Error).message);
      }
      this.renders.set(key, { input: renderInput, apps: desired });
      this.upToDate.delete(key);
    }
    const rolling = set.spec.strategy?.type === "RollingSync";
    if (rolling) {
      // Progressive sync owns the syncing: no automated sync on generated apps.
      for (const app of desired) {
        if (app.spec.syncPolicy?.automated) delete app.spec.syncPolicy.automated;
      }
    }
    // Names taken by an Application the set does not own: refuse those (never adopt silently).
    const ownedNames = new Set(owned.map((a) => a.metadata.name));
    const allNames = new Set(this.deps.apps.list(namespace).map((a) => a.metadata.name));
    const foreign = desired.filter((d) => !ownedNames.has(d.metadata.name) && allNames.has(d.metadata.name));
    if (foreign.length) {
      return fail(
        "ApplicationNameConflict",
        `Applications ${foreign.map((a) => a.metadata.name).join(", ")} already exist and are not owned by this ApplicationSet`,
      );
    }

    // 3. Writes.
    // An app already compared equal to this very desired object, and unchanged since (same
    // resourceVersion), needs no second comparison.
    const seen =
      this.upToDate.get(key) ?? new Map<string, { rv: string | undefined; desired: Application }>();
    this.upToDate.set(key, seen);
    const writes = planWrites(
      desired,
      owned,
      set.spec.syncPolicy?.applicationsSync ?? "sync",
      set.spec.preservedFields ?? {},
      (d, existing) => {
        const last = seen.get(d.metadata.name ?? "");
        return last !== undefined && last.desired === d && last.rv === existing.metadata.resourceVersion;
      },
    );
    const writing = new Set(writes.map((w) => (w.op === "delete" ? w.existing : w.app).metadata.name));
    const desiredByName = new Map(desired.map((d) => [d.metadata.name, d]));
    for (const existing of owned) {
      const d = desiredByName.get(existing.metadata.name);
      if (d && !writing.has(existing.metadata.name))
        seen.set(existing.metadata.name ?? "", { rv: existing.metadata.resourceVersion, desired: d });
      else seen.delete(existing.metadata.name ?? "");
    }
    const preserve = set.spec.syncPolicy?.preserveResourcesOnDeletion === true;
    const dyn = this.deps.client.dynamic;
    // Independent writes, a few at a time: 500 Applications one after another at 20 ms each
    // would hold every generated app back by ten seconds.
    await mapLimited(writes, APP_WRITES_IN_FLIGHT, async (w) => {
      if (w.op === "create") {
        try {
          await dyn.create(w.app as unknown as KubernetesObject, { fieldManager: "slipway-applicationset" });
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
        this.deps.recorder?.recordEvent(
          set as unknown as KubernetesObject,
          "Normal",
          "Created",
          `created Application ${w.app.metadata.name}`,
        );
      } else if (w.op === "update") {
        await dyn.replace(w.app as unknown as KubernetesObject, { fieldManager: "slipway-applicationset" });
        this.deps.recorder?.recordEvent(
          set as unknown as KubernetesObject,
          "Normal",
          "Updated",
          `updated Application ${w.app.metadata.name}`,
        );
      } else {
        await this.deleteApp(w.existing, preserve);
        this.deps.recorder?.recordEvent(
          set as unknown as KubernetesObject,
          "Normal",
          "Deleted",
          `deleted Application ${w.existing.metadata.name}`,
        );
      }
    });

    // 4. RollingSync.
    let applicationStatus: ApplicationSetApplicationStatus[] | undefined;
    if (rolling) {
      const names = new Set(desired.map((d) => d.metadata.name));
      const current = this.deps.apps
        .list(namespace)
        .filter((a) => ownedBy(a, set) && names.has(a.metadata.name));
      const plan = planRollingSync(
        current,
        set.spec.strategy?.rollingSync?.steps ?? [],
        set.status?.applicationStatus ?? [],
        now,
      );
      for (const appName of plan.toSync) {
        const app = current.find((a) => a.metadata.name === appName);
        if (!app || app.operation) continue;
        const revision = app.spec.source?.targetRevision;
        await dyn.patch(
          { apiVersion: API_VERSION, kind: "Application", namespace, name: appName },
          {
            operation: {
              sync: { ...(revision ? { revision } : {}), prune: true },
              initiatedBy: { username: "applicationset-controller", automated: true },
              info: [
                { name: "Reason", value: "ApplicationSet RollingSync triggered a sync of this Application" },
              ],
            },
          },
          "merge",
        );
        this.deps.recorder?.recordEvent(
          set as unknown as KubernetesObject,
          "Normal",
          "RollingSync",
          `syncing Application ${appName} (step ${plan.applicationStatus.find((s) => s.application === appName)?.step})`,
        );
      }
      applicationStatus = plan.applicationStatus;
    }

    // 5. Status.
    const desiredNames = new Set(desired.map((d) => d.metadata.name));
    const after = this.deps.apps
      .list(namespace)
      .filter((a) => ownedBy(a, set) && desiredNames.has(a.metadata.name));
    const conditions = [
      condition(
        "ErrorOccurred",
        "False",
        "ApplicationSetUpToDate",
        "Successfully generated parameters for all Applications",
        prevConditions,
        now,
      ),
      condition(
        "ParametersGenerated",
        "True",
        "ParametersGenerated",
        "Successfully generated parameters for all Applications",
        prevConditions,
        now,
      ),
      condition(
        "ResourcesUpToDate",
        "True",
        "ApplicationSetUpToDate",
        "All applications have been generated successfully",
        prevConditions,
        now,
      ),
    ];
    if (rolling) {
      const progressing = (applicationStatus ?? []).some((s) => s.status !== "Healthy");
      conditions.push(
        condition(
          "RolloutProgressing",
          progressing ? "True" : "False",
          progressing ? "ApplicationSetModified" : "ApplicationSetRolloutComplete",
          progressing ? "ApplicationSet Rollout is progressing" : "ApplicationSet Rollout has completed",
          prevConditions,
          now,
        ),
      );
    }
    await this.writeStatus(set, {
      conditions,
      ...(applicationStatus ? { applicationStatus } : {}),
      ...this.resourcesStatus(after.length || writes.length === 0 ? after : desired),
    });
    return { requeueAfter: this.deps.resyncMs };
  }

  private resourcesStatus(
    apps: readonly Application[],
  ): Pick<ApplicationSetStatus, "resources" | "resourcesCount"> {
    const resources = [...apps]
      .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""))
      .map((a) => ({
        group: "slipway.dev",
        kind: "Application",
        name: a.metadata.name ?? "",
        ...(a.metadata.namespace ? { namespace: a.metadata.namespace } : {}),
        version: "v1alpha1",
        ...(a.status?.sync?.status ? { status: a.status.sync.status } : {}),
        ...(a.status?.health ? { health: { status: a.status.health.status } } : {}),
      }));
    return { resources, resourcesCount: resources.length };
  }

  private async writeStatus(set: ApplicationSet, status: ApplicationSetStatus): Promise<void> {
    if (deepEqual(set.status ?? {}, status)) return;
    try {
      await this.deps.client.dynamic.patch(
        {
          apiVersion: API_VERSION,
          kind: "ApplicationSet",
          namespace: set.metadata.namespace,
          name: set.metadata.name ?? "",
        },
        // Replace the lists outright: a merge patch replaces arrays.
        { status: { ...status, applicationStatus: status.applicationStatus ?? null } },
        "merge",
        { subresource: "status" },
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async deleteApp(app: Application, preserve: boolean): Promise<void> {
    const dyn = this.deps.client.dynamic;
    const finalizers = app.metadata.finalizers ?? [];
    const hasResources = finalizers.some(isResourcesFinalizer);
    const ref = {
      apiVersion: API_VERSION,
      kind: "Application",
      namespace: app.metadata.namespace,
      name: app.metadata.name ?? "",
    };
    try {
      if (preserve && hasResources) {
        await dyn.patch(
          ref,
          { metadata: { finalizers: finalizers.filter((f) => !isResourcesFinalizer(f)) } },
          "merge",
        );
      } else if (!preserve && !hasResources) {
        // Argo: deleting a generated Application cascades to its resources unless preserved.
        await dyn.patch(ref, { metadata: { finalizers: [...finalizers, RESOURCES_FINALIZER] } }, "merge");
      }
      await dyn.delete(ref, { propagationPolicy: "Foreground" });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async stripFinalizers(apps: readonly Application[]): Promise<void> {
    for (const app of apps) {
      const finalizers = app.metadata.finalizers ?? [];
      if (!finalizers.some(isResourcesFinalizer)) continue;
      try {
        await this.deps.client.dynamic.patch(
          {
            apiVersion: API_VERSION,
            kind: "Application",
            namespace: app.metadata.namespace,
            name: app.metadata.name ?? "",
          },
          { metadata: { finalizers: finalizers.filter((f) => !isResourcesFinalizer(f)) } },
          "merge",
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
}

const APP_EVENT_DELAY_MS = 1_000;
/** Application creates, updates and deletes one set sends at once. */
const APP_WRITES_IN_FLIGHT = 16;

/**
 * Whether an Application event can change its set's work or status: anything but the app's
 * status, and of the status only what the set reports (`resources`) and RollingSync reads (sync
 * and health). Operation progress, reconciledAt and resource lists do not wake the set.
 */
export function appChangeMatters(event: InformerEvent<Application>): boolean {
  if (event.type !== "update") return true;
  const { old, object } = event;
  return (
    old.status?.sync?.status !== object.status?.sync?.status ||
    old.status?.health?.status !== object.status?.health?.status ||
    old.metadata.generation !== object.metadata.generation ||
    Boolean(old.metadata.deletionTimestamp) !== Boolean(object.metadata.deletionTimestamp) ||
    !deepEqual(old.metadata.labels ?? {}, object.metadata.labels ?? {}) ||
    !deepEqual(old.metadata.annotations ?? {}, object.metadata.annotations ?? {}) ||
    !deepEqual(old.metadata.ownerReferences ?? [], object.metadata.ownerReferences ?? []) ||
    !deepEqual(old.metadata.finalizers ?? [], object.metadata.finalizers ?? [])
  );
}

export function createApplicationSetController(
  options: ApplicationSetControllerOptions,
): ApplicationSetController {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const log = (options.log ?? pino({ level: "silent" })).child({ component: "applicationsets" });
  const setInformer = options.informers.forResource(
    { apiVersion: API_VERSION, kind: "ApplicationSet" },
    { namespace },
  );
  const appInformer = options.informers.forResource(
    { apiVersion: API_VERSION, kind: "Application" },
    { namespace },
  );
  const sets = objectCache<ApplicationSet>(setInformer);
  const apps = objectCache<Application>(appInformer);
  const reconciler = new ApplicationSetReconciler({
    client: options.client,
    sets,
    apps,
    ...(options.clusters ? { clusters: options.clusters } : {}),
    ...(options.repoCache ? { repoCache: options.repoCache } : {}),
    ...(options.recorder ? { recorder: options.recorder } : {}),
    resyncMs: options.resyncMs ?? 180_000,
  });
  const ctrl = new Controller({
    reconciler,
    name: "applicationsets",
    concurrency: options.concurrency ?? 4,
    clock: options.clock ?? systemClock,
    log,
    ...(options.registry ? { registry: options.registry } : {}),
  });
  ctrl.watch(setInformer);
  ctrl.watch(appInformer, {
    map: controllerOwnerKey("ApplicationSet", "slipway.dev"),
    filter: (event) => appChangeMatters(event as unknown as InformerEvent<Application>),
    // A set of 500 apps sees thousands of app status writes while they sync: one pass per second.
    delayMs: APP_EVENT_DELAY_MS,
  });
  let offClusters: (() => void) | undefined;
  return {
    name: "applicationsets",
    controller: ctrl,
    async start() {
      if (options.clusters) {
        offClusters = options.clusters.onChange(() => {
          for (const s of sets.list(namespace))
            ctrl.enqueue(keyOf(s.metadata.namespace, s.metadata.name ?? ""));
        });
      }
      await ctrl.start();
    },
    async stop() {
      offClusters?.();
      await ctrl.stop();
    },
  };
}
