import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockAnchor, unixNs } from './span-record.ts';

// A simulated node: hrtime runs from 5 s, Unix time is hrtime + OFFSET; `stalls` adds a
// preemption (ns) after the given hrtime read, as a loaded node does to a thread at any moment.
const OFFSET = 1_765_000_000_000_000_000n;
function clocks(stalls: Map<number, bigint>): { wallMs: () => number; hr: () => bigint } {
  let now = 5_000_000_000n;
  let reads = 0;
  return {
    hr: () => {
      const t = now;
      now += 1_000n + (stalls.get(reads++) ?? 0n);
      return t;
    },
    wallMs: () => {
      const t = now;
      now += 1_000n;
      return Number(t + OFFSET) / 1e6;
    },
  };
}

test('clock anchor: the tightest bracket wins, so a preemption between reads does not shift every span', () => {
  // 30 ms stalled after the first hrtime read (between it and the wall-clock read), then quiet
  const c = clocks(new Map([[0, 30_000_000n]]));
  const anchor = clockAnchor(c.wallMs, c.hr, 5);
  const error = anchor > OFFSET ? anchor - OFFSET : OFFSET - anchor;
  // Number() of a 1.7e18 ns wall time loses < 256 ns; a bracket is 2 µs wide
  assert.ok(error < 5_000n, `anchor off by ${error} ns`);
});

test('clock anchor: stalls in every bracket but one still find the quiet one', () => {
  const stalls = new Map<number, bigint>([[0, 9_000_000n], [2, 12_000_000n], [4, 7_000_000n], [8, 20_000_000n]]);
  const c = clocks(stalls);
  const anchor = clockAnchor(c.wallMs, c.hr, 5);
  const error = anchor > OFFSET ? anchor - OFFSET : OFFSET - anchor;
  assert.ok(error < 5_000n, `anchor off by ${error} ns`);
});

test('clock anchor: the module anchor maps hrtime to within a few ms of Date.now()', () => {
  const skew = Number(unixNs(process.hrtime.bigint()) / 1_000_000n) - Date.now();
  assert.ok(Math.abs(skew) <= 5, `skew ${skew} ms`);
});
