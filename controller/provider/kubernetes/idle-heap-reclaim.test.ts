import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleHeapReclaim } from './idle-heap-reclaim.ts';

const MB = 2 ** 20;

/** A reclaimer over a fake heap and event loop: what it decides, not V8's GC, is under test. */
function fake(): { r: IdleHeapReclaim; heap: { committed: number; util: number; t: number; collected: number }; logs: string[] } {
  const heap = { committed: 100 * MB, util: 0, t: 0, collected: 0 };
  const logs: string[] = [];
  const r = new IdleHeapReclaim({
    heapCommitted: () => heap.committed, utilization: () => heap.util, now: () => heap.t, log: (l) => logs.push(l),
    collect: () => { heap.collected++; heap.committed = 120 * MB; heap.t += 300; },
  });
  return { r, heap, logs };
}

test('collects when idle and the heap grew past what the last collection left', () => {
  const { r, heap, logs } = fake();
  assert.equal(r.check(), false, 'no growth: nothing to give back');
  heap.committed = 160 * MB; // +60 MB: under the 64 MB floor
  assert.equal(r.check(), false);
  heap.committed = 350 * MB;
  heap.util = 0.6;
  assert.equal(r.check(), false, 'busy: translating or serving, the pause would delay it');
  heap.util = 0.02;
  assert.equal(r.check(), true);
  assert.equal(heap.collected, 1);
  assert.equal(r.runs, 1);
  assert.equal(r.pauseMs, 300);
  assert.match(logs[0] ?? '', /^idle: heap reclaimed, committed 350 -> 120 MB in 300 ms$/);
});

test('collections at least 10 s and ten pauses apart, growth measured from what the last one left', () => {
  const { r, heap } = fake();
  heap.committed = 900 * MB;
  assert.equal(r.check(), true);
  heap.committed = 900 * MB;
  heap.t += 9_000;
  assert.equal(r.check(), false, 'within 10 s of the last one');
  heap.t += 2_000;
  assert.equal(r.check(), true, '11 s later: 300 ms pauses may come every 10 s');
  heap.t += 20_000;
  heap.committed = 170 * MB; // 120 MB left last time: +50 MB is under the floor
  assert.equal(r.check(), false);
  heap.committed = 200 * MB; // +80 MB and over half again
  assert.equal(r.check(), true);
  assert.equal(heap.collected, 3);
});

test('busy for good: collects anyway once the heap is four times what the last collection left', () => {
  const { r, heap, logs } = fake();
  heap.util = 0.9;
  heap.committed = 390 * MB; // baseline 100 MB: 3.9 times
  assert.equal(r.check(), false, 'busy and under the bound: the pause would delay work');
  heap.committed = 400 * MB;
  assert.equal(r.check(), true);
  assert.match(logs[0] ?? '', /^busy: heap reclaimed, committed 400 -> 120 MB in 300 ms$/);
  heap.t += 11_000;
  heap.committed = 370 * MB; // 120 MB left: 3.1 times, and < 256 MB more
  assert.equal(r.check(), false);
});

test('a long pause spaces the next collection out to keep them under a tenth of the time', () => {
  const heap = { committed: 100 * MB, t: 0 };
  const r = new IdleHeapReclaim({
    heapCommitted: () => heap.committed, utilization: () => 0, now: () => heap.t,
    collect: () => { heap.committed = 120 * MB; heap.t += 3_000; },
  });
  heap.committed = 900 * MB;
  assert.equal(r.check(), true);
  heap.committed = 900 * MB;
  heap.t += 20_000;
  assert.equal(r.check(), false, 'a 3 s pause: not again within 30 s');
  heap.t += 11_000;
  assert.equal(r.check(), true);
});

