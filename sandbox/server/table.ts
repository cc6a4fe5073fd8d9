/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is how
 * `kubectl get` gets its columns: CRD printer columns, and the familiar columns of built-in kinds.
 */
import type { ServedResource } from "../core/registry.js";
import type { KubeObject } from "../core/types.js";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number | boolean | null;

const col = (name: string, type = "string", priority = 0, format = ""): Column => ({
  name,
  type,
  format,
  description: "",
  priority,
});

/** kubectl's HumanDuration: 45s, 5m2s, 3h4m, 5d, 2y... */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

function age(object: KubeObject, now: number): string {
  const created = object.metadata.creationTimestamp;
  return created ? humanDuration(now - Date.parse(created)) : "<unknown>";
}

/** Evaluates the simple JSONPath subset CRD printer columns use: `.status.phase`, `.spec.items[0].name`. */
export function evalJsonPath(object: unknown, path: string): unknown {
  const clean = path.replace(/^\{?\.?/, "").replace(/\}$/, "");
  if (!clean) return object;
  let current: unknown = object;
  for (const raw of clean.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (current === null || current === undefined) return undefined;
    if (raw.startsWith("[")) {
      const index = Number(raw.slice(1, -1));
      current = Array.isArray(current) ? current[index] : undefined;
    } else {
      current = typeof current === "object" ? (current as Record<string, unknown>)[raw] : undefined;
    }
  }
  return current;
}

function printValue(value: unknown): Cell {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return value as Cell;
}

function podReady(pod: KubeObject): string {
  const statuses = (pod.status?.containerStatuses ?? []) as { ready?: boolean }[];
  const total = (pod.spec?.containers ?? []).length;
  return `${statuses.filter((s) => s.ready).length}/${total}`;
}

function servicePorts(svc: KubeObject): string {
  const ports = (svc.spec?.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[];
  if (ports.length === 0) return "<none>";
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",");
}

function containersOf(template: KubeObject["spec"]): { names: string; images: string } {
  const cs = (template?.spec?.containers ?? []) as { name: string; image: string }[];
  return { names: cs.map((c) => c.name).join(","), images: cs.map((c) => c.image).join(",") };
}

function selectorString(selector: { matchLabels?: Record<string, string> } | undefined): string {
  const labels = selector?.matchLabels ?? {};
  const s = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return s || "<none>";
}

function endpointsString(ep: KubeObject): string {
  const out: string[] = [];
  for (const subset of (ep.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { port: number }[] }[]) {
    for (const a of subset.addresses ?? []) {
      for (const p of subset.ports ?? [{ port: 0 }]) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
    }
  }
  if (out.length === 0) return "<none>";
  return out.length > 3 ? `${out.slice(0, 3).join(",")} + ${out.length - 3} more...` : out.join(",");
}

function jobStatus(job: KubeObject): string {
  const conditions = (job.status?.conditions ?? []) as { type: string; status: string }[];
  const has = (t: string) => conditions.some((c) => c.type === t && c.status === "True");
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (job.metadata.deletionTimestamp) return "Terminating";
  if (job.spec?.suspend) return "Suspended";
  return "Running";
}

interface Printer {
  columns: Column[];
  cells: (o: KubeObject, now: number) => Cell[];
}

