// The fast path's per-request work on a kept-alive connection (issue 16, ADR 0017 "per-request
// cuts"), on real sockets: a small POST goes upstream as one write (head and body together, so
// the upstream reads it at once); the connection's one re-armed timer still ends an idle
// kept-alive connection after requests, and still bounds a head begun after them; an inbound
// connection's authorization verdict, decided once per connection, follows a routing table
// change on that same connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { ProxyCore } from '../../agent/engine/core.ts';
import { DENIED_HEADER } from '../../agent/inbound/index.ts';
import type { ProxyListener } from '../../agent/listener/proxy-listener.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import type { PolicyIR } from '../../api/routing-table.ts';
import { spiffeId } from '../../api/names.ts';
import * as T from '../support/routing-tables.ts';
import { closeFastPathListener, fastPathListener, type FastCtx } from '../support/fast-path-listener.ts';
import { exchangeRaw } from '../support/raw-answer.ts';

const quiet = (): void => undefined;

/** Sends `req` on `s` and reads one whole answer (a close resolves with what arrived). */
const exchange = (s: net.Socket, req: string): Promise<string> => exchangeRaw(s, req);

/** Waits (bounded: 2 s) for the upstream's read reports to catch up. */
async function settled(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

const UPSTREAM = `
const net = require('node:net');
const server = net.createServer((c) => {
  let pending = '';
  c.on('data', (b) => {
    process.send({ read: b.toString('latin1') });
    pending += b.toString('latin1');
    for (;;) {
      const end = pending.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const m = /\\r\\ncontent-length: *(\\d+)/i.exec(pending.slice(0, end));
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (pending.length < total) return;
      pending = pending.slice(total);
      c.write('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok');
    }
  });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
`;

describe('a small POST on the fast path reaches the upstream in one write', () => {
  let upstream: ChildProcess;
  let upstreamPort = 0;
  let proxy: RunningProxy;
  /** Every read of the upstream, in order. */
  const reads: string[] = [];

  before(async () => {
    // In its own process, so that it reads as soon as bytes arrive (in this process it would
    // read only after the proxy's whole turn, and two writes would look like one). It answers
    // each complete request (head and Content-Length body) with 200 ok and reports every read.
    upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    upstream.on('message', (m: { read?: string }) => { if (m.read !== undefined) reads.push(m.read); });
    const [ready] = await once(upstream, 'message') as [{ port: number }];
    upstreamPort = ready.port;
    const be = T.backend('default', 'svc', 80, [{ port: upstreamPort }]);
    const svc = T.service({ name: 'svc', clusterIP: '10.96.0.31', port: 80, rules: [T.rule({ backends: [{ backend: be.name }] })] });
    proxy = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, h1Fast: true,
      originalDestination: () => ({ address: '10.96.0.31', port: 80 }),
    });
  });
  after(async () => {
    await proxy.close();
    upstream.kill();
  });

  test('ten POSTs with 12-byte bodies on one connection: ten upstream reads, each a whole request', async () => {
    const s = await connect(proxy.ports.outbound!);
    try {
      for (let i = 0; i < 10; i++) {
        const text = await exchange(s, `POST /p${i} HTTP/1.1\r\nHost: svc\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nbody-${String(i).padStart(7, '0')}`);
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
      }
      await settled(() => reads.join('').includes('body-0000009'));
      assert.equal(reads.length, 10, `upstream reads: ${JSON.stringify(reads)}`);
      reads.forEach((r, i) => {
        assert.match(r, new RegExp(`^POST /p${i} HTTP/1\\.1\\r\\n`));
        assert.ok(r.endsWith(`\r\n\r\nbody-${String(i).padStart(7, '0')}`), r);
      });
    } finally { s.destroy(); }
  });

  test('a body that arrives after its head is still forwarded whole', async () => {
    const s = await connect(proxy.ports.outbound!);
    try {
      const answer = exchange(s, 'POST /late-body HTTP/1.1\r\nHost: svc\r\nContent-Length: 10\r\n\r\n01234');
      await new Promise((r) => setTimeout(r, 100));
      s.write('56789');
      assert.match(await answer, /^HTTP\/1\.1 200 OK/);
      await settled(() => reads.join('').endsWith('56789'));
      assert.ok(reads.join('').includes('POST /late-body HTTP/1.1\r\n'), 'request reached the upstream');
      assert.ok(reads.join('').endsWith('\r\n\r\n0123456789'), 'body whole and in order');
    } finally { s.destroy(); }
  });
});

