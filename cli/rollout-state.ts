/**
 * What `slipway rollout` shows about a Rollout, computed from plain objects (no I/O): its phase,
 * step, set and actual weights, the role of each ReplicaSet, images, and why it is paused or
 * aborted. `list`, `get` and `status` all read the rollout through these functions, so they never
 * disagree. The rules follow kubectl-argo-rollouts (pkg/kubectl-argo-rollouts/info) where it has
 * one.
 */
import { parseDuration } from "../analysis/duration.js";
import type { AnalysisRun } from "../api/v1alpha1/analysis.js";
import type { Rollout, RolloutPhase } from "../api/v1alpha1/rollout.js";
import {
  POD_HASH_LABEL,
  REVISION_ANNOTATION,
  SCALE_DOWN_DEADLINE_ANNOTATION,
} from "../controller/rollouts/constants.js";
import { canaryIngressName } from "../controller/rollouts/traffic/nginx/transform.js";

export { POD_HASH_LABEL };
/** Revision of a ReplicaSet / AnalysisRun, as the controller writes it (Argo's spelling). */
export const REVISION_ANNOTATIONS = [REVISION_ANNOTATION] as const;
/** When an old ReplicaSet is scaled down (RFC 3339), as the controller writes it. */
export const SCALE_DOWN_DEADLINE_ANNOTATIONS = [SCALE_DOWN_DEADLINE_ANNOTATION] as const;

// ---------------------------------------------------------------------------------------------
// The objects, as far as the CLI reads them (raw JSON from the API server: times are strings).

export interface OwnerRef {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerRef[];
}

export interface Container {
  name: string;
  image?: string;
  [key: string]: unknown;
}

export interface PodTemplateJson {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ReplicaSetJson {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: { replicas?: number; template?: PodTemplateJson; selector?: unknown };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

export interface ContainerStatusJson {
  name: string;
  ready?: boolean;
  restartCount?: number;
  image?: string;
  state?: {
    waiting?: { reason?: string };
    running?: { startedAt?: string };
    terminated?: { reason?: string; exitCode?: number };
  };
}

export interface PodJson {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: { containers?: Container[] };
  status?: {
    phase?: string;
    reason?: string;
    containerStatuses?: ContainerStatusJson[];
    conditions?: { type: string; status: string }[];
  };
}

export interface JobJson {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string }[];
  };
}

/** A routing object (HTTPRoute, VirtualService, Ingress): read loosely, never trusted. */
export interface RouteObjectJson {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  spec?: unknown;
}

