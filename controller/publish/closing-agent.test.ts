// Frames are written to an agent's socket directly (ws-frame.ts), not through ws.send(): once
// the close handshake has begun, a change must not put a data frame on the wire after the close
// frame (RFC 6455 §5.5.1: no data frame after a Close). The agent here is a raw TCP client
// speaking just enough WebSocket to say hello, ack and send a Close, which then keeps its side of
// the connection open, so the controller's session stays in the closing state while a change
// goes out.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { WIRE_PATH, WIRE_PROTOCOL } from '../../api/wire.ts';
import type { RoutingTable } from '../../api/index.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { Publisher } from './publisher.ts';

const mesh = (weight: number): RoutingTable => table({
  services: [service({ name: 'shared', clusterIP: '10.1.0.1', port: 80, rules: [rule({ route: 'shared', backends: [{ backend: backendName('default', 'shared', 80), weight }] })] })],
  backends: [backend('default', 'shared', 80, [{ port: 1 }])],
});

/** A client frame (masked, as RFC 6455 requires of clients), final, with `opcode`. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}

/** Server frames (unmasked) read from `bytes`: opcode and payload of each whole one. */
function serverFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const out: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let n = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (n === 126) { n = bytes.readUInt16BE(at + 2); start = at + 4; } else if (n === 127) { n = Number(bytes.readBigUInt64BE(at + 2)); start = at + 10; }
    if (start + n > bytes.length) break;
    out.push({ opcode: bytes[at]! & 0x0f, payload: bytes.subarray(start, start + n) });
    at = start + n;
  }
  return out;
}

test('an agent that sent a Close is written no frame when a change follows, though its socket is still there', async () => {
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  pub.setTable(mesh(1));
  // allowHalfOpen: the controller's FIN after its Close does not end this side (a session ends
  // when its socket closes, which would hide what a closing session writes)
  const s = net.connect({ port: pub.port, host: '127.0.0.1', allowHalfOpen: true });
  let received = Buffer.alloc(0);
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), `within 5 s: ${what}`);
  };
  try {
    await once(s, 'connect');
    s.on('data', (d: Buffer) => { received = Buffer.concat([received, d]); });
    s.write(`GET ${WIRE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await until('the upgrade is answered', () => received.includes('\r\n\r\n'));
    assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
    const headEnd = received.indexOf('\r\n\r\n') + 4;
    const frames = (): { opcode: number; payload: Buffer }[] => serverFrames(received.subarray(headEnd));
    s.write(clientFrame(1, Buffer.from(JSON.stringify({
      type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, agent: { pod: 'p-0', namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' },
      targets: [{ kind: 'destination', address: '10.1.0.1', port: 80 }],
    }))));
    const slice = (): { version: string } | undefined => frames().map((f) => JSON.parse(f.payload.toString()) as { type: string; version: string }).find((m) => m.type === 'update');
    await until('the first slice arrives', () => slice() !== undefined);
    s.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'ack', version: slice()!.version }))));
    await until('the ack is counted', () => pub.agents().every((a) => a.ackedVersion === a.sentVersion));

    // The agent closes (code 1000); the controller answers with its own Close and waits for the
    // agent's side of the connection to end, which this agent never does.
    s.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    await until('the controller answers the Close', () => frames().some((f) => f.opcode === 8));
    const framesAtClose = frames().length;
    const writes = mock.method(net.Socket.prototype, 'write');
    try {
      pub.setTable(mesh(2));
    } finally {
      writes.mock.restore();
    }
    assert.equal(writes.mock.callCount(), 0, 'nothing written to the closing agent for the change');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(frames().length, framesAtClose, 'and no frame after the Close on the wire');
  } finally {
    s.destroy();
    await pub.close();
  }
});
