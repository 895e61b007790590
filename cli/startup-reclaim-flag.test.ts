// --startup-reclaim-seconds (agent and ingress): seconds to milliseconds, unset keeps the
// production delay, 0 turns the reclaim off, anything else is a usage error naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STARTUP_RECLAIM_MS } from '../agent/lifecycle/startup-reclaim.ts';
import { startupReclaimFlag } from './flags.ts';

test('startup reclaim flag', () => {
  const cases: [string | undefined, number][] = [[undefined, STARTUP_RECLAIM_MS], ['0', 0], ['2', 2000], ['0.5', 500]];
  for (const [flag, want] of cases) assert.equal(startupReclaimFlag(flag, STARTUP_RECLAIM_MS), want, String(flag));
  for (const bad of ['soon', '', ' ', '-1']) assert.throws(() => startupReclaimFlag(bad, STARTUP_RECLAIM_MS), /--startup-reclaim-seconds wants a number of seconds/, bad);
});
