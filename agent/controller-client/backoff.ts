// Reconnect delays: exponential from `initialMs` up to `maxMs`, each drawn uniformly from the
// upper half of its step ("equal jitter"), so a controller restart does not see every agent of
// the mesh come back in the same millisecond, yet no agent waits longer than the cap.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random: () => number;
}

export class Backoff {
  readonly #opts: BackoffOptions;
  #attempt = 0;

  constructor(opts: BackoffOptions) {
    this.#opts = opts;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    const step = Math.min(this.#opts.maxMs, this.#opts.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(step / 2 + (step / 2) * this.#opts.random());
  }

  /** After a successful handshake: the next failure starts again from `initialMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}
