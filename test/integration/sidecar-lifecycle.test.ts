// The proxy's behaviour around its edges: routing-table swaps under load (zero failures,
// invalid tables refused), drain on SIGTERM, malformed and oversized requests, slow clients.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { onSigterm } from '../../agent/lifecycle/drain.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy, type SidecarOptions } from '../../agent/sidecar.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function echo(pod: string): Promise<EchoServer> {
  const e = await startEchoServer({ pod, namespace: 'default' });
  cleanups.push(() => e.close());
  return e;
}

function tableTo(target: 'a' | 'b', a: EchoServer, b: EchoServer): RoutingTable {
  return table({
    backends: [backend('default', 'a', 80, [{ port: a.port }]), backend('default', 'b', 80, [{ port: b.port }]), backend('default', 'svc', 80, [])],
    services: [service({ name: 'svc', clusterIP: '10.96.0.50', port: 80, rules: [rule({ backends: [{ backend: backendName('default', target, 80) }] })] })],
  });
}

async function sidecar(source: ManualTableSource, extra: Partial<SidecarOptions> = {}): Promise<RunningProxy> {
  const proxy = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
    originalDestination: () => ({ address: '10.96.0.50', port: 80 }), log: quiet, ...extra,
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

function raw(port: number, data: string, waitMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let out = '';
    c.on('data', (d) => {
      out += String(d);
    });
    const timer = setTimeout(() => {
      c.destroy();
      resolve(`${out}<still open>`);
    }, waitMs);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.on('error', () => undefined);
    c.write(data);
  });
}

describe('routing table swaps', () => {
  test('swapping tables under load fails no request', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const tables = [tableTo('a', a, b), tableTo('b', a, b)];
    const source = new ManualTableSource(tables[0]);
    const proxy = await sidecar(source);
    let swaps = 0;
    const swapper = setInterval(() => {
      source.push(tables[++swaps % 2]!);
    }, 10);
    const deadline = Date.now() + 1_500;
    const statuses = new Map<number, number>();
    const pods = new Set<string>();
    const loop = async (): Promise<void> => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
        const r = await send({ port: proxy.ports.outbound!, agent, method: i % 3 === 0 ? 'POST' : 'GET', body: i % 3 === 0 ? 'x'.repeat(1000) : undefined });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.echo) pods.add(r.echo.pod);
      }
      agent.destroy();
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    clearInterval(swapper);
    assert.deepEqual([...statuses.keys()], [200]);
    assert.ok(swaps > 20, `only ${swaps} swaps`);
    assert.deepEqual([...pods].sort(), ['a', 'b']);
  });

  test('pooled connections to endpoints that leave the table are closed', async () => {
    const open = new Set<net.Socket>();
    const server = http.createServer((_req, res) => res.end('ok'));
    server.on('connection', (s: net.Socket) => {
      open.add(s);
      s.once('close', () => open.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    const b = await echo('b');
    const withServer = table({
      backends: [backend('default', 'svc', 80, [{ port: (server.address() as net.AddressInfo).port }])],
      services: [service({ name: 'svc', clusterIP: '10.96.0.50', port: 80 })],
    });
    const source = new ManualTableSource(withServer);
    const proxy = await sidecar(source);
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
    assert.equal(open.size, 1, 'the pool keeps the connection alive');
    source.push(table({
      backends: [backend('default', 'svc', 80, [{ port: b.port }])],
      services: [service({ name: 'svc', clusterIP: '10.96.0.50', port: 80 })],
    }));
    for (let i = 0; i < 100 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(open.size, 0);
    assert.equal((await send({ port: proxy.ports.outbound! })).echo?.pod, 'b');
  });

  test('an invalid table is refused and the last good one stays in force', async () => {
    const a = await echo('a');
    const b = await echo('b');
    const good = tableTo('a', a, b);
    const source = new ManualTableSource(good);
    const proxy = await sidecar(source);
    source.push({ ...tableTo('b', a, b), version: 'tampered' });
    assert.equal(proxy.core.holder.rejected, 1);
    assert.equal((await send({ port: proxy.ports.outbound! })).echo?.pod, 'a');
    const dump = JSON.parse((await send({ port: proxy.ports.admin!, path: '/config_dump' })).text) as { version: string; lastRejection: string };
    assert.equal(dump.version, good.version);
    assert.match(dump.lastRejection, /version/);
    const metrics = await send({ port: proxy.ports.admin!, path: '/metrics' });
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^meshlet_proxy_tables_rejected_total\{mode="sidecar"\} 1$/m);
    assert.match(metrics.text, /^meshlet_proxy_table_applied_timestamp_seconds\{mode="sidecar"\} [1-9]\d*(\.\d+)?$/m);
    assert.match(metrics.text, /^process_resident_memory_bytes \d+$/m);
  });
});

describe('drain', () => {
  test('in-flight requests finish, new connections are refused, readiness drops', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const slow = send({ port: proxy.ports.outbound!, headers: { 'x-echo-delay-ms': '300' } });
    await new Promise((r) => setTimeout(r, 50));
    const drained = proxy.drain(3_000);
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(send({ port: proxy.ports.outbound! }));
    assert.equal((await send({ port: proxy.ports.admin!, path: '/ready' })).status, 503);
    assert.equal((await slow).status, 200);
    assert.equal(await drained, true);
  });

  test('HTTP/2 clients get GOAWAY and their in-flight streams finish', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    session.on('error', () => undefined);
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const response = new Promise<number>((resolve, reject) => {
      const s = session.request({ ':path': '/', 'x-echo-delay-ms': '300' });
      s.on('response', (h: http2.IncomingHttpHeaders) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
    });
    await new Promise((r) => setTimeout(r, 50));
    const drained = proxy.drain(3_000);
    await goaway;
    assert.equal(await response, 200);
    assert.equal(await drained, true);
    session.destroy();
  });

  test('the deadline cuts requests that do not finish', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const slow = assert.rejects(send({ port: proxy.ports.outbound!, headers: { 'x-echo-delay-ms': '3000' } }));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    assert.equal(await proxy.drain(200), false);
    assert.ok(Date.now() - t0 < 1_500);
    await slow;
  });

  test('SIGTERM drains and exits 0', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const slow = send({ port: proxy.ports.outbound!, headers: { 'x-echo-delay-ms': '200' } });
    await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number>((resolve) => {
      const off = onSigterm(proxy, { deadlineMs: 2_000, exit: (code) => {
        off();
        resolve(code);
      } });
    });
    process.kill(process.pid, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.equal((await slow).status, 200);
  });
});

