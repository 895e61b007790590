// Polls a condition until it holds or a deadline passes: every wait in a test is bounded, and a
// timeout says what was being waited for (plus the last value seen, when given).
export async function waitFor<T>(what: string, fn: () => T | undefined | false | null, opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${opts.describe ? `: ${opts.describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}
