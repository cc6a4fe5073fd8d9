/**
 * Glob matching as Argo CD does it for AppProjects (github.com/gobwas/glob, via `glob.Match`):
 * `*` matches any run of characters except the separators, `**` any run including them, `?` one
 * non-separator character, `[abc]` / `[!abc]` / `[a-z]` a class, `{a,b}` alternatives, `\x` a
 * literal. Without separators `*` and `**` are the same. An invalid pattern matches nothing, as
 * Argo's `globMatch` logs and returns false on a compile error.
 */

const cache = new Map<string, RegExp | null>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function compile(pattern: string, separators: string): RegExp | null {
  const notSep = separators ? `[^${escapeRegExp(separators)}]` : "[\\s\\S]";
  let out = "";
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return null;
      out += escapeRegExp(next);
      i++;
    } else if (c === "*") {
      if (pattern[i + 1] === "*") {
        out += "[\\s\\S]*";
        i++;
      } else out += `${notSep}*`;
    } else if (c === "?") {
      out += notSep;
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) return null;
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith("!")) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/[\\\]^]/g, "\\$&");
      out += negate ? `[^${cls}${escapeRegExp(separators)}]` : `[${cls}]`;
      i = end;
    } else if (c === "{") {
      out += "(?:";
      depth++;
    } else if (c === "}" && depth > 0) {
      out += ")";
      depth--;
    } else if (c === "," && depth > 0) {
      out += "|";
    } else {
      out += escapeRegExp(c);
    }
  }
  if (depth !== 0) return null;
  try {
    return new RegExp(`^${out}$`);
  } catch {
    return null;
  }
}

/** True when `value` matches the glob `pattern`; `separators` are the characters `*` does not cross. */
export function globMatch(pattern: string, value: string, separators = ""): boolean {
  const key = `${separators}\0${pattern}`;
  let re = cache.get(key);
  if (re === undefined) {
    re = compile(pattern, separators);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, re);
  }
  return re?.test(value) === true;
}

export function isDenyPattern(pattern: string | undefined): boolean {
  return pattern?.startsWith("!") === true;
}

/**
 * Argo CD's `globMatch(pattern, val, allowNegation, separators...)`: a `!pattern` matches when the
 * value does *not* match the rest; a bare `*` matches everything (separators or not).
 */
export function projectGlobMatch(pattern: string, value: string, separators = ""): boolean {
  if (isDenyPattern(pattern)) return !globMatch(pattern.slice(1), value, separators);
  if (pattern === "*") return true;
  return globMatch(pattern, value, separators);
}
