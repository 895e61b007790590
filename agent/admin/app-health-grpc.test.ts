import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHealthResponse, encodeHealthRequest } from './app-health-grpc.ts';

test('HealthCheckRequest framing: 5-byte prefix, field 1 as a length-delimited string', () => {
  assert.equal(encodeHealthRequest('').toString('hex'), '0000000000');
  assert.equal(encodeHealthRequest('api').toString('hex'), '00000000050a03617069');
  // A service name of 200 bytes needs a two-byte varint length (0xc8 0x01).
  const long = encodeHealthRequest('s'.repeat(200));
  assert.equal(long.readUInt32BE(1), 203);
  assert.deepEqual([...long.subarray(5, 8)], [0x0a, 0xc8, 0x01]);
});

const frame = (hex: string): Buffer => {
  const msg = Buffer.from(hex, 'hex');
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
};

const cases: [string, Buffer, number | RegExp][] = [
  ['SERVING', frame('0801'), 1],
  ['NOT_SERVING', frame('0802'), 2],
  ['an empty message is UNKNOWN (proto3 default)', frame(''), 0],
  ['unknown fields before the status are skipped', frame('12026869' + '1d00000000' + '0801'), 1],
  ['too short', Buffer.from('0000', 'hex'), /no message/],
  ['compressed', Buffer.from('010000000208' + '01', 'hex'), /compressed/],
  ['truncated', Buffer.from('00000000050801', 'hex'), /truncated/],
  ['wire type 3 (groups)', frame('0b'), /wire type 3/],
];

for (const [what, body, want] of cases) {
  test(`HealthCheckResponse: ${what}`, () => {
    if (typeof want === 'number') assert.equal(decodeHealthResponse(body), want);
    else assert.throws(() => decodeHealthResponse(body), want);
  });
}
