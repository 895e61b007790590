// What the fast path puts on the wire: request and response heads (exact bytes), framing from
// the descriptor rather than the sender, chunked re-framing, and fields the proxy adds refused
// when they could split a head. Every written message is parsed back by llhttp, so our output
// is something the next hop's parser reads as the same message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkHeader, CRLF, lastChunk } from './chunked.ts';
import { InvalidFieldError, keepAliveFields, writeReceivedHead, writeRequestHead, writeRequestHeadFrom, writeResponseHead } from './head-writer.ts';
import { LlhttpParser, PAUSE } from './llhttp.ts';
import { describeRequest, type RequestHead } from './request-head.ts';
import { describeResponse } from './response-head.ts';

function fastHead(bytes: string): RequestHead {
  let head: RequestHead | undefined;
  const p = new LlhttpParser('request', {
    onHead(major, minor, fields, method, target, _s, _r, upgrade, keepAlive) {
      const d = describeRequest(major, minor, fields, method, target, upgrade, keepAlive);
      assert.equal(d.kind, 'fast');
      if (d.kind === 'fast') head = d.head;
      return 0;
    },
    onBody() { /* not needed */ }, onTrailers() { /* none */ }, onComplete() { /* done */ },
  });
  assert.equal(p.execute(Buffer.from(bytes, 'latin1')).kind, 'ok');
  p.close();
  assert.ok(head);
  return head;
}

/** Parses `bytes` as one message of `kind`; returns its fields, body and trailers as llhttp sees them. */
function reparse(kind: 'request' | 'response', bytes: Buffer, method = 'GET'): { fields: string[]; body: string; trailers: string[]; complete: boolean } {
  const seen = { fields: [] as string[], body: '', trailers: [] as string[], complete: false };
  const p = new LlhttpParser(kind, {
    onHead(_a, _b, fields) { seen.fields = fields; return method === 'HEAD' ? 1 : 0; },
    onBody(piece) { seen.body += piece.toString('latin1'); },
    onTrailers(fields) { seen.trailers = fields; },
    onComplete() { seen.complete = true; },
  });
  const r = p.execute(bytes);
  p.close();
  assert.equal(r.kind, 'ok', JSON.stringify(r));
  return seen;
}

