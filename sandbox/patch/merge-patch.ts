/**
 * RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge key by key, `null`
 * deletes, everything else (arrays included) replaces.
 *
 * The result shares unchanged subtrees with `obj` and values with `patch`; nothing is mutated.
 * Its top level and `metadata` are always new objects.
 */

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Removes nulls from a value taken from the patch wholesale (RFC 7386 MergePatch on an empty target). */
function stripNulls(value: unknown): unknown {
  if (!isRecord(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const cleaned = v === null ? undefined : stripNulls(v);
    if (cleaned !== v) {
      out ??= { ...value };
      if (cleaned === undefined) delete out[k];
      else out[k] = cleaned;
    }
  }
  return out ?? value;
}

/** Applies an RFC 7386 merge patch and returns the merged document. */
export function applyMergePatch<T>(obj: T, patch: unknown): T {
  const result = mergeValue(obj, patch);
  // The top level and metadata are always fresh, so the caller may stamp resourceVersion etc.
  if (isRecord(result) && isRecord(obj) && isRecord(result.metadata) && result.metadata === obj.metadata) {
    result.metadata = { ...result.metadata };
  }
  return result as T;
}

function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const base: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else if (isRecord(v)) base[k] = k in base ? mergeValue(base[k], v) : stripNulls(v);
    else base[k] = v;
  }
  return base;
}
