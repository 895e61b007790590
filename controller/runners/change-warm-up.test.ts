import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeWarmUp } from './change-warm-up.ts';

/** A warm-up over a fake clock, counters and queue: when it runs its steps is under test, not the steps. */
function fake(opts: { minNewAgents?: number; minIntervalMs?: number } = {}) {
  const w = { t: 0, connections: 0, activity: 0, busy: false, ran: [] as string[], queue: [] as (() => void)[] };
  const logs: string[] = [];
  const step = (name: string) => ({ name, run: () => void w.ran.push(name) });
  const warm = new ChangeWarmUp({
    steps: [step('translation'), step('gc')], busy: () => w.busy, connections: () => w.connections, activity: () => w.activity,
    quietMs: 1_000, minNewAgents: 64, minIntervalMs: 10_000, ...opts,
    now: () => w.t, defer: (fn) => void w.queue.push(fn), log: (l) => logs.push(l),
  });
  warm.start();
  warm.stop(); // no timer: the test calls check() itself
  /** Runs what was deferred, one turn at a time, until nothing is left (bounded). */
  const drain = (): void => {
    for (let i = 0; i < 10 && w.queue.length > 0; i++) w.queue.shift()!();
  };
  return { warm, w, logs, drain };
}

test('nothing runs before the initial sync; after it, once quiet, every step runs once', () => {
  const { warm, w, drain } = fake();
  w.t = 5_000;
  assert.equal(warm.check(), false, 'not synced, no storm: nothing owed');
  warm.synced();
  assert.equal(warm.check(), true);
  drain();
  assert.deepEqual(w.ran, ['translation', 'gc']);
  assert.deepEqual([warm.stats.runs, warm.stats.completed, warm.stats.abandoned], [1, 1, 0]);
  w.t += 60_000;
  assert.equal(warm.check(), false, 'once: not armed again without a storm');
  warm.synced();
  assert.equal(warm.check(), false, 'the initial sync arms it only once');
  assert.equal(warm.stats.runs, 1);
});

test('a storm of connections arms it; it runs only after connections and activity stood still for quietMs', () => {
  const { warm, w, drain } = fake();
  w.t = 20_000;
  w.connections = 63;
  assert.equal(warm.check(), false, '63 new connections: under the storm size');
  w.t += 100;
  w.connections = 1_000;
  assert.equal(warm.check(), false, 'connecting: not quiet');
  assert.equal(warm.armed, true);
  w.t += 900;
  w.activity = 5; // acks and the Propagated pass after the storm
  assert.equal(warm.check(), false, 'activity moved');
  w.t += 999;
  assert.equal(warm.check(), false, '999 ms quiet');
  w.t += 1;
  assert.equal(warm.check(), true, '1 000 ms quiet');
  drain();
  assert.deepEqual(w.ran, ['translation', 'gc']);
});

test('never while a change is pending or propagating; a change arriving mid-run stops the steps left', () => {
  const { warm, w, drain, logs } = fake();
  w.t = 20_000;
  warm.synced();
  w.busy = true;
  assert.equal(warm.check(), false, 'a change waits for its window or its acks');
  w.t += 5_000;
  assert.equal(warm.check(), false, 'still busy');
  w.busy = false;
  assert.equal(warm.check(), false, 'busy counts as activity: quiet from now on');
  w.t += 1_000;
  assert.equal(warm.check(), true);
  // The translation step ran; a change arrives before the next turn: the GC step is dropped.
  assert.deepEqual(w.ran, ['translation']);
  w.busy = true;
  drain();
  assert.deepEqual(w.ran, ['translation']);
  assert.deepEqual([warm.stats.completed, warm.stats.abandoned], [0, 1]);
  assert.match(logs.at(-1) ?? '', /stopped before gc: a change is being handled/);
  w.busy = false;
  w.t += 60_000;
  assert.equal(warm.check(), false, 'not re-armed: the change ran the code itself');
});

test('a route change translated after the storm and before the quiet drops the run owed for it', () => {
  const { warm, w } = fake();
  w.t = 20_000;
  w.connections = 500;
  assert.equal(warm.check(), false);
  assert.equal(warm.armed, true);
  warm.changed();
  w.t += 5_000;
  assert.equal(warm.check(), false, 'the change ran the code: nothing owed');
  w.connections = 563;
  w.t += 5_000;
  assert.equal(warm.check(), false, '63 more since the change: under the storm size');
  w.connections = 564;
  w.t += 5_000;
  warm.check();
  w.t += 1_000;
  assert.equal(warm.check(), true, '64 since the change: owed again');
});

test('bounded: at most one run per minIntervalMs however many storms, and one per storm', () => {
  const { warm, w, drain } = fake();
  let runs = 0;
  // 100 storms of 100 connections, 2 s apart, each followed by quiet: 200 s in all.
  for (let storm = 0; storm < 100; storm++) {
    w.connections += 100;
    w.t += 100;
    warm.check();
    for (let k = 0; k < 8; k++) {
      w.t += 250;
      if (warm.check()) runs++;
      drain();
    }
  }
  assert.equal(runs, warm.stats.runs);
  assert.ok(runs >= 18 && runs <= 21, `one run per 10 s over 200 s, not one per storm: ${runs}`);
  assert.equal(w.ran.length, 2 * runs);
});

test('a step that throws stops the run and is logged; the steps after it do not run', () => {
  const w = { t: 20_000, connections: 0 };
  const logs: string[] = [];
  let gcs = 0;
  const warm = new ChangeWarmUp({
    steps: [{ name: 'translation', run: () => { throw new Error('no table'); } }, { name: 'gc', run: () => void gcs++ }],
    busy: () => false, connections: () => w.connections, now: () => w.t, defer: (fn) => fn(), log: (l) => logs.push(l),
  });
  warm.synced();
  assert.equal(warm.check(), true);
  assert.equal(gcs, 0);
  assert.deepEqual([warm.stats.completed, warm.stats.abandoned], [0, 1]);
  assert.match(logs[0] ?? '', /warm-up: translation failed: no table/);
});