test('a failing collector is logged and retried later, not thrown into the timer', () => {
  const logs: string[] = [];
  let committed = 900 * MB;
  let t = 0;
  const r = new IdleHeapReclaim({ heapCommitted: () => committed, utilization: () => 0, now: () => t, log: (l) => logs.push(l), collect: () => { throw new Error('no gc'); } });
  committed = 2000 * MB;
  assert.equal(r.check(), false);
  assert.match(logs[0] ?? '', /heap reclaim failed: no gc/);
  t += 11_000;
  assert.equal(r.check(), false);
  assert.equal(logs.length, 2);
});

test('the real collector gives committed heap back (V8 last-resort GC)', () => {
  const r = new IdleHeapReclaim({ utilization: () => 0, minGrowthBytes: 1 });
  // ~60 MB that lives long enough to be promoted to the old generation, then becomes garbage
  const build = (): number => {
    const keep = Array.from({ length: 300 }, (_, i) => Array.from({ length: 25_000 }, (_, j) => ({ i, j })));
    return keep.length;
  };
  assert.equal(build(), 300);
  const before = process.memoryUsage().heapTotal;
  assert.equal(r.check(), true, 'the heap grew since the reclaimer was made');
  assert.ok(process.memoryUsage().heapTotal < before - 20 * MB, `committed heap fell: ${Math.round(before / MB)} -> ${Math.round(process.memoryUsage().heapTotal / MB)} MB`);
});

test('a change is never kept waiting: no collection while one is pending, and the idle one only after 5 s without a change', () => {
  const heap = { committed: 100 * MB, util: 0, t: 0, collected: 0, pending: false };
  const r = new IdleHeapReclaim({
    heapCommitted: () => heap.committed, utilization: () => heap.util, now: () => heap.t, pending: () => heap.pending,
    collect: () => { heap.collected++; heap.committed = 120 * MB; heap.t += 300; },
  });
  // Steps: [ms since the start, a change handled then, a change pending at the check, heap MB, expected]
  const steps: [number, boolean, boolean, number, boolean, string][] = [
    [0, true, false, 350, false, 'a change just handled: a series may go on'],
    [2_000, true, false, 350, false, 'another 2 s later'],
    [4_000, false, false, 350, false, '2 s after the last change'],
    [6_000, false, true, 350, false, '4 s quiet, but a change waits for its translation'],
    [7_000, false, false, 350, true, '5 s quiet, nothing waiting: collected'],
    [20_000, true, false, 400, false, 'the next change'],
    [21_000, false, true, 600, false, 'bloated (5x what was left), but a change waits: not even then'],
    [22_000, false, false, 600, true, 'bloated and nothing waiting: collected, quiet or not (RSS stays bounded)'],
  ];
  for (const [t, handled, pending, mb, expected, why] of steps) {
    heap.t = t;
    if (handled) r.activity();
    heap.pending = pending;
    heap.committed = mb * MB;
    assert.equal(r.check(), expected, `${t} ms: ${why}`);
  }
  assert.equal(heap.collected, 2);
});

test("after each collection malloc's free pages are released once; none without a collection; a failing release is logged, the collection still counted", () => {
  const heap = { committed: 100 * MB, t: 0 };
  const logs: string[] = [];
  let releases = 0;
  let fail = false;
  const r = new IdleHeapReclaim({
    heapCommitted: () => heap.committed, utilization: () => 0, now: () => heap.t, log: (l) => logs.push(l),
    collect: () => { heap.committed = 120 * MB; heap.t += 100; },
    releaseFree: () => { releases++; if (fail) throw new Error('no libc'); return true; },
  });
  assert.equal(r.check(), false);
  assert.equal(releases, 0, 'no collection, no release');
  heap.committed = 400 * MB;
  assert.equal(r.check(), true);
  assert.equal(releases, 1);
  assert.match(logs.at(-1) ?? '', /committed 400 -> 120 MB in 100 ms, malloc trimmed$/);
  fail = true;
  heap.committed = 400 * MB;
  heap.t += 20_000;
  assert.equal(r.check(), true);
  assert.equal(releases, 2);
  assert.equal(r.runs, 2);
  assert.ok(logs.some((l) => /releasing malloc's free pages failed: no libc/.test(l)), logs.join('\n'));
});
