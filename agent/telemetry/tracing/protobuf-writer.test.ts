// The writer's fixed64 of a stamp plus the Unix anchor, done on 32-bit words, against BigInt's
// sum written by Buffer: carries out of the low word, zero and maximal words, real stamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from './protobuf-writer.ts';
import { EPOCH_MINUS_HRTIME_HI, EPOCH_MINUS_HRTIME_LO } from './span-record.ts';

const W = 2n ** 32n;

test('fixed64Plus writes v + (hi * 2^32 + lo) as 8 little-endian bytes', () => {
  const cases: [bigint, number, number][] = [
    [0n, 0, 0],
    [1n, 4294967295, 0], // the low word carries into the high one
    [W - 1n, 1, 0],
    [W - 1n, 4294967295, 7],
    [123_456_789_012_345n, 3_000_000_000, 409_000_000],
    [2n ** 63n, 5, 5],
    [process.hrtime.bigint(), EPOCH_MINUS_HRTIME_LO, EPOCH_MINUS_HRTIME_HI],
  ];
  for (const [v, lo, hi] of cases) {
    const w = new Writer(4);
    w.byte(9); // not at an aligned offset, and the buffer grows
    w.fixed64Plus(v, lo, hi);
    const want = Buffer.alloc(9);
    want[0] = 9;
    want.writeBigUInt64LE((v + BigInt(hi) * W + BigInt(lo)) % 2n ** 64n, 1);
    assert.deepEqual(w.buf.subarray(0, w.pos), want, `${v} + ${hi}:${lo}`);
  }
});

test('hexId: each ID\'s bytes, the last trace ID copied, and never the bytes of a decode that failed half way', () => {
  const A = '0af7651916cd43dd8448eb211c80319c';
  const B = '80f198ee56343ba864fe8b2a57d3eff7';
  const bad = `${A.slice(0, 30)}zz`;
  const w = new Writer(8);
  const want: Buffer[] = [];
  const id = (hex: string, bytes: number): void => { w.hexId(hex, bytes); want.push(Buffer.from([bytes]), Buffer.from(hex, 'hex')); };
  id(A, 16);
  id(A, 16); // copied
  id('b7ad6b7169203331', 8);
  id(A, 16);
  id(B, 16);
  id(A, 16);
  id(B, 16);
  // B's digits then non-hex at the end: throws after writing most of its bytes
  const before = w.pos;
  assert.throws(() => w.hexId(`${B.slice(0, 30)}zz`, 16));
  w.pos = before;
  id(B, 16);
  assert.throws(() => w.hexId(bad, 16));
  w.pos = before + 17;
  id(B, 16);
  assert.deepEqual(w.buf.subarray(0, w.pos), Buffer.concat(want));
});
