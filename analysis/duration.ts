/**
 * Go-style durations, as Argo Rollouts accepts them in `interval`, `initialDelay` and timeouts
 * (https://pkg.go.dev/time#ParseDuration): `500ms`, `10s`, `5m`, `1h`, `1m30s`, `1.5h`. A plain
 * integer (number or digit string) is taken as seconds, as Argo does for pause durations.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/y;

/** Parses a duration into milliseconds; throws an Error naming the input when it is not one. */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new Error(`invalid duration ${String(input)}`);
    return input * 1000;
  }
  const s = input.trim();
  if (/^[+-]?\d+$/.test(s)) return Number.parseInt(s, 10) * 1000;
  let i = 0;
  let sign = 1;
  if (s[0] === "+" || s[0] === "-") {
    sign = s[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (s.slice(i) === "0") return 0;
  if (i >= s.length) throw new Error(`invalid duration "${input}"`);
  let total = 0;
  while (i < s.length) {
    PART.lastIndex = i;
    const m = PART.exec(s);
    if (!m || m[1] === "" || m[1] === ".") throw new Error(`invalid duration "${input}"`);
    const unit = UNIT_MS[m[2]!];
    if (unit === undefined) throw new Error(`unknown unit "${m[2]}" in duration "${input}"`);
    total += Number.parseFloat(m[1]!) * unit;
    i = PART.lastIndex;
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a time.Duration (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Number((rest / 1000).toFixed(3));
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
