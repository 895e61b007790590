// The idle time an upstream connection is trusted for after a response, from its fields: the
// server's `Keep-Alive: timeout=N` minus undici's one-second margin, capped at 600 s; nothing
// left means "do not reuse"; no usable hint means the pool's own keep-alive time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idleAllowanceMs } from './upstream-keep-alive.ts';

const FALLBACK = 4_321; // no hint gives 4 321 ms: nothing else here does

test('Keep-Alive hints, in plain English', () => {
  const cases: [string, string[], number][] = [
    ['no Keep-Alive field: the pool default', ['content-type', 'text/plain'], FALLBACK],
    ['timeout=5: 4 s (one second of margin)', ['Keep-Alive', 'timeout=5'], 4_000],
    ['timeout=5, max=100 in any case and order', ['keep-alive', 'max=100, TIMEOUT=5'], 4_000],
    ['quoted value', ['keep-alive', 'timeout="30"'], 29_000],
    ['timeout=1: nothing left after the margin, not reused', ['keep-alive', 'timeout=1'], 0],
    ['timeout=0: not reused', ['keep-alive', 'timeout=0'], 0],
    ['a huge timeout is capped at 600 s', ['keep-alive', 'timeout=86400'], 600_000],
    ['max alone: the pool default', ['keep-alive', 'max=5'], FALLBACK],
    ['a parameter that only ends in timeout is not it', ['keep-alive', 'xtimeout=9'], FALLBACK],
    ['garbage after the digits is not a timeout', ['keep-alive', 'timeout=5s'], FALLBACK],
    ['a field with another name carrying timeout= is ignored', ['x-keep-alive', 'timeout=9'], FALLBACK],
  ];
  for (const [what, fields, want] of cases) assert.equal(idleAllowanceMs(fields, FALLBACK), want, what);
  // the last value read is remembered: the same hint again, and with another fallback, and back
  for (const [what, fields, want] of cases) {
    assert.equal(idleAllowanceMs(fields, FALLBACK), want, `${what} (repeated)`);
    assert.equal(idleAllowanceMs(fields, 7_000), want === FALLBACK ? 7_000 : want, `${what} (another fallback)`);
  }
});