describe('h1-fast head writer', () => {
  test('request head: Host first, fields in order, framing from the descriptor', () => {
    const head = fastHead('POST /p?q=1 HTTP/1.1\r\nX-A: 1\r\nHost: svc.ns\r\nContent-Length: 3\r\nConnection: keep-alive\r\nX-B: 2\r\n\r\nabc');
    const out = writeRequestHead(head, ['x-forwarded-for', '10.0.0.1']);
    assert.equal(out.toString('latin1'), 'POST /p?q=1 HTTP/1.1\r\nhost: svc.ns\r\nX-A: 1\r\nX-B: 2\r\nx-forwarded-for: 10.0.0.1\r\ncontent-length: 3\r\n\r\n');
  });

  test('request head from a field record: the same bytes as from the list, repeated values as lines, the sender\'s framing fields never written', () => {
    const headers = { 'x-a': '1', 'content-length': '99', 'x-m': ['p', 'q'], 'transfer-encoding': 'chunked', 'x-b': '2' };
    const line = { method: 'POST', target: '/p?q=1', host: 'svc.ns', framing: { kind: 'length', length: 3 } as const };
    const out = writeRequestHeadFrom(line, headers);
    assert.equal(out.toString('latin1'), 'POST /p?q=1 HTTP/1.1\r\nhost: svc.ns\r\nx-a: 1\r\nx-m: p\r\nx-m: q\r\nx-b: 2\r\ncontent-length: 3\r\n\r\n');
    assert.deepEqual(out, writeRequestHead({ ...line, fields: ['x-a', '1', 'x-m', 'p', 'x-m', 'q', 'x-b', '2'] }));
    assert.deepEqual(reparse('request', Buffer.concat([out, Buffer.from('abc')])).fields, ['host', 'svc.ns', 'x-a', '1', 'x-m', 'p', 'x-m', 'q', 'x-b', '2', 'content-length', '3']);
  });

  test('a field record with a gathered Content-Length body: head and body pieces in one buffer, parsed back as sent', () => {
    const headers = { 'x-a': '1', 'x-l': 'caf\xe9' };
    const line = { method: 'POST', target: '/p', host: 'svc', framing: { kind: 'length', length: 5 } as const };
    const body = [Buffer.from('ab'), Buffer.from([0, 0xff, 0x0a])];
    const out = writeRequestHeadFrom(line, headers, body);
    assert.deepEqual(out, Buffer.concat([writeRequestHeadFrom(line, headers), ...body]));
    const seen = reparse('request', out, 'POST');
    assert.deepEqual(seen.fields, ['host', 'svc', 'x-a', '1', 'x-l', 'caf\xe9', 'content-length', '5']);
    assert.equal(Buffer.from(seen.body, 'latin1').toString('hex'), '616200ff0a');
    assert.ok(seen.complete);
    assert.deepEqual(writeRequestHeadFrom(line, headers, []), writeRequestHeadFrom(line, headers), 'no pieces: the head alone');
  });

  test('a kept-alive answer announces the keep-alive time as node:http does; a closing one says close', () => {
    const ka = keepAliveFields(300_000);
    assert.equal(ka, 'connection: keep-alive\r\nkeep-alive: timeout=300\r\n');
    assert.equal(keepAliveFields(2_500), 'connection: keep-alive\r\nkeep-alive: timeout=2\r\n', 'whole seconds, rounded down');
    assert.equal(keepAliveFields(0), 'connection: keep-alive\r\n', 'no timeout: no Keep-Alive field');
    const r = { status: 200, reason: 'OK', fields: ['x-a', '1'] };
    assert.equal(writeResponseHead(r, { kind: 'length', length: 2 }, false, [], ka).toString('latin1'), 'HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 2\r\nconnection: keep-alive\r\nkeep-alive: timeout=300\r\n\r\n');
    assert.equal(writeResponseHead(r, { kind: 'length', length: 2 }, true, [], ka).toString('latin1'), 'HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n');
  });

  test('a chunked request goes out chunked, with our chunk sizes, and parses back to the same body', () => {
    const head = fastHead('POST / HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: Chunked\r\n\r\n1;x=y\r\na\r\n0\r\n\r\n');
    const wire = Buffer.concat([writeRequestHead(head), chunkHeader(3), Buffer.from('abc'), CRLF, chunkHeader(300), Buffer.alloc(300, 'z'), CRLF, lastChunk(['X-Sum', '9', 'Content-Length', '5'])]);
    assert.ok(wire.toString('latin1').startsWith('POST / HTTP/1.1\r\nhost: svc\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n12c\r\n'));
    const back = reparse('request', wire);
    assert.equal(back.body, `abc${'z'.repeat(300)}`);
    assert.deepEqual(back.trailers, ['X-Sum', '9'], 'framing fields are never written as trailers');
    assert.equal(back.complete, true);
  });

  test('fields the proxy adds cannot split the head', () => {
    const head = fastHead('GET / HTTP/1.1\r\nHost: svc\r\n\r\n');
    for (const added of [['x-a', 'v\r\nX-Evil: 1'], ['x-a', 'v\nb'], ['x-a', 'v\0'], ['x a', 'v'], ['x:a', 'v'], ['', 'v']]) {
      assert.throws(() => writeRequestHead(head, added), InvalidFieldError, JSON.stringify(added));
    }
    assert.throws(() => writeResponseHead({ status: 200, reason: 'OK\r\nX: 1', fields: [] }, { kind: 'none' }, false), InvalidFieldError);
    assert.throws(() => writeResponseHead({ status: 20, reason: 'OK', fields: [] }, { kind: 'none' }, false), { name: 'InvalidFieldError', code: 'E_INVALID_FIELD' });
  });

  test('a head handed to the general path on a fallback parses to the same request, body after it', () => {
    const sent = 'GET /ws?x=1 HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Caf: caf\xe9 \r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\nrest';
    let handed: Buffer | undefined;
    let fields: string[] = [];
    const p = new LlhttpParser('request', {
      onHead(major, minor, raw, method, target) { fields = raw; handed = writeReceivedHead(major, minor, method, target, raw); return PAUSE; },
      onBody() { /* not reached */ }, onTrailers() { /* none */ }, onComplete() { /* not reached */ },
    });
    const data = Buffer.from(sent, 'latin1');
    const r = p.execute(data);
    p.close();
    assert.equal(r.kind, 'paused');
    assert.ok(handed);
    assert.equal(handed.toString('latin1'), 'GET /ws?x=1 HTTP/1.1\r\nHost: svc\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Caf: caf\xe9\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n');
    assert.equal(r.kind === 'paused' && data.subarray(r.offset).toString('latin1'), 'rest');
    let again: string[] = [];
    const q = new LlhttpParser('request', { onHead(_a, _b, raw) { again = raw; return 0; }, onBody() { /* none */ }, onTrailers() { /* none */ }, onComplete() { /* done */ } });
    assert.equal(q.execute(handed).kind, 'ok');
    q.close();
    assert.deepEqual(again, fields);
  });

  test('chunk sizes are positive integers', () => {
    assert.equal(chunkHeader(255).toString('latin1'), 'ff\r\n');
    for (const n of [0, -1, 1.5, Number.NaN]) assert.throws(() => chunkHeader(n), RangeError, String(n));
  });
});