describe('malformed, oversized and slow clients', () => {
  test('a malformed request line or header gets 400 and the connection is closed', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const bad = await raw(proxy.ports.outbound!, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(bad, /<still open>/);
    const badPath = await raw(proxy.ports.outbound!, 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(badPath, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(badPath, /<still open>/);
    // The proxy is still serving.
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
  });

  test('garbage after an HTTP/2 preface, a bad TLS hello or a half request never crashes the proxy', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)), { detectTimeoutMs: 100 });
    const inputs = [
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00garbage-garbage-garbage',
      '\x16\x03\x01\x00\x05hello',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort',
      'GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
    ];
    for (const input of inputs) await raw(proxy.ports.outbound!, input, 300);
    assert.equal((await send({ port: proxy.ports.outbound! })).status, 200);
  });

  test('oversized headers get 431', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)));
    const r = await raw(proxy.ports.outbound!, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 431/);
  });

  test('a client that never finishes its body is cut off (408)', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)), { requestTimeoutMs: 300 });
    const t0 = Date.now();
    const r = await raw(proxy.ports.outbound!, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-some', 4_000);
    assert.match(r, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - t0 < 3_000);
  });

  test('a client that never finishes its headers is cut off (408)', async () => {
    const a = await echo('a');
    const proxy = await sidecar(new ManualTableSource(tableTo('a', a, a)), { headersTimeoutMs: 300 });
    const t0 = Date.now();
    const r = await raw(proxy.ports.outbound!, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 4_000);
    assert.match(r, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - t0 < 3_000);
  });
});
