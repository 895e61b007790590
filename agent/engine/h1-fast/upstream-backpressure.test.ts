// Back-pressure on the fast path's upstream side, over real sockets on 127.0.0.1: a sink that
// has not written what one read produced (onReadDone false) gets nothing more until it resumes
// the lease, so the pool holds at most one read of a large response however fast the upstream
// sends (both for a Content-Length body relayed past the parser and for a chunked one); an
// upstream that stops reading makes `write` report false within a bounded amount, and the
// drain follows when it reads again; pieces written before the connection is ready wait for it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { UpstreamPools } from '../pools.ts';
import { writeRequestHead } from './head-writer.ts';
import type { Framing } from './request-head.ts';
import { FastPool } from './upstream-pool.ts';
import { rawUpstream, RecordingSink, settled, until } from './upstream-test-support.ts';
import type { FastRequest } from './upstream-types.ts';

const open: { close(): unknown }[] = [];
after(async () => {
  for (const o of open) await o.close();
});

const READ_MAX = 64 * 1024;
const TOTAL = 8 * 1024 * 1024;

function request(method: string, framing: Framing = { kind: 'none' }): FastRequest {
  return { method, framing, head: writeRequestHead({ method, target: '/', host: 'svc', framing, fields: [] }) };
}

function newPool(): FastPool {
  const pools = new UpstreamPools();
  open.push({ close: () => pools.close() });
  return new FastPool(pools);
}

for (const framing of ['content-length', 'chunked'] as const) {
  test(`a held read stops the upstream side (${framing} body of 8 MB): one read at a time, all of it in the end`, async () => {
    const piece = Buffer.alloc(256 * 1024, 0x62);
    let upstream: net.Socket | null = null;
    const up = await rawUpstream((r) => {
      upstream = r.socket;
      r.socket.write(`HTTP/1.1 200 OK\r\n${framing === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${TOTAL}`}\r\n\r\n`);
      // as fast as the socket takes it
      let sent = 0;
      const pump = (): void => {
        while (sent < TOTAL) {
          sent += piece.length;
          const data = framing === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
          if (!r.socket.write(sent >= TOTAL && framing === 'chunked' ? Buffer.concat([data, Buffer.from('0\r\n\r\n')]) : data)) {
            r.socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    open.push(up);
    const sink = new RecordingSink();
    sink.release = false;
    const lease = newPool().send({ address: '127.0.0.1', port: up.port }, request('GET'), sink);
    sink.lease = lease;
    lease.end();
    await until(() => sink.reads === 1, 2_000, 'first read');
    await new Promise((r) => setTimeout(r, 150));
    // nothing more was read while held: the rest waits in the kernel and in the upstream's socket
    assert.equal(sink.reads, 1);
    assert.ok(sink.bodyBytes <= READ_MAX, `${sink.bodyBytes} bytes delivered by one read`);
    assert.ok(upstream !== null && (upstream as net.Socket).writableLength > 0, 'the upstream is held back');
    // release one read at a time: never more than one read's bytes between two resumes
    let before = sink.bodyBytes;
    const deadline = Date.now() + 10_000;
    while (sink.trailers === null) {
      assert.ok(Date.now() < deadline, `not complete within 10 s: ${sink.bodyBytes} bytes`);
      const reads = sink.reads;
      lease.resume();
      await until(() => sink.reads > reads || sink.trailers !== null, 2_000, 'next read');
      assert.ok(sink.bodyBytes - before <= READ_MAX, `${sink.bodyBytes - before} bytes in one read`);
      before = sink.bodyBytes;
    }
    lease.resume();
    assert.equal(sink.bodyBytes, TOTAL);
    assert.deepEqual(sink.events, ['head 200', 'end']);
  });
}

test('an upstream that stops reading: write reports false within a bounded amount, the drain follows when it reads', async () => {
  let upstream: net.Socket | null = null;
  const server = net.createServer((s) => {
    upstream = s;
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => server.close() });
  const sink = new RecordingSink();
  const size = 256 * 1024 * 1024;
  const lease = newPool().send({ address: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, request('PUT', { kind: 'length', length: size }), sink);
  // before the connection is ready, a piece is held by reference: false, then a drain
  assert.equal(lease.write(Buffer.alloc(1024, 0x61)), false);
  await until(() => sink.drains === 1, 2_000, 'drain after connect');
  const piece = Buffer.alloc(READ_MAX, 0x61);
  let written = 1024;
  let full = false;
  for (let i = 0; i < 4096 && !full; i++) {
    full = !lease.write(piece);
    written += piece.length;
  }
  assert.ok(full, 'write never reported back-pressure');
  assert.ok(written < 64 * 1024 * 1024, `${written} bytes accepted before back-pressure`);
  const drains = sink.drains;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sink.drains, drains, 'no drain while the upstream does not read');
  (upstream as net.Socket | null)?.resume();
  await until(() => sink.drains > drains, 3_000, 'drain once the upstream reads');
  lease.destroy();
  await settled(sink, 200).catch(() => undefined);
  assert.equal(sink.error, null, 'destroy reports nothing to the sink');
});
