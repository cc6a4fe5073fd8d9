/**
 * What each `slipway rollout` command writes, decided from the Rollout as read (no I/O), as
 * kubectl-argo-rollouts does (pkg/kubectl-argo-rollouts/cmd/{promote,abort,retry,pause,undo,
 * set,restart}). Every command has exactly one effect, says so in one line, and refuses when it
 * would make no sense, so a user never loops between abort, retry and promote wondering which
 * one took (argo-rollouts#2897).
 *
 * Status fields are written through the status subresource (merge patch); spec fields through
 * the object (merge patch, or a JSON patch where a whole template is replaced). Every write
 * carries the resourceVersion that was read, so a decision is never applied to a rollout that
 * changed in between: the caller re-reads and plans again on a conflict.
 */
import type { CanaryStep, PodTemplate, Rollout } from "../api/v1alpha1/rollout.js";
import {
  POD_HASH_LABEL,
  phaseOf,
  podHashOf,
  type ReplicaSetJson,
  revisionOf,
  stepIndexOf,
  stepsOf,
  strategyOf,
  updateInProgress,
} from "./rollout-state.js";

/** A command that makes no sense for the rollout as it is; the message says why and what to do. */
export class CommandRefused extends Error {
  override name = "CommandRefused";
}

export type JsonPatchOp =
  | { op: "test" | "replace" | "add"; path: string; value: unknown }
  | { op: "remove"; path: string };

/** The writes of one command, and what to tell the user and record as an Event. */
export interface Effect {
  /** Merge patch of `status` (through the status subresource), applied first. */
  status?: Record<string, unknown>;
  /** Merge patch of `spec`. */
  spec?: Record<string, unknown>;
  /** JSON patch of the object (replaces whole lists or templates). */
  jsonPatch?: JsonPatchOp[];
  /** The one line printed. */
  message: string;
  /** The Event recorded on the Rollout (reason in CamelCase, as the controller's Events). */
  event: { reason: string; message: string };
  /** Nothing to write (the rollout already is as asked); the message says so. */
  noop?: boolean;
}

export interface CommandContext {
  /** How the user runs the CLI, for hints: `slipway` or `kubectl slipway`. */
  cmd: string;
  now: Date;
}

const quoted = (rollout: Rollout) => `rollout '${rollout.metadata.name ?? ""}'`;

/** RFC 3339 in UTC without milliseconds, as the API server writes times. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `setWeight 20`, `pause 30s`, `pause`, `analysis success-rate`, ... */
export function describeStep(step: CanaryStep | undefined): string {
  if (!step) return "end";
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause) return step.pause.duration !== undefined ? `pause ${step.pause.duration}` : "pause";
  if (step.analysis) {
    const names = (step.analysis.templates ?? []).map((t) => t.templateName).join(", ");
    return names ? `analysis ${names}` : "analysis";
  }
  if (step.setCanaryScale) return "setCanaryScale";
  if (step.setHeaderRoute) return `setHeaderRoute ${step.setHeaderRoute.name}`;
  if (step.setMirrorRoute) return `setMirrorRoute ${step.setMirrorRoute.name}`;
  return "step";
}

/** `steps[4] (analysis success-rate)`, or "the end of the steps". */
function stepRef(rollout: Rollout, index: number): string {
  const steps = stepsOf(rollout);
  return index >= steps.length ? "the end of the steps" : `steps[${index}] (${describeStep(steps[index])})`;
}

function hasUpdateToPromote(rollout: Rollout): boolean {
  const s = rollout.status;
  // Without a stable revision yet (first deploy) there is nothing to skip to either.
  return updateInProgress(rollout) || Boolean(s?.currentPodHash && !s.stableRS);
}

// ---------------------------------------------------------------------------------------------
// promote

/**
 * Argo's `promote`: unpause (`spec.paused=false`) and clear the pause conditions, which ends a
 * pause step, a blue-green pause or an inconclusive-analysis pause. With no pause, a canary
 * skips its current step (e.g. a running analysis step). `--full` sets `status.promoteFull`:
 * the remaining steps, pauses and analysis are skipped and the update becomes stable.
 */
