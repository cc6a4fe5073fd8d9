/**
 * Concurrency limits by key prefix, for queues shared by many clusters: `{ "cluster/*\/": 2 }`
 * lets at most two keys of each cluster (`cluster/east/...`, `cluster/west/...`) be processed at
 * once, across every worker of every replica, so one slow or unreachable cluster cannot take all
 * the workers. A `*` stands for one or more characters other than `/`; the text a pattern matches names the
 * group that is counted. The most specific pattern (longest literal text) wins, so
 * `{ "cluster/*\/": 4, "cluster/prod/": 1 }` gives `prod` 1 and every other cluster 4.
 *
 * The patterns are compiled to Lua patterns so the Redis queue enforces them inside its `take`
 * script, atomically with handing the key out.
 */

export type ConcurrencyLimits = Readonly<Record<string, number>>;

export interface LimitRule {
  /** As written, e.g. `cluster/*\/`. */
  prefix: string;
  limit: number;
  /** Anchored Lua pattern whose one capture is the group, e.g. `^(cluster/[^/]+/)`. */
  luaPattern: string;
  /** The same in JavaScript, for the in-process side (tests, stats). */
  regexp: RegExp;
}

export class ConcurrencyLimitError extends Error {
  override readonly name = "ConcurrencyLimitError";
}

const LUA_MAGIC = /[%^$().[\]*+\-?]/g;
const REGEXP_MAGIC = /[\\^$.*+?()[\]{}|/-]/g;

/** Validates and orders the rules, most specific first. */
export function compileLimits(limits: ConcurrencyLimits = {}): LimitRule[] {
  const rules: LimitRule[] = [];
  for (const [prefix, limit] of Object.entries(limits)) {
    if (prefix === "") throw new ConcurrencyLimitError("a concurrency limit needs a non-empty key prefix");
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ConcurrencyLimitError(
        `concurrency limit for "${prefix}" must be a positive integer, got ${String(limit)}`,
      );
    }
    const parts = prefix.split("*");
    const lua = parts.map((part) => part.replace(LUA_MAGIC, (c) => `%${c}`)).join("[^/]+");
    const js = parts.map((part) => part.replace(REGEXP_MAGIC, (c) => `\\${c}`)).join("[^/]+");
    rules.push({ prefix, limit, luaPattern: `^(${lua})`, regexp: new RegExp(`^(?:${js})`) });
  }
  const literal = (rule: LimitRule) => rule.prefix.replaceAll("*", "").length;
  return rules.sort((a, b) => literal(b) - literal(a) || a.prefix.localeCompare(b.prefix));
}

/** The group `key` is counted in and its limit, or undefined when no rule applies. */
export function groupOf(
  rules: readonly LimitRule[],
  key: string,
): { group: string; limit: number } | undefined {
  for (const rule of rules) {
    const match = rule.regexp.exec(key);
    if (match) return { group: match[0], limit: rule.limit };
  }
  return undefined;
}
