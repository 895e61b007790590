// The JS scan of plain client requests (request-quick.ts) against llhttp (Node's binding, what
// reads every request it declines; issue 16: "every disagreement is a test"): on fixed cases, on
// the smuggling corpora (CL+TE, duplicate or odd Content-Length, obs-fold, bare CR/LF, NUL,
// invalid chunks, spaces in names, absolute-form, huge CL, …) and on seeded mutations of both
// (bounded: 3 000 cases or 10 s), every request the scan accepts is read by llhttp the same way
// (method, target, version, fields as reported, keep-alive, no upgrade, the body's bounds, one
// complete message ending with the bytes). And the downstream connection really skips llhttp for
// them, on real sockets: no llhttp execute for plain requests, llhttp for the rest.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { prng } from '../../../test/support/prng.ts';
import { closeFastPathListener, connectLoopback, fastPathListener, type FastCtx } from '../../../test/support/fast-path-listener.ts';
import { exchangeRaw, readAnswer } from '../../../test/support/raw-answer.ts';
import type { ProxyListener } from '../../listener/proxy-listener.ts';
import { ProxyCore } from '../core.ts';
import { LlhttpParser } from './llhttp.ts';
import { mutate, viaLlhttp, type LlhttpHead } from './quick-scan-test-support.ts';
import { quickRequest } from './request-quick.ts';

const MAX_BODY = 16 * 1024;

/** Asserts llhttp reads `raw` as the scan did, when the scan accepted it; returns whether it did. */
function agrees(raw: string): boolean {
  const bytes = Buffer.from(raw, 'latin1');
  const q = quickRequest(bytes, MAX_BODY);
  if (q === null) return false;
  const what = JSON.stringify(raw);
  const mine: LlhttpHead = { major: 1, minor: 1, method: q.method, target: q.target, status: 0, reason: '', fields: [...q.fields], upgrade: false, keepAlive: true };
  assert.equal(q.bodyStart + q.bodyLength, bytes.length, `the scan's body ends where the read ends — ${what}`);
  const body = Buffer.from(bytes.subarray(q.bodyStart, q.bodyStart + q.bodyLength));
  const l = viaLlhttp('request', bytes);
  assert.equal(l.result, 'ok', what);
  assert.equal(l.heads.length, 1, what);
  assert.equal(l.completes, 1, what);
  assert.deepEqual(l.heads[0], mine, what);
  assert.deepEqual(l.body, body, what);
  return true;
}

const PLAIN = [
  'GET / HTTP/1.1\r\nHost: svc\r\n\r\n',
  'GET /a/b?c=1&d=%20e HTTP/1.1\r\nHost: svc.ns:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: svc\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":[1,2]}',
  'PUT /x HTTP/1.1\r\nhost: svc\r\ncontent-length: 0\r\nConnection: keep-alive\r\n\r\n',
  'DELETE /items/7 HTTP/1.1\r\nHost: svc\r\nCookie: a=1; b=2\r\nCookie: c=3\r\nX-Tab:\tv\talue\r\nX-Sp:   spaced value\r\n\r\n',
  'HEAD /h HTTP/1.1\r\nHost: svc\r\nTE: trailers\r\n\r\n',
  'OPTIONS /o HTTP/1.1\r\nHost: svc\r\nContent-Length: 4\r\n\r\n\r\n\0\xff',
  "PATCH /a:b@c/!$&'()*+,;=~._- HTTP/1.1\r\nHost: svc\r\nContent-Length: 2\r\nX-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7\r\n\r\nok",
  'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', // no Host: llhttp accepts, describeRequest answers 400
  'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', // two: the same
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n1234567',
];

/** Forms the scan leaves to llhttp (the smuggling corpora among them): each is refused however llhttp then reads it. */
const REFUSED = [
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', // CL + TE
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', // any TE
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', // an invalid chunk
  'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', // GET with TE
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: gzip\r\n\r\nhi',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi', // repeated
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nhi',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhi',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nhi',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x2\r\n\r\nhi',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2 \r\n\r\nhi', // trailing whitespace in a value
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n', // empty
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nhi', // huge
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nhi', // beyond the read
  'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n', // obs-fold
  'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tfolded\r\n\r\n',
  'GET / HTTP/1.1\nHost: a\n\n', // bare LF
  'GET / HTTP/1.1\r\nHost: a\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n\n',
  'GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n', // bare CR
  'GET / HTTP/1.1\r\nX-A: a\rb\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n', // NUL
  'GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xe9\r\n\r\n', // obs-text
  'GET / HTTP/1.1\r\nHost: a\r\nX-A: \x7f\r\n\r\n', // DEL
  'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n', // a control
  'GET / HTTP/1.1\r\nHost : a\r\n\r\n', // whitespace before the colon
  'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n',
  'GET / HTTP/1.1\r\nX A: 1\r\nHost: a\r\n\r\n', // a space in a name
  ' GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', // double spaces
  'GET /  HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1 \r\nHost: a\r\n\r\n',
  'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n', // absolute-form
  'GET * HTTP/1.1\r\nHost: a\r\n\r\n', // asterisk-form
  'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', // authority-form
  'GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n', // a fragment
  'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /a"<>\\^`{|} HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\n\r\n', // another version: keep-alive rules differ
  'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
  'GET / http/1.1\r\nHost: a\r\n\r\n',
  'get / HTTP/1.1\r\nHost: a\r\n\r\n', // llhttp's methods are upper case
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n', // not among the common methods
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-A\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: keep-alive\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
  'GET / HTTP/1.1\r\nHost:\r\n\r\n', // an empty value
  'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', // bytes after the request (pipelined)
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET', // bytes after the body
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nh', // the body is not all in this read
  'GET / HTTP/1.1\r\nHost: a\r\n', // the head is not all in this read
  'GET / HTTP/1.1\r\nHost: a\r\n\r', // …nor its last byte
  `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'x'.repeat(MAX_BODY)}`, // the bypass's size
  `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\n\r\n`, // over the head limit
  `GET / HTTP/1.1\r\nHost: a\r\n${'X-F: 1\r\n'.repeat(64)}\r\n`, // over the field bound
];

