/**
 * Kubernetes resource quantities (`resource.Quantity`,
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/), compared by
 * value: `1000m` == `1`, `1Gi` == `1024Mi`, `0.5` == `500m`, `1e3` == `1k`. The API server
 * rewrites quantities into its canonical spelling, which is Argo CD's best known false drift
 * (argo-cd #17682, #16400).
 */

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** value = mantissa × 10^exp10 × 2^exp2, exactly. */
export interface Quantity {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** Parses a quantity string (or a JSON number); undefined when it is not one. */
export function parseQuantity(input: string | number): Quantity | undefined {
  const text = typeof input === "number" ? (Number.isFinite(input) ? String(input) : "") : input.trim();
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, number, suffix, exponent] = m;
  const [whole = "", fraction = ""] = number!.split(".");
  let mantissa = BigInt((whole || "0") + fraction);
  if (sign === "-") mantissa = -mantissa;
  let exp10 = -fraction.length;
  let exp2 = 0;
  if (suffix && suffix in BINARY) exp2 = BINARY[suffix]!;
  else if (suffix !== undefined) exp10 += DECIMAL[suffix]!;
  else if (exponent !== undefined) exp10 += Number(exponent);
  return { mantissa, exp10, exp2 };
}

function scaled(q: Quantity, exp10: number, exp2: number): bigint {
  return q.mantissa * 10n ** BigInt(q.exp10 - exp10) * 2n ** BigInt(q.exp2 - exp2);
}

/** Exact comparison: negative, zero or positive like a sort comparator. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const e10 = Math.min(a.exp10, b.exp10);
  const e2 = Math.min(a.exp2, b.exp2);
  const x = scaled(a, e10, e2);
  const y = scaled(b, e10, e2);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when both are quantities with the same value. */
export function quantitiesEqual(a: string | number, b: string | number): boolean {
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  return qa !== undefined && qb !== undefined && compareQuantities(qa, qb) === 0;
}
