// Differential: the same bytes through node:http + the general path's `describe()` and through
// llhttp + the fast path's descriptor must give the matcher the same RequestDescriptor, so a
// route selects the same requests on both paths. The general side is a real node:http server
// on a loopback port; every request is one the fast path takes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe as describeGeneral } from '../downstream.ts';
import { LlhttpParser } from './llhttp.ts';
import { describeRequest } from './request-head.ts';
import { toRouteRequest } from './route-request.ts';

const REQUESTS: string[] = [
  'GET / HTTP/1.1\r\nHost: svc\r\n\r\n',
  'GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: Svc.NS:8080\r\nAccept: */*\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: svc\r\nContent-Type: text/plain\r\nContent-Length: 03\r\n\r\nabc',
  'POST /p HTTP/1.1\r\nHost: svc\r\nContent-Length: 0\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: svc\r\nX-Rep: 1\r\nX-Rep: 2\r\nx-rep: 3\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: svc\r\nUser-Agent: one\r\nUser-Agent: two\r\nAuthorization: Bearer x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: svc\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: gzip\r\nX-End: 2\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: svc\r\nX-Caf: caf\xe9\r\nX-Tab: a\tb\r\nX-Empty:\r\n\r\n',
  'DELETE /items/7 HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n',
  'GET /only-path HTTP/1.0\r\n\r\n',
];

let server: http.Server;
let port = 0;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(describeGeneral(req, 'http'))); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What the general path's describe() returned for `raw`, sent on a fresh connection. */
function general(raw: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer in 5 s')); }, 5000);
    let got = '';
    // the answer is read to the end of the connection (an HTTP/1.0 request is answered without
    // a length, then closed), so the test closes its side once the body is complete
    const done = (): void => {
      const at = got.indexOf('\r\n\r\n');
      if (at < 0) return;
      const len = /content-length: (\d+)/i.exec(got)?.[1];
      if (len !== undefined && got.length < at + 4 + Number(len)) return;
      clearTimeout(timer);
      s.destroy();
      resolve(JSON.parse(Buffer.from(got.slice(at + 4), 'latin1').toString('utf8')));
    };
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (/content-length: /i.test(got)) done(); });
    s.on('end', done);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.write(Buffer.from(raw, 'latin1'));
  });
}

function fast(raw: string): unknown {
  let out: unknown;
  const p = new LlhttpParser('request', {
    onHead(major, minor, fields, method, target, _s, _r, upgrade, keepAlive) {
      const d = describeRequest(major, minor, fields, method, target, upgrade, keepAlive);
      assert.equal(d.kind, 'fast', JSON.stringify(d));
      if (d.kind === 'fast') out = toRouteRequest(d.head, 'http');
      return 0;
    },
    onBody() { /* not needed */ }, onTrailers() { /* none */ }, onComplete() { /* done */ },
  });
  assert.equal(p.execute(Buffer.from(raw, 'latin1')).kind, 'ok');
  p.close();
  // through JSON like the general side, so both compare as plain data
  return JSON.parse(JSON.stringify(out));
}

describe('h1-fast route descriptor = the general path\'s', () => {
  for (const raw of REQUESTS) {
    test(JSON.stringify(raw.slice(0, raw.indexOf('\r\n'))) + ` (${raw.length} B)`, async () => {
      assert.deepEqual(fast(raw), await general(raw));
    });
  }
});