export function planPromote(rollout: Rollout, full: boolean, ctx: CommandContext): Effect {
  const name = rollout.metadata.name ?? "";
  const s = rollout.status ?? {};
  const canary = strategyOf(rollout) === "Canary";
  const steps = stepsOf(rollout);
  const index = stepIndexOf(rollout);
  const spec = rollout.spec.paused ? { paused: false } : undefined;

  if (s.abort) {
    // An aborted update stays aborted until `retry`: clearing the abort here as well would let
    // the failed analysis abort it again at once, the abort/promote loop of argo-rollouts#2897.
    const then = full ? `, then "${ctx.cmd} rollout promote ${name} --full" skips its steps` : "";
    throw new CommandRefused(
      `${quoted(rollout)} is aborted: "${ctx.cmd} rollout retry ${name}" runs the update again${then} (or "${ctx.cmd} rollout undo ${name}" goes back to the previous revision)`,
    );
  }

  if (full) {
    if (s.promoteFull) throw new CommandRefused(`${quoted(rollout)} is already being promoted fully`);
    if (!hasUpdateToPromote(rollout)) {
      throw new CommandRefused(
        `${quoted(rollout)} has no update in progress to promote (${phaseOf(rollout).phase}, its revision is stable)`,
      );
    }
    const skipped = canary
      ? "the remaining steps, pauses and analysis are skipped"
      : "pauses and analysis are skipped";
    return {
      status: { promoteFull: true },
      ...(spec ? { spec } : {}),
      message: `${quoted(rollout)} fully promoted: ${skipped} and the update becomes stable`,
      event: {
        reason: "PromoteFullRequested",
        message: `Full promotion requested with "${ctx.cmd} rollout promote --full"`,
      },
    };
  }

  const pauses = s.pauseConditions ?? [];
  const reasons = new Set(pauses.map((p) => p.reason));
  const effects: string[] = [];
  let status: Record<string, unknown> | undefined;
  if (spec) effects.push("unpaused (spec.paused=false)");

  if (pauses.length > 0) {
    // `controllerPause` stays set: a paused controller that finds its pause conditions gone
    // knows the user released it (controller/rollouts/pause.ts, Argo's pause.go), and moves on
    // past the pause step or the inconclusive analysis itself.
    status = { pauseConditions: null };
    if (reasons.has("CanaryPauseStep"))
      effects.push(`leaves the pause at steps[${index}], on to ${stepRef(rollout, index + 1)}`);
    if (reasons.has("BlueGreenPause")) effects.push("the preview becomes active");
    if (reasons.has("InconclusiveAnalysisRun")) effects.push("goes on past the inconclusive analysis");
    if (effects.length === (spec ? 1 : 0)) effects.push(`pause cleared (${[...reasons].join(", ")})`);
  } else if (!spec && canary && index < steps.length && hasUpdateToPromote(rollout)) {
    status = { currentStepIndex: index + 1 };
    effects.push(`skips ${stepRef(rollout, index)}, on to ${stepRef(rollout, index + 1)}`);
  }
  if (!status && !spec) {
    const phase = phaseOf(rollout).phase;
    const why =
      phase === "Healthy" || !hasUpdateToPromote(rollout)
        ? "it has no update in progress"
        : canary && steps.length === 0
          ? "it has no steps to skip"
          : `it is ${phase}`;
    throw new CommandRefused(`${quoted(rollout)} is not paused (${why})`);
  }
  return {
    ...(status ? { status } : {}),
    ...(spec ? { spec } : {}),
    message: `${quoted(rollout)} promoted: ${effects.join("; ")}`,
    event: {
      reason: "PromoteRequested",
      message: `Promotion requested with "${ctx.cmd} rollout promote": ${effects.join("; ")}`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// abort, retry

/** Argo's `abort`: `status.abort=true`; the controller sends traffic back to stable first. */
export function planAbort(rollout: Rollout, ctx: CommandContext): Effect {
  const s = rollout.status ?? {};
  if (s.abort) throw new CommandRefused(`${quoted(rollout)} is already aborted`);
  if (s.stableRS && !updateInProgress(rollout)) {
    throw new CommandRefused(
      `${quoted(rollout)} has no update in progress to abort (its revision is stable)`,
    );
  }
  const what =
    strategyOf(rollout) === "Canary"
      ? "traffic returns to stable, then the canary scales down"
      : "the active service stays on stable and the preview scales down";
  return {
    status: { abort: true },
    message: `${quoted(rollout)} aborted: ${what}`,
    event: { reason: "AbortRequested", message: `Abort requested with "${ctx.cmd} rollout abort"` },
  };
}

/**
 * Argo's `retry`: `status.abort=false`. `abortedAt` stays: abort cleared with `abortedAt` still
 * set is how the controller tells a retry (a new attempt, new analysis runs) from no abort.
 */
export function planRetry(rollout: Rollout, ctx: CommandContext): Effect {
  if (!rollout.status?.abort) throw new CommandRefused(`${quoted(rollout)} is not aborted`);
  const from =
    strategyOf(rollout) === "Canary" && stepsOf(rollout).length > 0 ? ` from ${stepRef(rollout, 0)}` : "";
  return {
    status: { abort: false },
    message: `${quoted(rollout)} retried: the update runs again${from}`,
    event: { reason: "RetryRequested", message: `Retry requested with "${ctx.cmd} rollout retry"` },
  };
}

// ---------------------------------------------------------------------------------------------
// pause, resume

export function planPause(rollout: Rollout, ctx: CommandContext): Effect {
  const name = rollout.metadata.name ?? "";
  if (rollout.spec.paused) throw new CommandRefused(`${quoted(rollout)} is already paused`);
  return {
    spec: { paused: true },
    message: `${quoted(rollout)} paused: it stays where it is until "${ctx.cmd} rollout resume ${name}"`,
    event: { reason: "PauseRequested", message: `Paused with "${ctx.cmd} rollout pause"` },
  };
}

/** Undoes `pause` only; a pause step or a blue-green pause is ended by `promote`. */
export function planResume(rollout: Rollout, ctx: CommandContext): Effect {
  const name = rollout.metadata.name ?? "";
  if (!rollout.spec.paused) {
    const reasons = (rollout.status?.pauseConditions ?? []).map((p) => p.reason);
    if (reasons.length > 0) {
      throw new CommandRefused(
        `${quoted(rollout)} is not paused by the user: it waits for promotion (${reasons.join(", ")}); "${ctx.cmd} rollout promote ${name}" continues it`,
      );
    }
    throw new CommandRefused(`${quoted(rollout)} is not paused`);
  }
  return {
    spec: { paused: false },
    message: `${quoted(rollout)} resumed`,
    event: { reason: "ResumeRequested", message: `Resumed with "${ctx.cmd} rollout resume"` },
  };
}

// ---------------------------------------------------------------------------------------------
// undo

function refuseWorkloadRef(rollout: Rollout, what: string): void {
  const ref = rollout.spec.workloadRef;
  if (ref && !rollout.spec.template) {
    throw new CommandRefused(
      `${quoted(rollout)} takes its pod template from ${ref.kind} '${ref.name}' (workloadRef): ${what} there`,
    );
  }
}

/**
 * A pod template as a ReplicaSet carries it, as the Rollout should hold it: without the label
 * the controller added, and with only the metadata a Rollout's template keeps (the API server
 * adds `creationTimestamp: null` to templates).
 */
function templateWithoutHash(template: PodTemplate | undefined): PodTemplate | undefined {
  if (!template) return undefined;
  const copy = structuredClone(template);
  const labels = { ...(copy.metadata?.labels ?? {}) };
  delete labels[POD_HASH_LABEL];
  const annotations = copy.metadata?.annotations;
  copy.metadata = {
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
  return copy;
}

/** JSON equality with object keys in any order; null and empty-object values count as absent. */
function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v === null || typeof v !== "object") return v;
    const entries = Object.keys(v)
      .sort()
      .map((k) => [k, canon((v as Record<string, unknown>)[k])] as const)
      .filter(
        ([, x]) => x !== null && x !== undefined && !(typeof x === "object" && Object.keys(x).length === 0),
      );
    return Object.fromEntries(entries);
  };
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

const imagesText = (template: PodTemplate | undefined): string =>
  (template?.spec?.containers ?? []).map((c) => c.image ?? "?").join(", ");

/**
 * Argo's `undo`: the pod template of the ReplicaSet with revision `toRevision` (default: the one
 * before the newest) replaces `spec.template`, which starts a new update to it.
 */
export function planUndo(
  rollout: Rollout,
  replicaSets: readonly ReplicaSetJson[],
  toRevision: number | undefined,
  ctx: CommandContext,
): Effect {
  refuseWorkloadRef(rollout, "roll back the template");
  const byRevision = new Map<number, ReplicaSetJson>();
  for (const rs of replicaSets) {
    const rev = revisionOf(rs.metadata);
    if (rev !== undefined && rs.spec?.template) byRevision.set(rev, rs);
  }
  const revisions = [...byRevision.keys()].sort((a, b) => a - b);
  if (revisions.length === 0) throw new CommandRefused(`${quoted(rollout)} has no revision history`);
  let target: number;
  if (toRevision === undefined || toRevision === 0) {
    if (revisions.length < 2) {
      throw new CommandRefused(
        `${quoted(rollout)} has no previous revision (revisions: ${revisions.join(", ")})`,
      );
    }
    target = revisions[revisions.length - 2]!;
  } else {
    if (!byRevision.has(toRevision))
      throw new CommandRefused(`no revision ${toRevision}; revisions: ${revisions.join(", ")}`);
    target = toRevision;
  }
  const targetRS = byRevision.get(target)!;
  const template = templateWithoutHash(targetRS.spec!.template as PodTemplate)!;
  // The controller's hash of the current template names the revision it is, whatever the API
  // server added to or pruned from either copy; before it has looked, compare the templates.
  const s = rollout.status;
  const observed =
    s?.observedGeneration !== undefined && s.observedGeneration === rollout.metadata.generation;
  const isCurrent =
    observed && s?.currentPodHash !== undefined && podHashOf(targetRS.metadata) === s.currentPodHash;
  if (isCurrent || sameJson(template, rollout.spec.template)) {
    return {
      noop: true,
      message: `${quoted(rollout)} unchanged: skipped rollback (the current template already matches revision ${target})`,
      event: { reason: "UndoSkipped", message: "" },
    };
  }
  return {
    jsonPatch: [
      { op: "test", path: "/metadata/resourceVersion", value: rollout.metadata.resourceVersion },
      { op: rollout.spec.template ? "replace" : "add", path: "/spec/template", value: template },
    ],
    message: `${quoted(rollout)} rolled back to revision ${target} (${imagesText(template)}): an update to it starts`,
    event: {
      reason: "UndoRequested",
      message: `Rolled back to revision ${target} with "${ctx.cmd} rollout undo"`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// set image

const CONTAINER_LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;

/** `kubectl set image` for a Rollout: `NAME=IMAGE` per container, `*=IMAGE` for all of them. */
export function planSetImage(rollout: Rollout, assignments: readonly string[], ctx: CommandContext): Effect {
  refuseWorkloadRef(rollout, "set the image");
  if (assignments.length === 0) throw new CommandRefused("give at least one CONTAINER=IMAGE (or *=IMAGE)");
  const wanted = new Map<string, string>();
  for (const a of assignments) {
    const i = a.indexOf("=");
    if (i <= 0 || i === a.length - 1) throw new CommandRefused(`expected CONTAINER=IMAGE, got "${a}"`);
    wanted.set(a.slice(0, i), a.slice(i + 1));
  }
  const spec = rollout.spec.template?.spec;
  if (!spec) throw new CommandRefused(`${quoted(rollout)} has no pod template`);
  const ops: JsonPatchOp[] = [];
  const changed: string[] = [];
  const unchanged: string[] = [];
  const matched = new Set<string>();
  const all: string[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = (spec as Record<string, unknown>)[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((c: { name?: string; image?: string }, i) => {
      const cname = c.name ?? "";
      all.push(cname);
      const image = wanted.get(cname) ?? wanted.get("*");
      if (image === undefined) return;
      matched.add(wanted.has(cname) ? cname : "*");
      if (c.image === image) {
        unchanged.push(`container '${cname}' already runs ${image}`);
        return;
      }
      ops.push({
        op: c.image === undefined ? "add" : "replace",
        path: `/spec/template/spec/${list}/${i}/image`,
        value: image,
      });
      changed.push(`${cname}=${image}${c.image ? ` (was ${c.image})` : ""}`);
    });
  }
  const missing = [...wanted.keys()].filter((n) => !matched.has(n));
  if (missing.length > 0) {
    const names = missing.filter((n) => n !== "*");
    throw new CommandRefused(
      names.length > 0
        ? `${quoted(rollout)} has no container ${names.map((n) => `'${n}'`).join(", ")} (containers: ${all.join(", ") || "none"})`
        : `${quoted(rollout)} has no containers`,
    );
  }
  if (ops.length === 0) {
    return {
      noop: true,
      message: `${quoted(rollout)} unchanged: ${unchanged.join(", ")}`,
      event: { reason: "ImageUnchanged", message: "" },
    };
  }
  return {
    jsonPatch: [
      { op: "test", path: "/metadata/resourceVersion", value: rollout.metadata.resourceVersion },
      ...ops,
    ],
    message: `${quoted(rollout)} image updated: ${changed.join(", ")}; an update starts`,
    event: {
      reason: "ImageUpdated",
      message: `Image set with "${ctx.cmd} rollout set image": ${changed.join(", ")}`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// restart

/** Argo's `restart [--in]`: `spec.restartAt` = now + delay; pods created before it are replaced. */
export function planRestart(rollout: Rollout, delayMs: number, ctx: CommandContext): Effect {
  if (!Number.isFinite(delayMs) || delayMs < 0)
    throw new CommandRefused("--in must be a duration >= 0, such as 10s or 5m");
  const at = rfc3339(new Date(Math.ceil((ctx.now.getTime() + delayMs) / 1000) * 1000));
  const message =
    delayMs > 0
      ? `${quoted(rollout)} restarts at ${at}: pods created before then are replaced, a few at a time`
      : `${quoted(rollout)} restarting: pods created before ${at} are replaced, a few at a time`;
  return {
    spec: { restartAt: at },
    message,
    event: {
      reason: "RestartRequested",
      message: `Restart at ${at} requested with "${ctx.cmd} rollout restart"`,
    },
  };
}
