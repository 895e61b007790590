// Exponential backoff with "equal jitter" (half fixed, half random, as the AWS architecture blog
// names it): never retries at once, yet spreads the retries of many controllers after an
// apiserver outage instead of having them all arrive together.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Returns [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay: uniformly in [ceiling/2, ceiling], ceiling doubling up to maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + this.random() * ceiling / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
