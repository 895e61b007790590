// Issue 15 item 7: a client whose first byte comes later than the 1 s detection window (a
// pre-opened pool socket, a slow client) was taken for opaque TCP: the ingress closed it, the
// sidecar spliced it past routing. On ports declared HTTP, detection now waits for it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { startIngress, type RunningIngress } from '../../ingress/index.ts';
import * as T from '../support/routing-tables.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { quiet, rawExchange } from './hardening-helpers.ts';

const LATE_MS = 1_500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens a connection, stays silent for `lateMs`, then sends one HTTP/1.1 request; the raw answer. */
async function lateRequest(port: number, lateMs: number, host: string): Promise<string> {
  return (await rawExchange(port, `GET /late HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, lateMs + 4_000, lateMs)).text;
}

describe('late first byte', () => {
  let echo: EchoServer;
  let ingress: RunningIngress;
  let sidecar: RunningProxy;
  before(async () => {
    echo = await startEchoServer({ pod: 'web-0', namespace: 'default' });
    const be = T.backend('default', 'web', 80, [{ port: echo.port }]);
    const routed = [{ type: 'RequestHeaderModifier' as const, modifier: { set: [{ name: 'x-routed', value: 'yes' }], add: [], remove: [] } }];
    ingress = await startIngress({
      source: new ManualTableSource(T.table({ backends: [be], gateways: [T.gateway({ name: 'public', port: 80, listeners: [
        { name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [T.rule({ backends: [{ backend: be.name }], filters: routed })] }] },
      ] })] })),
      host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet,
    });
    await ingress.settled();
    const svc = T.service({ name: 'web', clusterIP: '10.96.0.7', port: 80, rules: [T.rule({ backends: [{ backend: be.name }], filters: routed })] });
    sidecar = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet,
      originalDestination: () => ({ address: '10.96.0.7', port: 80 }),
    });
  });
  after(async () => {
    await ingress.close();
    await sidecar.close();
    await echo.close();
  });

  test('ingress: an HTTP/1.1 client that speaks after 1.5 s is served and routed', async () => {
    const answer = await lateRequest(ingress.listenerPorts().get(80)!, LATE_MS, 'www.example.com');
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /x-routed/i, 'the request went through the route (its filter ran)');
  });

  test('ingress: an h2c client whose preface comes after 1.5 s is served', async () => {
    // A relay opens the connection to the ingress at once and holds the client's bytes LATE_MS.
    const port = ingress.listenerPorts().get(80)!;
    const relay = net.createServer((c) => {
      const up = net.connect(port, '127.0.0.1');
      const held: Buffer[] = [];
      let open = false;
      c.on('data', (d: Buffer) => (open ? up.write(d) : held.push(d)));
      setTimeout(() => {
        open = true;
        for (const d of held) up.write(d);
      }, LATE_MS);
      up.on('data', (d: Buffer) => c.write(d));
      for (const s of [c, up]) s.on('error', () => undefined);
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const started = Date.now();
    try {
      const status = await new Promise<number | string>((resolve) => {
        const client = http2.connect(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`);
        client.on('error', (e: Error) => resolve(e.message));
        const cap = setTimeout(() => {
          client.destroy();
          resolve('no answer');
        }, LATE_MS + 4_000);
        const req = client.request({ ':path': '/late', ':authority': 'www.example.com' });
        req.on('response', (h) => {
          clearTimeout(cap);
          resolve(Number(h[':status']));
          client.close();
        });
        req.on('error', (e: Error) => resolve(e.message));
        req.end();
      });
      assert.equal(status, 200);
      assert.ok(Date.now() - started >= LATE_MS, 'the preface really was late');
    } finally {
      relay.close();
    }
  });

  test('sidecar: on a Service port with routes, a client that speaks after 1.5 s is routed, not spliced', async () => {
    const answer = await lateRequest(sidecar.ports.outbound!, LATE_MS, 'web.default');
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /x-routed/i, 'the request went through the route (its filter ran)');
  });

  test('an HTTP port still closes a client that never speaks (no socket held forever)', async () => {
    // With a 300 ms headers timeout the silent wait is bounded by it.
    const be = T.backend('default', 'web', 80, [{ port: echo.port }]);
    const short = await startIngress({
      source: new ManualTableSource(T.table({ backends: [be], gateways: [T.gateway({ name: 'g', port: 80, listeners: [
        { name: 'any', hostname: null, vhosts: [{ hostname: '*', rules: [T.rule({ backends: [{ backend: be.name }] })] }] },
      ] })] })),
      host: '127.0.0.1', bindPort: () => 0, adminPort: 0, log: quiet, detectTimeoutMs: 200, headersTimeoutMs: 300,
    });
    try {
      await short.settled();
      const s = net.connect(short.listenerPorts().get(80)!, '127.0.0.1');
      s.on('error', () => undefined);
      const closedAfter = await new Promise<number>((resolve) => {
        const t0 = Date.now();
        const cap = setTimeout(() => resolve(-1), 5_000);
        s.on('close', () => {
          clearTimeout(cap);
          resolve(Date.now() - t0);
        });
      });
      s.destroy();
      assert.ok(closedAfter >= 400 && closedAfter < 3_000, `closed after ${closedAfter} ms`);
      await sleep(0);
    } finally {
      await short.close();
    }
  });
});
