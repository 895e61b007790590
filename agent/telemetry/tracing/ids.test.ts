// Span and trace IDs as the exporters and the traceparent header read them: lowercase hex of the
// right length, never all zero, and distinct, across several refills of the pools they are cut
// from (4 KB each: 2 000 trace IDs are 32 KB of random bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyDrawnId, lastIdTicket, randomSpanId, randomTraceId, unsampledTraceparent, writeRandomHex } from './ids.ts';

test('trace and span IDs: 32 and 16 lowercase hex digits, not all zero, distinct across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const t = randomTraceId();
    const s = randomSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.notEqual(t, '0'.repeat(32));
    assert.notEqual(s, '0'.repeat(16));
    seen.add(t);
    seen.add(s);
  }
  assert.equal(seen.size, 4000);
});

test('writeRandomHex writes n bytes as 2n hex digits in place and says whether any was non-zero', () => {
  const out = Buffer.from('xx' + '.'.repeat(16) + 'yy', 'latin1');
  assert.equal(writeRandomHex(out, 2, 8), true);
  const s = out.toString('latin1');
  assert.match(s, /^xx[0-9a-f]{16}yy$/);
});

test('unsampledTraceparent: version 00, non-zero IDs, flags 00, distinct across batch refills (64 a batch)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64 * 5 + 3; i++) {
    const tp = unsampledTraceparent();
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(tp);
    assert.ok(m, tp);
    assert.notEqual(m[1], '0'.repeat(32));
    assert.notEqual(m[2], '0'.repeat(16));
    seen.add(m[1]!);
    seen.add(m[2]!);
  }
  assert.equal(seen.size, 2 * (64 * 5 + 3));
});

test('copyDrawnId: the bytes of a drawn ID while its pool holds them, nothing once the pool is refilled', () => {
  const trace = randomTraceId();
  const traceAt = lastIdTicket();
  const span = randomSpanId();
  const spanAt = lastIdTicket();
  const out = Buffer.alloc(18, 0xee);
  assert.equal(copyDrawnId(traceAt, 16, out, 1), true);
  assert.equal(out.subarray(1, 17).toString('hex'), trace);
  assert.equal(copyDrawnId(spanAt, 8, out, 0), true);
  assert.equal(out.subarray(0, 8).toString('hex'), span);
  // 4 KB of later IDs refill the pool: the old tickets no longer name their bytes.
  for (let i = 0; i < 300; i++) randomTraceId();
  const before = Buffer.from(out);
  assert.equal(copyDrawnId(traceAt, 16, out, 1), false);
  assert.equal(copyDrawnId(spanAt, 8, out, 0), false);
  assert.equal(copyDrawnId(-1, 8, out, 0), false);
  assert.deepEqual(out, before, 'nothing written when refused');
});
