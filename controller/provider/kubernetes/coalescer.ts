// Turns a burst of changes into one call: each change waits `debounceMs` for more, but no change
// waits longer than `maxDelayMs` in total, so a steady trickle of updates cannot starve
// translation (kube-controller-manager's workqueues make the same trade with rate limiting).

export interface CoalescerOptions {
  debounceMs?: number;
  maxDelayMs?: number;
}

export class Coalescer {
  private readonly fn: () => void;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  private closed = false;

  constructor(fn: () => void, opts: CoalescerOptions = {}) {
    this.fn = fn;
    this.debounceMs = opts.debounceMs ?? 50;
    this.maxDelayMs = opts.maxDelayMs ?? 500;
  }

  trigger(): void {
    if (this.closed) return;
    const now = Date.now();
    this.firstPending ??= now;
    clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.debounceMs, this.firstPending + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.fire(), delay);
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
