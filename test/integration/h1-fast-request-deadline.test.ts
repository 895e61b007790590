// The default request timeout on the fast path (ADR 0006: 504 when no response head came in
// time) is a deadline on the connection's one timer, not a Timeout per request (issue 16, ADR
// 0017): on a kept-alive connection it still fires for each request that needs it, re-armed per
// request, and a timer left from an earlier request never cuts a later one short.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { ProxyCore } from '../../agent/engine/core.ts';
import type { ProxyListener } from '../../agent/listener/proxy-listener.ts';
import { closeFastPathListener, connectLoopback as connect, fastPathListener, type FastCtx } from '../support/fast-path-listener.ts';
import { exchangeRaw } from '../support/raw-answer.ts';

const quiet = (): void => undefined;
// wide margins: the slow answers below come 300 ms inside the timeout on a loaded machine
const TIMEOUT_MS = 1_000;


/** One request on `s`; its answer's status and how long it took. */
async function timed(s: net.Socket, req: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const text = await exchangeRaw(s, req, { ms: 5_000, onClose: 'reject' });
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), ms: performance.now() - t0 };
}

describe('the default request timeout on a kept-alive fast-path connection', () => {
  let app: http.Server;
  let listener: ProxyListener<FastCtx>;

  before(async () => {
    // /ok answers at once, /slow/<ms> after <ms>, /hang never (its socket is held)
    app = http.createServer((req, res) => {
      req.resume();
      const slow = /^\/slow\/(\d+)$/.exec(req.url ?? '');
      if (req.url?.startsWith('/hang')) return;
      setTimeout(() => res.writeHead(200, { 'content-length': '2' }).end('ok'), slow ? Number(slow[1]) : 0);
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    const core = new ProxyCore({ log: quiet, defaultRequestTimeoutMs: TIMEOUT_MS });
    listener = await fastPathListener(core, () => appPort);
  });
  after(async () => {
    await closeFastPathListener(listener);
    app.closeAllConnections();
    app.close();
  });

  test('after quick requests, a request with no answer gets 504 at the timeout; the connection goes on, and the next one times out too', async () => {
    const s = await connect(listener.port);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await timed(s, `GET /ok HTTP/1.1\r\nHost: a\r\n\r\n`)).status, 200);
      const first = await timed(s, 'GET /hang/1 HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal(first.status, 504);
      assert.ok(first.ms >= TIMEOUT_MS - 20 && first.ms < 3_000, `504 after ${first.ms} ms`);
      assert.equal((await timed(s, 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n')).status, 200, 'kept alive after the 504');
      const post = await timed(s, 'POST /hang/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
      assert.equal(post.status, 504);
      assert.ok(post.ms >= TIMEOUT_MS - 20 && post.ms < 3_000, `504 after ${post.ms} ms`);
    } finally { s.destroy(); }
  });

  test('a timer armed by an earlier request never shortens a later one: answers within the timeout of their own start all arrive', async () => {
    const s = await connect(listener.port);
    try {
      // each request starts 500 ms after the one before and takes 700 ms: the deadline of the
      // one before falls inside it, and must not count for it
      for (let i = 0; i < 3; i++) {
        assert.equal((await timed(s, 'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n')).status, 200);
        await new Promise((r) => setTimeout(r, 500));
        const slow = await timed(s, 'GET /slow/700 HTTP/1.1\r\nHost: a\r\n\r\n');
        assert.equal(slow.status, 200, `round ${i}: answered in ${slow.ms} ms`);
      }
    } finally { s.destroy(); }
  });

  test('bad bytes after a complete request do not switch its timeout off: the hung request still gets 504, then the connection closes', async () => {
    const s = await connect(listener.port);
    try {
      const t0 = performance.now();
      const text = await exchangeRaw(s, 'GET /hang/3 HTTP/1.1\r\nHost: a\r\n\r\n\x01\x02 junk', { ms: 5_000, onClose: 'resolve' });
      const ms = performance.now() - t0;
      assert.match(text, /^HTTP\/1\.1 504 /, `answered ${JSON.stringify(text.slice(0, 60))} after ${ms} ms`);
      assert.ok(ms >= TIMEOUT_MS - 20, `504 after ${ms} ms`);
      // then the bad bytes' 400 and the close
      if (!s.readableEnded) {
        const closed = once(s, 'end');
        s.resume();
        await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('not closed within 3 s')), 3_000).unref())]);
      }
    } finally { s.destroy(); }
  });
});