/** Where a router keeps the weights of one Rollout. */
export interface RouterRef {
  kind: "HTTPRoute" | "VirtualService" | "Ingress";
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/** A router object as the CLI found it: the object, or why it is not there. */
export interface RouterReading {
  ref: RouterRef;
  object?: RouteObjectJson;
  /** "not found", or the API error, when `object` is missing. */
  error?: string;
}

/** Everything the CLI draws a Rollout from. */
export interface RolloutSnapshot {
  rollout: Rollout;
  replicaSets: ReplicaSetJson[];
  pods: PodJson[];
  analysisRuns: AnalysisRun[];
  jobs: JobJson[];
  routes: RouterReading[];
}

// ---------------------------------------------------------------------------------------------
// Ownership and revisions

const ownedBy = (meta: Meta | undefined, kind: string, name: string, uid?: string): boolean =>
  (meta?.ownerReferences ?? []).some(
    (o) => o.kind === kind && o.name === name && (!uid || !o.uid || o.uid === uid),
  );

/** The ReplicaSets the Rollout owns (by owner reference, as the controller creates them). */
export function ownedReplicaSets(rollout: Rollout, all: readonly ReplicaSetJson[]): ReplicaSetJson[] {
  const name = rollout.metadata.name ?? "";
  return all.filter((rs) => ownedBy(rs.metadata, "Rollout", name, rollout.metadata.uid));
}

export function ownedAnalysisRuns(rollout: Rollout, all: readonly AnalysisRun[]): AnalysisRun[] {
  const name = rollout.metadata.name ?? "";
  return all.filter((run) => ownedBy(run.metadata as Meta, "Rollout", name, rollout.metadata.uid));
}

export function podsOf(rs: ReplicaSetJson, pods: readonly PodJson[]): PodJson[] {
  return pods.filter((p) => ownedBy(p.metadata, "ReplicaSet", rs.metadata.name ?? "", rs.metadata.uid));
}

export function jobsOf(run: AnalysisRun, jobs: readonly JobJson[]): JobJson[] {
  return jobs.filter((j) => ownedBy(j.metadata, "AnalysisRun", run.metadata.name ?? "", run.metadata.uid));
}

function firstAnnotation(meta: Meta | undefined, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = meta?.annotations?.[n];
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
}

/** The revision number of a ReplicaSet or AnalysisRun, from its annotation. */
export function revisionOf(meta: Meta | undefined): number | undefined {
  const text = firstAnnotation(meta, REVISION_ANNOTATIONS);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

export const podHashOf = (meta: Meta | undefined): string | undefined => meta?.labels?.[POD_HASH_LABEL];

/** The RFC 3339 time an old ReplicaSet is due to be scaled down, if the controller set one. */
export function scaleDownDeadlineOf(rs: ReplicaSetJson): string | undefined {
  return firstAnnotation(rs.metadata, SCALE_DOWN_DEADLINE_ANNOTATIONS);
}

// ---------------------------------------------------------------------------------------------
// Strategy, steps, weights

export type StrategyName = "Canary" | "BlueGreen";

export function strategyOf(rollout: Rollout): StrategyName {
  return rollout.spec.strategy?.blueGreen && !rollout.spec.strategy.canary ? "BlueGreen" : "Canary";
}

export const stepsOf = (rollout: Rollout) => rollout.spec.strategy?.canary?.steps ?? [];

/** `currentStepIndex`, clamped to the steps (0 when the controller has not set it). */
export function stepIndexOf(rollout: Rollout): number {
  const n = stepsOf(rollout).length;
  return Math.min(Math.max(rollout.status?.currentStepIndex ?? 0, 0), n);
}

/**
 * `i/N` as Argo prints it: i is `currentStepIndex`, the number of steps already completed (so a
 * rollout waiting at its third step shows 2/8), or "-" for blue-green and canaries without steps.
 */
export function stepText(rollout: Rollout): string {
  const steps = stepsOf(rollout);
  if (strategyOf(rollout) !== "Canary" || steps.length === 0) return "-";
  return `${stepIndexOf(rollout)}/${steps.length}`;
}

/** True when the rollout is between revisions: the desired pod template is not the stable one yet. */
export function updateInProgress(rollout: Rollout): boolean {
  const s = rollout.status;
  return Boolean(s?.currentPodHash && s.stableRS && s.currentPodHash !== s.stableRS);
}

/**
 * The weight the current step asks for (Argo's GetCurrentSetWeight): 0 after an abort, the last
 * `setWeight` at or before the current step, and 100 once every step is done.
 */
export function setWeightOf(rollout: Rollout): number | undefined {
  if (strategyOf(rollout) !== "Canary") return undefined;
  if (rollout.status?.abort) return 0;
  const steps = stepsOf(rollout);
  const index = stepIndexOf(rollout);
  if (!updateInProgress(rollout) || index >= steps.length) return 100;
  for (let i = index; i >= 0; i--) {
    const weight = steps[i]?.setWeight;
    if (weight !== undefined) return weight;
  }
  return 0;
}

const routing = (rollout: Rollout) => rollout.spec.strategy?.canary?.trafficRouting;

interface GatewayPluginConfig {
  httpRoute?: string;
  httpRoutes?: { name?: string }[];
  namespace?: string;
}

/** The routing objects that hold this Rollout's weights, in the order they are consulted. */
export function routerRefs(rollout: Rollout): RouterRef[] {
  const tr = routing(rollout);
  if (!tr || strategyOf(rollout) !== "Canary") return [];
  const namespace = rollout.metadata.namespace ?? "default";
  const refs: RouterRef[] = [];
  const plugin = tr.plugins?.["argoproj-labs/gatewayAPI"] as GatewayPluginConfig | undefined;
  const httpRoute = tr.gatewayAPI?.httpRoute ?? plugin?.httpRoute ?? plugin?.httpRoutes?.[0]?.name;
  if (httpRoute) {
    refs.push({
      kind: "HTTPRoute",
      group: "gateway.networking.k8s.io",
      version: "v1",
      plural: "httproutes",
      namespace: tr.gatewayAPI?.namespace ?? plugin?.namespace ?? namespace,
      name: httpRoute,
    });
  }
  const vs = tr.istio?.virtualService ?? tr.istio?.virtualServices?.[0];
  if (vs?.name) {
    // Argo allows `name.namespace`.
    const [name, ns] = vs.name.split(".", 2) as [string, string | undefined];
    refs.push({
      kind: "VirtualService",
      group: "networking.istio.io",
      version: "v1beta1",
      plural: "virtualservices",
      namespace: ns || namespace,
      name,
    });
  }
  const stableIngress = tr.nginx?.stableIngress ?? tr.nginx?.stableIngresses?.[0];
  if (stableIngress) {
    refs.push({
      kind: "Ingress",
      group: "networking.k8s.io",
      version: "v1",
      plural: "ingresses",
      namespace,
      name: canaryIngressName(rollout.metadata.name ?? "", stableIngress),
    });
  }
  return refs;
}

export interface ActualWeight {
  /** Canary weight in the units of `setWeight` (percent unless maxTrafficWeight says otherwise). */
  weight?: number;
  /** Where it was read: `HTTPRoute shop/web`, `replicas`, ... */
  source: string;
  /** Why there is no weight, or the split as read (`stable 80, canary 20`). */
  detail?: string;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asNumber = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/** `web`, `web.shop`, `web.shop.svc.cluster.local` all name Service `web` in `shop`. */
function sameService(host: unknown, service: string): boolean {
  return typeof host === "string" && (host === service || host.startsWith(`${service}.`));
}

interface Split {
  canary: number;
  stable: number;
}

function httpRouteSplit(spec: unknown, canary: string, stable: string): Split | undefined {
  for (const rule of asArray(asRecord(spec)?.rules)) {
    const refs = asArray(asRecord(rule)?.backendRefs).map(asRecord);
    const c = refs.find((r) => r?.name === canary);
    const s = refs.find((r) => r?.name === stable);
    // Gateway API: an omitted weight is 1.
    if (c && s) return { canary: asNumber(c.weight) ?? 1, stable: asNumber(s.weight) ?? 1 };
  }
  return undefined;
}

function virtualServiceSplit(
  spec: unknown,
  rollout: Rollout,
  canary: string,
  stable: string,
): Split | undefined {
  const tr = routing(rollout);
  const vs = tr?.istio?.virtualService ?? tr?.istio?.virtualServices?.[0];
  const dr = tr?.istio?.destinationRule;
  const names = vs?.routes;
  // Header and mirror routes slipway adds carry the managed route's name; the split is elsewhere.
  const managed = new Set((tr?.managedRoutes ?? []).map((r) => r.name));
  for (const route of asArray(asRecord(spec)?.http).map(asRecord)) {
    const name = String(route?.name ?? "");
    if (names && names.length > 0 ? !names.includes(name) : managed.has(name)) continue;
    const dests = asArray(route?.route).map(asRecord);
    const isCanary = (d: Record<string, unknown> | undefined) => {
      const dest = asRecord(d?.destination);
      return dr ? dest?.subset === dr.canarySubsetName : sameService(dest?.host, canary);
    };
    const isStable = (d: Record<string, unknown> | undefined) => {
      const dest = asRecord(d?.destination);
      return dr ? dest?.subset === dr.stableSubsetName : sameService(dest?.host, stable);
    };
    const c = dests.find(isCanary);
    const s = dests.find(isStable);
    if (c && s) return { canary: asNumber(c.weight) ?? 0, stable: asNumber(s.weight) ?? 0 };
  }
  return undefined;
}

function ingressWeight(object: RouteObjectJson, rollout: Rollout): Split | undefined {
  const prefix = routing(rollout)?.nginx?.annotationPrefix ?? "nginx.ingress.kubernetes.io";
  const a = object.metadata.annotations ?? {};
  if (a[`${prefix}/canary`] !== "true") return { canary: 0, stable: 100 };
  const weight = Number(a[`${prefix}/canary-weight`] ?? "0");
  const total = Number(a[`${prefix}/canary-weight-total`] ?? "100");
  if (!Number.isFinite(weight) || !Number.isFinite(total)) return undefined;
  return { canary: weight, stable: Math.max(total - weight, 0) };
}

const maxWeightOf = (rollout: Rollout): number => routing(rollout)?.maxTrafficWeight ?? 100;

/**
 * The traffic the canary actually gets. With a router, read from the routing object itself (the
 * first one that holds the split), scaled to `maxTrafficWeight`; without one, the share of
 * available pods that run the canary. Once the update is complete the new revision is stable and
 * gets everything.
 */
export function actualWeightOf(snapshot: RolloutSnapshot): ActualWeight | undefined {
  const { rollout } = snapshot;
  if (strategyOf(rollout) !== "Canary") return undefined;
  const canary = rollout.spec.strategy.canary?.canaryService ?? "";
  const stable = rollout.spec.strategy.canary?.stableService ?? "";
  const refs = routerRefs(rollout);
  if (refs.length > 0) {
    const problems: string[] = [];
    for (const ref of refs) {
      const reading = snapshot.routes.find(
        (r) => r.ref.kind === ref.kind && r.ref.name === ref.name && r.ref.namespace === ref.namespace,
      );
      const source = `${ref.kind} ${ref.namespace}/${ref.name}`;
      if (!reading?.object) {
        problems.push(
          refs.length > 1 ? `${source}: ${reading?.error ?? "not read"}` : (reading?.error ?? "not read"),
        );
        continue;
      }
      const split =
        ref.kind === "HTTPRoute"
          ? httpRouteSplit(reading.object.spec, canary, stable)
          : ref.kind === "VirtualService"
            ? virtualServiceSplit(reading.object.spec, rollout, canary, stable)
            : ingressWeight(reading.object, rollout);
      if (!split) {
        const problem = `no route to both ${stable} and ${canary}`;
        problems.push(refs.length > 1 ? `${source}: ${problem}` : problem);
        continue;
      }
      const total = split.canary + split.stable;
      const max = maxWeightOf(rollout);
      const weight = total > 0 ? Math.round((split.canary * max) / total) : 0;
      return { weight, source, detail: `stable ${split.stable}, canary ${split.canary}` };
    }
    const recorded = rollout.status?.canary?.weights;
    if (recorded) {
      return {
        weight: recorded.canary.weight,
        source: "status",
        detail: `router not readable (${problems.join("; ")})`,
      };
    }
    return {
      source: refs.map((r) => `${r.kind} ${r.namespace}/${r.name}`).join(", "),
      detail: problems.join("; "),
    };
  }
  if (!updateInProgress(rollout)) return { weight: 100, source: "replicas" };
  const hash = rollout.status?.currentPodHash;
  let canaryAvailable = 0;
  let totalAvailable = 0;
  for (const rs of ownedReplicaSets(rollout, snapshot.replicaSets)) {
    const available = rs.status?.availableReplicas ?? 0;
    totalAvailable += available;
    if (podHashOf(rs.metadata) === hash) canaryAvailable += available;
  }
  const weight = totalAvailable > 0 ? Math.round((canaryAvailable * 100) / totalAvailable) : 0;
  return { weight, source: "replicas", detail: `${canaryAvailable} of ${totalAvailable} available pods` };
}

// ---------------------------------------------------------------------------------------------
// Phase

export interface PhaseInfo {
  phase: RolloutPhase;
  message: string;
}

/**
 * The phase the controller reported, unless the spec changed since it last looked (Argo's
 * GetRolloutPhase). Without a reported phase it is derived from the same inputs the controller
 * uses, so a fresh rollout reads sensibly.
 */
export function phaseOf(rollout: Rollout): PhaseInfo {
  const s = rollout.status;
  const generation = rollout.metadata.generation;
  if (s?.observedGeneration !== undefined && generation !== undefined && s.observedGeneration < generation) {
    return { phase: "Progressing", message: "waiting for rollout spec update to be observed" };
  }
  if (s?.phase) return { phase: s.phase, message: s.message ?? "" };
  const invalid = s?.conditions?.find((c) => c.type === "InvalidSpec" && c.status === "True");
  if (invalid) return { phase: "Degraded", message: `InvalidSpec: ${invalid.message ?? ""}`.trim() };
  if (s?.abort) return { phase: "Degraded", message: s.message ?? "RolloutAborted" };
  if (rollout.spec.paused) return { phase: "Paused", message: "manually paused" };
  const reasons = (s?.pauseConditions ?? []).map((p) => p.reason);
  if (reasons.length > 0) return { phase: "Paused", message: reasons.join(", ") };
  if (!s) return { phase: "Progressing", message: "waiting for the controller to observe the rollout" };
  const desired = rollout.spec.replicas ?? 1;
  if ((s.updatedReplicas ?? 0) < desired)
    return { phase: "Progressing", message: "more replicas need to be updated" };
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0))
    return { phase: "Progressing", message: "updated replicas are still becoming available" };
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0))
    return { phase: "Progressing", message: "old replicas are pending termination" };
  if (updateInProgress(rollout))
    return { phase: "Progressing", message: "waiting for all steps to complete" };
  return { phase: "Healthy", message: "" };
}

