import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildRequest } from './http1-conn.ts';
import { runOpenLoop } from './open-loop.ts';

describe('open-loop generator', () => {
  test('sends at the fixed rate and counts every request', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const res = await runOpenLoop({ host: '127.0.0.1', port, request: buildRequest('h', '/', 0), rate: 500, durationMs: 1000, warmupMs: 200, maxConnections: 8, spin: 'near-send' });
    server.close();
    assert.equal(res.requests, 500);
    assert.equal(res.ok, 500);
    assert.equal(res.errors, 0);
    assert.ok(res.achievedRps > 400 && res.achievedRps < 600, `achieved ${res.achievedRps}`);
    assert.ok(res.latencyUs.p50 >= 1 && res.latencyUs.p50 < 50_000);
  });

  test('a server stall counts against every request that should have been sent during it (no coordinated omission)', async () => {
    // One connection; the server holds one response for 300 ms. A closed-loop tool would see
    // one slow request; intended-time accounting must see the ~30 requests queued behind it.
    let n = 0;
    const server = createServer((_req, res) => {
      n++;
      if (n === 40) setTimeout(() => res.end('late'), 300);
      else res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const res = await runOpenLoop({ host: '127.0.0.1', port, request: buildRequest('h', '/', 0), rate: 100, durationMs: 1500, warmupMs: 0, maxConnections: 1, spin: 'near-send' });
    server.close();
    assert.equal(res.ok, 150);
    // ~30 of 150 requests (20%) were due during the stall: p90 must show it...
    assert.ok(res.latencyUs.p90 > 50_000, `p90 from intended time ${res.latencyUs.p90} µs`);
    // ...while the time from the actual write sees only the one stalled response.
    assert.ok(res.serviceUs.p90 < 50_000, `p90 from actual send ${res.serviceUs.p90} µs`);
    assert.ok(res.latencyUs.max >= 250_000 && res.latencyUs.max < 1_000_000, `max ${res.latencyUs.max}`);
  });

  test('errors are counted, not timed: a refused port gives errors and no latency', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const res = await runOpenLoop({ host: '127.0.0.1', port, request: buildRequest('h', '/', 0), rate: 50, durationMs: 200, warmupMs: 0, maxConnections: 2, drainMs: 500, spin: 'near-send' });
    assert.equal(res.ok, 0);
    assert.equal(res.errors, res.requests);
    assert.ok(Number.isNaN(res.latencyUs.p50));
  });
});
