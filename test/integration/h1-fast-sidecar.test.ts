// The HTTP/1.1 fast path (ADR 0017) in a running sidecar, on real sockets: a raw client talks
// to the outbound side, a node:http backend answers. Which path served a response shows in its
// head: node:http (the general path) writes `Keep-Alive: timeout=…` capitalised on every
// kept-alive answer, the fast path writes its own fields in lower case (`keep-alive: timeout=…`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import dc from 'node:diagnostics_channel';
import { WebSocket, WebSocketServer } from 'ws';
import { ManualTableSource } from '../../agent/table-source.ts';
import { CHANNELS, type RequestEvent } from '../../agent/telemetry/events.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; aborted: boolean }

/** Reads from a raw socket until `done(text)` says the answer is complete (or the socket ends), bounded in time. */
function readUntil(socket: net.Socket, done: (text: string) => boolean, ms = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no complete answer within ${ms} ms; got ${JSON.stringify(text)}`)); }, ms);
    const onData = (b: Buffer): void => { text += b.toString('latin1'); if (done(text)) { cleanup(); resolve(text); } };
    const onEnd = (): void => { cleanup(); resolve(text); };
    const cleanup = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('end', onEnd); socket.off('close', onEnd); };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** A chunked body's content (sizes checked against the data). */
function dechunk(body: string): string {
  let out = '';
  for (let at = 0; ;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (size === 0) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    assert.equal(body.slice(eol + 2 + size, eol + 4 + size), '\r\n');
    at = eol + 4 + size;
  }
}

function count(text: string, what: string): number {
  return text.split(what).length - 1;
}

describe('HTTP/1.1 fast path in the sidecar', () => {
  let upstream: http.Server;
  let mirror: http.Server;
  let raw: net.Server;
  let proxy: RunningProxy;
  const seen: Seen[] = [];
  const mirrored: Seen[] = [];
  let failNext = 0;
  let upstreamConnections = 0;
  const source = new ManualTableSource();

  const record = (into: Seen[]) => (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', aborted: false };
    into.push(s);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('aborted', () => { s.aborted = true; });
    res.on('close', () => { if (!res.writableFinished) s.aborted = true; });
    req.on('end', () => {
      s.body = Buffer.concat(chunks).toString();
      if (into === seen && failNext > 0) {
        failNext--;
        res.writeHead(503, { 'content-length': '4' }).end('fail');
        return;
      }
      if (req.url?.startsWith('/chunked')) {
        res.writeHead(200, { 'x-path': req.url });
        res.write(`got ${s.body.length}:`);
        res.end(s.body);
        return;
      }
      if (req.url?.startsWith('/hold')) return; // never answers
      if (req.url?.startsWith('/late')) {
        setTimeout(() => res.writeHead(200, { 'content-length': '4' }).end('late'), 200);
        return;
      }
      if (req.url?.startsWith('/hints')) {
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        res.writeHead(200, { 'content-length': '2' }).end('ok');
        return;
      }
      const out = JSON.stringify({ method: s.method, url: s.url, length: s.body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(out)), 'x-from': 'upstream' });
      res.end(out);
    });
  };

  before(async () => {
    upstream = http.createServer(record(seen));
    const wss = new WebSocketServer({ noServer: true });
    upstream.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d: Buffer) => ws.send(`echo: ${d.toString()}`))));
    upstream.on('connection', () => { upstreamConnections++; });
    mirror = http.createServer(record(mirrored));
    upstream.listen(0, '127.0.0.1');
    mirror.listen(0, '127.0.0.1');
    // an upstream whose answer has neither Content-Length nor chunked: its body runs until it closes
    raw = net.createServer((c) => c.once('data', () => c.end('HTTP/1.1 200 OK\r\nx-raw: 1\r\n\r\nuntil the upstream closes')));
    raw.listen(0, '127.0.0.1');
    await Promise.all([once(upstream, 'listening'), once(mirror, 'listening'), once(raw, 'listening')]);
    const A = backendName('default', 'a', 80);
    const M = backendName('default', 'm', 80);
    const R = backendName('default', 'raw', 80);
    source.push(table({
      backends: [
        backend('default', 'a', 80, [{ port: (upstream.address() as net.AddressInfo).port, podName: 'a-0' }]),
        backend('default', 'm', 80, [{ port: (mirror.address() as net.AddressInfo).port, podName: 'm-0' }]),
        backend('default', 'raw', 80, [{ port: (raw.address() as net.AddressInfo).port, podName: 'raw-0' }]),
      ],
      services: [service({
        name: 'a', clusterIP: '10.96.0.10', port: 80,
        rules: [
          rule({ route: 'msplit', index: 0, path: { type: 'PathPrefix', value: '/msplit' }, backends: [{ backend: A }, { backend: R }], filters: [{ type: 'RequestMirror', backend: M, percent: 100 }] }),
          rule({ route: 'mirror', index: 0, path: { type: 'PathPrefix', value: '/mirror' }, backends: [{ backend: A }], filters: [{ type: 'RequestMirror', backend: M, percent: 100 }] }),
          rule({ route: 'raw', index: 0, path: { type: 'PathPrefix', value: '/raw' }, backends: [{ backend: R }] }),
          rule({ route: 'retry', index: 0, path: { type: 'PathPrefix', value: '/retry' }, backends: [{ backend: A }], retry: { codes: [503], attempts: 2, backoffMs: 1 } }),
          rule({ route: 'hdr', index: 0, path: { type: 'PathPrefix', value: '/hdr' }, backends: [{ backend: A }], filters: [
            { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-set', value: 'one' }], add: [], remove: ['x-remove'] } },
            { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x-resp', value: 'yes' }], add: [], remove: ['x-from'] } },
          ] }),
          // the table's rules are in precedence order (translate sorts them): the catch-all last
          rule({ route: 'plain', index: 0, path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: A }] }),
        ],
      })],
    }));
    proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      originalDestination: () => ({ address: '10.96.0.10', port: 80 }), log: quiet, h1Fast: true, headersTimeoutMs: 400,
    });
  });

  after(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    mirror.closeAllConnections();
    upstream.close();
    mirror.close();
    raw.close();
  });

  const connect = async (): Promise<net.Socket> => {
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    await once(s, 'connect');
    return s;
  };

  test('pipelined requests on one kept-alive connection: answered in order, on the fast path', async () => {
    const s = await connect();
    try {
      const before = seen.length;
      s.write('GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\nPOST /three HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
      const text = await readUntil(s, (t) => count(t, '"url":') === 3);
      const urls = [...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(urls, ['/one', '/two', '/three']);
      assert.equal(count(text, 'HTTP/1.1 200 OK'), 3);
      assert.doesNotMatch(text, /Keep-Alive: timeout/, 'no node:http Keep-Alive field: the fast path answered');
      assert.equal(seen[before + 2]!.body, 'hello');
      // the same connection keeps serving
      s.write('GET /four HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(await readUntil(s, (t) => t.includes('"url":"/four"')), /HTTP\/1\.1 200/);
    } finally { s.destroy(); }
  });

  test('request and response header modifiers apply on the fast path', async () => {
    const s = await connect();
    try {
      s.write('GET /hdr HTTP/1.1\r\nHost: a\r\nX-Remove: 1\r\nX-Keep: 2\r\n\r\n');
      const text = await readUntil(s, (t) => t.includes('"url":"/hdr"'));
      const got = seen[seen.length - 1]!;
      assert.equal(got.headers['x-set'], 'one');
      assert.equal(got.headers['x-remove'], undefined);
      assert.equal(got.headers['x-keep'], '2');
      assert.match(text, /x-resp: yes/i);
      assert.doesNotMatch(text, /Keep-Alive: timeout/, 'the fast path answered');
      assert.doesNotMatch(text, /x-from/i);
    } finally { s.destroy(); }
  });

  test('chunked both ways: the body arrives whole, the answer is re-chunked', async () => {
    const s = await connect();
    try {
      s.write('POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n');
      const text = await readUntil(s, (t) => t.endsWith('0\r\n\r\n'));
      assert.match(text, /transfer-encoding: chunked/i);
      assert.doesNotMatch(text, /Keep-Alive: timeout/, 'the fast path answered');
      assert.equal(dechunk(text.slice(text.indexOf('\r\n\r\n') + 4)), 'got 7:abcdefg');
      assert.equal(seen[seen.length - 1]!.headers['transfer-encoding'], 'chunked');
    } finally { s.destroy(); }
  });

  test('HTTP/1.0 client: a chunked upstream answer is sent close-delimited, then the connection closes', async () => {
    const s = await connect();
    try {
      s.write('POST /chunked HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
      const text = await readUntil(s, () => false);
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(text, /transfer-encoding/i);
      assert.match(text, /connection: close/i);
      assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), 'got 2:hi');
    } finally { s.destroy(); }
  });

  test('an interim 103 is forwarded before the final answer', async () => {
    const s = await connect();
    try {
      s.write('GET /hints HTTP/1.1\r\nHost: a\r\n\r\n');
      const text = await readUntil(s, (t) => t.endsWith('\r\n\r\nok'));
      assert.match(text, /^HTTP\/1\.1 103 Early Hints\r\nlink: <\/style\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/i);
    } finally { s.destroy(); }
  });

  test('an answer delimited by the upstream closing is re-framed as chunked; the client connection stays open', async () => {
    const s = await connect();
    try {
      s.write('GET /raw HTTP/1.1\r\nHost: a\r\n\r\n');
      const text = await readUntil(s, (t) => t.endsWith('0\r\n\r\n'));
      assert.match(text, /transfer-encoding: chunked/i);
      assert.match(text, /x-raw: 1/);
      assert.equal(dechunk(text.slice(text.indexOf('\r\n\r\n') + 4)), 'until the upstream closes');
      s.write('GET /still-open HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(await readUntil(s, (t) => t.includes('"url":"/still-open"')), /HTTP\/1\.1 200/);
    } finally { s.destroy(); }
  });

  test('a route with a request mirror falls back to the general path at head time, body intact', async () => {
    const s = await connect();
    try {
      const body = 'x'.repeat(3000);
      s.write(`POST /mirror HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const text = await readUntil(s, (t) => t.includes('"url":"/mirror"'));
      assert.match(text, /"length":3000/);
      assert.match(text, /Keep-Alive: timeout/, 'node:http answered (the general path)');
      const deadline = Date.now() + 3_000;
      while (!mirrored.some((m) => m.url === '/mirror') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(mirrored.find((m) => m.url === '/mirror')?.body, body);
      // the connection stays on the general path and keeps working
      s.write('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
      const next = await readUntil(s, (t) => t.includes('"url":"/after"'));
      assert.match(next, /Keep-Alive: timeout/);
    } finally { s.destroy(); }
  });

  test('a WebSocket upgrade falls back to the general path and is spliced end to end', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.ports.outbound!}/chat`, { headers: { host: 'a' } });
    try {
      const replies: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`replies so far: ${JSON.stringify(replies)}`)), 5_000);
        ws.on('open', () => { ws.send('one'); ws.send('two'); });
        ws.on('message', (d: Buffer) => { replies.push(d.toString()); if (replies.length === 2) { clearTimeout(timer); resolve(); } });
        ws.on('error', (err) => { clearTimeout(timer); reject(err); });
      });
      assert.deepEqual(replies, ['echo: one', 'echo: two']);
    } finally { ws.terminate(); }
  });

  test('a mirrored traffic split falls back without skewing the split (one weighted draw per request)', async () => {
    let toRaw = 0;
    for (let i = 0; i < 4; i++) {
      const s = await connect();
      try {
        s.write(`GET /msplit/${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
        const text = await readUntil(s, () => false);
        assert.match(text, /^HTTP\/1\.1 200/);
        if (/x-raw: 1/i.test(text)) toRaw++;
      } finally { s.destroy(); }
    }
    assert.equal(toRaw, 2, 'a 1:1 split sends two of four requests to each backend');
  });

  test('a large Content-Length body bypasses the parser and arrives byte-exact', async () => {
    const s = await connect();
    try {
      const body = Buffer.alloc(300 * 1024, 'z');
      s.write(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body);
      s.write('GET /after-big HTTP/1.1\r\nHost: a\r\n\r\n');
      const text = await readUntil(s, (t) => t.includes('"url":"/after-big"'));
      assert.match(text, /"url":"\/big","length":307200/);
      assert.doesNotMatch(text, /Keep-Alive: timeout/, 'the fast path answered');
      assert.equal(seen.find((x) => x.url === '/big')!.body, body.toString());
    } finally { s.destroy(); }
  });

  test('retries: a 503 is retried and the client sees the second answer, body resent', async () => {
    const s = await connect();
    try {
      failNext = 1;
      const before = seen.length;
      s.write('POST /retry HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody');
      const text = await readUntil(s, (t) => t.includes('"url":"/retry"'));
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(text, /Keep-Alive: timeout/, 'the fast path answered');
      const tries = seen.slice(before).filter((x) => x.url === '/retry');
      assert.equal(tries.length, 2);
      assert.deepEqual(tries.map((t) => t.body), ['body', 'body']);
    } finally { s.destroy(); }
  });

  test('a parse error after dispatch (a bad chunk) abandons the upstream request and answers 400', async () => {
    const s = await connect();
    try {
      s.write('POST /hold HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      const deadline = Date.now() + 3_000;
      while (!seen.some((x) => x.url === '/hold') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(seen.some((x) => x.url === '/hold'), 'the request reached the upstream');
      s.write('zz\r\nnot a chunk\r\n');
      const text = await readUntil(s, () => false);
      assert.match(text, /^HTTP\/1\.1 400 Bad Request/);
      assert.equal(s.readableEnded || s.destroyed, true);
      const held = seen.find((x) => x.url === '/hold')!;
      const until = Date.now() + 3_000;
      while (!held.aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(held.aborted, true, 'the upstream request was abandoned');
    } finally { s.destroy(); }
  });

  test('an upstream answer without Date gets one (RFC 9110 6.6.1), one that has it keeps its own only', async () => {
    const s = await connect();
    try {
      s.write('GET /raw HTTP/1.1\r\nHost: a\r\n\r\n');
      const added = await readUntil(s, (t) => t.endsWith('0\r\n\r\n'));
      const head = added.slice(0, added.indexOf('\r\n\r\n'));
      assert.match(head, /x-raw: 1/);
      assert.match(head, /^date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/im);
      assert.ok(Math.abs(Date.parse(/^date: (.*)$/im.exec(head)![1]!) - Date.now()) < 60_000, head);
      s.write('GET /dated HTTP/1.1\r\nHost: a\r\n\r\n');
      const kept = await readUntil(s, (t) => t.includes('"url":"/dated"'));
      assert.equal(count(kept.toLowerCase(), '\r\ndate: '), 1, kept);
    } finally { s.destroy(); }
  });

  test('malformed heads get a 4xx and the proxy keeps serving', async () => {
    for (const bad of [
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'y'.repeat(20_000) + '\r\n\r\n',
    ]) {
      const s = await connect();
      try {
        s.write(bad);
        const text = await readUntil(s, () => false);
        assert.match(text, /^HTTP\/1\.1 4(00|31) /, JSON.stringify(bad.slice(0, 60)));
      } finally { s.destroy(); }
    }
    const s = await connect();
    try {
      s.write('GET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(await readUntil(s, (t) => t.includes('"url":"/ok"')), /^HTTP\/1\.1 200/);
    } finally { s.destroy(); }
  });

  test('request events: one per request with the routed rule and the received headers, a head refused with 400 included', async () => {
    const ended: RequestEvent[] = [];
    const onEnd = (m: unknown): void => { ended.push(m as RequestEvent); };
    dc.subscribe(CHANNELS.requestEnd, onEnd);
    try {
      const s = await connect();
      try {
        s.write('GET /ev HTTP/1.1\r\nHost: a\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n');
        await readUntil(s, (t) => t.includes('"url":"/ev"'));
        s.write('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
        await readUntil(s, () => false);
      } finally { s.destroy(); }
      const deadline = Date.now() + 2_000;
      while (ended.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(ended.map((e) => [e.site, e.method, e.path, e.status, e.protocol]), [['outbound', 'GET', '/ev', 200, 'http/1.1'], ['outbound', 'GET', '/', 400, 'http/1.1']]);
      assert.equal(ended[0]!.rule, 'httproute/default/plain/rule/0/match/0');
      assert.equal(ended[0]!.attempts, 1);
      assert.equal(ended[0]!.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      assert.match(String(ended[1]!.error), /more than one Host/);
    } finally { dc.unsubscribe(CHANNELS.requestEnd, onEnd); }
  });

  test('a slow client that never finishes its head gets 408 after the headers timeout', async () => {
    const s = await connect();
    try {
      const started = Date.now();
      s.write('GET /slow HTTP/1.1\r\nHost: a\r\n');
      const text = await readUntil(s, () => false, 5_000);
      assert.match(text, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - started >= 300, 'not before the headers timeout');
      assert.equal(seen.some((x) => x.url === '/slow'), false);
    } finally { s.destroy(); }
  });

  test('a head begun behind a busy exchange is still bound by the headers timeout once that exchange ends', async () => {
    const s = await connect();
    try {
      s.write('GET /late HTTP/1.1\r\nHost: a\r\n\r\n');
      await new Promise((r) => setTimeout(r, 50));
      s.write('GET /never-finished HTTP/1.1\r\nHost: a\r\n');
      const text = await readUntil(s, () => false, 5_000);
      assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*late/);
      assert.match(text, /HTTP\/1\.1 408 Request Timeout/);
    } finally { s.destroy(); }
  });

  test('keep-alive: sequential requests reuse one upstream connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const start = upstreamConnections;
      for (let i = 0; i < 5; i++) {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
          http.get({ port: proxy.ports.outbound!, host: '127.0.0.1', path: `/seq${i}`, headers: { host: 'a' }, agent }, resolve).on('error', reject);
        });
        res.resume();
        await once(res, 'end');
        assert.equal(res.statusCode, 200);
        assert.ok(!res.rawHeaders.includes('Keep-Alive'), 'the fast path answered (node:http capitalises Keep-Alive)');
      }
      assert.ok(upstreamConnections - start <= 1, `upstream connections opened: ${upstreamConnections - start}`);
    } finally { agent.destroy(); }
  });
});
