import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';

test('delays double up to the cap, within the upper half of each step', () => {
  const low = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 0 });
  assert.deepEqual(Array.from({ length: 6 }, () => low.next()), [50, 100, 200, 400, 500, 500]);
  const high = new Backoff({ initialMs: 100, maxMs: 1_000, random: () => 1 });
  assert.deepEqual(Array.from({ length: 6 }, () => high.next()), [100, 200, 400, 800, 1_000, 1_000]);
});

test('reset starts again from the initial delay', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 10_000, random: () => 1 });
  b.next();
  b.next();
  b.reset();
  assert.equal(b.next(), 100);
});

test('a long outage never overflows the cap', () => {
  const b = new Backoff({ initialMs: 1, maxMs: 30_000, random: () => 0.5 });
  let last = 0;
  for (let i = 0; i < 2_000; i++) last = b.next();
  assert.equal(last, 22_500);
});
