import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildRequest } from './http1-conn.ts';
import { closeTarget, pingPongBlock, type PingPongConn } from './latency-ping-pong.ts';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; target: PingPongConn }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, target: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, conn: null } };
}
const REQ = buildRequest('h', '/', 4);

describe('closed-loop ping-pong block', () => {
  test('n requests, one at a time, on one connection; each timed', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const sockets = new Set<unknown>();
    const { server, target } = await serve((req, res) => {
      sockets.add(req.socket);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // a 3 ms server (Node's timers may fire up to ~1 ms early): every sample must include it
      setTimeout(() => { inFlight--; res.end('ok'); }, 3);
    });
    const a = await pingPongBlock(target, REQ, 30, 10_000);
    const b = await pingPongBlock(target, REQ, 20, 10_000);
    closeTarget(target);
    server.close();
    assert.equal(a.samples.length, 30);
    assert.equal(b.samples.length, 20);
    assert.equal(a.errors + b.errors, 0);
    assert.equal(maxInFlight, 1);
    assert.equal(sockets.size, 1, 'both blocks reuse the one keep-alive connection');
    assert.ok([...a.samples, ...b.samples].every((us) => us >= 1900 && us < 1_000_000), `${Math.min(...a.samples)} µs`);
  });

  test('non-2xx answers are errors, not samples', async () => {
    let n = 0;
    const { server, target } = await serve((_req, res) => { n++; res.statusCode = n % 2 === 0 ? 503 : 200; res.end('x'); });
    const out = await pingPongBlock(target, REQ, 10, 10_000);
    closeTarget(target);
    server.close();
    assert.equal(out.samples.length, 5);
    assert.equal(out.errors, 5);
  });

  test('a stalled server ends the block at the timeout; what was not answered counts as errors', async () => {
    let n = 0;
    const { server, target } = await serve((_req, res) => { n++; if (n < 3) res.end('ok'); });
    const t0 = Date.now();
    const out = await pingPongBlock(target, REQ, 10, 300);
    server.closeAllConnections();
    server.close();
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(out.samples.length, 2);
    assert.equal(out.errors, 8);
    assert.equal(target.conn?.alive(), false, 'the stalled connection is closed; the next block opens a new one');
  });

  test('stopAtMs ends a warm-up early without errors', async () => {
    const { server, target } = await serve((_req, res) => { setTimeout(() => res.end('ok'), 5); });
    const out = await pingPongBlock(target, REQ, 100_000, 10_000, Date.now() + 200);
    closeTarget(target);
    server.close();
    assert.equal(out.errors, 0);
    assert.ok(out.samples.length > 0 && out.samples.length < 100, `${out.samples.length} sent`);
    assert.equal(out.samples.length + out.unsent, 100_000);
  });
});
