/**
 * Secret handling for diffs: values are never shown, only whether they differ.
 *
 * As Argo CD's `HideSecretData` (gitops-engine `pkg/diff`), every value of `data` / `stringData`
 * becomes a run of `+`; within one key, equal values get the same mask and different values get
 * masks of different lengths (`++++++++`, `++++++++++++`, ...), so a diff still shows *that* a value
 * changed and nothing else.
 */
import { groupOf, isPlainObject, type KubeObject } from "./object.js";

export const SECRET_MASK = "++++++++";

export function isSecret(obj: KubeObject | undefined): boolean {
  return obj?.kind === "Secret" && groupOf(obj.apiVersion) === "";
}

/**
 * Folds `stringData` into `data` (base64), as the API server does on write; live Secrets never
 * have `stringData`, so a manifest using it would otherwise always differ. Returns a copy.
 */
export function normalizeSecretData(obj: KubeObject): KubeObject {
  if (!isSecret(obj) || !isPlainObject(obj.stringData)) return obj;
  const data: Record<string, unknown> = isPlainObject(obj.data) ? { ...obj.data } : {};
  for (const [k, v] of Object.entries(obj.stringData)) {
    data[k] = Buffer.from(typeof v === "string" ? v : String(v), "utf8").toString("base64");
  }
  const { stringData: _drop, ...rest } = obj;
  return { ...rest, data };
}

/**
 * Masks the Secret values of several versions of one object together (desired, live, ...), so that
 * equal values share a mask and different ones do not. Non-Secrets and absent objects pass
 * through unchanged. Returns copies.
 */
export function maskSecrets<T extends (KubeObject | undefined)[]>(...objects: T): T {
  const out = objects.map((o) => (o && isSecret(o) ? { ...o } : o)) as T;
  for (const field of ["data", "stringData"] as const) {
    const keys = new Set<string>();
    for (const o of out)
      if (o && isSecret(o) && isPlainObject(o[field])) for (const k of Object.keys(o[field])) keys.add(k);
    for (const o of out) if (o && isSecret(o) && isPlainObject(o[field])) o[field] = { ...o[field] };
    for (const key of keys) {
      const masks = new Map<string, string>();
      let next = SECRET_MASK;
      for (const o of out) {
        if (!o || !isSecret(o) || !isPlainObject(o[field]) || !Object.hasOwn(o[field], key)) continue;
        const map = o[field] as Record<string, unknown>;
        const value = JSON.stringify(map[key]);
        let mask = masks.get(value);
        if (!mask) {
          mask = next;
          masks.set(value, mask);
          next += "++++";
        }
        map[key] = mask;
      }
    }
  }
  // The last-applied annotation carries the values in clear text too.
  for (const o of out) {
    const ann = o && isSecret(o) ? o.metadata?.annotations : undefined;
    if (ann && "kubectl.kubernetes.io/last-applied-configuration" in ann) {
      o!.metadata = {
        ...o!.metadata,
        annotations: { ...ann, "kubectl.kubernetes.io/last-applied-configuration": SECRET_MASK },
      };
    }
  }
  return out;
}

/** One Secret with every value masked (`++++++++`); anything else is returned unchanged. */
export function maskSecret<T extends KubeObject | undefined>(obj: T): T {
  return maskSecrets(obj)[0] as T;
}
