// writeWatched on real loopback sockets: a write that goes out at once reports so and asks Node
// for no completion tick; bytes that stay queued (a peer not reading) report it, and the
// callback runs once, after all of them were written; corked pieces go out in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
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
