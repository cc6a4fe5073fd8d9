/**
 * `slipway rollout ...`: the work behind the command definitions in rollout.ts, loaded when a
 * command runs. Reading and drawing live in rollout-state.ts / rollout-tree.ts (pure), what each
 * command writes in rollout-commands.ts (pure), cluster access in rollout-client.ts.
 */
import { readFileSync } from "node:fs";
import { parseDuration } from "../analysis/duration.js";
import type { Rollout } from "../api/v1alpha1/rollout.js";
import type { GlobalOptions } from "./kube-client.js";
import { formatTable, printStructured } from "./output.js";
import type { RolloutClient, RolloutWatch } from "./rollout-client.js";
import {
  type CommandContext,
  type Effect,
  planAbort,
  planPause,
  planPromote,
  planRestart,
  planResume,
  planRetry,
  planSetImage,
  planUndo,
} from "./rollout-commands.js";
import type { LintProblem } from "./rollout-lint.js";
import {
  isComplete,
  phaseOf,
  type RolloutSnapshot,
  setWeightOf,
  stepText,
  strategyOf,
} from "./rollout-state.js";
import { renderRollout } from "./rollout-tree.js";

/** `kubectl slipway` when run as the kubectl plugin, else `slipway`: how hints spell commands. */
export function cliName(): string {
  return process.argv[1]?.endsWith("kubectl-slipway") ? "kubectl slipway" : "slipway";
}

/** A Go-style duration flag (`500ms`, `10s`, `5m`, a plain number is seconds) in ms. */
export function durationFlag(flag: string, value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new Error(`${flag} expects a duration such as 30s, 5m or 1h, got "${value}"`);
  }
  if (ms < 0) throw new Error(`${flag} must not be negative, got "${value}"`);
  return ms;
}

