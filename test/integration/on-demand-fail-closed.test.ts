// A sidecar never sends a destination outside the mesh on the strength of a missing answer.
// In controller mode the outbound side asks the controller about a destination the table does
// not know; only the controller's answer ("not a mesh Service") lets the connection pass through
// to the original destination. While the controller is away (restarting, scaled down) or slow,
// a new destination is refused (503 for HTTP, closed for TCP): it may be a meshed Service whose
// workloads expect mTLS, and plaintext to them is a fail-open (seen in the cluster journey right
// after the controllers restarted). Destinations answered before stay usable meanwhile.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { ControllerClient } from '../../agent/controller-client/index.ts';
import type { RunningProxy } from '../../agent/sidecar.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { send } from '../support/http-client.ts';
import { backend, table, service } from '../support/routing-tables.ts';
import { eventually, onDemandSidecar, startPublisher } from './distribution-world.ts';

const routingTable = table({ services: [service({ name: 'other', clusterIP: '10.96.0.99', port: 80 })], backends: [backend('default', 'other', 80, [{ port: 1 }])] });

/** A plain HTTP workload counting what reaches it. */
async function workload(): Promise<{ port: number; hits: number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end('plain');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get hits() {
      return hits;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let pub: Publisher;
let pubPort: number;
let client: ControllerClient;
let proxy: RunningProxy;
let dest = { address: '127.0.0.1', port: 1 };
const logs: string[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  pub = await startPublisher();
  pubPort = pub.port;
  pub.setTable(routingTable);
  ({ client, proxy } = await onDemandSidecar(pubPort, { destination: () => dest, log: (l) => void logs.push(l) }));
});

after(async () => {
  await proxy.close();
  client.close();
  await pub.close();
  for (const c of closers) await c();
});

const get = () => send({ port: proxy.ports.outbound!, path: '/', authority: `${dest.address}:${dest.port}`, timeoutMs: 5_000 });

test('a destination the controller answered for passes through; one it could not answer for is refused until it can', async () => {
  const known = await workload();
  const fresh = await workload();
  closers.push(() => known.close(), () => fresh.close());

  // Answered: not a mesh Service, so straight to where the app was connecting.
  dest = { address: '127.0.0.1', port: known.port };
  const first = await get();
  assert.equal(first.status, 200, first.text);
  assert.equal(known.hits, 1);

  // The controller goes away (a restart, scaled to 0).
  await pub.close();
  await eventually('the agent noticed the controller is gone', () => !client.connected, 5_000);

  dest = { address: '127.0.0.1', port: fresh.port };
  for (let i = 0; i < 2; i++) {
    const refused = await get();
    assert.equal(refused.status, 503, `refused, not passed through in plaintext: ${refused.status} ${refused.text}`);
    assert.match(String(refused.headers['meshlet-reason']), /no answer from the mesh controller/);
  }
  assert.equal(fresh.hits, 0, 'nothing reached the destination nobody answered for');

  // A destination answered earlier is still served from the table in force.
  dest = { address: '127.0.0.1', port: known.port };
  assert.equal((await get()).status, 200);
  assert.equal(known.hits, 2);

  // The controller is back: its answer lets the new destination through.
  pub = await startPublisher(pubPort);
  pub.setTable(routingTable);
  await eventually('the agent reconnected', () => client.connected, 10_000);
  dest = { address: '127.0.0.1', port: fresh.port };
  const later = await get();
  assert.equal(later.status, 200, later.text);
  assert.equal(fresh.hits, 1);
});

test('opaque TCP to a destination nobody answered for is closed without reaching it', async () => {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  await pub.close();
  await eventually('the agent noticed the controller is gone', () => !client.connected, 5_000);
  dest = { address: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
  const sock = net.connect(proxy.ports.outbound!, '127.0.0.1');
  sock.write('\x00\x01binary protocol, client speaks first\n');
  const closed = await new Promise<'closed' | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 10_000);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    sock.on('error', () => undefined);
    sock.resume();
  });
  sock.destroy();
  assert.equal(closed, 'closed');
  assert.equal(connections, 0, 'the proxy never connected to it');
  assert.ok(logs.some((l) => l.includes('no routing answer')), 'the refusal is logged');
});
