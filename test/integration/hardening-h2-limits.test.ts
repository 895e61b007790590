// Resource bounds: an h2c session that never sends a request is closed after the head timeout,
// the listener advertises a concurrent-stream limit, and a blackholed upstream cannot queue
// requests without limit (beyond the per-endpoint queue bound the answer is an immediate 503).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { H2_MAX_CONCURRENT_STREAMS } from '../../agent/listener/proxy-listener.ts';
import * as T from '../support/routing-tables.ts';
import { quiet, rawExchange, rawUpstream } from './hardening-helpers.ts';

describe('listener and pool limits', () => {
  let blackhole: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    blackhole = await rawUpstream(() => undefined);
    const be = T.backend('default', 'svc', 80, [{ port: blackhole.port }]);
    const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: [T.rule({ backends: [{ backend: be.name }] })] });
    proxy = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, headersTimeoutMs: 500,
      pool: { connectionsPerEndpoint: 1, maxQueuedPerEndpoint: 2 },
      originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
    });
  });
  after(async () => {
    await proxy.close();
    blackhole.close();
  });

  test('an h2c session without a request is closed after the head timeout; streams are capped', async () => {
    const t0 = Date.now();
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    session.on('error', () => undefined);
    const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
    assert.equal(settings.maxConcurrentStreams, H2_MAX_CONCURRENT_STREAMS);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('session still open after 3 s')), 3_000);
      session.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    assert.ok(Date.now() - t0 >= 400, 'not before the timeout');
    session.destroy();
  });

  test('beyond the per-endpoint queue bound requests fail at once with 503', async () => {
    const req = 'GET / HTTP/1.1\r\nHost: svc.default\r\nConnection: close\r\n\r\n';
    // One running on the only connection, two queued: all three hang on the blackhole.
    const hanging = [rawExchange(proxy.ports.outbound!, req, 1_500), rawExchange(proxy.ports.outbound!, req, 1_500), rawExchange(proxy.ports.outbound!, req, 1_500)];
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const over = await rawExchange(proxy.ports.outbound!, req, 1_500);
    assert.match(over.text, /^HTTP\/1.1 503/);
    assert.ok(Date.now() - t0 < 1_000, 'answered at once');
    const rest = await Promise.all(hanging);
    assert.equal(rest.filter((r) => r.text === '').length, 3, 'the first three were still waiting');
  });
});
