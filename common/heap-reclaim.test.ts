import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapReclaimer } from './heap-reclaim.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (at most 3 s, 100 polls) for `fn`: timers run late on a busy machine, never early. */
async function eventually(fn: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !fn(); i++) await sleep(30);
  return fn();
}

/** A reclaimer whose collector only counts, with short delays so the policy is seen in ~1 s. */
function counting(opts: { quietMs?: number; minIntervalMs?: number } = {}): { r: HeapReclaimer; runs: () => number; logs: string[] } {
  let n = 0;
  const logs: string[] = [];
  const r = new HeapReclaimer({ quietMs: 50, minIntervalMs: 400, minSize: 1_000, ...opts, collect: () => void n++, log: (m) => logs.push(m) });
  return { r, runs: () => n, logs };
}

describe('HeapReclaimer', () => {
  test('a big table replaced by a quarter of it or less: one collection after the quiet period, logged and counted', async () => {
    const { r, runs, logs } = counting();
    r.noteSwap(10_000, 1);
    assert.equal(runs(), 0, 'not at once: the quiet period first');
    assert.ok(await eventually(() => runs() === 1));
    assert.equal(r.stats.runs, 1);
    assert.ok(r.stats.pauseSeconds >= 0);
    assert.match(logs[0] ?? '', /^heap reclaimed after a large table was dropped: heap \d+ -> \d+ MB, RSS \d+ -> \d+ MB, \d+ ms$/);
  });

  test('no collection for a small table, a drop of less than three quarters, or a table that grows', async () => {
    const { r, runs } = counting();
    r.noteSwap(999, 0);
    r.noteSwap(10_000, 2_501);
    r.noteSwap(0, 10_000);
    r.noteSwap(10_000, 10_000);
    await sleep(150);
    assert.equal(runs(), 0);
  });

  test('a burst of drops costs one collection, pushed back by each', async () => {
    const { r, runs } = counting({ quietMs: 500 });
    for (let i = 0; i < 5; i++) {
      r.noteSwap(4_000, 1_000);
      await sleep(40);
    }
    assert.equal(runs(), 0, 'each drop pushed the collection back');
    assert.ok(await eventually(() => runs() === 1));
    await sleep(100);
    assert.equal(runs(), 1);
  });

  test('a big table swapped in before the quiet period ends cancels the pending collection', async () => {
    const { r, runs } = counting();
    r.noteSwap(10_000, 0);
    r.noteSwap(0, 10_000);
    await sleep(150);
    assert.equal(runs(), 0);
  });

  test('collections are at least minIntervalMs apart', async () => {
    const { r, runs } = counting({ minIntervalMs: 1_000 });
    r.noteSwap(10_000, 0);
    assert.ok(await eventually(() => runs() === 1));
    const first = performance.now();
    r.noteSwap(10_000, 0);
    assert.ok(await eventually(() => runs() === 2));
    assert.ok(performance.now() - first >= 900, 'the second waited for the interval');
  });

  test('the default collector gives the heap back: a dropped 60 MB structure leaves the committed heap', async () => {
    const r = new HeapReclaimer({ quietMs: 0, minIntervalMs: 0, minSize: 1 });
    const held: { big: { s: string; n: number[] }[] | null } = { big: Array.from({ length: 400_000 }, (_, i) => ({ s: `entry-${i}`, n: [i, i + 1] })) };
    const committed = process.memoryUsage().heapTotal;
    assert.ok(held.big!.length > 0);
    held.big = null;
    r.noteSwap(400_000, 0);
    await sleep(50);
    assert.equal(r.stats.runs, 1);
    const after = process.memoryUsage().heapTotal;
    assert.ok(after < committed / 2, `committed heap ${Math.round(committed / 2 ** 20)} -> ${Math.round(after / 2 ** 20)} MB`);
    assert.equal((globalThis as { gc?: unknown }).gc, undefined, 'gc() is not exposed to the application');
  });
});
