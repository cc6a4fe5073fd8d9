/**
 * `slipway rollout get`: the header and tree kubectl-argo-rollouts draws
 * (pkg/kubectl-argo-rollouts/cmd/get/get_rollout.go), as a pure function of the objects and the
 * time, so the same input always gives the same lines and tests compare them as text.
 *
 *   Name:            web
 *   Status:          ॥ Paused
 *   ...
 *   NAME                         KIND         STATUS        AGE  INFO
 *   ⟳ web                        Rollout      ॥ Paused      7m
 *   ├──# revision:2
 *   │  ├──⧉ web-6d9f7c8b5        ReplicaSet   ✔ Healthy     2m   canary
 *   │  │  └──□ web-6d9f7c8b5-x2  Pod          ✔ Running     2m   ready:1/1
 *   │  └──α web-6d9f7c8b5-2-1    AnalysisRun  ◌ Running     1m   ✔ 2, ✖ 0  success-rate=0.97
 *   └──# revision:1
 *      └──⧉ web-58b7d9c44f       ReplicaSet   ✔ Healthy     7m   stable
 */
import type { AnalysisRun } from "../api/v1alpha1/analysis.js";
import type { Rollout } from "../api/v1alpha1/rollout.js";
import { ageOf } from "./age.js";
import {
  abortReason,
  actualWeightOf,
  imagesOf,
  type JobJson,
  jobsOf,
  lastValues,
  ownedAnalysisRuns,
  ownedReplicaSets,
  type PodJson,
  pauseReason,
  phaseOf,
  podHashOf,
  podsOf,
  type ReplicaSetJson,
  type RolloutSnapshot,
  revisionOf,
  rolesOf,
  runCounts,
  scaleDownDeadlineOf,
  setWeightOf,
  shortDuration,
  stepText,
  strategyOf,
} from "./rollout-state.js";

export interface RenderOptions {
  /** ANSI colours (only on a TTY, and never with NO_COLOR). */
  color: boolean;
  /** How the user runs the CLI, for the hints: `slipway` or `kubectl slipway`. */
  cmd?: string;
}

/** Status icons, as kubectl-argo-rollouts prints them. */
export const ICONS = {
  Healthy: "✔",
  Progressing: "◌",
  Paused: "॥",
  Degraded: "✖",
  ScaledDown: "•",
  Error: "⚠",
} as const;

type Tone = "green" | "yellow" | "cyan" | "red" | "grey" | "none";

const ANSI: Record<Tone, string> = {
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  red: "\x1b[31m",
  grey: "\x1b[90m",
  none: "",
};
const RESET = "\x1b[0m";

function toneOf(icon: string): Tone {
  switch (icon) {
    case "✔":
      return "green";
    case "◌":
      return "yellow";
    case "॥":
      return "cyan";
    case "✖":
    case "⚠":
      return "red";
    case "•":
      return "grey";
    default:
      return "none";
  }
}

/** A status cell: an icon and a word, coloured by the icon. */
interface Status {
  icon: string;
  text: string;
}

const statusText = (s: Status): string => `${s.icon} ${s.text}`;

function paint(text: string, tone: Tone, color: boolean): string {
  return color && tone !== "none" && text ? `${ANSI[tone]}${text}${RESET}` : text;
}

// ---------------------------------------------------------------------------------------------
// Statuses of the objects in the tree

export function rolloutStatus(rollout: Rollout): Status {
  const { phase } = phaseOf(rollout);
  return { icon: ICONS[phase], text: phase };
}

function replicaSetStatus(rs: ReplicaSetJson): Status {
  const desired = rs.spec?.replicas ?? 1;
  const current = rs.status?.replicas ?? 0;
  if (desired === 0)
    return current === 0 ? { icon: "•", text: "ScaledDown" } : { icon: "◌", text: "Progressing" };
  return (rs.status?.availableReplicas ?? 0) >= desired
    ? { icon: "✔", text: "Healthy" }
    : { icon: "◌", text: "Progressing" };
}

const BAD_WAITING = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

export function podStatus(pod: PodJson): Status {
  if (pod.metadata.deletionTimestamp) return { icon: "◌", text: "Terminating" };
  const phase = pod.status?.phase ?? "Pending";
  if (phase === "Succeeded") return { icon: "✔", text: "Completed" };
  if (phase === "Failed") return { icon: "✖", text: pod.status?.reason ?? "Error" };
  for (const cs of pod.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting?.reason;
    if (waiting) return { icon: BAD_WAITING.has(waiting) ? "✖" : "◌", text: waiting };
    const terminated = cs.state?.terminated;
    if (terminated && (terminated.exitCode ?? 0) !== 0)
      return { icon: "✖", text: terminated.reason ?? "Error" };
  }
  if (phase === "Running") {
    const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    return { icon: ready ? "✔" : "◌", text: "Running" };
  }
  if (phase === "Pending") return { icon: "◌", text: "Pending" };
  return { icon: "⚠", text: phase };
}