describe('the connection timer after requests (one timer per connection, re-armed)', () => {
  let app: http.Server;
  let listener: ProxyListener<FastCtx>;
  const KEEP_ALIVE_MS = 300;
  const HEADERS_MS = 300;

  before(async () => {
    app = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    const core = new ProxyCore({ log: quiet });
    listener = await fastPathListener(core, () => appPort, { keepAliveTimeoutMs: KEEP_ALIVE_MS, headersTimeoutMs: HEADERS_MS });
  });
  after(async () => {
    await closeFastPathListener(listener);
    app.close();
  });

  test('an idle kept-alive connection closes after the keep-alive timeout that follows its last answer', async () => {
    const s = await connect(listener.port);
    try {
      for (let i = 0; i < 3; i++) assert.match(await exchange(s, `GET /k${i} HTTP/1.1\r\nHost: a\r\n\r\n`), /^HTTP\/1\.1 200 OK/);
      const t0 = Date.now();
      await Promise.race([once(s, 'close'), new Promise((_r, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5_000))]);
      const waited = Date.now() - t0;
      assert.ok(waited >= KEEP_ALIVE_MS - 20, `closed after ${waited} ms, before the keep-alive timeout`);
    } finally { s.destroy(); }
  });

  test('a head begun after answered requests gets 408 after the headers timeout', async () => {
    const s = await connect(listener.port);
    try {
      for (let i = 0; i < 3; i++) assert.match(await exchange(s, `GET /h${i} HTTP/1.1\r\nHost: a\r\n\r\n`), /^HTTP\/1\.1 200 OK/);
      const t0 = Date.now();
      const text = await exchange(s, 'GET /never-finished HTTP/1.1\r\nHost: a\r\n');
      assert.match(text, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - t0 >= HEADERS_MS - 20, 'not before the headers timeout');
    } finally { s.destroy(); }
  });
});

describe('the clock on a request\'s way (one read per client read)', () => {
  let app: http.Server;
  let listener: ProxyListener<FastCtx>;

  before(async () => {
    app = http.createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-length': '2' }).end('ok')); });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    listener = await fastPathListener(new ProxyCore({ log: quiet }), () => appPort);
  });
  after(async () => {
    await closeFastPathListener(listener);
    app.close();
  });

  /** Resolves when the app receives the next request's head (bounded: 5 s). */
  function headAtApp(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the app never received the head')), 5000);
      app.once('request', () => { clearTimeout(timer); resolve(); });
    });
  }

  /** performance.now() calls in this process while `work` runs. */
  async function clockReads(work: () => Promise<void>): Promise<number> {
    const real = performance.now.bind(performance);
    let n = 0;
    performance.now = (): number => { n++; return real(); };
    try {
      await work();
    } finally {
      delete (performance as { now?: unknown }).now; // the prototype's own again
    }
    return n;
  }

  test('a POST that arrives whole sets its stream and request deadlines from one clock read: one fewer than when its body comes in a second read', async () => {
    const N = 5;
    const head = (i: number): string => `POST /c${i} HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n`;
    const s = await connect(listener.port);
    try {
      assert.match(await exchange(s, `${head(99)}warm-up-body`), /^HTTP\/1\.1 200 OK/);
      const whole = await clockReads(async () => {
        for (let i = 0; i < N; i++) assert.match(await exchange(s, `${head(i)}body-${String(i).padStart(7, '0')}`), /^HTTP\/1\.1 200 OK/);
      });
      const split = await clockReads(async () => {
        for (let i = 0; i < N; i++) {
          // the body is written only once the app has the head: the proxy then certainly read
          // the head alone (a timer instead was beaten by a stall of the process, rv)
          const seen = headAtApp();
          const answer = exchange(s, head(i));
          await seen;
          s.write(`body-${String(i).padStart(7, '0')}`);
          assert.match(await answer, /^HTTP\/1\.1 200 OK/);
        }
      });
      assert.ok(whole <= split - N, `clock reads for ${N} requests: ${whole} whole, ${split} with the body in a second read`);
    } finally { s.destroy(); }
  });
});

