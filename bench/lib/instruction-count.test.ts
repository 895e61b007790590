import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { CallgrindCounter, lessWallClockWork, perfInstructionsUnavailable } from './instruction-count.ts';

test('perf probe: null, or the reason the hardware counter cannot be read', () => {
  const why = perfInstructionsUnavailable();
  assert.ok(why === null || /perf/.test(why), String(why));
});

for (const mainThread of [false, true]) {
test(`callgrind windows count the work done between zero and read, and only that${mainThread ? ' (first thread alone)' : ''}`, { timeout: 120_000 }, async () => {
  const counter = new CallgrindCounter(mainThread);
  // A shell that, for each number it reads, counts to it and answers "done": a window's work
  // is set by what the test sends, and between windows the shell waits in read(2).
  const child = spawn(counter.prefix()[0]!, [...counter.prefix().slice(1), 'sh', '-c',
    'while read n; do i=0; while [ "$i" -lt "$n" ]; do i=$((i+1)); done; echo done; done'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const lines = child.stdout.setEncoding('utf8');
    const run = async (n: number): Promise<number> => {
      await counter.zero(child.pid!);
      child.stdin.write(`${n}\n`);
      const [chunk] = await once(lines, 'data') as [string];
      assert.equal(chunk.trim(), 'done');
      return counter.read(child.pid!);
    };
    // Up (valgrind's gdbserver listens once the client runs): one round trip before any window.
    child.stdin.write('1\n');
    await once(lines, 'data');
    // Counting starts off (prefix() starts uninstrumented): nothing is counted before instrument().
    assert.equal(await run(100), 0);
    await counter.instrument(child.pid!);
    const small = await run(200);
    const large = await run(2000);
    const again = await run(200);
    assert.ok(small > 0, `small window counted ${small}`);
    // Ten times the loop, about ten times the instructions (the fixed part of a window is small).
    assert.ok(large > 6 * small && large < 12 * small, `200 -> ${small}, 2000 -> ${large}`);
    // The same work twice reads the same within a few per cent (counts are not timing).
    assert.ok(Math.abs(again - small) / small < 0.05, `200 twice: ${small}, ${again}`);
  } finally {
    child.kill();
    await once(child, 'exit');
    counter.close();
  }
});
}

test('wall-clock work is taken out at the idle window\'s rate per millisecond, never below zero', () => {
  // An idle child that ran 400 k instructions in 2 s (timer ticks) costs 200 per ms: a 5 s window
  // of 3 M instructions held 1 M of timers.
  assert.equal(lessWallClockWork(3_000_000, 5_000, { instructions: 400_000, ms: 2_000 }), 2_000_000);
  assert.equal(lessWallClockWork(3_000_000, 0, { instructions: 400_000, ms: 2_000 }), 3_000_000);
  assert.equal(lessWallClockWork(100, 5_000, { instructions: 400_000, ms: 2_000 }), 0);
  assert.throws(() => lessWallClockWork(100, 5_000, { instructions: 400_000, ms: 0 }), /idle window of 0 ms/);
});
