// Counts requests and tunnels in flight, so drain can wait for zero (or its deadline).
export class InflightTracker {
  #count = 0;
  #waiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  /** Returns an idempotent release function. */
  start(): () => void {
    this.enter();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.leave();
    };
  }

  /** One more in flight, without a release closure (the caller pairs it with exactly one `leave`). */
  enter(): void {
    this.#count++;
  }

  leave(): void {
    this.#count--;
    if (this.#count === 0) {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves true when nothing is in flight, false if `deadlineMs` passes first. */
  idle(deadlineMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== onIdle);
        resolve(false);
      }, deadlineMs);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(onIdle);
    });
  }
}