function podInfo(pod: PodJson): string {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = Math.max(pod.spec?.containers?.length ?? 0, statuses.length);
  const ready = statuses.filter((c) => c.ready).length;
  const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return `ready:${ready}/${total}${restarts > 0 ? `,restarts:${restarts}` : ""}`;
}

const RUN_ICONS: Record<string, string> = {
  Successful: "✔",
  Running: "◌",
  Pending: "◌",
  Failed: "✖",
  Error: "⚠",
  Inconclusive: "⚠",
};

function runStatus(run: AnalysisRun): Status {
  const phase = run.status?.phase ?? "Pending";
  return { icon: RUN_ICONS[phase] ?? "⚠", text: phase };
}

function jobStatus(job: JobJson): Status {
  const cond = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === "True");
  if (cond("Complete") || ((job.status?.succeeded ?? 0) > 0 && !job.status?.active))
    return { icon: "✔", text: "Successful" };
  if (cond("Failed")) return { icon: "✖", text: "Failed" };
  if ((job.status?.active ?? 0) > 0) return { icon: "◌", text: "Running" };
  return { icon: "◌", text: "Pending" };
}

function replicaSetInfo(rollout: Rollout, rs: ReplicaSetJson, now: Date): string {
  const parts: string[] = rolesOf(rollout, rs);
  const deadline = scaleDownDeadlineOf(rs);
  if (deadline && (rs.spec?.replicas ?? 1) > 0) {
    const t = Date.parse(deadline);
    if (!Number.isNaN(t))
      parts.push(t > now.getTime() ? `delay:${shortDuration(t - now.getTime())}` : "delay:passed");
  }
  return parts.join(",");
}

// ---------------------------------------------------------------------------------------------
// The tree

interface Node {
  name: string;
  kind: string;
  status?: Status;
  created?: string;
  info: string;
  children: Node[];
}

const byName = <T extends { metadata: { name?: string } }>(a: T, b: T): number =>
  compare(a.metadata.name ?? "", b.metadata.name ?? "");

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Oldest first, then by name: the order runs happened in. */
const byCreation = <T extends { metadata: { name?: string; creationTimestamp?: string } }>(
  a: T,
  b: T,
): number => compare(a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "") || byName(a, b);

function buildTree(snapshot: RolloutSnapshot, now: Date): Node {
  const { rollout } = snapshot;
  const replicaSets = ownedReplicaSets(rollout, snapshot.replicaSets).sort(byName);
  const runs = ownedAnalysisRuns(rollout, snapshot.analysisRuns).sort(byCreation);

  // Revision of each pod hash, so a run without a revision annotation joins its ReplicaSet's.
  const revisionByHash = new Map<string, number>();
  for (const rs of replicaSets) {
    const rev = revisionOf(rs.metadata);
    const hash = podHashOf(rs.metadata);
    if (rev !== undefined && hash) revisionByHash.set(hash, rev);
  }
  const revisions = new Map<number | "?", Node[]>();
  const add = (rev: number | undefined, node: Node) => {
    const key = rev ?? "?";
    const list = revisions.get(key) ?? [];
    list.push(node);
    revisions.set(key, list);
  };

  for (const rs of replicaSets) {
    const pods = podsOf(rs, snapshot.pods).sort(byName);
    add(revisionOf(rs.metadata), {
      name: `⧉ ${rs.metadata.name ?? ""}`,
      kind: "ReplicaSet",
      status: replicaSetStatus(rs),
      ...(rs.metadata.creationTimestamp ? { created: rs.metadata.creationTimestamp } : {}),
      info: replicaSetInfo(rollout, rs, now),
      children: pods.map((pod) => ({
        name: `□ ${pod.metadata.name ?? ""}`,
        kind: "Pod",
        status: podStatus(pod),
        ...(pod.metadata.creationTimestamp ? { created: pod.metadata.creationTimestamp } : {}),
        info: podInfo(pod),
        children: [],
      })),
    });
  }
  for (const run of runs) {
    const hash = podHashOf(run.metadata);
    const rev = revisionOf(run.metadata) ?? (hash ? revisionByHash.get(hash) : undefined);
    const values = lastValues(run);
    add(rev, {
      name: `α ${run.metadata.name ?? ""}`,
      kind: "AnalysisRun",
      status: runStatus(run),
      ...(run.metadata.creationTimestamp ? { created: run.metadata.creationTimestamp } : {}),
      info: values ? `${runCounts(run)}  ${values}` : runCounts(run),
      children: jobsOf(run, snapshot.jobs)
        .sort(byCreation)
        .map((job) => ({
          name: `⊞ ${job.metadata.name ?? ""}`,
          kind: "Job",
          status: jobStatus(job),
          ...(job.metadata.creationTimestamp ? { created: job.metadata.creationTimestamp } : {}),
          info: "",
          children: [],
        })),
    });
  }

  // Newest revision first, as Argo draws it; unknown revisions last.
  const keys = [...revisions.keys()].sort((a, b) => (a === "?" ? 1 : b === "?" ? -1 : b - a));
  return {
    name: `⟳ ${rollout.metadata.name ?? ""}`,
    kind: "Rollout",
    status: rolloutStatus(rollout),
    ...(rollout.metadata.creationTimestamp ? { created: rollout.metadata.creationTimestamp } : {}),
    info: "",
    children: keys.map((key) => ({
      name: `# revision:${key}`,
      kind: "",
      info: "",
      children: revisions.get(key) ?? [],
    })),
  };
}

