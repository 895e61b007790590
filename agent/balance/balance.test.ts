import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { smoothWeighted, WeightedPickers } from './weighted.ts';
import { PeakEwma } from './peak-ewma.ts';
import { pickP2C } from './p2c.ts';

describe('smooth weighted round-robin', () => {
  test('gives exact shares over every window of sum(weights) picks', () => {
    const p = smoothWeighted(['a', 'b', 'c'], (x) => ({ a: 5, b: 3, c: 2 })[x]!);
    for (let window = 0; window < 10; window++) {
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      for (let i = 0; i < 10; i++) counts[p.pick()!]!++;
      assert.deepEqual(counts, { a: 5, b: 3, c: 2 });
    }
  });
  test('interleaves instead of bursting', () => {
    const p = smoothWeighted(['a', 'b'], (x) => (x === 'a' ? 1 : 1));
    assert.deepEqual([p.pick(), p.pick(), p.pick(), p.pick()], ['a', 'b', 'a', 'b']);
  });
  test('zero weights are never picked and all-zero yields null', () => {
    const p = smoothWeighted(['a', 'b'], (x) => (x === 'a' ? 0 : 2));
    for (let i = 0; i < 5; i++) assert.equal(p.pick(), 'b');
    assert.equal(smoothWeighted(['a'], () => 0).pick(), null);
  });
  test('WeightedPickers keeps state per list identity', () => {
    const pickers = new WeightedPickers<{ n: string; w: number }>((x) => x.w);
    const list = [{ n: 'a', w: 1 }, { n: 'b', w: 1 }];
    assert.equal(pickers.pick(list)!.n, 'a');
    assert.equal(pickers.pick(list)!.n, 'b');
    assert.equal(pickers.pick([...list])!.n, 'a');
  });
});

describe('peak EWMA and P2C', () => {
  test('a slow observation raises the cost at once and decays over time', () => {
    let now = 0;
    const e = new PeakEwma({ decayMs: 1000, penaltyMs: 500, now: () => now });
    e.observe(100);
    assert.equal(e.load(), 100);
    now = 5000;
    assert.ok(e.load() < 5);
  });
  test('in-flight requests multiply the cost', () => {
    const now = 0;
    const e = new PeakEwma({ decayMs: 1000, penaltyMs: 500, now: () => now });
    e.observe(10);
    const done = e.start();
    assert.equal(e.load(), 20);
    done();
    assert.equal(e.inflight, 0);
  });
  test('P2C picks the less loaded of two samples', () => {
    const loads = new Map([['a', 5], ['b', 1]]);
    const seq = [0.1, 0.1];
    const r = () => seq.shift() ?? 0;
    assert.equal(pickP2C(['a', 'b'], (x) => ({ load: () => loads.get(x)! }), r), 'b');
    assert.equal(pickP2C([], () => ({ load: () => 0 })), null);
  });
});
