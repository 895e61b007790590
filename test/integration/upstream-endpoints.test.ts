// Endpoint-level behaviour: peak-EWMA + P2C steers traffic away from a slow endpoint, and the
// pools never reuse a connection the upstream announced it would close (Keep-Alive hints).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar } from '../../agent/sidecar.ts';
import { send } from '../support/http-client.ts';
import { backend, service, table } from '../support/routing-tables.ts';
import { startScriptedServer } from '../support/scripted-server.ts';

const quiet = (): void => undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function sidecarFor(ports: number[]): Promise<number> {
  const source = new ManualTableSource(table({
    backends: [backend('default', 'svc', 80, ports.map((port) => ({ port })))],
    services: [service({ name: 'svc', clusterIP: '10.96.0.70', port: 80 })],
  }));
  const proxy = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => ({ address: '10.96.0.70', port: 80 }), log: quiet,
  });
  cleanups.push(() => proxy.close());
  return proxy.ports.outbound!;
}

describe('endpoint selection', () => {
  test('a slow endpoint receives little traffic', async () => {
    const slow = await startScriptedServer(() => ({ delayMs: 40 }));
    const fast = await startScriptedServer(() => ({}));
    cleanups.push(() => slow.close(), () => fast.close());
    const port = await sidecarFor([slow.port, fast.port]);
    for (let i = 0; i < 60; i++) assert.equal((await send({ port })).status, 200);
    assert.equal(slow.count + fast.count, 60);
    assert.ok(fast.count >= 50, `fast endpoint served ${fast.count} of 60`);
  });

  test('an endpoint that refuses connections is avoided after failing', async () => {
    const alive = await startScriptedServer(() => ({}));
    cleanups.push(() => alive.close());
    const port = await sidecarFor([1, alive.port]);
    let failures = 0;
    for (let i = 0; i < 40; i++) if ((await send({ port })).status !== 200) failures++;
    assert.ok(failures <= 3, `${failures} of 40 requests went to the dead endpoint`);
    assert.equal(alive.count, 40 - failures);
  });
});

describe('keep-alive hygiene', () => {
  test('connections the upstream is about to close are not reused', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end('ok'));
    // Node announces `Keep-Alive: timeout=1` and closes idle sockets after 1.2 s; a pool that
    // ignored the hint would reuse them right when the server closes them.
    server.keepAliveTimeout = 1_200;
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    const port = await sidecarFor([(server.address() as net.AddressInfo).port]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1_190));
      assert.equal((await send({ port, agent })).status, 200);
    }
    agent.destroy();
    assert.equal(connections, 3);
  });
});
