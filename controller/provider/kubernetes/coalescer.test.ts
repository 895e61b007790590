import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from './coalescer.ts';

test('a burst becomes one call after the debounce; a steady trickle still fires by the max delay', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let calls = 0;
  const c = new Coalescer(() => calls++, { debounceMs: 50, maxDelayMs: 200 });
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
  const c = new Coalescer(() => calls++, { debounceMs: 50, endpointDebounceMs: 5, maxDelayMs: 500 });
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
