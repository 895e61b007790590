// Retry budget per backend group (Finagle/Linkerd style): retries may add at most `ratio` of
// the group's recent requests plus `minPerSecond` per second, over a sliding window. When a
// backend fails everything, retries are capped at ~20% extra load instead of multiplying it by
// the attempt count, so retries cannot turn a partial outage into a total one.
export interface RetryBudgetOptions {
  /** Fraction of requests that may be retried (0.2 = 20%). */
  ratio: number;
  /** Retries always allowed per second, so low-traffic services can still retry. */
  minPerSecond: number;
  /** Sliding window length. */
  windowMs: number;
  now: () => number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000, now: () => Date.now() };

const BUCKETS = 10;

/** Counts in fixed-size time buckets: cheap, and old traffic ages out of the window. */
class WindowCounter {
  readonly #counts = new Array<number>(BUCKETS).fill(0);
  readonly #stamps = new Array<number>(BUCKETS).fill(-1);
  readonly #bucketMs: number;

  constructor(windowMs: number) {
    this.#bucketMs = Math.max(1, windowMs / BUCKETS);
  }

  add(now: number): void {
    const slot = Math.floor(now / this.#bucketMs);
    const i = slot % BUCKETS;
    if (this.#stamps[i] !== slot) {
      this.#stamps[i] = slot;
      this.#counts[i] = 0;
    }
    this.#counts[i]!++;
  }

  sum(now: number): number {
    const slot = Math.floor(now / this.#bucketMs);
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const s = this.#stamps[i]!;
      if (s >= 0 && slot - s < BUCKETS) total += this.#counts[i]!;
    }
    return total;
  }
}

export class RetryBudget {
  readonly #requests: WindowCounter;
  readonly #retries: WindowCounter;
  readonly #opts: RetryBudgetOptions;
  /** Retries refused because the budget was spent (meshlet_proxy_retry_budget_exhausted_total). */
  exhausted = 0;

  constructor(opts: RetryBudgetOptions = DEFAULT_RETRY_BUDGET) {
    this.#opts = opts;
    this.#requests = new WindowCounter(opts.windowMs);
    this.#retries = new WindowCounter(opts.windowMs);
  }

  /** Records an original request (deposits `ratio` of a retry). */
  request(): void {
    this.#requests.add(this.#opts.now());
  }

  /** Withdraws one retry if the budget allows it; returns false when exhausted. */
  tryRetry(): boolean {
    const now = this.#opts.now();
    const allowance = this.#opts.ratio * this.#requests.sum(now) + this.#opts.minPerSecond * (this.#opts.windowMs / 1000);
    if (this.#retries.sum(now) + 1 > allowance) {
      this.exhausted++;
      return false;
    }
    this.#retries.add(now);
    return true;
  }
}

/**
 * One budget per backend group (a rule's backend set, keyed by the rule's name), and one per
 * backend for the default retry of a Service's default route, which has no rule.
 */
export class RetryBudgets {
  readonly #budgets = new Map<string, RetryBudget>();
  /** Default routes' budgets by backend: one failing Service does not spend another's retries. */
  readonly #defaultRoutes = new Map<string, RetryBudget>();
  readonly #opts: RetryBudgetOptions;

  constructor(opts: Partial<RetryBudgetOptions> = {}) {
    this.#opts = { ...DEFAULT_RETRY_BUDGET, ...opts };
  }

  for(group: string): RetryBudget {
    return this.#budget(this.#budgets, group);
  }

  /** The default retry's budget: its rule's (`group`), or its backend's on a Service's default route (null group). */
  forDefaultRetry(group: string | null, backend: string): RetryBudget {
    return group !== null ? this.#budget(this.#budgets, group) : this.#budget(this.#defaultRoutes, backend);
  }

  #budget(map: Map<string, RetryBudget>, key: string): RetryBudget {
    let b = map.get(key);
    if (!b) {
      b = new RetryBudget(this.#opts);
      map.set(key, b);
    }
    return b;
  }

  /**
   * Refusals per route that has had any, for /metrics, labelled as the request metrics label
   * routes: the rule's name, or '' for the default routes (one sample, their backends' refusals
   * summed: a backend name is no route, and one series per label set is what Prometheus takes).
   * Rule names come from the routing table, so the label stays bounded by configuration.
   */
  exhaustion(): { route: string; count: number }[] {
    const out: { route: string; count: number }[] = [];
    for (const [group, b] of this.#budgets) if (b.exhausted > 0) out.push({ route: group, count: b.exhausted });
    let defaults = 0;
    for (const b of this.#defaultRoutes.values()) defaults += b.exhausted;
    if (defaults > 0) out.push({ route: '', count: defaults });
    return out;
  }
}
