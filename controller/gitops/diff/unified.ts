/**
 * A plain unified diff (`diff -u` format) of two texts, for `slipway app diff` and conditions.
 * Deterministic: same input, same lines.
 */

export interface UnifiedDiffOptions {
  fromFile?: string;
  toFile?: string;
  /** Unchanged lines shown around each change (default 3). */
  context?: number;
}

type Edit = { op: " " | "-" | "+"; line: string };

/** Above this many cells the middle block is shown as replaced wholesale instead of aligned. */
const MAX_CELLS = 4_000_000;

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function edits(a: string[], b: string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: Edit[] = a.slice(0, start).map((line) => ({ op: " ", line }));
  const ma = a.slice(start, endA);
  const mb = b.slice(start, endB);
  const n = ma.length;
  const m = mb.length;
  if (n * m > MAX_CELLS) {
    for (const line of ma) out.push({ op: "-", line });
    for (const line of mb) out.push({ op: "+", line });
  } else {
    // Longest common subsequence, table of suffix lengths.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          ma[i] === mb[j]
            ? lcs[(i + 1) * w + j + 1]! + 1
            : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && ma[i] === mb[j]) {
        out.push({ op: " ", line: ma[i]! });
        i++;
        j++;
      } else if (i < n && (j >= m || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // Removals before additions, as diff -u prints them.
        out.push({ op: "-", line: ma[i]! });
        i++;
      } else {
        out.push({ op: "+", line: mb[j]! });
        j++;
      }
    }
  }
  for (const line of a.slice(endA)) out.push({ op: " ", line });
  return out;
}

/** The lines of a unified diff from `a` to `b`; empty when the texts are equal. */
export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions = {}): string[] {
  if (a === b) return [];
  const context = options.context ?? 3;
  const all = edits(splitLines(a), splitLines(b));
  const out = [`--- ${options.fromFile ?? "a"}`, `+++ ${options.toFile ?? "b"}`];
  // Group changes into hunks with `context` lines around them.
  let k = 0;
  while (k < all.length) {
    while (k < all.length && all[k]!.op === " ") k++;
    if (k >= all.length) break;
    const hunkStart = Math.max(0, k - context);
    let end = k;
    let lastChange = k;
    while (end < all.length) {
      if (all[end]!.op !== " ") lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    const hunkEnd = Math.min(all.length, lastChange + context + 1);
    let aLine = 1;
    let bLine = 1;
    for (let x = 0; x < hunkStart; x++) {
      if (all[x]!.op !== "+") aLine++;
      if (all[x]!.op !== "-") bLine++;
    }
    const hunk = all.slice(hunkStart, hunkEnd);
    const aCount = hunk.filter((e) => e.op !== "+").length;
    const bCount = hunk.filter((e) => e.op !== "-").length;
    out.push(
      `@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`,
    );
    for (const e of hunk) out.push(`${e.op}${e.line}`);
    k = hunkEnd;
  }
  return out;
}