/** Healthy, its spec observed and the desired revision stable: `status` stops here with 0. */
export function isComplete(rollout: Rollout): boolean {
  const s = rollout.status;
  if (!s || phaseOf(rollout).phase !== "Healthy") return false;
  if (s.currentPodHash && s.stableRS && s.currentPodHash !== s.stableRS) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// ReplicaSet roles and images

export type Role = "stable" | "canary" | "active" | "preview";

/** `stable`, `canary`, `active`, `preview` (in that order), as Argo tags ReplicaSets. */
export function rolesOf(rollout: Rollout, rs: ReplicaSetJson): Role[] {
  const hash = podHashOf(rs.metadata) ?? rs.metadata.name?.split("-").at(-1);
  const s = rollout.status;
  const roles: Role[] = [];
  if (!hash || !s) return roles;
  if (hash === s.stableRS) roles.push("stable");
  if (strategyOf(rollout) === "Canary") {
    if (hash === s.currentPodHash && hash !== s.stableRS) roles.push("canary");
  } else {
    if (hash === s.blueGreen?.activeSelector) roles.push("active");
    if (hash === s.blueGreen?.previewSelector && hash !== s.blueGreen?.activeSelector) roles.push("preview");
  }
  return roles;
}

/** Each image the rollout runs, with the roles of the ReplicaSets running it; sorted by image. */
export function imagesOf(snapshot: RolloutSnapshot): { image: string; roles: Role[] }[] {
  const byImage = new Map<string, Set<Role>>();
  const order: Role[] = ["stable", "canary", "active", "preview"];
  for (const rs of ownedReplicaSets(snapshot.rollout, snapshot.replicaSets)) {
    const roles = rolesOf(snapshot.rollout, rs);
    if (roles.length === 0) continue;
    for (const c of rs.spec?.template?.spec?.containers ?? []) {
      if (!c.image) continue;
      const set = byImage.get(c.image) ?? new Set<Role>();
      for (const r of roles) set.add(r);
      byImage.set(c.image, set);
    }
  }
  return [...byImage]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([image, roles]) => ({ image, roles: order.filter((r) => roles.has(r)) }));
}

