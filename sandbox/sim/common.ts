/**
 * Shared machinery of the simulated workload controllers: resource coordinates, a clock, a
 * debouncing work queue and small helpers about owners, pods and durations.
 *
 * The controllers follow the shape of kube-controller-manager's: they watch objects, put keys on
 * a queue, and reconcile each key from the *current* state of the store (level-based), so a burst
 * of watch events collapses into one pass and a missed event is repaired by the next one.
 */
import { cloneJson } from "../../api/json.js";
import { ApiError } from "../core/errors.js";
import { formatLabelSelector, matchesSelectorObject } from "../core/selectors.js";
import type {
  GroupVersionResource,
  KubeObject,
  OwnerReference,
  SandboxApi,
  WatchEvent,
} from "../core/types.js";

export const GVR = {
  namespaces: { group: "", version: "v1", resource: "namespaces" },
  pods: { group: "", version: "v1", resource: "pods" },
  services: { group: "", version: "v1", resource: "services" },
  endpoints: { group: "", version: "v1", resource: "endpoints" },
  nodes: { group: "", version: "v1", resource: "nodes" },
  serviceAccounts: { group: "", version: "v1", resource: "serviceaccounts" },
  deployments: { group: "apps", version: "v1", resource: "deployments" },
  replicaSets: { group: "apps", version: "v1", resource: "replicasets" },
  statefulSets: { group: "apps", version: "v1", resource: "statefulsets" },
  daemonSets: { group: "apps", version: "v1", resource: "daemonsets" },
  jobs: { group: "batch", version: "v1", resource: "jobs" },
  endpointSlices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
} as const satisfies Record<string, GroupVersionResource>;

/** The field manager kube-controller-manager's controllers write with. */
export const CONTROLLER_MANAGER = "kube-controller-manager";

/** The name of the sandbox's only node. */
export const NODE_NAME = "sandbox-node";
/** The node's InternalIP, reported as every pod's hostIP. */
export const NODE_IP = "172.18.0.2";

export const ANNOTATION_READY_AFTER = "sim.slipway.dev/ready-after";
export const ANNOTATION_DURATION = "sim.slipway.dev/duration";
export const ANNOTATION_EXIT_CODE = "sim.slipway.dev/exit-code";

