import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestRank, percentiles } from './percentiles.ts';

test('nearest rank picks measured values: p50 of 5 is the 3rd, p99 of 5 is the max', () => {
  const p = percentiles([40, 10, 30, 50, 20]);
  assert.deepEqual(p, { n: 5, p50: 30, p99: 50, min: 10, max: 50 });
});

test('p99 of 200 samples is the 198th, not the max', () => {
  const v = Array.from({ length: 200 }, (_, i) => i + 1);
  assert.equal(nearestRank(v, 99), 198);
  assert.equal(nearestRank(v, 50), 100);
});

test('empty and non-finite samples', () => {
  assert.ok(Number.isNaN(percentiles([]).p50));
  assert.equal(percentiles([NaN, 7]).n, 1);
});
