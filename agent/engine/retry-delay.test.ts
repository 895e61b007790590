// The wait before each retry, shared by the general path (attempts.ts) and the HTTP/1.1 fast
// path: exponential from the route's backoff, capped at ten times it, jittered to [50%, 100%].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BACKOFF_MS, retryDelayMs } from './attempts.ts';

test('retry delays: doubling from the backoff, capped at 10x, jitter between half and all of it', () => {
  const cases: [number | null | undefined, number, number, number][] = [
    // backoff, retry index, random(), expected ms
    [100, 0, 1, 100],
    [100, 1, 1, 200],
    [100, 3, 1, 800],
    [100, 4, 1, 1000],
    [100, 9, 1, 1000],
    [100, 2, 0, 200],
    [100, 2, 0.5, 300],
    [undefined, 0, 1, DEFAULT_BACKOFF_MS],
    [null, 1, 0, DEFAULT_BACKOFF_MS],
  ];
  for (const [backoff, retry, r, want] of cases) assert.equal(retryDelayMs(backoff, retry, () => r), want, `${backoff} #${retry} r=${r}`);
});