/** Time as the controllers see it. Tests may pass their own; the default is the wall clock. */
export interface Clock {
  now(): Date;
  /** Calls `fn` after `ms` milliseconds; returns a function that cancels the call. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => new Date(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** Options every controller takes. */
export interface ControllerOptions {
  clock?: Clock;
  /** Reports errors a reconcile could not recover from (default: one line on stderr). */
  onError?: (controller: string, key: string, error: unknown) => void;
}

/** Kubernetes timestamps have second precision (RFC 3339, `2024-01-02T03:04:05Z`). */
export function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export function splitKey(key: string): [string | undefined, string] {
  const i = key.indexOf("/");
  const namespace = key.slice(0, i);
  return [namespace === "" ? undefined : namespace, key.slice(i + 1)];
}

export function objectKey(object: KubeObject): string {
  return keyOf(object.metadata.namespace, object.metadata.name!);
}

export function controllerRef(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The ownerReference a controller puts on what it creates (metav1.NewControllerRef). */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * A LabelSelector in the string form list() accepts, so the store filters before copying objects
 * (listing a namespace's pods copies every one of them). Undefined for an empty selector.
 */
export function selectorString(selector: unknown): string | undefined {
  if (!isObj(selector)) return undefined;
  const text = formatLabelSelector(selector as Parameters<typeof formatLabelSelector>[0]);
  return text === "" ? undefined : text;
}

/** Pods in `namespace` matching `selector` (none for an empty selector, as workload controllers do). */
export function podsMatching(api: SandboxApi, namespace: string, selector: unknown): KubeObject[] {
  const labelSelector = selectorString(selector);
  return labelSelector ? api.list(GVR.pods, { namespace, labelSelector }) : [];
}

export function selectorMatches(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isObj(selector)) return false;
  const s = selector as Parameters<typeof matchesSelectorObject>[0] & object;
  // An empty selector matches nothing for workload controllers (as in the ReplicaSet controller).
  if (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0) return false;
  return matchesSelectorObject(s, labels);
}

// ---- pods -----------------------------------------------------------------------------------

type Condition = { type?: string; status?: string; lastTransitionTime?: string };

export function podCondition(pod: KubeObject, type: string): Condition | undefined {
  const conditions = pod.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as Condition[]).find((c) => c.type === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, "Ready")?.status === "True";
}

export function isPodTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** controller.IsPodActive: not finished and not being deleted. */
export function isPodActive(pod: KubeObject): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

/**
 * podutil.IsPodAvailable: Ready for at least minReadySeconds. Returns whether it is available now
 * and, if it will become available later, after how many milliseconds.
 */
export function podAvailability(
  pod: KubeObject,
  minReadySeconds: number,
  now: Date,
): { available: boolean; inMs?: number } {
  const ready = podCondition(pod, "Ready");
  if (ready?.status !== "True") return { available: false };
  if (minReadySeconds <= 0) return { available: true };
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  if (Number.isNaN(since)) return { available: false };
  const at = since + minReadySeconds * 1000;
  // The Kubernetes check is `lastTransitionTime + minReadySeconds < now`.
  return at < now.getTime() ? { available: true } : { available: false, inMs: at - now.getTime() + 1 };
}

// ---- values ---------------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`1h30m`, `500ms`, `2.5s`) or a plain number of seconds into
 * milliseconds; undefined when the text is neither (time.ParseDuration's grammar).
 */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an int, or "N%" of `total` rounded up or down.
 * Returns undefined for a value Kubernetes' validation would reject.
 */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    const m = /^(\d+)%$/.exec(value);
    if (m) {
      const exact = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(exact) : Math.floor(exact);
    }
    if (/^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

export function asInt(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

/** Status fields a Go struct tags `omitempty`: zero counts are left out of the JSON. */
export function omitZero(fields: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(fields)) if (v) out[k] = v;
  return out;
}

/**
 * FNV-1a (32 bit) of a JSON value with sorted keys, so the same content always gives the same
 * hash regardless of key order (Kubernetes hashes the Go struct, which has a fixed order).
 */
export function fnv32a(value: unknown, extra?: string): number {
  let h = 0x811c9dc5;
  const text = canonicalJson(value) + (extra ?? "");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObj(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The alphabet of rand.SafeEncodeString: no vowels, no confusable characters. */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * controller.ComputeHash: the decimal form of a 32-bit hash with every digit mapped through
 * rand.SafeEncodeString (so hashes look like `5d4f8c7b9`). Zero-padded to 10 digits so every
 * hash has the same length.
 */
export function safeEncodeHash(hash: number): string {
  return String(hash >>> 0)
    .padStart(10, "0")
    .split("")
    .map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length])
    .join("");
}

// ---- the controller skeleton ----------------------------------------------------------------

/**
 * A set of keys to reconcile, drained on the next turn of the event loop so a burst of watch
 * events for one key becomes one reconcile, plus per-key timers for "look again at time T"
 * (readiness delays, deadlines). Errors never escape: conflicts retry shortly, NotFound is
 * ignored (the object went away; its deletion event brings the next pass), anything else retries
 * with backoff and is reported.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private immediate: NodeJS.Immediate | undefined;
  private readonly timers = new Map<string, { at: number; cancel: () => void }>();
  private readonly failures = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly handler: (key: string) => void,
    private readonly clock: Clock,
    private readonly onError: (controller: string, key: string, error: unknown) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.immediate ??= setImmediate(() => this.drain());
  }

  /** Reconciles `key` again after `ms` (the earliest of several requests wins). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now().getTime() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.clock.setTimer(ms, () => {
      this.timers.delete(key);
      this.add(key);
    });
    this.timers.set(key, { at, cancel });
  }

  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.pending.clear();
  }

  private drain(): void {
    this.immediate = undefined;
    if (this.stopped) return;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.handler(key);
        this.failures.delete(key);
      } catch (error) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const exp = Math.min(n - 1, 10);
        if (error instanceof ApiError && error.code === 409) {
          // Someone wrote in between: look again at once, backing off only if it keeps happening.
          this.addAfter(key, Math.min(1000, 10 * 2 ** exp));
        } else if (error instanceof ApiError && (error.code === 404 || error.code === 403)) {
          // Something went away under us (its deletion event usually brings the next pass anyway),
          // or the namespace is terminating and refuses new objects: try again later, quietly.
          this.addAfter(key, Math.min(5000, 50 * 2 ** exp));
        } else {
          if (n === 1 || n % 10 === 0) this.onError(this.name, key, error);
          this.addAfter(key, Math.min(5000, 50 * 2 ** exp));
        }
      }
    }
  }
}

function defaultOnError(controller: string, key: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`slipway sandbox: ${controller} ${key}: ${message}\n`);
}

/**
 * Base of every simulated controller: a work queue, subscriptions that feed it, and start/stop.
 * Subclasses say what to watch (`watches`) and how to reconcile one key.
 */
export abstract class Controller {
  protected readonly clock: Clock;
  protected readonly queue: WorkQueue;
  private unsubscribers: (() => void)[] = [];

  constructor(
    protected readonly api: SandboxApi,
    readonly name: string,
    options: ControllerOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.queue = new WorkQueue(
      name,
      (key) => this.reconcile(key),
      this.clock,
      options.onError ?? defaultOnError,
    );
  }

  /** Resources to watch, each with a function mapping an event to the keys it affects. */
  protected abstract watches(): [GroupVersionResource, (event: WatchEvent) => Iterable<string>][];

  /** Keys to reconcile at start (objects that exist already, e.g. restored from a state dir). */
  protected abstract initialKeys(): Iterable<string>;

  protected abstract reconcile(key: string): void;

  start(): void {
    for (const [gvr, keysOf] of this.watches()) {
      this.unsubscribers.push(
        this.api.subscribe(gvr, (event) => {
          try {
            for (const key of keysOf(event)) this.queue.add(key);
          } catch {
            // A listener must never throw into the store's write path.
          }
        }),
      );
    }
    for (const key of this.initialKeys()) this.queue.add(key);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
    this.queue.stop();
  }

  /** Keys of all objects of one resource (for the initial pass). */
  protected keysOfAll(gvr: GroupVersionResource): string[] {
    return this.api.list(gvr).map(objectKey);
  }
}

/** The owner key (namespace/name) of an object's controller if it is of `kind`. */
export function ownerKeys(object: KubeObject, kind: string): string[] {
  const ref = controllerRef(object);
  return ref && ref.kind === kind ? [keyOf(object.metadata.namespace, ref.name)] : [];
}

/** Swallows NotFound (the object is already gone), rethrows anything else. */
export function ignoreNotFound<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return undefined;
    throw error;
  }
}

/**
 * controller.GetPodFromTemplate: a Pod built from a workload's template, owned by the workload.
 * The template's labels and annotations are copied (simulation annotations travel with them).
 */
export function podFromTemplate(
  template: unknown,
  owner: KubeObject,
  naming: { name: string } | { generateName: string },
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): KubeObject {
  const t = isObj(template) ? cloneJson(template) : {};
  const meta = isObj(t.metadata) ? t.metadata : {};
  const labels = { ...((meta.labels as Record<string, string> | undefined) ?? {}), ...extra.labels };
  const annotations = {
    ...((meta.annotations as Record<string, string> | undefined) ?? {}),
    ...extra.annotations,
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...naming,
      namespace: owner.metadata.namespace!,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ...(Array.isArray(meta.finalizers) ? { finalizers: meta.finalizers as string[] } : {}),
      ownerReferences: [newControllerRef(owner)],
    },
    spec: isObj(t.spec) ? t.spec : {},
  };
}

/** Writes `status` through the status subresource unless it equals what is stored already. */
export function writeStatus(
  api: SandboxApi,
  gvr: GroupVersionResource,
  object: KubeObject,
  status: Record<string, unknown>,
  fieldManager = CONTROLLER_MANAGER,
): KubeObject {
  if (canonicalJson(object.status ?? {}) === canonicalJson(status)) return object;
  return api.update(gvr, { ...object, status }, { subresource: "status", fieldManager });
}
