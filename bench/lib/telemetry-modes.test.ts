import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselineOf, MODES, modesOf, settingsOf, TARGET } from './telemetry-modes.ts';

test('tracing with metrics on is read against metrics; every other configuration against off', () => {
  assert.equal(baselineOf('metrics+trace-1%'), 'metrics');
  assert.equal(baselineOf('metrics+trace-100%'), 'metrics');
  for (const m of ['metrics', 'trace-1%', 'trace-100%'] as const) assert.equal(baselineOf(m), 'off');
});

test('issue 11\'s targets: 1.05x at 1 % and for metrics, 1.3x at 100 %, with or without metrics', () => {
  assert.deepEqual(MODES.map((m) => TARGET[m]), [null, 1.05, 1.05, 1.3, 1.05, 1.3]);
});

test('each configuration turns on what its name says', () => {
  assert.deepEqual(MODES.map((m) => settingsOf(m)), [
    { metrics: false, samplingRatio: null },
    { metrics: true, samplingRatio: null },
    { metrics: false, samplingRatio: 0.01 },
    { metrics: false, samplingRatio: 1 },
    { metrics: true, samplingRatio: 0.01 },
    { metrics: true, samplingRatio: 1 },
  ]);
});

test('--modes: all six when absent; the named ones with their baselines, in the table\'s order', () => {
  assert.deepEqual(modesOf(undefined), [...MODES]);
  assert.deepEqual(modesOf('trace-100%'), ['off', 'trace-100%']);
  assert.deepEqual(modesOf('metrics+trace-100%'), ['off', 'metrics', 'metrics+trace-100%']);
  assert.deepEqual(modesOf(' metrics+trace-1% , trace-1%'), ['off', 'metrics', 'trace-1%', 'metrics+trace-1%']);
});

test('--modes rejects a configuration it does not know, naming the ones it does', () => {
  assert.throws(() => modesOf('trace-50%'), /unknown configuration "trace-50%" \(one of off, metrics, trace-1%, trace-100%, metrics\+trace-1%, metrics\+trace-100%\)/);
});
