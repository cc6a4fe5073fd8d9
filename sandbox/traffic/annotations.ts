/**
 * The `sim.slipway.dev/*` annotations the traffic simulator reads, and their parsers. Parsers return
 * a value or a message and never throw: bad input becomes a Kubernetes Event on the object, and the
 * simulator carries on with the default (see the issue: "no crash, no traffic silently lost").
 */

export const SIM_PREFIX = "sim.slipway.dev/";
export const ANNOTATION_RPS = "sim.slipway.dev/rps";
export const ANNOTATION_HEADERS = "sim.slipway.dev/headers";
export const ANNOTATION_ERROR_RATE = "sim.slipway.dev/error-rate";
export const ANNOTATION_LATENCY_MS = "sim.slipway.dev/latency-ms";
export const ANNOTATION_READY_AFTER = "sim.slipway.dev/ready-after";

/** Annotations meaningful on a route object (Service, HTTPRoute, VirtualService, Ingress). */
export const ROUTE_ANNOTATIONS: ReadonlySet<string> = new Set([ANNOTATION_RPS, ANNOTATION_HEADERS]);

/**
 * Upper bound per route object: the sandbox simulates traffic in-process, and a typo such as
 * `rps: "100000000"` should be reported rather than pin a core.
 */
export const MAX_RPS = 10_000;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Number() accepts "", "0x10" and " 1 "; annotations must be plain decimals. */
export function parseDecimal(raw: string): number | undefined {
  const text = raw.trim();
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** Requests per second: a finite decimal in [0, MAX_RPS]; fractions such as "0.5" are allowed. */
export function parseRps(raw: string): Parsed<number> {
  const value = parseDecimal(raw);
  if (value === undefined || !Number.isFinite(value)) return fail(`${quote(raw)} is not a number`);
  if (value < 0) return fail(`${quote(raw)} is negative`);
  if (value > MAX_RPS) return fail(`${quote(raw)} is above the limit of ${MAX_RPS} per object`);
  return { ok: true, value };
}

/** Fraction of 5xx answers, in [0, 1]. */
export function parseErrorRate(raw: string): Parsed<number> {
  const value = parseDecimal(raw);
  if (value === undefined || !Number.isFinite(value)) return fail(`${quote(raw)} is not a number`);
  if (value < 0 || value > 1) return fail(`${quote(raw)} is outside [0, 1]`);
  return { ok: true, value };
}

/** Mean latency in milliseconds, >= 0 (capped at ten minutes to stay meaningful). */
export function parseLatencyMs(raw: string): Parsed<number> {
  const value = parseDecimal(raw);
  if (value === undefined || !Number.isFinite(value)) return fail(`${quote(raw)} is not a number`);
  if (value < 0) return fail(`${quote(raw)} is negative`);
  if (value > 600_000) return fail(`${quote(raw)} is above 600000 ms`);
  return { ok: true, value };
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Go-style duration ("500ms", "1m30s") or a bare number of seconds, in milliseconds. Exported for the
 * workload simulator, which owns `ready-after` (it sets the Ready condition the router honours).
 */
export function parseDuration(raw: string): Parsed<number> {
  const text = raw.trim();
  const seconds = parseDecimal(text);
  if (seconds !== undefined) {
    return seconds >= 0 && Number.isFinite(seconds)
      ? { ok: true, value: seconds * 1000 }
      : fail(`${quote(raw)} is not a non-negative duration`);
  }
  if (text.length === 0) return fail(`${quote(raw)} is not a duration such as "10s" or "1m30s"`);
  let total = 0;
  let position = 0;
  while (position < text.length) {
    DURATION_PART.lastIndex = position;
    const part = DURATION_PART.exec(text);
    if (!part) return fail(`${quote(raw)} is not a duration such as "10s" or "1m30s"`);
    total += Number(part[1]) * (DURATION_UNITS_MS[part[2]!] ?? 0);
    position = DURATION_PART.lastIndex;
  }
  return { ok: true, value: total };
}

/** One header value and the fraction of requests that carry it. */
export interface HeaderChoice {
  value: string;
  /** Upper end of this choice's slice of [0, 1), so one draw picks among a header's values. */
  cumulative: number;
}

/** All values of one header name; requests that draw past the last slice carry no such header. */
export interface HeaderGroup {
  /** Lower-cased: HTTP header names are case-insensitive, and matching is done on lower case. */
  name: string;
  choices: HeaderChoice[];
}

export type HeaderMix = HeaderGroup[];

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `[{"name":"x-cohort","value":"beta","fraction":0.2}]`. Entries with the same name are mutually
 * exclusive (their fractions must sum to at most 1); different names are drawn independently.
 */
export function parseHeaderMix(raw: string): Parsed<HeaderMix> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return fail(`is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(json)) return fail("must be a JSON list of {name, value, fraction}");
  const groups = new Map<string, HeaderGroup>();
  for (const [index, entry] of json.entries()) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      return fail(`entry ${index} is not an object {name, value, fraction}`);
    }
    const { name, value, fraction } = entry as Record<string, unknown>;
    if (typeof name !== "string" || !HEADER_NAME.test(name)) {
      return fail(`entry ${index}: "name" must be an HTTP header name`);
    }
    if (typeof value !== "string") return fail(`entry ${index}: "value" must be a string`);
    if (typeof fraction !== "number" || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
      return fail(`entry ${index}: "fraction" must be a number in [0, 1]`);
    }
    const key = name.toLowerCase();
    let group = groups.get(key);
    if (!group) {
      group = { name: key, choices: [] };
      groups.set(key, group);
    }
    const previous = group.choices.at(-1)?.cumulative ?? 0;
    const cumulative = previous + fraction;
    if (cumulative > 1 + 1e-9) return fail(`the fractions for header "${name}" add up to more than 1`);
    group.choices.push({ value, cumulative: Math.min(cumulative, 1) });
  }
  return { ok: true, value: [...groups.values()] };
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
}
