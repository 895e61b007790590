// Timeouts, retries (GEP-1731) with their budget, and mirrors, through a real sidecar.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import type { RetryIR, RouteRuleIR, TimeoutsIR } from '../../api/routing-table.ts';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';
import { startScriptedServer, type ScriptedAnswer, type ScriptedServer } from '../support/scripted-server.ts';

const quiet = (): void => undefined;
const B = backendName('default', 'b', 80);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Setup {
  proxy: RunningProxy;
  server: ScriptedServer;
}

async function setup(script: (n: number) => ScriptedAnswer, opts: { timeouts?: TimeoutsIR; retry?: RetryIR; extraEndpoints?: number[]; budget?: { ratio: number; minPerSecond: number } } = {}): Promise<Setup> {
  const server = await startScriptedServer(script);
  cleanups.push(() => server.close());
  const rules: RouteRuleIR[] = [rule({ backends: [{ backend: B }], timeouts: opts.timeouts ?? null, retry: opts.retry ?? null })];
  const source = new ManualTableSource(table({
    backends: [backend('default', 'b', 80, [{ port: server.port }, ...(opts.extraEndpoints ?? []).map((port) => ({ port }))])],
    services: [service({ name: 'b', clusterIP: '10.96.0.11', port: 80, rules })],
  }));
  const proxy = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => ({ address: '10.96.0.11', port: 80 }), log: quiet,
    ...(opts.budget ? { retryBudget: opts.budget } : {}),
  });
  cleanups.push(() => proxy.close());
  return { proxy, server };
}

describe('timeouts (GEP-1742)', () => {
  test('backendRequest timeout answers 504', async () => {
    // The backend would answer after 10 s: a 504 well before then can only be the timeout.
    const { proxy } = await setup(() => ({ delayMs: 10_000 }), { timeouts: { requestMs: null, backendRequestMs: 100 } });
    const t0 = Date.now();
    const r = await send({ port: proxy.ports.outbound! });
    assert.equal(r.status, 504);
    const took = Date.now() - t0;
    assert.ok(took >= 90 && took < 5_000, `took ${took} ms`);
  });

  test('request timeout answers 504 and bounds all retries', async () => {
    const { proxy, server } = await setup(() => ({ status: 503, delayMs: 60 }), {
      timeouts: { requestMs: 200, backendRequestMs: null },
      retry: { codes: [503], attempts: 50, backoffMs: 1 },
    });
    const t0 = Date.now();
    const r = await send({ port: proxy.ports.outbound! });
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    // Timers never fire early (lower bound); without the request timeout the 50 retries of
    // 60 ms each would run for 3 s or more, so the upper bound is far from both outcomes.
    assert.ok(took >= 190 && took < 2_500, `took ${took} ms`);
    assert.ok(server.count >= 2 && server.count < 40, `attempts: ${server.count}`);
  });

  test('a fast answer within the timeouts is relayed', async () => {
    const { proxy } = await setup(() => ({ status: 200 }), { timeouts: { requestMs: 1_000, backendRequestMs: 500 } });
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
  });
});

describe('retries (GEP-1731)', () => {
  test('listed codes are retried and the replayed body is intact', async () => {
    const { proxy, server } = await setup((n) => ({ status: n < 2 ? 503 : 200 }), { retry: { codes: [503], attempts: 2, backoffMs: 1 } });
    const r = await send({ port: proxy.ports.outbound!, method: 'POST', body: 'hello body' });
    assert.equal(r.status, 200);
    assert.equal(server.count, 3);
    assert.deepEqual(server.bodies, ['hello body', 'hello body', 'hello body']);
  });

  test('codes not listed are not retried', async () => {
    const { proxy, server } = await setup(() => ({ status: 500 }), { retry: { codes: [503], attempts: 3, backoffMs: 1 } });
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 500);
    assert.equal(server.count, 1);
  });

  test('the last attempt\'s answer is relayed when retries run out', async () => {
    const { proxy, server } = await setup(() => ({ status: 503 }), { retry: { codes: [503], attempts: 2, backoffMs: 1 } });
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 503);
    assert.equal(server.count, 3);
  });

  test('backend timeouts are retried', async () => {
    const { proxy, server } = await setup((n) => ({ delayMs: n === 0 ? 1_000 : 0 }), {
      timeouts: { requestMs: null, backendRequestMs: 150 }, retry: { codes: [], attempts: 1, backoffMs: 1 },
    });
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
    assert.equal(server.count, 2);
  });

  test('connection failures are retried on another endpoint', async () => {
    const { proxy } = await setup(() => ({}), { retry: { codes: [], attempts: 1, backoffMs: 1 }, extraEndpoints: [1] });
    for (let i = 0; i < 20; i++) assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
  });

  test('a reset connection without retries is 503', async () => {
    const { proxy } = await setup(() => ({ reset: true }));
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 503);
  });

  test('bodies over the buffer bound are streamed once and not retried', async () => {
    const { proxy, server } = await setup(() => ({ status: 503 }), { retry: { codes: [503], attempts: 3, backoffMs: 1 } });
    const big = 'x'.repeat(200 * 1024);
    assert.equal((await send({ port: proxy.ports.outbound!, method: 'POST', body: big })).status, 503);
    assert.equal(server.count, 1);
    assert.equal(server.bodies[0]!.length, big.length);
  });

  test('the retry budget caps retries at its ratio of requests', async () => {
    const { proxy, server } = await setup(() => ({ status: 503 }), {
      retry: { codes: [503], attempts: 3, backoffMs: 1 }, budget: { ratio: 0.2, minPerSecond: 0 },
    });
    for (let i = 0; i < 50; i++) assert.equal((await send({ port: proxy.ports.outbound! })).status, 503);
    const retries = server.count - 50;
    // Without a budget this would be 150 retries.
    assert.ok(retries >= 8 && retries <= 10, `retries: ${retries}`);
  });
});

describe('mirrors', () => {
  let closeMirror: (() => Promise<void>) | null = null;
  after(async () => {
    await closeMirror?.();
  });

  test('a RequestMirror copy reaches the mirror backend; the client sees only the primary', async () => {
    const primary = await startEchoServer({ pod: 'primary', namespace: 'default' });
    const mirror = await startEchoServer({ pod: 'mirror', namespace: 'default' });
    closeMirror = async () => {
      await primary.close();
      await mirror.close();
    };
    const P = backendName('default', 'primary', 80);
    const M = backendName('default', 'mirror', 80);
    const source = new ManualTableSource(table({
      backends: [backend('default', 'primary', 80, [{ port: primary.port }]), backend('default', 'mirror', 80, [{ port: mirror.port }])],
      services: [service({ name: 'primary', clusterIP: '10.96.0.20', port: 80, rules: [
        rule({ backends: [{ backend: P }], filters: [{ type: 'RequestMirror', backend: M, percent: 100 }] }),
      ] })],
    }));
    const proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      originalDestination: () => ({ address: '10.96.0.20', port: 80 }), log: quiet,
    });
    cleanups.push(() => proxy.close());
    const r = await send({ port: proxy.ports.outbound!, method: 'POST', path: '/m', body: 'payload' });
    assert.equal(r.echo?.pod, 'primary');
    for (let i = 0; i < 100 && mirror.requests.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(mirror.requests.length, 1);
    assert.equal(mirror.requests[0]!.path, '/m');
    assert.equal(mirror.requests[0]!.bodyBytes, 7);
  });
});