describe('an inbound connection\'s authorization verdict follows a table change', () => {
  let app: http.Server;
  let proxy: RunningProxy;
  const source = new ManualTableSource(T.table({}));
  let appPort = 0;

  before(async () => {
    app = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    appPort = (app.address() as net.AddressInfo).port;
    proxy = await startSidecar({
      namespace: 'shop', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast: true,
      originalDestination: () => ({ address: '127.0.0.1', port: appPort }),
    });
  });
  after(async () => {
    await proxy.close();
    app.close();
  });

  test('allowed, then denied once a policy governs the endpoint, then allowed again: all on one connection', async () => {
    const governed: PolicyIR = {
      name: 'authorizationpolicy/shop/only-productpage', namespace: 'shop',
      endpoints: [{ address: '127.0.0.1', port: appPort, namespace: 'shop', podName: 'reviews-0' }],
      rules: [{ principals: [spiffeId('shop', 'productpage')], ports: [] }],
    };
    const s = await connect(proxy.ports.inbound!);
    let closed = false;
    s.once('close', () => { closed = true; });
    try {
      const get = (): Promise<string> => exchange(s, 'GET / HTTP/1.1\r\nHost: reviews\r\n\r\n');
      assert.match(await get(), /^HTTP\/1\.1 200 OK/);
      assert.match(await get(), /^HTTP\/1\.1 200 OK/);
      source.push(T.table({ policies: [governed] }));
      const denied = await get();
      assert.match(denied, /^HTTP\/1\.1 403/);
      assert.match(denied, new RegExp(`\\r\\n${DENIED_HEADER}: no rule of authorizationpolicy/shop/only-productpage allows`, 'i'));
      source.push(T.table({}));
      assert.match(await get(), /^HTTP\/1\.1 200 OK/);
      assert.equal(closed, false, 'one connection throughout');
    } finally { s.destroy(); }
  });
});

describe('an outbound connection\'s destination, kept per connection, follows the Host and the table', () => {
  const apps: http.Server[] = [];
  let proxy: RunningProxy;
  const source = new ManualTableSource();
  const tables: Record<string, ReturnType<typeof T.table>> = {};

  before(async () => {
    const ports: number[] = [];
    for (const name of ['a', 'b']) {
      const app = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '1' }).end(name));
      app.listen(0, '127.0.0.1');
      await once(app, 'listening');
      apps.push(app);
      ports.push((app.address() as net.AddressInfo).port);
    }
    const ba = T.backend('default', 'a', 80, [{ port: ports[0]! }]);
    const bb = T.backend('default', 'b', 80, [{ port: ports[1]! }]);
    const sa = T.service({ name: 'a', clusterIP: '10.96.0.41', port: 80, rules: [T.rule({ route: 'a', backends: [{ backend: ba.name }] })] });
    const sb = T.service({ name: 'b', clusterIP: '10.96.0.42', port: 80, rules: [T.rule({ route: 'b', backends: [{ backend: bb.name }] })] });
    tables.both = T.table({ services: [sa, sb], backends: [ba, bb] });
    tables.onlyB = T.table({ services: [sb], backends: [bb] });
    source.push(tables.both);
    // explicit mode: no original destination, the Host names the Service
    proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet, h1Fast: true, explicit: true,
    });
  });
  after(async () => {
    await proxy.close();
    for (const a of apps) a.close();
  });

  test('Host a, a, b, a on one connection reach a, a, b, a; once a leaves the table, Host a is refused on that connection, and served when it is back', async () => {
    const s = await connect(proxy.ports.outbound!);
    let closed = false;
    s.once('close', () => { closed = true; });
    try {
      const body = async (host: string): Promise<string> => {
        const text = await exchange(s, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        return `${text.slice(9, 12)} ${text.slice(text.indexOf('\r\n\r\n') + 4)}`;
      };
      assert.equal(await body('a.default:80'), '200 a');
      assert.equal(await body('a.default:80'), '200 a');
      assert.equal(await body('b.default:80'), '200 b');
      assert.equal(await body('a.default:80'), '200 a');
      source.push(tables.onlyB!);
      assert.match(await body('a.default:80'), /^404 /);
      assert.equal(await body('b.default:80'), '200 b');
      assert.match(await body('a.default:80'), /^404 /);
      // the refusal was decided from the table: a table that has a again answers again
      source.push(tables.both!);
      assert.equal(await body('a.default:80'), '200 a');
      assert.equal(closed, false, 'one connection throughout');
    } finally { s.destroy(); }
  });
});
