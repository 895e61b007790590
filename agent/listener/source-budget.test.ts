// The per-source reset budget on a fake clock: the budget per one-second window, the calm-down
// that follows, addresses counted apart, and a bounded table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceResetBudget } from './source-budget.ts';

test('an address over its budget in one second is calmed for the calm-down period, then forgiven', () => {
  let now = 1_000_000;
  const b = new SourceResetBudget({ resetsPerSecond: 3, calmDownMs: 5_000, now: () => now });
  const over = [1, 2, 3, 4].map(() => b.reset('10.0.0.1'));
  assert.deepEqual(over, [false, false, false, true], 'the fourth reset in the second goes over');
  assert.equal(b.calmed('10.0.0.1'), true);
  assert.equal(b.reset('10.0.0.1'), false, 'already calmed: not reported again');
  assert.equal(b.calmed('10.0.0.2'), false, 'another address is not affected');
  now += 4_999;
  assert.equal(b.calmed('10.0.0.1'), true);
  now += 1;
  assert.equal(b.calmed('10.0.0.1'), false);
});

test('resets spread over windows stay within the budget', () => {
  let now = 0;
  const b = new SourceResetBudget({ resetsPerSecond: 3, calmDownMs: 5_000, now: () => now });
  for (let second = 0; second < 10; second++) {
    for (let i = 0; i < 3; i++) assert.equal(b.reset('10.0.0.1'), false, `second ${second}`);
    now += 1_000;
  }
  assert.equal(b.calmed('10.0.0.1'), false);
});

test('the table stays bounded under many addresses', () => {
  let now = 0;
  const b = new SourceResetBudget({ resetsPerSecond: 3, calmDownMs: 5_000, now: () => now });
  for (let i = 0; i < 40_000; i++) {
    b.reset(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (i % 1_000 === 0) now += 10;
  }
  assert.ok(b.size <= 16_384, `${b.size} addresses tracked`);
  // A full table: one new address sweeps the stale entries, but not a calmed one.
  const fresh = new SourceResetBudget({ resetsPerSecond: 3, calmDownMs: 5_000, now: () => now });
  for (let i = 0; fresh.size < 16_383; i++) fresh.reset(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  for (let i = 0; i < 4; i++) fresh.reset('192.0.2.1');
  assert.equal(fresh.size, 16_384);
  now += 2_000;
  fresh.reset('172.16.0.1');
  assert.equal(fresh.calmed('192.0.2.1'), true);
  assert.equal(fresh.size, 2, 'the stale entries were dropped, the calmed one and the new one kept');
});
