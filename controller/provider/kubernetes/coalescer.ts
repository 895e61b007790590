// Turns a burst of changes into one call: each change waits for more, but no change waits longer
// than `maxDelayMs` in total, so a steady trickle of updates cannot starve translation
// (kube-controller-manager's workqueues make the same trade with rate limiting). A change asks
// for a quiet window after itself: `debounceMs`, or `endpointDebounceMs` for an endpoint change
// (EndpointSlice, Pod), which the runner answers by patching endpoints without re-translating
// routes, so a short window is enough to gather a rollout's burst; the call comes once every
// pending change's window has passed, so one route change in the batch brings back the long one.
// Leading edge: a batch whose first change comes after a quiet spell (no call for `debounceMs`)
// takes the short window for all its changes, so an isolated change (kubectl apply) is
// translated at once rather than after 50 ms; a change that follows within `debounceMs` of a call
// is the start of a storm and waits the long window again, so a storm costs one extra call.

export interface CoalescerOptions {
  debounceMs?: number;
  /** The window of an endpoint change (default 5 ms, never longer than `debounceMs`). */
  endpointDebounceMs?: number;
  maxDelayMs?: number;
  /** The first batch after `debounceMs` without a call takes the endpoint window (default true). */
  leadingEdge?: boolean;
}

/** `endpoint`: a change the runner can answer with an endpoint patch; `other`: anything else. */
export type ChangeKind = 'endpoint' | 'other';

export class Coalescer {
  private readonly fn: () => void;
  private readonly debounceMs: number;
  private readonly endpointDebounceMs: number;
  private readonly maxDelayMs: number;
  private readonly leadingEdge: boolean;
  private timer: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  /** When the pending batch may fire: the latest of its changes' windows, capped by the max delay. */
  private fireAt = 0;
  /** The pending batch began after a quiet spell: every change in it takes the short window. */
  private leading = false;
  private lastFired = -Infinity;
  private closed = false;

  constructor(fn: () => void, opts: CoalescerOptions = {}) {
    this.fn = fn;
    this.debounceMs = opts.debounceMs ?? 50;
    this.endpointDebounceMs = Math.min(opts.endpointDebounceMs ?? 5, this.debounceMs);
    this.maxDelayMs = opts.maxDelayMs ?? 500;
    this.leadingEdge = opts.leadingEdge ?? true;
  }

  /** A change is waiting for its batch to be called. */
  get pending(): boolean {
    return this.firstPending !== undefined;
  }

  trigger(kind: ChangeKind = 'other'): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.firstPending === undefined) {
      this.firstPending = now;
      this.fireAt = now;
      this.leading = this.leadingEdge && now - this.lastFired >= this.debounceMs;
    }
    const window = kind === 'endpoint' || this.leading ? this.endpointDebounceMs : this.debounceMs;
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
    try {
      this.fn();
    } finally {
      // Quiet is counted from the end of the call: changes that queued behind a long
      // translation are a storm's continuation, not a new isolated change.
      this.lastFired = Date.now();
    }
  }
}
