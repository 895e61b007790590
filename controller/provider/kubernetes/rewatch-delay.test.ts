import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewatchDelay } from './rewatch-delay.ts';

test('a watch that lived a while is re-opened at once; one that ended at once waits the delay asked', async () => {
  let clock = 0;
  const waited: number[] = [];
  const delay = rewatchDelay(() => clock, (ms) => {
    waited.push(ms);
    clock += ms;
    return Promise.resolve();
  });
  clock += 5 * 60_000; // the server closed a quiet watch after its timeout
  await delay(8_000);
  clock += 10;         // closed again straight away: something is wrong, back off
  await delay(16_000);
  clock += 2_000;      // a healthy watch again
  await delay(30_000);
  assert.deepEqual(waited, [16_000]);
});
