import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import { ROUTING_TABLE_API_VERSION } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage } from '../../api/wire.ts';
import { ControllerClient, controllerUrl } from './controller-client.ts';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('controllerUrl adds the stream path only when the URL has none', () => {
  assert.equal(controllerUrl('ws://meshlet-controller:15012'), `ws://meshlet-controller:15012${WIRE_PATH}`);
  assert.equal(controllerUrl('wss://c.example/custom'), 'wss://c.example/custom');
});

test('with the controller away, the first ask for a destination waits at most the bound, later asks not at all', async () => {
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${await closedPort()}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 150, backoff: { initialMs: 20, maxMs: 50 }, log: (l) => void logs.push(l),
  }).start();
  try {
    const t0 = Date.now();
    await Promise.all([client.ensureDestination('::ffff:10.0.0.1', 80), client.ensureDestination('10.0.0.1', 80)]);
    const waited = Date.now() - t0;
    assert.ok(waited >= 140 && waited < 1_000, `waited ${waited} ms`);
    assert.equal(client.stats.onDemandTimeouts, 1, 'both callers shared one pending ask');
    const t1 = Date.now();
    await client.ensureDestination('10.0.0.1', 80);
    assert.ok(Date.now() - t1 < 50);
    assert.deepEqual(client.subscriptions, ['destination|10.0.0.1|80'], 'kept for the next hello');
    assert.equal(client.connected, false);
    assert.equal(client.current, null);
    await assert.rejects(client.ready(100), /no routing table/);
  } finally {
    client.close();
  }
});

test('close() releases waiting asks at once', async () => {
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${await closedPort()}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    onDemandTimeoutMs: 5_000, log: () => undefined,
  }).start();
  const t0 = Date.now();
  const pending = client.ensureDestination('10.0.0.2', 80);
  client.close();
  await pending;
  assert.ok(Date.now() - t0 < 1_000);
});

test('a controller that goes silent is replaced by a new connection; the table stays', async () => {
  const table = withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [], backends: [], secrets: [] });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let connections = 0;
  // Says welcome and sends a table, then never speaks again (no pings either).
  wss.on('connection', (ws) => {
    connections++;
    ws.send(encodeMessage({ type: 'welcome', protocol: WIRE_PROTOCOL, controller: 'mute' }));
    ws.send(encodeMessage({ type: 'update', version: table.version, table }));
  });
  const logs: string[] = [];
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
    agent: { pod: 'p', namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
    silenceMs: 150, backoff: { initialMs: 10, maxMs: 20 }, log: (l) => void logs.push(l),
  }).start();
  try {
    await client.ready(2_000);
    const deadline = Date.now() + 3_000;
    while (connections < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(connections >= 2, `connections: ${connections}`);
    assert.ok(logs.some((l) => l.includes('no word from the controller')), logs.join('\n'));
    assert.equal(client.current?.version, table.version);
  } finally {
    client.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});
