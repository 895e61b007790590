// writeWatched on real loopback sockets: a write that goes out at once reports so and asks Node
// for no completion tick; bytes that stay queued (a peer not reading) report it, and the
// callback runs once, after all of them were written; corked pieces go out in order. On TLS: a
// write that reached the TLS handle counts as written (OpenSSL holds a copy; the caller may reuse
// its buffer at once), a write behind one under way does not, and a slow TLS reader fed from one
// reused buffer that is overwritten whenever writeWatched allows still gets every byte intact.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { selfSignedCert } from '../../../test/support/self-signed-cert.ts';
import { writeWatched } from './watched-write.ts';

async function pair(): Promise<{ client: net.Socket; peer: net.Socket; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted as [net.Socket];
  return { client, peer, close: () => { client.destroy(); peer.destroy(); server.close(); } };
}

/** Names of the functions passed to process.nextTick while `fn` runs and one turn after. */
async function ticksDuring(fn: () => void): Promise<string[]> {
  const original: typeof process.nextTick = Reflect.get(process, 'nextTick');
  const names: string[] = [];
  process.nextTick = ((cb: (...a: unknown[]) => void, ...args: unknown[]) => {
    names.push(cb.name);
    Reflect.apply(original, process, [cb, ...args]);
  }) as typeof process.nextTick;
  try {
    fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.nextTick = original;
  }
  return names;
}

test('a write that goes out at once: true, no callback, no afterWriteTick', async () => {
  const { client, peer, close } = await pair();
  try {
    let called = 0;
    let result = false;
    const ticks = await ticksDuring(() => { result = writeWatched(client, () => called++, Buffer.from('head'), Buffer.from('body'), Buffer.from('\r\n')); });
    assert.equal(result, true);
    assert.ok(!ticks.includes('afterWriteTick'), `ticks: ${ticks.join(', ')}`);
    let got = '';
    peer.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    for (let i = 0; i < 100 && got.length < 10; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 'headbody\r\n');
    assert.equal(called, 0);
  } finally { close(); }
});

test('bytes that stay queued: false, and the callback once, when all of them are written', async () => {
  const { client, peer, close } = await pair();
  try {
    peer.pause();
    const big = Buffer.alloc(1 << 20, 'a');
    let queued = false;
    for (let i = 0; i < 16 && !queued; i++) queued = !writeWatched(client, () => undefined, big);
    assert.ok(queued, 'a peer that does not read leaves bytes queued');
    const seen: number[] = [];
    assert.equal(writeWatched(client, () => seen.push(client.writableLength), Buffer.from('tail')), false);
    let received = 0;
    peer.on('data', (d: Buffer) => { received += d.length; });
    peer.resume();
    for (let i = 0; i < 500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [0], 'called once, with nothing left queued');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.bytesWritten, received);
  } finally { close(); }
});

const cert = selfSignedCert(['localhost']);
const tlsServer = tls.createServer({ cert: cert.cert, key: cert.key });
after(() => tlsServer.close());

async function tlsPair(): Promise<{ client: tls.TLSSocket; peer: tls.TLSSocket; close: () => void }> {
  if (!tlsServer.listening) {
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
  }
  const accepted = once(tlsServer, 'secureConnection');
  const client = tls.connect({ port: (tlsServer.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca: cert.cert });
  await once(client, 'secureConnect');
  const [peer] = await accepted as [tls.TLSSocket];
  return { client, peer, close: () => { client.destroy(); peer.destroy(); } };
}

test('TLS: a write to an idle socket is handed to OpenSSL: true, and the buffer may be reused at once', async () => {
  const { client, peer, close } = await tlsPair();
  try {
    const buf = Buffer.from('first answer');
    let called = 0;
    assert.equal(writeWatched(client, () => called++, buf), true);
    assert.ok(client.writableLength > 0, 'Node still counts the write as queued (its completion is asynchronous)');
    buf.fill(0x78); // what a reused read buffer would do next
    let got = '';
    peer.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    for (let i = 0; i < 100 && got.length < 12; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 'first answer');
    assert.ok(called <= 1);
  } finally { close(); }
});

test('TLS: a write issued while another is under way waits by reference: false, callback once everything is written', async () => {
  const { client, peer, close } = await tlsPair();
  try {
    assert.equal(writeWatched(client, () => undefined, Buffer.from('one,')), true);
    const seen: number[] = [];
    assert.equal(writeWatched(client, () => seen.push(client.writableLength), Buffer.from('two,'), Buffer.from('three')), false);
    let got = '';
    peer.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    for (let i = 0; i < 200 && (seen.length === 0 || got.length < 13); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [0]);
    assert.equal(got, 'one,two,three');
  } finally { close(); }
});

test('TLS: a slow reader fed 8 MB from one reused buffer (overwritten whenever writeWatched allows) gets every byte intact', async () => {
  const { client, peer, close } = await tlsPair();
  try {
    const CHUNK = 64 * 1024;
    const CHUNKS = 128;
    const buf = Buffer.alloc(CHUNK);
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    // the reader takes a piece, then stops for a while: bytes pile up on the writer's side
    peer.on('data', (d: Buffer) => {
      received.update(d);
      receivedBytes += d.length;
      peer.pause();
      setTimeout(() => peer.resume(), 1);
    });
    let queuedWrites = 0;
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < CHUNKS; i++) {
      // a different pattern per chunk: a chunk sent after being overwritten would not hash the same
      for (let j = 0; j < CHUNK; j += 4) buf.writeUInt32LE((i * CHUNK + j) >>> 0, j);
      sent.update(buf);
      let written = false;
      const done = new Promise<void>((resolve) => {
        written = writeWatched(client, () => { if (client.writableLength === 0) resolve(); }, buf);
        if (written) resolve();
      });
      if (!written) queuedWrites++;
      await done; // the buffer is reused only once writeWatched says its bytes are no longer referenced
      assert.ok(Date.now() < deadline, 'writes stalled');
    }
    for (let i = 0; i < 3_000 && receivedBytes < CHUNK * CHUNKS; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(receivedBytes, CHUNK * CHUNKS);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    assert.ok(queuedWrites > 0, 'the slow reader made some writes wait (back-pressure still reported)');
  } finally { close(); }
});
