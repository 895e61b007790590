// Turns a burst of changes into one call: each change waits for more, but no change waits longer
// than `maxDelayMs` in total, so a steady trickle of updates cannot starve translation
// (kube-controller-manager's workqueues make the same trade with rate limiting). A change asks
// for a quiet window after itself: `debounceMs`, or `endpointDebounceMs` for an endpoint change
// (EndpointSlice, Pod), which the runner answers by patching endpoints without re-translating
// routes, so a short window is enough to gather a rollout's burst; the call comes once every
// pending change's window has passed, so one route change in the batch brings back the long one.

export interface CoalescerOptions {
  debounceMs?: number;
  /** The window of an endpoint change (default 5 ms, never longer than `debounceMs`). */
  endpointDebounceMs?: number;
  maxDelayMs?: number;
}

/** `endpoint`: a change the runner can answer with an endpoint patch; `other`: anything else. */
export type ChangeKind = 'endpoint' | 'other';

export class Coalescer {
  private readonly fn: () => void;
  private readonly debounceMs: number;
  private readonly endpointDebounceMs: number;
  private readonly maxDelayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  /** When the pending batch may fire: the latest of its changes' windows, capped by the max delay. */
  private fireAt = 0;
  private closed = false;

  constructor(fn: () => void, opts: CoalescerOptions = {}) {
    this.fn = fn;
    this.debounceMs = opts.debounceMs ?? 50;
    this.endpointDebounceMs = Math.min(opts.endpointDebounceMs ?? 5, this.debounceMs);
    this.maxDelayMs = opts.maxDelayMs ?? 500;
  }

  trigger(kind: ChangeKind = 'other'): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.firstPending === undefined) {
      this.firstPending = now;
      this.fireAt = now;
    }
    const window = kind === 'endpoint' ? this.endpointDebounceMs : this.debounceMs;
    this.fireAt = Math.min(Math.max(this.fireAt, now + window), this.firstPending + this.maxDelayMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.fireAt - now));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private fire(): void {
    this.timer = undefined;
    this.firstPending = undefined;
    this.fn();
  }
}
