/**
 * Per-key exponential backoff for failed keys, as client-go's
 * `ItemExponentialFailureRateLimiter` (base · 2^failures, capped), plus jitter so keys that
 * failed together (an API outage) do not all come back in the same instant.
 */

export interface RateLimiter {
  /** The delay before the next retry of `key`; counts one more failure for it. */
  when(key: string): number;
  /** Clears the failure count of `key` (it succeeded, or retrying will not help). */
  forget(key: string): void;
  /** Failures counted for `key` since it was last forgotten. */
  retries(key: string): number;
}

export interface BackoffOptions {
  /** Delay after the first failure, ms. Default 5 (client-go's controller default). */
  baseDelayMs?: number;
  /** Upper bound of any delay, ms. Default 300 000 (5 min). */
  maxDelayMs?: number;
  /**
   * Fraction taken off at random: a delay `d` becomes a value in `[d·(1-jitter), d]`. Default 0.2.
   * Jitter only ever shortens the delay, so the cap stays a hard bound and capped keys still spread.
   */
  jitter?: number;
  /** Source of randomness in [0, 1); injected for deterministic tests. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseDelayMs: 5, maxDelayMs: 300_000, jitter: 0.2 } as const;

export class ExponentialBackoff implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BACKOFF.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
    this.jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
    this.random = options.random ?? Math.random;
    if (!(this.baseDelayMs > 0)) throw new RangeError("backoff baseDelayMs must be > 0");
    if (!(this.maxDelayMs >= this.baseDelayMs))
      throw new RangeError("backoff maxDelayMs must be >= baseDelayMs");
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError("backoff jitter must be in [0, 1)");
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n, which the cap absorbs.
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
    return delay - delay * this.jitter * this.random();
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
