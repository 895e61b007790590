// Issue 15 item 3, the upstream queue: a backend that accepts and holds every connection must
// not keep the requests queued behind them waiting for good. A request that waits longer than
// the pool's queue bound for a connection is answered 503 (the reason in meshlet-reason), and
// is never sent upstream. A request timeout that fires while the request is queued answers 504
// then, not once a connection frees (undici holds an aborted request until one takes it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import * as T from '../support/routing-tables.ts';
import { quiet, rawExchange, rawUpstream } from './hardening-helpers.ts';

const WAIT_MS = 400;
const REQ = 'GET /held HTTP/1.1\r\nHost: svc.default\r\nConnection: close\r\n\r\n';

/** A sidecar in front of `port` with two upstream connections per endpoint. */
function sidecar(port: number, opts: { maxQueueWaitMs: number; defaultRequestTimeoutMs: number }, log: (m: string) => void = quiet): Promise<RunningProxy> {
  const be = T.backend('default', 'svc', 80, [{ port }]);
  // /timed has a 300 ms route timeout; everything else none (defaultRequestTimeoutMs aside).
  const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: [
    T.rule({ index: 0, path: { type: 'Exact', value: '/timed' }, timeouts: { requestMs: 300, backendRequestMs: null }, backends: [{ backend: be.name }] }),
    T.rule({ index: 1, backends: [{ backend: be.name }] }),
  ] });
  return startSidecar({
    namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
    ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log,
    defaultRequestTimeoutMs: opts.defaultRequestTimeoutMs,
    pool: { connectionsPerEndpoint: 2, maxQueuedPerEndpoint: 100, maxQueueWaitMs: opts.maxQueueWaitMs },
    originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
  });
}

/** Takes both upstream connections with requests the holder never answers. */
async function holdBoth(proxy: RunningProxy, holder: Awaited<ReturnType<typeof rawUpstream>>): Promise<Promise<{ text: string }>[]> {
  const before = holder.heads.length;
  const holding = [rawExchange(proxy.ports.outbound!, REQ, 2_500), rawExchange(proxy.ports.outbound!, REQ, 2_500)];
  const deadline = Date.now() + 3_000;
  while (holder.heads.length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(holder.heads.length, before + 2, 'both connections are held');
  return holding;
}

describe('a request waits for an upstream connection within a bound', () => {
  let holder: Awaited<ReturnType<typeof rawUpstream>>;
  before(async () => {
    // Reads each request and never answers: its connection stays taken.
    holder = await rawUpstream(() => undefined);
  });
  after(() => holder.close());

  test('with every connection held, a queued request gets 503 after the bound and never reaches the backend', async (t) => {
    const logs: string[] = [];
    // No default request timeout: the queue bound alone must answer.
    const proxy = await sidecar(holder.port, { maxQueueWaitMs: WAIT_MS, defaultRequestTimeoutMs: 0 }, (m) => logs.push(m));
    t.after(() => proxy.close());
    const holding = await holdBoth(proxy, holder);
    const t0 = Date.now();
    const queued = await Promise.all([1, 2, 3].map(() => rawExchange(proxy.ports.outbound!, REQ, 3_000)));
    const elapsed = Date.now() - t0;
    for (const r of queued) {
      assert.match(r.text, /^HTTP\/1.1 503 /, r.text || '(no answer)');
      assert.match(r.text, /\r\nmeshlet-reason: upstream connect error or disconnect\/reset before headers\r\n/i);
    }
    assert.ok(elapsed >= WAIT_MS - 50 && elapsed < WAIT_MS + 1_500, `answered after ${elapsed} ms`);
    assert.equal(holder.heads.length, 2, 'no queued request was sent upstream');
    assert.ok(logs.some((l) => /no connection to 127\.0\.0\.1:\d+ free within 400 ms/.test(l)), 'the log says why');
    const held = await Promise.all(holding);
    assert.deepEqual(held.map((r) => r.text), ['', ''], 'the held requests were still waiting for the backend');
  });

  test('without a queue bound, a route timeout still answers a queued request when it fires', async (t) => {
    const proxy = await sidecar(holder.port, { maxQueueWaitMs: 0, defaultRequestTimeoutMs: 0 });
    t.after(() => proxy.close());
    const holding = await holdBoth(proxy, holder);
    const t0 = Date.now();
    const r = await rawExchange(proxy.ports.outbound!, REQ.replace('/held', '/timed'), 3_000);
    const elapsed = Date.now() - t0;
    assert.match(r.text, /^HTTP\/1.1 504 /, r.text || '(no answer)');
    assert.ok(elapsed < 1_500, `answered after ${elapsed} ms`);
    await Promise.all(holding);
  });
});