interface Row {
  name: string;
  kind: string;
  status?: Status;
  age: string;
  info: string;
}

function flatten(node: Node, now: Date, prefix: string, childPrefix: string, rows: Row[]): void {
  rows.push({
    name: `${prefix}${node.name}`,
    kind: node.kind,
    ...(node.status ? { status: node.status } : {}),
    age: node.status ? ageOf(node.created, now) : "",
    info: node.info,
  });
  node.children.forEach((child, i) => {
    const last = i === node.children.length - 1;
    flatten(
      child,
      now,
      `${childPrefix}${last ? "└──" : "├──"}`,
      `${childPrefix}${last ? "   " : "│  "}`,
      rows,
    );
  });
}

function renderTree(root: Node, now: Date, color: boolean): string[] {
  const rows: Row[] = [];
  flatten(root, now, "", "", rows);
  const headers = ["NAME", "KIND", "STATUS", "AGE", "INFO"];
  const cells = rows.map((r) => [r.name, r.kind, r.status ? statusText(r.status) : "", r.age, r.info]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[], status?: Status) =>
    values
      .map((v, i) => {
        const padded = i === values.length - 1 ? v : v.padEnd(widths[i]!);
        if (i !== 2 || !status) return padded;
        return paint(v, toneOf(status.icon), color) + padded.slice(v.length);
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map((r, i) => line(cells[i]!, r.status))];
}

// ---------------------------------------------------------------------------------------------
// The header

const LABEL_WIDTH = 17;
const field = (label: string, value: string): string =>
  `${`${label}:`.padEnd(LABEL_WIDTH)}${value}`.trimEnd();

function renderHeader(snapshot: RolloutSnapshot, now: Date, options: RenderOptions): string[] {
  const { rollout } = snapshot;
  const { color } = options;
  const cmd = options.cmd ?? "slipway";
  const status = rolloutStatus(rollout);
  const { message } = phaseOf(rollout);
  const lines = [
    field("Name", rollout.metadata.name ?? ""),
    field("Namespace", rollout.metadata.namespace ?? ""),
    field("Status", paint(statusText(status), toneOf(status.icon), color)),
  ];
  if (message) lines.push(field("Message", message));
  const strategy = strategyOf(rollout);
  lines.push(field("Strategy", strategy));
  if (strategy === "Canary") {
    lines.push(field("  Step", stepText(rollout)));
    lines.push(field("  SetWeight", String(setWeightOf(rollout) ?? "-")));
    const actual = actualWeightOf(snapshot);
    if (actual) {
      const where =
        actual.source === "replicas" ? "" : ` (${actual.source}${actual.detail ? `: ${actual.detail}` : ""})`;
      lines.push(field("  ActualWeight", `${actual.weight ?? "?"}${where}`));
    }
  }
  const images = imagesOf(snapshot);
  if (images.length === 0) lines.push(field("Images", "-"));
  images.forEach((img, i) => {
    const text = `${img.image}${img.roles.length ? ` (${img.roles.join(", ")})` : ""}`;
    lines.push(i === 0 ? field("Images", text) : `${" ".repeat(LABEL_WIDTH)}${text}`);
  });
  const s = rollout.status;
  lines.push(
    "Replicas:",
    field("  Desired", String(rollout.spec.replicas ?? 1)),
    field("  Current", String(s?.replicas ?? 0)),
    field("  Updated", String(s?.updatedReplicas ?? 0)),
    field("  Ready", String(s?.readyReplicas ?? 0)),
    field("  Available", String(s?.availableReplicas ?? 0)),
  );
  const paused = pauseReason(rollout, now, cmd);
  if (paused) lines.push(field("Paused", paint(paused, "cyan", color)));
  const aborted = abortReason(rollout, now, cmd);
  if (aborted) lines.push(field("Aborted", paint(aborted, "red", color)));
  return lines;
}

/** The whole `rollout get` output, one string per line. */
export function renderRollout(snapshot: RolloutSnapshot, now: Date, options: RenderOptions): string[] {
  return [
    ...renderHeader(snapshot, now, options),
    "",
    ...renderTree(buildTree(snapshot, now), now, options.color),
  ];
}