describe('h1-fast response heads', () => {
  const cases: Array<[name: string, status: number, fields: string[], method: string, framing: string, keepAlive: boolean, wire: string]> = [
    ['Content-Length passes', 200, ['Content-Length', '5', 'Connection', 'keep-alive', 'X-A', '1'], 'GET', 'length', true, 'HTTP/1.1 200 OK\r\nX-A: 1\r\ncontent-length: 5\r\n\r\n'],
    ['chunked is re-framed by us', 200, ['Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum'], 'GET', 'chunked', true, 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n'],
    ['no length: until close, chunked to the client, upstream not reused', 200, ['X-A', '1'], 'GET', 'until-close', false, 'HTTP/1.1 200 OK\r\nX-A: 1\r\ntransfer-encoding: chunked\r\n\r\n'],
    ['HEAD keeps the Content-Length, no body', 200, ['Content-Length', '5'], 'HEAD', 'none', true, 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n'],
    ['204 has no body', 204, [], 'GET', 'none', true, 'HTTP/1.1 204 OK\r\n\r\n'],
    ['304 keeps the Content-Length, no body', 304, ['Content-Length', '5', 'ETag', '"x"'], 'GET', 'none', true, 'HTTP/1.1 304 OK\r\nETag: "x"\r\ncontent-length: 5\r\n\r\n'],
  ];
  for (const [name, status, fields, method, framing, keepAlive, wire] of cases) {
    test(name, () => {
      const r = describeResponse(status, 'OK', fields, true, method);
      assert.equal(r.framing.kind, framing);
      assert.equal(r.keepAlive, keepAlive);
      assert.equal(writeResponseHead(r, r.framing, false).toString('latin1'), wire);
    });
  }

  test('connection: close is written when the client connection ends after the response', () => {
    const out = writeResponseHead({ status: 200, reason: 'OK', fields: [] }, { kind: 'length', length: 2 }, true);
    assert.equal(out.toString('latin1'), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n');
    assert.equal(reparse('response', Buffer.concat([out, Buffer.from('ok')])).body, 'ok');
  });

  test('status lines and lengths kept from the last answer: a repeat, a new reason, status or length each written as asked, a bad one still refused', () => {
    const ka = keepAliveFields(5_000);
    const wire = (status: number, reason: string, length: number): string => writeResponseHead({ status, reason, fields: ['x-a', '1'] }, { kind: 'length', length }, false, [], ka).toString('latin1');
    const expected = (status: number, reason: string, length: number): string => `HTTP/1.1 ${status} ${reason}\r\nx-a: 1\r\ncontent-length: ${length}\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n`;
    for (const [status, reason, length] of [[200, 'OK', 12], [200, 'OK', 12], [200, 'Fine', 12], [201, 'Fine', 12], [201, 'Fine', 0], [201, 'Fine', 1234567], [200, 'OK', 12]] as const) {
      assert.equal(wire(status, reason, length), expected(status, reason, length));
    }
    assert.throws(() => wire(200, 'O\r\nK', 12), InvalidFieldError);
    assert.throws(() => wire(1000, 'OK', 12), InvalidFieldError);
    assert.equal(wire(200, 'OK', 12), expected(200, 'OK', 12), 'a refused line is not kept');
    const chunked = writeResponseHead({ status: 200, reason: 'OK', fields: [] }, { kind: 'until-close' }, true).toString('latin1');
    assert.equal(chunked, 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n');
  });

  test('our Date goes after the fields and the added ones, unchecked, before the framing', () => {
    const out = writeResponseHead({ status: 200, reason: 'OK', fields: ['x-a', '1'] }, { kind: 'length', length: 2 }, false, ['x-b', '2'], 'connection: keep-alive\r\n', 'Mon, 07 Dec 2026 20:00:00 GMT');
    assert.equal(out.toString('latin1'), 'HTTP/1.1 200 OK\r\nx-a: 1\r\nx-b: 2\r\ndate: Mon, 07 Dec 2026 20:00:00 GMT\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n');
    assert.deepEqual(reparse('response', Buffer.concat([out, Buffer.from('ok')])).fields, ['x-a', '1', 'x-b', '2', 'date', 'Mon, 07 Dec 2026 20:00:00 GMT', 'content-length', '2', 'connection', 'keep-alive']);
  });
});
