/**
 * The pod-template hash that names a Rollout's ReplicaSets (`<rollout>-<hash>`) and labels their
 * pods (`rollouts-pod-template-hash`), as Argo's utils/hash.ComputePodTemplateHash: FNV-1a (32 bit)
 * over the template, the collision count mixed in, encoded with Kubernetes' `rand.SafeEncodeString`
 * alphabet (no vowels, no look-alikes). The template is serialised canonically (keys sorted,
 * undefined dropped), so the same template always gives the same hash whatever the key order of
 * the manifest or the process that computes it: that is what makes ReplicaSet names resumable.
 */
import { cloneJson } from "../../api/json.js";

const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with object keys sorted at every level; `undefined` members are left out. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** FNV-1a, 32 bit, over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' rand.SafeEncodeString: each character mapped into a vowel-free alphabet. */
export function safeEncode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) out += SAFE_ALPHABET[text.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/**
 * The hash of a pod template (Rollout `spec.template`, or a Deployment's for `workloadRef`).
 * Labels the controller adds itself (`rollouts-pod-template-hash`) are ignored, so hashing a
 * ReplicaSet's template gives the same value as hashing the Rollout's.
 */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  const copy = cloneJson(template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (copy.metadata?.labels) {
    delete copy.metadata.labels["rollouts-pod-template-hash"];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  let text = canonicalJson(copy);
  if (collisionCount !== undefined && collisionCount > 0) text += `#${collisionCount}`;
  return safeEncode(String(fnv1a32(text)));
}

/** A short stable digest of any JSON value (memo keys). */
export function digest(value: unknown): string {
  return fnv1a32(canonicalJson(value)).toString(36);
}
