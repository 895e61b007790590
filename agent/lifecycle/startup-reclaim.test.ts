import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { scheduleStartupReclaim } from './startup-reclaim.ts';

test('the collection runs once, after the delay, and says what it gave back', async () => {
  let runs = 0;
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 30, collect: () => void runs++, trim: () => false, log: (l) => void lines.push(l) });
  await sleep(5);
  assert.equal(runs, 0);
  assert.equal(r.done, false);
  const deadline = Date.now() + 2_000;
  while (!r.done && Date.now() < deadline) await sleep(10);
  await sleep(50);
  assert.equal(runs, 1);
  assert.equal(r.done, true);
  assert.match(lines.join('\n'), /^heap reclaimed after start: heap \d+ -> \d+ MB, RSS \d+ -> \d+ MB, \d+ ms$/);
});

test('cancelled before it is due (the process is stopping), or with delay 0, it never runs', async () => {
  let runs = 0;
  scheduleStartupReclaim({ delayMs: 20, collect: () => void runs++ }).cancel();
  scheduleStartupReclaim({ delayMs: 0, collect: () => void runs++ });
  await sleep(80);
  assert.equal(runs, 0);
});

test('with more heap in use than the bound it is skipped (the pause grows with the live set)', async () => {
  let runs = 0;
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 1, maxUsedBytes: 1, collect: () => void runs++, trim: () => false, log: (l) => void lines.push(l) });
  const deadline = Date.now() + 2_000;
  while (!r.done && Date.now() < deadline) await sleep(5);
  assert.equal(runs, 0);
  assert.match(lines[0] ?? '', /^heap reclaim after start skipped: \d+ MB of heap in use$/);
});

test('a failing collector is reported, not thrown', async () => {
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 1, collect: () => { throw new Error('no gc'); }, trim: () => false, log: (l) => void lines.push(l) });
  const deadline = Date.now() + 2_000;
  while (!r.done && Date.now() < deadline) await sleep(5);
  assert.deepEqual(lines, ['heap reclaim after start failed: no gc']);
});

test('malloc is trimmed after the collection, and when the collection is skipped', async () => {
  const order: string[] = [];
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 1, collect: () => void order.push('gc'), trim: () => { order.push('trim'); return true; }, log: (l) => void lines.push(l) });
  const skipped = scheduleStartupReclaim({ delayMs: 1, maxUsedBytes: 1, collect: () => void order.push('skipped gc'), trim: () => { order.push('trim after skip'); return true; }, log: (l) => void lines.push(l) });
  const deadline = Date.now() + 2_000;
  while (!(r.done && skipped.done) && Date.now() < deadline) await sleep(5);
  assert.deepEqual(order, ['gc', 'trim', 'trim after skip']);
  assert.match(lines[0] ?? '', /^heap reclaimed after start: heap \d+ -> \d+ MB, RSS \d+ -> \d+ MB, malloc trimmed, \d+ ms$/);
  assert.match(lines[1] ?? '', /^heap reclaim after start skipped: \d+ MB of heap in use, malloc trimmed$/);
});

test('a failing trim is reported, not thrown', async () => {
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 1, collect: () => undefined, trim: () => { throw new Error('no addon'); }, log: (l) => void lines.push(l) });
  const deadline = Date.now() + 2_000;
  while (!r.done && Date.now() < deadline) await sleep(5);
  await sleep(20);
  assert.match(lines[0] ?? '', /, malloc trim failed: no addon, \d+ ms$/);
});

test('the default collector gives back heap that start-up garbage left committed', async () => {
  // Start-up in miniature: ~40 MB of objects built and dropped, as loading modules and the first
  // table leave behind; without a collection the heap stays committed.
  const built = ((): number => Array.from({ length: 400 }, (_, i) => Array.from({ length: 12_500 }, (_, j) => i * j + 0.5)).length)();
  assert.equal(built, 400);
  const lines: string[] = [];
  const r = scheduleStartupReclaim({ delayMs: 1, maxUsedBytes: Infinity, log: (l) => void lines.push(l) });
  const deadline = Date.now() + 5_000;
  while (!r.done && Date.now() < deadline) await sleep(5);
  const m = /heap (\d+) -> (\d+) MB/.exec(lines[0] ?? '');
  assert.ok(m, `no report: ${lines.join(' | ')}`);
  assert.ok(Number(m[2]) < Number(m[1]) - 10, lines[0]);
});