async function withClient<T>(
  globals: GlobalOptions,
  body: (client: RolloutClient) => Promise<T>,
): Promise<T> {
  // Loaded here, not at the top: `lint` needs no cluster and should not pay for the client.
  const { RolloutClient } = await import("./rollout-client.js");
  const client = new RolloutClient(globals);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// list

export async function listRollouts(
  options: { allNamespaces?: boolean },
  globals: GlobalOptions,
): Promise<void> {
  await withClient(globals, async (client) => {
    const all = Boolean(options.allNamespaces);
    const list = await client.listRollouts(all);
    if (printStructured(list, globals.output)) return;
    const items = [...list.items].sort(
      (a, b) =>
        (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    );
    if (items.length === 0) {
      process.stderr.write(
        all ? "No rollouts found.\n" : `No rollouts found in namespace "${client.namespace()}".\n`,
      );
      return;
    }
    const wide = globals.output === "wide";
    const headers = [
      ...(all ? ["NAMESPACE"] : []),
      "NAME",
      "STRATEGY",
      "STATUS",
      "STEP",
      "SET-WEIGHT",
      "READY",
      "DESIRED",
      "UP-TO-DATE",
      "AVAILABLE",
      ...(wide ? ["MESSAGE"] : []),
    ];
    const rows = items.map((ro) => listRow(ro, all, wide));
    process.stdout.write(`${formatTable(headers, rows)}\n`);
  });
}

/** One row of `rollout list` (kubectl-argo-rollouts' columns). */
export function listRow(ro: Rollout, namespace: boolean, wide: boolean): string[] {
  const s = ro.status;
  const { phase, message } = phaseOf(ro);
  return [
    ...(namespace ? [ro.metadata.namespace ?? ""] : []),
    ro.metadata.name ?? "",
    strategyOf(ro),
    phase,
    stepText(ro),
    String(setWeightOf(ro) ?? "-"),
    `${s?.readyReplicas ?? 0}/${s?.replicas ?? 0}`,
    String(ro.spec.replicas ?? 1),
    String(s?.updatedReplicas ?? 0),
    String(s?.availableReplicas ?? 0),
    ...(wide ? [message.replace(/\s+/g, " ")] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// get [--watch]

export interface GetOptions {
  watch?: boolean;
  color?: boolean;
  timeout?: string;
}

function useColor(options: GetOptions): boolean {
  return options.color !== false && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

export async function getRollout(name: string, options: GetOptions, globals: GlobalOptions): Promise<void> {
  const timeoutMs = options.timeout !== undefined ? durationFlag("--timeout", options.timeout) : undefined;
  await withClient(globals, async (client) => {
    if (globals.output === "json" || globals.output === "yaml") {
      printStructured(await client.getRollout(name), globals.output);
      return;
    }
    const render = (snapshot: RolloutSnapshot) =>
      renderRollout(snapshot, new Date(), { color: useColor(options), cmd: cliName() });
    if (!options.watch) {
      process.stdout.write(`${render(await client.snapshot(name)).join("\n")}\n`);
      return;
    }
    // Fail fast with the usual message when the rollout does not exist.
    await client.getRollout(name);
    await watchRollout(client, name, render, timeoutMs);
  });
}

/** ANSI colour codes (SGR), which take no room on the screen. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "y");
const visible = (line: string): number => line.replace(new RegExp(SGR.source, "g"), "").length;

/** Cuts a line to the terminal width so that a redraw never wraps (and miscounts its lines). */
function fitToWidth(line: string, columns: number): string {
  if (visible(line) <= columns) return line;
  let out = "";
  let width = 0;
  for (let i = 0; i < line.length && width < columns - 1; ) {
    SGR.lastIndex = i;
    const esc = SGR.exec(line);
    if (esc) {
      out += esc[0];
      i += esc[0].length;
      continue;
    }
    out += line[i];
    width++;
    i++;
  }
  return `${out}\x1b[0m…`;
}

/**
 * Redraws the tree until Ctrl-C (or `--timeout`): on a TTY in place, on every change (at most
 * every 200 ms) and every second for the ages; otherwise a new block whenever an object changed.
 */
async function watchRollout(
  client: RolloutClient,
  name: string,
  render: (snapshot: RolloutSnapshot) => string[],
  timeoutMs: number | undefined,
): Promise<void> {
  const tty = Boolean(process.stdout.isTTY);
  let watch: RolloutWatch | undefined;
  let lastDraw = 0;
  let lastText = "";
  let lastVersion = "";
  let drawnLines = 0;
  let pending: NodeJS.Timeout | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  let ready = false;
  const draw = () => {
    pending = undefined;
    if (!ready) return;
    const snapshot = watch?.snapshot();
    lastDraw = Date.now();
    if (!snapshot) {
      if (watch && !watch.rollout() && lastText) {
        process.stdout.write(`rollout "${name}" was deleted\n`);
        finish();
      }
      return;
    }
    if (tty) {
      const columns = process.stdout.columns || 120;
      const rows = process.stdout.rows || 50;
      const lines = render(snapshot).map((l) => fitToWidth(l, columns));
      const text = lines.join("\n");
      if (text === lastText) return;
      // Back to the top of the last drawing and clear below; a drawing taller than the screen
      // cannot be reached that way, so then the screen is cleared.
      const reset = drawnLines === 0 ? "" : drawnLines < rows ? `\x1b[${drawnLines}F\x1b[J` : "\x1b[H\x1b[2J";
      process.stdout.write(`${reset}${text}\n`);
      drawnLines = lines.length;
      lastText = text;
    } else {
      const version = watch?.version() ?? "";
      if (version === lastVersion) return;
      lastVersion = version;
      const text = render(snapshot).join("\n");
      if (text === lastText) return;
      process.stdout.write(`${lastText ? "\n" : ""}${text}\n`);
      lastText = text;
    }
  };
  const schedule = () => {
    if (pending) return;
    pending = setTimeout(draw, Math.max(0, 200 - (Date.now() - lastDraw)));
  };

  const onSignal = () => finish();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  if (tty) process.stdout.write("\x1b[?25l");
  const ticker = tty ? setInterval(schedule, 1000) : undefined;
  const timer = timeoutMs !== undefined ? setTimeout(finish, timeoutMs) : undefined;
  try {
    watch = client.watchRollout(name, schedule);
    await Promise.race([watch.synced(), done]);
    ready = true;
    draw();
    await done;
  } finally {
    if (ticker) clearInterval(ticker);
    if (timer) clearTimeout(timer);
    if (pending) clearTimeout(pending);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (tty) process.stdout.write("\x1b[?25h");
    await watch?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// status

/** One line of progress, without times, so it only changes when the rollout does. */
export function progressLine(ro: Rollout): string {
  const { phase, message } = phaseOf(ro);
  const s = ro.status;
  const parts: string[] = [];
  if (strategyOf(ro) === "Canary" && stepText(ro) !== "-")
    parts.push(`step ${stepText(ro)}`, `weight ${setWeightOf(ro)}`);
  parts.push(
    `updated ${s?.updatedReplicas ?? 0}/${ro.spec.replicas ?? 1}`,
    `available ${s?.availableReplicas ?? 0}`,
  );
  return `${phase}${message ? ` - ${message.replace(/\s+/g, " ")}` : ""}: ${parts.join(", ")}`;
}

/**
 * Waits like `kubectl rollout status`: prints a line whenever the state changes; resolves 0 once
 * the rollout is Healthy with the update complete, and fails when it is Degraded (aborted) or
 * when `--timeout` passes first, with the last state in the message.
 */
export async function rolloutStatus(
  name: string,
  options: { timeout?: string },
  globals: GlobalOptions,
): Promise<void> {
  const timeoutMs = options.timeout !== undefined ? durationFlag("--timeout", options.timeout) : undefined;
  await withClient(globals, async (client) => {
    const initial = await client.getRollout(name);
    let last = initial;
    let printed = "";
    let outcome: { ok: boolean; message: string } | undefined;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });

    const check = (ro: Rollout | undefined) => {
      if (outcome) return;
      if (!ro) {
        outcome = { ok: false, message: `rollout "${name}" was deleted` };
        finish();
        return;
      }
      last = ro;
      if (isComplete(ro)) {
        outcome = { ok: true, message: `rollout "${name}" successfully rolled out` };
        finish();
        return;
      }
      const { phase, message } = phaseOf(ro);
      if (phase === "Degraded") {
        outcome = { ok: false, message: `rollout "${name}" is Degraded${message ? `: ${message}` : ""}` };
        finish();
        return;
      }
      const line = `Waiting for rollout "${name}" to finish: ${progressLine(ro)}`;
      if (line !== printed) {
        process.stdout.write(`${line}\n`);
        printed = line;
      }
    };

    check(initial);
    if (outcome) return report(outcome);
    const watch = client.watchRollout(
      name,
      () => {
        if (watch.rolloutSynced()) check(watch.rollout());
      },
      { rolloutOnly: true },
    );
    const timer =
      timeoutMs !== undefined
        ? setTimeout(() => {
            outcome ??= {
              ok: false,
              message: `timed out after ${options.timeout} waiting for rollout "${name}"; last state: ${progressLine(last)}`,
            };
            finish();
          }, timeoutMs)
        : undefined;
    const onSignal = () => {
      outcome ??= {
        ok: false,
        message: `interrupted; last state of rollout "${name}": ${progressLine(last)}`,
      };
      finish();
    };
    process.on("SIGINT", onSignal);
    try {
      await done;
    } finally {
      if (timer) clearTimeout(timer);
      process.off("SIGINT", onSignal);
      await watch.stop();
    }
    report(outcome!);
  });
}

function report(outcome: { ok: boolean; message: string }): void {
  if (!outcome.ok) throw new Error(outcome.message);
  process.stdout.write(`${outcome.message}\n`);
}

// ---------------------------------------------------------------------------------------------
// promote, abort, retry, pause, resume, undo, set image, restart

async function runCommand(
  name: string,
  what: string,
  globals: GlobalOptions,
  plan: (rollout: Rollout, ctx: CommandContext, client: RolloutClient) => Effect | Promise<Effect>,
): Promise<void> {
  await withClient(globals, async (client) => {
    const { effect, rollout } = await client.apply(name, what, (ro) =>
      plan(ro, { cmd: cliName(), now: new Date() }, client),
    );
    if (printStructured(rollout, globals.output)) return;
    process.stdout.write(`${effect.message}\n`);
  });
}

export const promote = (name: string, options: { full?: boolean }, globals: GlobalOptions) =>
  runCommand(name, "promote", globals, (ro, ctx) => planPromote(ro, Boolean(options.full), ctx));

export const abort = (name: string, globals: GlobalOptions) =>
  runCommand(name, "abort", globals, (ro, ctx) => planAbort(ro, ctx));

export const retry = (name: string, globals: GlobalOptions) =>
  runCommand(name, "retry", globals, (ro, ctx) => planRetry(ro, ctx));

export const pause = (name: string, globals: GlobalOptions) =>
  runCommand(name, "pause", globals, (ro, ctx) => planPause(ro, ctx));

export const resume = (name: string, globals: GlobalOptions) =>
  runCommand(name, "resume", globals, (ro, ctx) => planResume(ro, ctx));

export function undo(name: string, options: { toRevision?: string }, globals: GlobalOptions): Promise<void> {
  let revision: number | undefined;
  if (options.toRevision !== undefined) {
    if (!/^\d+$/.test(options.toRevision))
      throw new Error(`--to-revision expects a revision number, got "${options.toRevision}"`);
    revision = Number(options.toRevision);
  }
  return runCommand(name, "undo", globals, async (ro, ctx, client) =>
    planUndo(ro, await client.replicaSets(ro), revision, ctx),
  );
}

export const setImage = (name: string, assignments: string[], globals: GlobalOptions) =>
  runCommand(name, "set the image of", globals, (ro, ctx) => planSetImage(ro, assignments, ctx));

export function restart(name: string, options: { in?: string }, globals: GlobalOptions): Promise<void> {
  const delay = options.in !== undefined ? durationFlag("--in", options.in) : 0;
  return runCommand(name, "restart", globals, (ro, ctx) => planRestart(ro, delay, ctx));
}

// ---------------------------------------------------------------------------------------------
// lint

/** Lints each file (`-` is stdin); prints every problem; returns the number of errors. */
export async function lint(files: readonly string[]): Promise<number> {
  // Loaded here: the schemas and expression compiler are only needed by lint.
  const { analysisTemplatesIn, formatProblem, lintText } = await import("./rollout-lint.js");
  if (files.length === 0) throw new Error("pass the manifest with -f FILE (or -f - for stdin)");
  const problems: LintProblem[] = [];
  const texts: { file: string; label: string; text: string }[] = [];
  for (const file of files) {
    try {
      texts.push({
        file,
        label: file === "-" ? "<stdin>" : file,
        text: readFileSync(file === "-" ? 0 : file, "utf8"),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({
        severity: "error",
        file,
        message: code === "ENOENT" ? "no such file" : `cannot read: ${(err as Error).message}`,
      });
    }
  }
  // A Rollout may name a template from another file given in the same command.
  const templates = texts.map((t) => analysisTemplatesIn(t.text));
  const summaries: string[] = [];
  texts.forEach((t, i) => {
    const found = lintText(t.text, t.label, templates.filter((_, j) => j !== i).flat());
    problems.push(...found);
    const warnings = found.filter((p) => p.severity === "warning").length;
    if (!found.some((p) => p.severity === "error"))
      summaries.push(
        `${t.label}: valid${warnings ? ` (${warnings} warning${warnings === 1 ? "" : "s"})` : ""}`,
      );
  });
  for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  if (errors > 0) {
    process.stderr.write(
      `${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}\n`,
    );
  } else {
    for (const line of summaries) process.stdout.write(`${line}\n`);
  }
  return errors;
}
