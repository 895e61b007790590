// The proxy's own 5xx answers carry a generic reason; the detail (upstream address, object
// names) goes to the agent's log only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { rawExchange, sidecarFor } from './hardening-helpers.ts';

describe('error response hardening', () => {
  let proxy: RunningProxy;
  let dead: number;
  const logged: string[] = [];
  before(async () => {
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
    dead = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    proxy = await sidecarFor(dead, undefined, (m) => logged.push(m));
  });
  after(async () => {
    await proxy.close();
  });

  test('a connect failure answers 503 without the upstream address; the log has it', async () => {
    const r = await rawExchange(proxy.ports.outbound!, 'GET / HTTP/1.1\r\nHost: svc.default\r\nConnection: close\r\n\r\n', 3_000);
    assert.match(r.text, /^HTTP\/1.1 503/);
    assert.match(r.text, /meshlet-reason: upstream connect error or disconnect\/reset before headers\r\n/);
    assert.ok(!r.text.includes(String(dead)), `no port in ${JSON.stringify(r.text)}`);
    assert.ok(!r.text.includes('127.0.0.1'));
    assert.ok(logged.some((m) => m.includes(`127.0.0.1:${dead}`)), `logged: ${JSON.stringify(logged)}`);
  });

  test('a websocket handshake to a dead upstream gets the same generic answer', async () => {
    const r = await rawExchange(proxy.ports.outbound!, 'GET / HTTP/1.1\r\nHost: svc.default\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', 3_000);
    assert.match(r.text, /^HTTP\/1.1 503/);
    assert.ok(!r.text.includes(String(dead)));
  });
});
