// steadyIdleShare: the controller's idle CPU is the lowest of consecutive windows, so one-off work
// after a busy spell (the idle heap collection) does not read as the steady cost; all are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { steadyIdleShare, type ControllerProcess } from './controller-process.ts';

test('steadyIdleShare: the lowest of three windows, each one kept', async () => {
  // CPU readings at each window's start and end: 8 ms of one-off work in the first window only.
  const readings = [0, 8e6, 8e6, 8e6, 8e6, 8.2e6];
  let i = 0;
  const c = { cpuNs: () => readings[Math.min(i++, readings.length - 1)]! } as unknown as ControllerProcess;
  const r = await steadyIdleShare(c, 20);
  assert.equal(r.windows.length, 3);
  assert.ok(r.windows[0]! > 0.1, `the window with the one-off work: ${r.windows[0]}`);
  assert.equal(r.share, 0, 'the steady share is the quiet window');
  assert.ok(r.windows[2]! > 0 && r.windows[2]! < r.windows[0]!);
});