// ---------------------------------------------------------------------------------------------
// Why it is paused or aborted

function since(timestamp: string | undefined, now: Date): number | undefined {
  if (!timestamp) return undefined;
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? undefined : now.getTime() - t;
}

/** A pause duration in ms (seconds as a number or digits, or a Go duration, as Argo reads it). */
export function pauseDurationMs(duration: number | string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  try {
    const ms = parseDuration(duration);
    return ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** `45s`, `2m10s`: short, for countdowns. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** The analysis runs the status points at, with their phase. */
function statusRuns(rollout: Rollout): { name: string; status: string; message?: string }[] {
  const s = rollout.status;
  return [
    s?.canary?.currentStepAnalysisRunStatus,
    s?.canary?.currentBackgroundAnalysisRunStatus,
    s?.blueGreen?.prePromotionAnalysisRunStatus,
    s?.blueGreen?.postPromotionAnalysisRunStatus,
  ].filter((r): r is NonNullable<typeof r> => Boolean(r));
}

/**
 * One line on why the rollout is paused and what continues it, or undefined when it is not.
 * `cmd` is how the user invokes the CLI (`slipway` or `kubectl slipway`).
 */
export function pauseReason(rollout: Rollout, now: Date, cmd = "slipway"): string | undefined {
  const name = rollout.metadata.name ?? "";
  const parts: string[] = [];
  if (rollout.spec.paused)
    parts.push(`paused by the user (spec.paused); "${cmd} rollout resume ${name}" continues`);
  for (const pc of rollout.status?.pauseConditions ?? []) {
    const age = since(pc.startTime, now);
    const sinceText = age !== undefined ? ` for ${shortDuration(age)}` : "";
    if (pc.reason === "CanaryPauseStep") {
      const index = stepIndexOf(rollout);
      const step = stepsOf(rollout)[index];
      const duration = pauseDurationMs(step?.pause?.duration);
      const where = step?.pause ? `steps[${index}]` : "a pause step";
      if (duration !== undefined && age !== undefined) {
        const left = duration - age;
        parts.push(
          left > 0
            ? `at pause step ${where} (${step?.pause?.duration}): resumes in ${shortDuration(left)}, or now with "${cmd} rollout promote ${name}"`
            : `at pause step ${where} (${step?.pause?.duration}): due to resume now`,
        );
      } else {
        parts.push(`at pause step ${where}${sinceText}: waits for "${cmd} rollout promote ${name}"`);
      }
    } else if (pc.reason === "BlueGreenPause") {
      const auto = rollout.spec.strategy.blueGreen?.autoPromotionSeconds;
      const enabled = rollout.spec.strategy.blueGreen?.autoPromotionEnabled !== false;
      if (enabled && auto !== undefined && age !== undefined) {
        const left = auto * 1000 - age;
        parts.push(
          `preview waits for promotion${sinceText}: promoted automatically in ${shortDuration(left)}, or now with "${cmd} rollout promote ${name}"`,
        );
      } else {
        parts.push(
          `preview waits for promotion${sinceText}: "${cmd} rollout promote ${name}" makes it active`,
        );
      }
    } else if (pc.reason === "InconclusiveAnalysisRun") {
      const run = statusRuns(rollout).find((r) => r.status === "Inconclusive");
      const which = run ? `analysis run ${run.name}` : "an analysis run";
      parts.push(
        `${which} was Inconclusive${sinceText}: "${cmd} rollout promote ${name}" continues, "${cmd} rollout abort ${name}" rolls back`,
      );
    } else {
      parts.push(`${pc.reason}${sinceText}`);
    }
  }
  return parts.length > 0 ? parts.join("; ") : undefined;
}

/** One line on why the rollout was aborted and what now, or undefined when it is not aborted. */
export function abortReason(rollout: Rollout, now: Date, cmd = "slipway"): string | undefined {
  const s = rollout.status;
  if (!s?.abort) return undefined;
  const name = rollout.metadata.name ?? "";
  let why = s.message?.replace(/^RolloutAborted:\s*/, "") ?? "";
  if (!why) {
    const cond = s.conditions?.find((c) => c.reason === "RolloutAborted" && c.message);
    why = cond?.message ?? "";
  }
  const failed = statusRuns(rollout).find((r) => r.status === "Failed" || r.status === "Error");
  if (failed && !why.includes(failed.name)) {
    const detail = `analysis run ${failed.name} ${failed.status}${failed.message ? `: ${failed.message}` : ""}`;
    why = why ? `${why} (${detail})` : detail;
  }
  if (!why) why = "aborted by the user";
  const age = since(s.abortedAt, now);
  const when = age !== undefined ? ` ${shortDuration(age)} ago` : "";
  const where =
    strategyOf(rollout) === "Canary" ? "traffic is back on stable" : "the active service stays on stable";
  return `${why};${when ? ` aborted${when},` : ""} ${where}; "${cmd} rollout retry ${name}" runs the update again`;
}

// ---------------------------------------------------------------------------------------------
// Analysis runs

/** `✔ 3, ✖ 1` over the run's metrics (plus `⚠ n` errors and `? n` inconclusive when there are any). */
export function runCounts(run: AnalysisRun): string {
  let ok = 0;
  let failed = 0;
  let errors = 0;
  let inconclusive = 0;
  for (const r of run.status?.metricResults ?? []) {
    ok += r.successful ?? 0;
    failed += r.failed ?? 0;
    errors += r.error ?? 0;
    inconclusive += r.inconclusive ?? 0;
  }
  const parts = [`✔ ${ok}`, `✖ ${failed}`];
  if (errors > 0) parts.push(`⚠ ${errors}`);
  if (inconclusive > 0) parts.push(`? ${inconclusive}`);
  return parts.join(", ");
}

/** A measurement value for one line: `[0.97]` reads as `0.97`; long values are cut. */
export function shortValue(value: string | undefined): string {
  if (value === undefined || value === "") return "-";
  let text = value.replace(/\s+/g, " ").trim();
  const single = /^\[([^[\],]*)\]$/.exec(text);
  if (single) text = single[1]!.trim();
  if (/^-?\d+\.\d{5,}$/.test(text)) text = String(Number(Number(text).toPrecision(4)));
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

/** `success-rate=0.97 latency=0.21`: the last measured value of each metric, in spec order. */
export function lastValues(run: AnalysisRun): string {
  const results = run.status?.metricResults ?? [];
  const names = [
    ...new Set([...(run.spec?.metrics ?? []).map((m) => m.name), ...results.map((r) => r.name)]),
  ];
  return names
    .map((name) => {
      const last = results.find((r) => r.name === name)?.measurements?.at(-1);
      return last ? `${name}=${shortValue(last.value)}` : undefined;
    })
    .filter((x): x is string => x !== undefined)
    .join(" ");
}
