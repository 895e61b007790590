import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from './coalescer.ts';

test('a burst becomes one call after the debounce; a steady trickle still fires by the max delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let calls = 0;
  const c = new Coalescer(() => calls++, { debounceMs: 50, maxDelayMs: 200, leadingEdge: false });
  for (let i = 0; i < 10; i++) c.trigger();
  t.mock.timers.tick(49);
  assert.equal(calls, 0);
  t.mock.timers.tick(1);
  assert.equal(calls, 1);
  // One change every 30 ms never leaves a 50 ms gap, yet the call comes at 200 ms.
  for (let ms = 0; ms < 300; ms += 30) {
    c.trigger();
    t.mock.timers.tick(30);
    if (ms < 180) assert.equal(calls, 1, `no call yet at ${ms + 30} ms`);
  }
  assert.equal(calls, 2);
  c.close();
  c.trigger();
  t.mock.timers.tick(1000);
  assert.equal(calls, 2);
});

test('an endpoint-only batch fires after the short window; a burst of endpoint changes is still one call', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let calls = 0;
  const c = new Coalescer(() => calls++, { debounceMs: 50, endpointDebounceMs: 5, maxDelayMs: 200 });
  for (let i = 0; i < 3; i++) {
    c.trigger('endpoint');
    t.mock.timers.tick(2); // a rollout's events, closer together than the short window
  }
  assert.equal(calls, 0);
  t.mock.timers.tick(2); // 5 ms after the last endpoint change
  assert.equal(calls, 0);
  t.mock.timers.tick(1);
  assert.equal(calls, 1, 'fired 5 ms after the last endpoint change, not 50 ms');
  c.close();
});

test('a route change in an endpoint batch brings back the long window, measured from that change', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let calls = 0;
  const c = new Coalescer(() => calls++, { debounceMs: 50, endpointDebounceMs: 5, maxDelayMs: 500, leadingEdge: false });
  c.trigger('endpoint');
  t.mock.timers.tick(3);
  c.trigger('other'); // at 3 ms: the batch now waits until 53 ms
  t.mock.timers.tick(10);
  c.trigger('endpoint'); // at 13 ms: its 5 ms window ends long before the route's
  t.mock.timers.tick(39); // 52 ms
  assert.equal(calls, 0);
  t.mock.timers.tick(1); // 53 ms
  assert.equal(calls, 1);
  // The next batch is endpoint-only again: the short window is back.
  c.trigger('endpoint');
  t.mock.timers.tick(5);
  assert.equal(calls, 2);
  c.close();
});

test('a steady endpoint trickle is still capped by the max delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const at: number[] = [];
  const c = new Coalescer(() => at.push(Date.now()), { debounceMs: 50, endpointDebounceMs: 5, maxDelayMs: 40 });
  // One endpoint change every 3 ms never leaves a 5 ms gap, yet the call comes at 40 ms.
  for (let ms = 0; ms < 60; ms++) {
    if (ms % 3 === 0) c.trigger('endpoint');
    t.mock.timers.tick(1);
  }
  assert.deepEqual(at, [40], 'one call, at the cap (the changes after it are a new batch, still pending)');
  c.close();
});

/**
 * Leading edge (the default): triggers at the given ms (kind 'other' unless marked 'e'), the
 * times the batch calls came. Debounce 50 ms, endpoint window 5 ms, max delay 200 ms.
 */
const LEADING_CASES: { name: string; triggers: (number | [number, 'e'])[]; calls: number[] }[] = [
  { name: 'an isolated route change after a quiet spell goes after the short window, not 50 ms', triggers: [0], calls: [5] },
  { name: 'an isolated endpoint change: the short window, as before', triggers: [[0, 'e']], calls: [5] },
  { name: 'changes of one apply, closer than the short window, are one leading batch', triggers: [0, 2, 4], calls: [9] },
  { name: 'two isolated changes a quiet spell apart each go at once', triggers: [0, 100], calls: [5, 105] },
  { name: 'a change within 50 ms of a call starts a storm: the long window again', triggers: [0, 30], calls: [5, 80] },
  { name: 'a storm costs one extra call: the leading one, then one for the rest', triggers: [0, 10, 20, 30, 40, 50, 60], calls: [5, 110] },
  { name: 'a steady trickle after the leading call is still cut by the max delay', triggers: [0, 30, 60, 90, 120, 150, 180, 210, 240], calls: [5, 230, 290] },
  { name: 'quiet is counted from the end of the last call, and a long quiet makes the edge again', triggers: [0, 54, 200], calls: [5, 104, 205] },
];

for (const c of LEADING_CASES) {
  test(`leading edge: ${c.name}`, (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const start = Date.now();
    const at: number[] = [];
    const co = new Coalescer(() => at.push(Date.now() - start), { debounceMs: 50, endpointDebounceMs: 5, maxDelayMs: 200 });
    // 1 ms steps (bounded: 1 000 of them), so each call sees its own time.
    for (let ms = 0; ms < 1000; ms++) {
      for (const tr of c.triggers) {
        const [when, kind] = typeof tr === 'number' ? [tr, 'other' as const] : [tr[0], 'endpoint' as const];
        if (when === ms) co.trigger(kind);
      }
      t.mock.timers.tick(1);
    }
    assert.deepEqual(at, c.calls);
    co.close();
  });
}

test('pending says whether a change waits for its call', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const c = new Coalescer(() => undefined, { debounceMs: 50, endpointDebounceMs: 5 });
  assert.equal(c.pending, false);
  c.trigger();
  assert.equal(c.pending, true);
  t.mock.timers.tick(5);
  assert.equal(c.pending, false);
  c.close();
});
