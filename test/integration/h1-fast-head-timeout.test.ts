// The HTTP/1.1 fast path (ADR 0017) in a running sidecar, for two behaviours the gateway
// conformance e2e found broken on it: answers to HEAD (no body bytes, whoever answers: a
// node:http upstream, a raw upstream framing with Content-Length or chunked, or the proxy
// itself, as with a 404 for a method no route matches) and a route's backendRequest timeout
// (the 504 must reach the client, on a connection that stays usable). A raw client reads the
// bytes, so a body where none may be, or an answer never written, shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { backend, backendName, rule, service, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;

/** Reads until `done(text)` holds, the socket ends, or `ms` passes (then resolves with what came). */
function readFor(socket: net.Socket, done: (text: string) => boolean, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', finish); resolve(text); };
    const timer = setTimeout(finish, ms);
    const onData = (b: Buffer): void => { text += b.toString('latin1'); if (done(text)) finish(); };
    socket.on('data', onData);
    socket.once('close', finish);
  });
}

/** Status lines in `text` (each answer starts with one). */
function statuses(text: string): number[] {
  return [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
}

/** The answer's head and whatever followed it. */
function split(text: string): { head: string; rest: string } {
  const at = text.indexOf('\r\n\r\n');
  assert.ok(at >= 0, `no complete head in ${JSON.stringify(text)}`);
  return { head: text.slice(0, at + 4), rest: text.slice(at + 4) };
}

describe('HTTP/1.1 fast path: HEAD answers and backend request timeouts', () => {
  let upstream: http.Server;
  let rawLength: net.Server;
  let rawChunked: net.Server;
  let proxy: RunningProxy;
  const source = new ManualTableSource();
  const arrived: string[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      arrived.push(req.url ?? '');
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      const answer = (): void => { res.writeHead(200, { 'content-type': 'text/plain', 'x-from': 'upstream' }).end('hello from upstream\n'); };
      if (delay > 0) setTimeout(answer, delay).unref();
      else answer();
    });
    // raw upstreams answering HEAD as a server may: the framing fields of the GET answer, no body
    const rawServer = (framing: string): net.Server => net.createServer((c) => {
      let seen = '';
      c.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        for (let at = seen.indexOf('\r\n\r\n'); at >= 0; at = seen.indexOf('\r\n\r\n')) {
          seen = seen.slice(at + 4);
          c.write(`HTTP/1.1 200 OK\r\nx-raw: 1\r\n${framing}\r\n\r\n`);
        }
      });
      c.on('error', () => undefined);
    });
    rawLength = rawServer('Content-Length: 1234');
    rawChunked = rawServer('Transfer-Encoding: chunked');
    for (const s of [upstream, rawLength, rawChunked]) s.listen(0, '127.0.0.1');
    await Promise.all([once(upstream, 'listening'), once(rawLength, 'listening'), once(rawChunked, 'listening')]);
    const port = (s: net.Server): number => (s.address() as net.AddressInfo).port;
    const A = backendName('default', 'a', 80);
    const L = backendName('default', 'len', 80);
    const C = backendName('default', 'chunk', 80);
    source.push(table({
      backends: [
        backend('default', 'a', 80, [{ port: port(upstream), podName: 'a-0' }]),
        backend('default', 'len', 80, [{ port: port(rawLength), podName: 'len-0' }]),
        backend('default', 'chunk', 80, [{ port: port(rawChunked), podName: 'chunk-0' }]),
      ],
      services: [service({
        name: 'a', clusterIP: '10.96.0.10', port: 80,
        rules: [
          rule({ route: 'retried', index: 0, path: { type: 'PathPrefix', value: '/retried-timeout' }, backends: [{ backend: A }], timeouts: { requestMs: null, backendRequestMs: 200 }, retry: { codes: [], attempts: 1, backoffMs: 1 } }),
          rule({ route: 'timeout', index: 0, path: { type: 'PathPrefix', value: '/backend-timeout' }, backends: [{ backend: A }], timeouts: { requestMs: null, backendRequestMs: 300 } }),
          rule({ route: 'len', index: 0, path: { type: 'PathPrefix', value: '/raw-length' }, backends: [{ backend: L }] }),
          rule({ route: 'chunk', index: 0, path: { type: 'PathPrefix', value: '/raw-chunked' }, backends: [{ backend: C }] }),
          rule({ route: 'node', index: 0, path: { type: 'PathPrefix', value: '/node' }, backends: [{ backend: A }] }),
          // no rule for anything else: the proxy answers 404 itself
        ],
      })],
    }));
    proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      originalDestination: () => ({ address: '10.96.0.10', port: 80 }), log: quiet, h1Fast: true,
    });
  });

  after(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    upstream.close();
    rawLength.close();
    rawChunked.close();
  });

  const connect = async (): Promise<net.Socket> => {
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    await once(s, 'connect');
    return s;
  };

  /**
   * HEAD `path`, then GET /node on the same connection: the GET's answer must follow the HEAD's
   * head immediately (a body after the HEAD's head is what broke the conformance client).
   */
  async function headThenGet(path: string): Promise<{ head: string; rest: string }> {
    const s = await connect();
    try {
      s.write(`HEAD ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const first = await readFor(s, (t) => t.includes('\r\n\r\n'), 3_000);
      // anything that arrives after the head within a moment is a body that must not be there
      const late = await readFor(s, () => false, 150);
      const answer = split(first + late);
      s.write('GET /node HTTP/1.1\r\nHost: a\r\n\r\n');
      const next = await readFor(s, (t) => t.includes('hello from upstream\n'), 3_000);
      assert.equal(answer.rest, '', `bytes after the HEAD answer's head: ${JSON.stringify(answer.rest)}`);
      assert.deepEqual(statuses(next), [200], `the next answer on the connection: ${JSON.stringify(next)}`);
      return answer;
    } finally { s.destroy(); }
  }

  test('HEAD to a node:http upstream: its head, no body', async () => {
    const { head } = await headThenGet('/node');
    assert.deepEqual(statuses(head), [200]);
    assert.match(head, /x-from: upstream/i);
  });

  test('HEAD to an upstream framing with Content-Length: the field is kept as sent, no body', async () => {
    const { head } = await headThenGet('/raw-length');
    assert.deepEqual(statuses(head), [200]);
    assert.match(head, /^content-length: 1234\r$/im);
    assert.doesNotMatch(head, /transfer-encoding/i);
  });

  test('HEAD to an upstream framing with chunked: no chunked framing written, no body', async () => {
    const { head } = await headThenGet('/raw-chunked');
    assert.deepEqual(statuses(head), [200]);
    assert.match(head, /x-raw: 1/i);
    assert.doesNotMatch(head, /transfer-encoding/i, 'a HEAD answer has no body to frame');
  });

  test('HEAD that no route matches: the proxy\'s own 404 has its Content-Length and no body', async () => {
    const { head } = await headThenGet('/no-such-route');
    assert.deepEqual(statuses(head), [404]);
    assert.match(head, /^content-length: \d+\r$/im, 'the length the GET answer would have (as node:http sends it)');
    assert.match(head, /meshlet-reason: /i);
  });

  test('a backendRequest timeout shorter than the upstream\'s delay: the 504 reaches the client, the connection goes on', async () => {
    const s = await connect();
    try {
      const started = performance.now();
      s.write('GET /backend-timeout?delay=1500 HTTP/1.1\r\nHost: a\r\n\r\n');
      const text = await readFor(s, (t) => /\r\n\r\n[^]*\n$/.test(t) && t.includes('content-length'), 3_000);
      const took = performance.now() - started;
      assert.deepEqual(statuses(text), [504], `got ${JSON.stringify(text)}`);
      assert.match(text, /meshlet-reason: /i);
      assert.ok(took < 1_400, `answered after ${Math.round(took)} ms, before the upstream would have (1500 ms)`);
      // the same connection serves the next request (a timely answer from the same route)
      s.write('GET /backend-timeout HTTP/1.1\r\nHost: a\r\n\r\n');
      const next = await readFor(s, (t) => t.includes('hello from upstream\n'), 3_000);
      assert.deepEqual(statuses(next), [200], `got ${JSON.stringify(next)}`);
    } finally { s.destroy(); }
  });

  test('backendRequest is per attempt: a retried request times out twice, then the 504 reaches the client', async () => {
    const s = await connect();
    try {
      const before = arrived.length;
      s.write('GET /retried-timeout?delay=1500 HTTP/1.1\r\nHost: a\r\n\r\n');
      const text = await readFor(s, (t) => /\r\n\r\n[^]*\n$/.test(t) && t.includes('content-length'), 3_000);
      assert.deepEqual(statuses(text), [504], `got ${JSON.stringify(text)}`);
      assert.deepEqual(arrived.slice(before), ['/retried-timeout?delay=1500', '/retried-timeout?delay=1500'], 'the first attempt and one retry reached the upstream');
    } finally { s.destroy(); }
  });
});
