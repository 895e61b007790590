// Peak-EWMA latency per endpoint (the Finagle/Linkerd load metric): an exponentially weighted
// moving average of round-trip times that jumps straight up to any slower observation and
// decays slowly, multiplied by (in-flight + 1). A slow or overloaded endpoint loses traffic at
// once and wins it back gradually as its history fades.
export interface EwmaOptions {
  /** Decay time constant in ms. */
  decayMs: number;
  /** Cost of an endpoint with requests in flight but no history: keeps it from looking free. */
  penaltyMs: number;
  now: () => number;
}

export const DEFAULT_EWMA: EwmaOptions = { decayMs: 10_000, penaltyMs: 1_000, now: () => performance.now() };

export class PeakEwma {
  #cost = 0;
  #stamp: number;
  #inflight = 0;
  readonly #opts: EwmaOptions;

  constructor(opts: EwmaOptions = DEFAULT_EWMA) {
    this.#opts = opts;
    this.#stamp = opts.now();
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** Current load estimate; lower is better. */
  load(): number {
    this.observe(0);
    if (this.#cost === 0 && this.#inflight > 0) return this.#opts.penaltyMs + this.#inflight;
    return this.#cost * (this.#inflight + 1);
  }

  /**
   * Marks a request started; call the returned function when its response head arrived, with
   * `failed` when the endpoint could not be reached or reset: a refused connection is fast,
   * and without the penalty a dead endpoint would look like the best one.
   */
  start(): (failed?: boolean) => void {
    const t0 = this.#opts.now();
    this.#inflight++;
    let done = false;
    return (failed = false) => {
      if (done) return;
      done = true;
      this.#inflight--;
      const rtt = this.#opts.now() - t0;
      this.observe(failed ? Math.max(rtt, this.#opts.penaltyMs) : rtt);
    };
  }

  observe(rttMs: number): void {
    const now = this.#opts.now();
    const elapsed = Math.max(0, now - this.#stamp);
    this.#stamp = now;
    if (rttMs > this.#cost) {
      this.#cost = rttMs;
      return;
    }
    const w = Math.exp(-elapsed / this.#opts.decayMs);
    this.#cost = this.#cost * w + rttMs * (1 - w);
  }
}
