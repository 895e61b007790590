// Accepted sockets re-wrapped to read into one reused buffer: bytes already read (detection's
// unshift) come back first and in order, later reads land in the same memory, writes and the
// peer's FIN still work, handOff() turns the socket back into an ordinary 'data' stream, and
// sockets the re-wrap cannot take (TLS, destroyed) are refused so the caller reads as usual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { adoptReadBuffer, readBufferAvailable, type ReadSink } from './read-buffer.ts';

async function pair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const srv = net.createServer({ allowHalfOpen: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = await accepted;
  return { client, server, close: () => { client.destroy(); server.destroy(); srv.close(); } };
}

test('reads go to one reused buffer, after the bytes the old socket had read', async () => {
  const { client, server, close } = await pair();
  try {
    // what detection does: read the first bytes, then put them back
    client.write('first ');
    const [first] = await once(server, 'data') as [Buffer];
    server.pause();
    server.unshift(first);
    const seen: string[] = [];
    const memory = new Set<ArrayBuffer>();
    let wanted = 3;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => { done = r; });
    const sink: ReadSink = { onRead(chunk) { seen.push(chunk.toString()); memory.add(chunk.buffer as ArrayBuffer); if (--wanted === 0) done(); return true; } };
    const adopted = adoptReadBuffer(server, sink, 1024);
    assert.ok(adopted, 'a plain accepted TCP socket can be re-wrapped');
    assert.equal(Buffer.concat(adopted.buffered).toString(), 'first ');
    for (const word of ['one', 'two', 'three']) {
      client.write(word);
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error('reads did not arrive')), 2000))]);
    assert.equal(seen.join(''), 'onetwothree');
    assert.equal(memory.size, 1, 'every read landed in the same buffer');
    // writing and the peer's FIN (half-open: the answer still goes out)
    const ended = once(adopted.socket, 'end');
    client.end();
    await ended;
    const reply = once(client, 'data') as Promise<[Buffer]>;
    adopted.socket.end('bye');
    assert.equal((await reply)[0].toString(), 'bye');
  } finally { close(); }
});

test('handOff: later reads arrive as ordinary data events, copied out of the buffer', async () => {
  const { client, server, close } = await pair();
  try {
    const adopted = adoptReadBuffer(server, { onRead: () => { throw new Error('not after hand-off'); } });
    assert.ok(adopted);
    adopted.handOff();
    const got: Buffer[] = [];
    adopted.socket.on('data', (b: Buffer) => got.push(b));
    client.write('a');
    await new Promise((r) => setTimeout(r, 20));
    client.write('b');
    client.end();
    await once(adopted.socket, 'end');
    // both reads are kept intact: the second did not overwrite the first (each was copied)
    assert.deepEqual(got.map((b) => b.toString()), ['a', 'b']);
  } finally { close(); }
});

test('refused (caller keeps ordinary reads): a TLS socket, a destroyed socket', async () => {
  const { client, server, close } = await pair();
  try {
    const wrapped = new tls.TLSSocket(server, { isServer: true });
    assert.equal(readBufferAvailable(wrapped), false);
    assert.equal(adoptReadBuffer(wrapped, { onRead: () => true }), null);
    wrapped.destroy();
    assert.equal(adoptReadBuffer(server, { onRead: () => true }), null);
  } finally { close(); client.destroy(); }
});
