/**
 * Application metrics, after Argo CD's `argocd_app_sync_total`, `argocd_app_info` and
 * `argocd_app_reconcile` (https://argo-cd.readthedocs.io/en/stable/operator-manual/metrics/):
 *
 * - `slipway_app_sync_total{namespace,name,phase}`: finished sync operations;
 * - `slipway_app_info{namespace,name,project,sync_status,health_status}`: 1 for the app's current
 *   state (the series of a previous state is removed, so `sum by (sync_status)` counts apps);
 * - `slipway_app_reconcile_duration_seconds{namespace}`: time per Application reconcile;
 * - `slipway_app_render_total{result}`: renders actually run (cache misses), `ok` or `error`.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS, registerOnce } from "../queue/metrics.js";

export interface AppInfo {
  namespace: string;
  name: string;
  project: string;
  sync_status: string;
  health_status: string;
}

export interface AppMetrics {
  synced(namespace: string, name: string, phase: string): void;
  info(info: AppInfo): void;
  forget(namespace: string, name: string): void;
  reconciled(namespace: string, seconds: number): void;
  rendered(result: "ok" | "error"): void;
}

export const noAppMetrics: AppMetrics = {
  synced: () => undefined,
  info: () => undefined,
  forget: () => undefined,
  reconciled: () => undefined,
  rendered: () => undefined,
};

export function appMetrics(registry: Registry): AppMetrics {
  const sync = registerOnce(
    registry,
    "slipway_app_sync_total",
    () =>
      new Counter({
        name: "slipway_app_sync_total",
        help: "Finished Application sync operations by phase (Succeeded, Failed, Error)",
        labelNames: ["namespace", "name", "phase"],
        registers: [registry],
      }),
  );
  const info = registerOnce(
    registry,
    "slipway_app_info",
    () =>
      new Gauge({
        name: "slipway_app_info",
        help: "Application state: 1 per app, labelled with its current sync and health status",
        labelNames: ["namespace", "name", "project", "sync_status", "health_status"],
        registers: [registry],
      }),
  );
  const reconcile = registerOnce(
    registry,
    "slipway_app_reconcile_duration_seconds",
    () =>
      new Histogram({
        name: "slipway_app_reconcile_duration_seconds",
        help: "Time spent reconciling one Application",
        labelNames: ["namespace"],
        buckets: DURATION_BUCKETS,
        registers: [registry],
      }),
  );
  const renders = registerOnce(
    registry,
    "slipway_app_render_total",
    () =>
      new Counter({
        name: "slipway_app_render_total",
        help: "Manifest renders run (render cache misses) by result",
        labelNames: ["result"],
        registers: [registry],
      }),
  );
  const current = new Map<string, AppInfo>();
  return {
    synced: (namespace, name, phase) => sync.inc({ namespace, name, phase }),
    info(next) {
      const key = `${next.namespace}/${next.name}`;
      const previous = current.get(key);
      if (
        previous &&
        previous.sync_status === next.sync_status &&
        previous.health_status === next.health_status &&
        previous.project === next.project
      ) {
        return;
      }
      if (previous) info.remove({ ...previous });
      info.set({ ...next }, 1);
      current.set(key, next);
    },
    forget(namespace, name) {
      const key = `${namespace}/${name}`;
      const previous = current.get(key);
      if (previous) info.remove({ ...previous });
      current.delete(key);
    },
    reconciled: (namespace, seconds) => reconcile.observe({ namespace }, seconds),
    rendered: (result) => renders.inc({ result }),
  };
}
