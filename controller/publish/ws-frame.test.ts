import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFramed, textFrame } from './ws-frame.ts';

/** A server frame read as RFC 6455 §5.2 spells it: FIN, opcode, no mask, the 7/16/64-bit length, then exactly that payload. */
function read(frame: Buffer): { fin: boolean; opcode: number; masked: boolean; payload: Buffer } {
  let n = frame[1]! & 0x7f;
  let at = 2;
  if (n === 126) [n, at] = [frame.readUInt16BE(2), 4];
  else if (n === 127) [n, at] = [Number(frame.readBigUInt64BE(2)), 10];
  assert.equal(frame.length, at + n, 'the header and the payload, nothing else');
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, masked: (frame[1]! & 0x80) !== 0, payload: frame.subarray(at) };
}

test('a framed payload is one final unmasked text frame, at each length encoding (7, 16 and 64 bits)', () => {
  for (const n of [0, 1, 125, 126, 65_535, 65_536, 70_000]) {
    const text = 'é'.repeat(n >> 1) + 'x'.repeat(n & 1);
    const payload = Buffer.from(text);
    const framed = textFrame(payload);
    assert.deepEqual(read(framed), { fin: true, opcode: 1, masked: false, payload }, `${payload.length} bytes`);
    // The shortest encoding of the length, as ws writes it (a receiver may refuse another).
    assert.equal(framed.length - payload.length, payload.length < 126 ? 2 : payload.length < 65_536 ? 4 : 10);
    assert.equal(textFrame(payload), framed, 'framed once per payload');
    const built = encodeFramed(text);
    assert.deepEqual(built, payload, 'encodeFramed gives the payload bytes');
    assert.deepEqual(textFrame(built), framed, 'and the same frame');
    assert.equal(textFrame(built).buffer, built.buffer, 'built in place: the payload is a view of its frame, not copied');
  }
});
