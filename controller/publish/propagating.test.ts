import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, parseMessage, type ControllerMessage } from '../../api/wire.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { Publisher } from './publisher.ts';

const mesh = (weight: number) => table({
  services: [service({ name: 'reviews', clusterIP: '10.0.0.1', port: 80, rules: [rule({ route: 'r', backends: [{ backend: backendName('default', 'reviews', 80), weight }] })] })],
  backends: [backend('default', 'reviews', 80, [{ port: 1 }])],
});

/** Bounded wait (2 s) for a condition checked every 10 ms. */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
}

test('propagating: true from a publication until every agent sent it acknowledged (what the idle heap reclaim waits for)', async () => {
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  const ws = new WebSocket(`ws://127.0.0.1:${pub.port}${WIRE_PATH}`);
  const tables: { version: string }[] = [];
  ws.on('message', (d: Buffer) => {
    const m = parseMessage(d, 'controller') as ControllerMessage;
    if (m.type === 'update' || m.type === 'patch') tables.push(m);
  });
  try {
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    assert.equal(pub.propagating, false, 'nothing published');
    pub.setTable(mesh(1));
    ws.send(JSON.stringify({
      type: 'hello', protocol: WIRE_PROTOCOL, auth: { type: 'none' }, agent: { pod: 'p', namespace: 'default', serviceAccount: 'sa', mode: 'sidecar' },
      targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }],
    }));
    await until('the first slice', () => tables.length === 1);
    ws.send(JSON.stringify({ type: 'ack', version: tables[0]!.version }));
    await until('acknowledged', () => pub.agents()[0]?.ackedVersion === tables[0]!.version);
    assert.equal(pub.propagating, false);
    pub.setTable(mesh(2));
    assert.equal(pub.propagating, true, 'a new table on its way to the agent');
    await until('the change', () => tables.length === 2);
    assert.equal(pub.propagating, true, 'received, not yet acknowledged');
    ws.send(JSON.stringify({ type: 'ack', version: tables[1]!.version }));
    await until('propagated', () => !pub.propagating);
  } finally {
    ws.terminate();
    await pub.close();
  }
});
