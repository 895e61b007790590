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
