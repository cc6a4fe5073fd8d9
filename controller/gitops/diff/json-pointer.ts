/**
 * RFC 6901 JSON pointers over plain JSON data, for `ignoreDifferences.jsonPointers`
 * (https://argo-cd.readthedocs.io/en/stable/user-guide/diffing/). A pointer that does not resolve
 * is not an error: an ignore rule naming a field an object does not have simply has nothing to do.
 */
import { isPlainObject } from "./object.js";

/** Thrown for text that is not a JSON pointer (it must be empty or start with `/`). */
export class JsonPointerError extends Error {
  constructor(pointer: string) {
    super(`invalid JSON pointer ${JSON.stringify(pointer)}: it must be empty or start with "/"`);
    this.name = "JsonPointerError";
  }
}

/** `/a/b~1c` → `["a", "b/c"]`. */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new JsonPointerError(pointer);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** `["a", "b/c"]` → `/a/b~1c`. */
export function formatJsonPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function arrayIndex(token: string, length: number): number | undefined {
  if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
  const i = Number(token);
  return i < length ? i : undefined;
}

/** The value a pointer names, or undefined when any step is missing. */
export function jsonPointerGet(doc: unknown, pointer: string | readonly string[]): unknown {
  const tokens = typeof pointer === "string" ? parseJsonPointer(pointer) : pointer;
  let cur: unknown = doc;
  for (const token of tokens) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(token, cur.length);
      if (i === undefined) return undefined;
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!Object.hasOwn(cur, token)) return undefined;
      cur = cur[token];
    } else {
      return undefined;
    }
  }
  return cur;
}

/**
 * Removes the value a pointer names, in place. Returns true when something was removed. The
 * empty pointer (the whole document) cannot be removed in place and returns false.
 */
export function jsonPointerRemove(doc: unknown, pointer: string | readonly string[]): boolean {
  const tokens = typeof pointer === "string" ? parseJsonPointer(pointer) : pointer;
  if (tokens.length === 0) return false;
  const parent = jsonPointerGet(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length);
    if (i === undefined) return false;
    parent.splice(i, 1);
    return true;
  }
  if (isPlainObject(parent) && Object.hasOwn(parent, last)) {
    delete parent[last];
    return true;
  }
  return false;
}

/**
 * Removes several paths (token lists) in place. Array elements are removed from the highest index
 * down so that removing one element does not shift another path's target.
 */
export function removePaths(doc: unknown, paths: readonly (readonly (string | number)[])[]): number {
  const sorted = [...paths].sort((a, b) => comparePathsDescending(a, b));
  let removed = 0;
  const seen = new Set<string>();
  for (const path of sorted) {
    const key = JSON.stringify(path);
    if (seen.has(key)) continue;
    seen.add(key);
    if (jsonPointerRemove(doc, path.map(String))) removed++;
  }
  return removed;
}

function comparePathsDescending(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return y - x;
    return String(x) < String(y) ? 1 : -1;
  }
  // Deeper paths first: removing a child before its parent keeps both meaningful.
  return b.length - a.length;
}