const BUILTIN_PRINTERS: Record<string, Printer> = {
  "/Namespace": {
    columns: [col("Name"), col("Status"), col("Age")],
    cells: (o, now) => [o.metadata.name!, o.status?.phase ?? "", age(o, now)],
  },
  "/Pod": {
    columns: [
      col("Name"),
      col("Ready"),
      col("Status"),
      col("Restarts", "string"),
      col("Age"),
      col("IP", "string", 1),
      col("Node", "string", 1),
    ],
    cells: (o, now) => [
      o.metadata.name!,
      podReady(o),
      o.metadata.deletionTimestamp ? "Terminating" : (o.status?.reason ?? o.status?.phase ?? ""),
      String(
        ((o.status?.containerStatuses ?? []) as { restartCount?: number }[]).reduce(
          (n, s) => n + (s.restartCount ?? 0),
          0,
        ),
      ),
      age(o, now),
      o.status?.podIP ?? "<none>",
      o.spec?.nodeName ?? "<none>",
    ],
  },
  "/Service": {
    columns: [
      col("Name"),
      col("Type"),
      col("Cluster-IP"),
      col("External-IP"),
      col("Port(s)"),
      col("Age"),
      col("Selector", "string", 1),
    ],
    cells: (o, now) => [
      o.metadata.name!,
      o.spec?.type ?? "ClusterIP",
      o.spec?.clusterIP ?? "<none>",
      (o.spec?.externalIPs ?? []).join(",") || "<none>",
      servicePorts(o),
      age(o, now),
      Object.entries((o.spec?.selector ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "<none>",
    ],
  },
  "/ConfigMap": {
    columns: [col("Name"), col("Data", "integer"), col("Age")],
    cells: (o, now) => [
      o.metadata.name!,
      Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
      age(o, now),
    ],
  },
  "/Secret": {
    columns: [col("Name"), col("Type"), col("Data", "integer"), col("Age")],
    cells: (o, now) => [o.metadata.name!, o.type ?? "Opaque", Object.keys(o.data ?? {}).length, age(o, now)],
  },
  "/Endpoints": {
    columns: [col("Name"), col("Endpoints"), col("Age")],
    cells: (o, now) => [o.metadata.name!, endpointsString(o), age(o, now)],
  },
  "/Event": {
    columns: [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")],
    cells: (o, now) => [
      o.lastTimestamp ? humanDuration(now - Date.parse(o.lastTimestamp)) : "<unknown>",
      o.type ?? "",
      o.reason ?? "",
      `${String(o.involvedObject?.kind ?? "").toLowerCase()}/${o.involvedObject?.name ?? ""}`,
      o.message ?? "",
    ],
  },
  "apps/Deployment": {
    columns: [
      col("Name"),
      col("Ready"),
      col("Up-to-date", "integer"),
      col("Available", "integer"),
      col("Age"),
      col("Containers", "string", 1),
      col("Images", "string", 1),
      col("Selector", "string", 1),
    ],
    cells: (o, now) => {
      const c = containersOf(o.spec?.template);
      return [
        o.metadata.name!,
        `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
        o.status?.updatedReplicas ?? 0,
        o.status?.availableReplicas ?? 0,
        age(o, now),
        c.names,
        c.images,
        selectorString(o.spec?.selector),
      ];
    },
  },
  "apps/ReplicaSet": {
    columns: [
      col("Name"),
      col("Desired", "integer"),
      col("Current", "integer"),
      col("Ready", "integer"),
      col("Age"),
      col("Containers", "string", 1),
      col("Images", "string", 1),
      col("Selector", "string", 1),
    ],
    cells: (o, now) => {
      const c = containersOf(o.spec?.template);
      return [
        o.metadata.name!,
        o.spec?.replicas ?? 0,
        o.status?.replicas ?? 0,
        o.status?.readyReplicas ?? 0,
        age(o, now),
        c.names,
        c.images,
        selectorString(o.spec?.selector),
      ];
    },
  },
  "apps/StatefulSet": {
    columns: [col("Name"), col("Ready"), col("Age")],
    cells: (o, now) => [
      o.metadata.name!,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      age(o, now),
    ],
  },
  "batch/Job": {
    columns: [col("Name"), col("Status"), col("Completions"), col("Duration"), col("Age")],
    cells: (o, now) => {
      const start = o.status?.startTime ? Date.parse(o.status.startTime) : undefined;
      const end = o.status?.completionTime ? Date.parse(o.status.completionTime) : now;
      return [
        o.metadata.name!,
        jobStatus(o),
        `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`,
        start ? humanDuration(end - start) : "",
        age(o, now),
      ];
    },
  },
  "networking.k8s.io/Ingress": {
    columns: [col("Name"), col("Class"), col("Hosts"), col("Address"), col("Ports"), col("Age")],
    cells: (o, now) => [
      o.metadata.name!,
      o.spec?.ingressClassName ?? "<none>",
      ((o.spec?.rules ?? []) as { host?: string }[]).map((r) => r.host ?? "*").join(",") || "*",
      "",
      o.spec?.tls ? "80, 443" : "80",
      age(o, now),
    ],
  },
  "coordination.k8s.io/Lease": {
    columns: [col("Name"), col("Holder"), col("Age")],
    cells: (o, now) => [o.metadata.name!, o.spec?.holderIdentity ?? "", age(o, now)],
  },
  "apiextensions.k8s.io/CustomResourceDefinition": {
    columns: [col("Name"), col("Created At", "date")],
    cells: (o) => [o.metadata.name!, o.metadata.creationTimestamp ?? ""],
  },
};

function printerFor(resource: ServedResource): Printer {
  const builtin = BUILTIN_PRINTERS[`${resource.group}/${resource.kind}`];
  if (builtin) return builtin;
  const extra = resource.printerColumns ?? [];
  const hasAge = extra.some((c) => c.name.toLowerCase() === "age");
  return {
    columns: [
      col("Name"),
      ...extra.map((c) => col(c.name, c.type, c.priority ?? 0, c.format ?? "")),
      ...(hasAge ? [] : [col("Age")]),
    ],
    cells: (o, now) => [
      o.metadata.name!,
      ...extra.map((c) => {
        const v = evalJsonPath(o, c.jsonPath);
        if (c.type === "date" && typeof v === "string") return humanDuration(now - Date.parse(v));
        return printValue(v);
      }),
      ...(hasAge ? [] : [age(o, now)]),
    ],
  };
}

function partialMetadata(o: KubeObject): Record<string, unknown> {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/** A meta.k8s.io/v1 Table of the objects; rows carry PartialObjectMetadata (kubectl's default includeObject). */
export function toTable(
  resource: ServedResource,
  objects: KubeObject[],
  listMeta: Record<string, unknown>,
  includeObject: string | undefined,
  now = Date.now(),
): Record<string, unknown> {
  const printer = printerFor(resource);
  const columns = printer.columns.map((c, i) => (i === 0 ? { ...c, format: "name" } : c));
  // Printed "date" columns are already turned into ages on the server.
  const shownColumns = columns.map((c) => (c.type === "date" ? { ...c, type: "string" } : c));
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: shownColumns,
    rows: objects.map((o) => ({
      cells: printer.cells(o, now),
      object: includeObject === "None" ? undefined : includeObject === "Object" ? o : partialMetadata(o),
    })),
  };
}