test('plain requests: accepted, and llhttp reads each the same way', () => {
  for (const raw of PLAIN) assert.equal(agrees(raw), true, JSON.stringify(raw));
});

test('anything not plain, the smuggling corpora among it, is left to llhttp', () => {
  for (const raw of REFUSED) assert.equal(quickRequest(Buffer.from(raw, 'latin1'), MAX_BODY), null, JSON.stringify(raw));
});

const INSERTS = ['\r', '\n', '\0', ' ', '\t', ':', ',', ';', '#', '?', '/', '%', '\r\n ', '\r\n\t', '\r\n', '\r\n\r\n', 'Content-Length: 5\r\n', 'Content-Length: 0\r\n',
  'Content-Length: 99999999999999999\r\n', 'Transfer-Encoding: chunked\r\n', 'Connection: close\r\n', 'Connection: Keep-Alive\r\n', 'Host: b\r\n', 'Upgrade: x\r\n',
  'Expect: 100-continue\r\n', 'X Y: 1\r\n', '0', 'x', 'ff', '\x7f', '\xff', '"', '(', 'http://a', 'GET / HTTP/1.1\r\n', '0\r\n\r\n'];

test('seeded mutations of plain requests and smuggling corpora: whatever the scan accepts, llhttp reads the same (bounded: 3 000 cases or 10 s)', (t) => {
  const rnd = prng(0x1616);
  const deadline = Date.now() + 10_000;
  const corpora = REFUSED.filter((r) => r.length < 1024);
  let accepted = 0;
  let cases = 0;
  for (; cases < 3_000 && Date.now() < deadline; cases++) {
    // even cases mutate a plain request, odd ones a smuggling or other refused form
    const raw = mutate(cases % 2 === 0 ? PLAIN[(cases >> 1) % PLAIN.length]! : corpora[(cases >> 1) % corpora.length]!, rnd, INSERTS);
    if (agrees(raw)) accepted++;
  }
  // both sides of the comparison were exercised: some mutations stay plain, most do not
  assert.ok(accepted > 100 && accepted < cases, `${accepted} of ${cases} accepted`);
  t.diagnostic(`${accepted} of ${cases} accepted`);
});

describe('the downstream connection runs no llhttp execute for plain requests, and llhttp for the rest', () => {
  let app: http.Server;
  let listener: ProxyListener<FastCtx>;
  const proto = LlhttpParser.prototype as unknown as { execute: (d: Buffer) => unknown };
  const execute = proto.execute;
  let executes = 0;

  before(async () => {
    app = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (b: Buffer) => { n += b.length; });
      req.on('end', () => res.writeHead(200, { 'content-length': String(`${req.method} ${req.url} ${n}`.length) }).end(`${req.method} ${req.url} ${n}`));
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    listener = await fastPathListener(new ProxyCore({ log: () => undefined }), () => appPort);
    proto.execute = function (this: unknown, d: Buffer) {
      executes++;
      return execute.call(this, d);
    };
  });
  after(async () => {
    proto.execute = execute;
    await closeFastPathListener(listener);
    app.close();
  });

  test('plain requests scanned; after a chunked one llhttp reads on', async () => {
    const s = await connectLoopback(listener.port);
    try {
      executes = 0;
      const seen: number[] = [];
      const bodies: string[] = [];
      const requests = [
        'GET /a HTTP/1.1\r\nHost: a\r\n\r\n',
        'POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
        'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
        'GET /d HTTP/1.1\r\nHost: a\r\n\r\n',
      ];
      for (const r of requests) {
        const answer = await exchangeRaw(s, r);
        bodies.push(answer.slice(answer.indexOf('\r\n\r\n') + 4));
        seen.push(executes);
      }
      assert.deepEqual(bodies, ['GET /a 0', 'POST /b 5', 'POST /c 3', 'GET /d 0']);
      assert.deepEqual(seen, [0, 0, 1, 2]);
    } finally {
      s.destroy();
    }
  });

  test('a plain request the fast path refuses (no Host) gets its 400, and what follows it is ignored as llhttp ignored it', async () => {
    const s = await connectLoopback(listener.port);
    try {
      const answer = readAnswer(s);
      s.write('GET /a HTTP/1.1\r\nX-A: 1\r\n\r\n');
      assert.match(await answer, /^HTTP\/1\.1 400 /);
      s.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
      let more = '';
      s.on('data', (b: Buffer) => { more += b.toString('latin1'); });
      if (!s.destroyed) await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 1_000))]);
      assert.equal(more, '');
    } finally {
      s.destroy();
    }
  });

  test('two requests in one read (pipelined): llhttp reads both, each answered in order', async () => {
    const s = await connectLoopback(listener.port);
    try {
      let text = '';
      s.on('data', (b: Buffer) => { text += b.toString('latin1'); });
      s.write('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
      for (let i = 0; i < 200 && !text.includes('POST /2 2'); i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(text, /GET \/1 0[\s\S]*POST \/2 2$/);
    } finally {
      s.destroy();
    }
  });
});
