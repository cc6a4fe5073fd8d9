/**
 * What every Application reconcile shares: clients, caches, settings, and the small per-app
 * memory that lets a resync of an unchanged app skip work (never needed for correctness: a fresh
 * process starts without it and computes the same status).
 */
import type { Logger } from "pino";
import type { Application } from "../../api/v1alpha1/application.js";
import type { AppProject } from "../../api/v1alpha1/appproject.js";
import type { ClusterClient } from "../kube/cluster-client.js";
import type { EventRecorder } from "../kube/event-recorder.js";
import type { DiffMemo } from "./app-state.js";
import type { AppWriter } from "./app-writer.js";
import type { ClusterTargets } from "./cluster-targets.js";
import type { AppMetrics } from "./metrics.js";
import type { ObjectCache } from "./object-cache.js";
import type { OperationSettings } from "./operation.js";
import type { RenderCache } from "./render-cache.js";
import type { RepoCache } from "./source/repo-cache.js";

export interface AppSettings extends OperationSettings {
  /** Periodic re-comparison (and Git ref check) per app; 0 disables it. Default 180 s. */
  resyncMs: number;
  /** The resync is shortened by up to this fraction at random, so apps do not refresh in step. Default 0.25. */
  resyncJitter: number;
  /** Self-heal waits this long after the previous sync finished. Default 5 s (Argo's selfHealTimeout). */
  selfHealTimeoutMs: number;
}

export const DEFAULT_APP_SETTINGS: Omit<AppSettings, keyof OperationSettings> = {
  resyncMs: 180_000,
  resyncJitter: 0.25,
  selfHealTimeoutMs: 5_000,
};

/** Per-app memory that only saves work. */
export interface AppMemo {
  diffs: Map<string, DiffMemo>;
  /** The last successful comparison: what ApplyOutOfSyncOnly may skip. */
  lastCompare?: { source: string; sha: string; inSync: Set<string> };
  /** The last comparison failed; Git refs were last re-checked for it at `refsCheckedAt`. */
  failing?: { refsCheckedAt: number };
}

export interface AppDeps {
  namespace: string;
  /** The controller's own client (Applications live here). */
  client: ClusterClient;
  apps: ObjectCache<Application>;
  projects: ObjectCache<AppProject>;
  writer: AppWriter;
  repoCache: RepoCache;
  renders: RenderCache;
  /** Destination clusters: each one's client and live state. */
  targets: ClusterTargets;
  recorder?: EventRecorder;
  metrics: AppMetrics;
  settings: AppSettings;
  log: Logger;
  random: () => number;
  memo(key: string): AppMemo;
  forgetMemo(key: string): void;
}
