// The response relay: every byte reaches the client in order, a slow client holds the upstream
// back instead of the proxy buffering the body, the destination stays open for trailers, and an
// observed request's response bytes are counted by the relay itself (no second listener).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { relayBody } from './relay.ts';

const CHUNK = 1024;

function source(chunks: number): Readable {
  let i = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      this.push(i < chunks ? Buffer.alloc(CHUNK, i % 256) : null);
      i++;
    },
  });
}

/** A client that takes each write `delayMs` to accept; records the bytes and its fullest buffer. */
function slowClient(delayMs: number, highWaterMark: number): { dst: Writable; got: Buffer[]; maxBuffered: () => number } {
  const got: Buffer[] = [];
  let max = 0;
  const dst = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      setTimeout(cb, delayMs);
    },
  });
  const write = dst.write.bind(dst);
  dst.write = ((chunk: Buffer, ...rest: never[]) => {
    const ok = write(chunk, ...rest);
    max = Math.max(max, dst.writableLength);
    return ok;
  }) as Writable['write'];
  return { dst, got, maxBuffered: () => max };
}

/** Ends the destination (as the handler does after the trailers) and waits for it to drain. */
async function flushed(dst: Writable): Promise<void> {
  dst.end();
  await once(dst, 'finish');
}

describe('relayBody', () => {
  test('copies every byte in order, counts them, and leaves the destination open', async () => {
    const { dst, got } = slowClient(0, 16 * CHUNK);
    const counter = { responseBytes: 0 };
    await relayBody(source(50), dst, counter);
    assert.equal(counter.responseBytes, 50 * CHUNK);
    assert.equal(dst.writableEnded, false, 'trailers may still follow');
    await flushed(dst);
    const all = Buffer.concat(got);
    assert.equal(all.length, 50 * CHUNK);
    for (let i = 0; i < 50; i++) assert.equal(all[i * CHUNK], i % 256);
  });

  test('an observed relay adds no listener beyond its own to the body', async () => {
    const src = source(4);
    const { dst } = slowClient(0, 16 * CHUNK);
    const done = relayBody(src, dst, { responseBytes: 0 });
    assert.equal(src.listenerCount('data'), 1);
    await done;
    assert.equal(src.listenerCount('data'), 0, 'the relay removes its listener when done');
  });

  test('a slow client pauses the upstream: the proxy never buffers more than the client\'s high-water mark and a chunk', async () => {
    const { dst, got, maxBuffered } = slowClient(1, 4 * CHUNK);
    await relayBody(source(100), dst, null);
    await flushed(dst);
    assert.equal(Buffer.concat(got).length, 100 * CHUNK);
    assert.ok(maxBuffered() <= 5 * CHUNK, `buffered up to ${maxBuffered()} bytes`);
  });

  test('an upstream error rejects the relay with it', async () => {
    const src = source(1000);
    const { dst } = slowClient(0, 16 * CHUNK);
    const done = relayBody(src, dst, null);
    setImmediate(() => src.destroy(new Error('upstream reset')));
    await assert.rejects(done, /upstream reset/);
  });

  test('a client that closes before the end rejects the relay', async () => {
    const { dst } = slowClient(1, 4 * CHUNK);
    const done = relayBody(source(1000), dst, null);
    setTimeout(() => dst.destroy(), 5);
    await assert.rejects(done, /client closed before the end of the body/);
  });
});
