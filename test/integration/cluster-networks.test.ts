// Fail closed only where a mesh Service can be (Linkerd's clusterNetworks). While the controller
// is away, a destination the sidecar never asked about is refused inside the cluster networks
// (it may be a meshed Service: on-demand-fail-closed.test.ts), but one outside them (an API on
// the internet, a database outside the cluster) is never asked about and goes straight through,
// at once. Here the cluster networks are 127.0.0.1/32: 127.0.0.1 stands in for the cluster,
// 127.0.0.2 (also loopback, so no network namespace is needed) for the outside world.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { ControllerClient } from '../../agent/controller-client/index.ts';
import { parseClusterNetworks } from '../../agent/outbound/index.ts';
import type { RunningProxy } from '../../agent/sidecar.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { send } from '../support/http-client.ts';
import { backend, table, service } from '../support/routing-tables.ts';
import { eventually, onDemandSidecar, startPublisher } from './distribution-world.ts';

const routingTable = table({ services: [service({ name: 'other', clusterIP: '10.96.0.99', port: 80 })], backends: [backend('default', 'other', 80, [{ port: 1 }])] });

async function listen<T extends net.Server>(server: T, host: string): Promise<{ server: T; port: number }> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

let pub: Publisher;
let client: ControllerClient;
let proxy: RunningProxy;
let dest = { address: '127.0.0.1', port: 1 };
const asked: string[] = [];
const logs: string[] = [];
const closers: (() => Promise<void>)[] = [];

before(async () => {
  pub = await startPublisher();
  pub.setTable(routingTable);
  ({ client, proxy } = await onDemandSidecar(pub.port, {
    destination: () => dest, log: (l) => void logs.push(l),
    ask: (address, port, answer) => {
      asked.push(`${address}:${port}`);
      return answer();
    },
    clusterNetworks: parseClusterNetworks('127.0.0.1/32', 'test'),
  }));
  // The controller goes away (a restart, scaled to 0) before any destination was asked about.
  await pub.close();
  await eventually('the agent noticed the controller is gone', () => !client.connected, 5_000);
});

after(async () => {
  await proxy.close();
  client.close();
  for (const c of closers) await c();
});

test('with the controller away, HTTP outside the cluster networks passes straight through; inside, it is still refused', async () => {
  let outsideHits = 0;
  let insideHits = 0;
  const outside = await listen(http.createServer((_req, res) => {
    outsideHits++;
    res.end('external api');
  }), '127.0.0.2');
  const inside = await listen(http.createServer((_req, res) => {
    insideHits++;
    res.end('in-cluster');
  }), '127.0.0.1');
  for (const s of [outside.server, inside.server]) closers.push(() => new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  }));
  const get = () => send({ port: proxy.ports.outbound!, path: '/', authority: `${dest.address}:${dest.port}`, timeoutMs: 5_000 });

  dest = { address: '127.0.0.2', port: outside.port };
  for (let i = 0; i < 2; i++) {
    const r = await get();
    assert.equal(r.status, 200, `outside the cluster networks: passed through (${r.status} ${r.text})`);
    assert.equal(r.text, 'external api');
  }
  assert.equal(outsideHits, 2);
  assert.deepEqual(asked, [], 'a destination outside the cluster networks is never asked about');
  assert.equal(client.stats.onDemandTimeouts, 0, 'nothing waited for the controller');

  dest = { address: '127.0.0.1', port: inside.port };
  const refused = await get();
  assert.equal(refused.status, 503, `inside the cluster networks: refused, not passed through in plaintext (${refused.status} ${refused.text})`);
  assert.match(String(refused.headers['meshlet-reason']), /no answer from the mesh controller/);
  assert.equal(insideHits, 0);
  assert.deepEqual(asked, [`127.0.0.1:${inside.port}`]);
});

test('/config_dump shows the cluster networks in force', async () => {
  const dump = await send({ port: proxy.ports.admin!, path: '/config_dump', timeoutMs: 5_000 });
  assert.equal(dump.status, 200);
  assert.deepEqual((JSON.parse(dump.text) as { clusterNetworks: unknown }).clusterNetworks, ['127.0.0.1/32']);
});

test('with the controller away, opaque TCP outside the cluster networks is spliced through; inside, it is closed unanswered', async () => {
  const echo = (): net.Server => net.createServer((s) => s.pipe(s));
  const outside = await listen(echo(), '127.0.0.2');
  let insideConnections = 0;
  const inside = await listen(net.createServer((s) => {
    insideConnections++;
    s.end();
  }), '127.0.0.1');
  for (const s of [outside.server, inside.server]) closers.push(() => new Promise<void>((r) => s.close(() => r())));

  /** Writes a client-first binary line; resolves what came back before the proxy closed (or 5 s). */
  const exchange = (): Promise<{ data: string; closed: boolean }> => new Promise((resolve) => {
    const sock = net.connect(proxy.ports.outbound!, '127.0.0.1');
    let data = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data, closed });
    };
    const timer = setTimeout(() => done(false), 5_000);
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (data.endsWith('\n')) done(false);
    });
    sock.on('close', () => done(true));
    sock.on('error', () => undefined);
    sock.write('\x00\x01binary protocol, client speaks first\n');
  });

  dest = { address: '127.0.0.2', port: outside.port };
  const through = await exchange();
  assert.equal(through.data, '\x00\x01binary protocol, client speaks first\n', 'echoed by the external server');
  assert.ok(!asked.includes(`127.0.0.2:${outside.port}`));

  dest = { address: '127.0.0.1', port: inside.port };
  const refused = await exchange();
  assert.deepEqual(refused, { data: '', closed: true });
  assert.equal(insideConnections, 0, 'the proxy never connected to the in-cluster destination nobody answered for');
  assert.ok(logs.some((l) => l.includes(`127.0.0.1:${inside.port} closed: no routing answer`)), 'the refusal is logged');
});
