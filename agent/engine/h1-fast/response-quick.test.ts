// The JS scan of plain upstream responses (response-quick.ts) against llhttp (Node's binding,
// what reads every response it declines): on fixed cases and seeded mutations of them (bounded:
// 3 000 cases or 10 s), every response the scan accepts is read by llhttp the same way (status,
// reason, fields as reported, keep-alive, body, one complete message ending with the bytes), and
// the forms it must leave to llhttp are refused. And the upstream connection really skips llhttp
// for them: no llhttp execute for a plain answer, one for anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../../test/support/prng.ts';
import { UpstreamPools } from '../pools.ts';
import { writeRequestHead, writeResponseHead, writeResponseHeadRaw } from './head-writer.ts';
import { LlhttpParser } from './llhttp.ts';
import { mutate, viaLlhttp } from './quick-scan-test-support.ts';
import { describeResponse } from './response-head.ts';
import { quickResponse } from './response-quick.ts';
import { FastPool } from './upstream-pool.ts';
import { rawUpstream, RecordingSink, settled } from './upstream-test-support.ts';

const MAX_BODY = 16 * 1024;

/** Asserts llhttp reads `raw` as the scan did, when the scan accepted it; returns whether it did. */
function agrees(raw: string): boolean {
  const bytes = Buffer.from(raw, 'latin1');
  const q = quickResponse(bytes, MAX_BODY);
  if (q === null) return false;
  const mine = { status: q.status, reason: q.reason, fields: [...q.fields], body: Buffer.from(bytes.subarray(q.bodyStart, q.bodyStart + q.bodyLength)) };
  const l = viaLlhttp('response', bytes);
  const what = JSON.stringify(raw);
  assert.equal(l.result, 'ok', what);
  assert.equal(l.heads.length, 1, what);
  assert.equal(l.completes, 1, what);
  assert.deepEqual({ status: l.heads[0]!.status, reason: l.heads[0]!.reason, fields: l.heads[0]!.fields, upgrade: l.heads[0]!.upgrade, keepAlive: l.heads[0]!.keepAlive },
    { status: mine.status, reason: mine.reason, fields: mine.fields, upgrade: false, keepAlive: true }, what);
  assert.deepEqual(l.body, mine.body, what);
  return true;
}

const PLAIN = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
  'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nDate: Mon, 07 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nnot found',
  'HTTP/1.1 503 Service Unavailable\r\nX-Meshlet-Unreached: 1\r\nContent-Length: 2\r\n\r\nno',
  'HTTP/1.1 200 OK\r\nX-Tab:\tv\talue\r\nX-Sp:   spaced value\r\nContent-Length: 1\r\n\r\nx',
  'HTTP/1.1 201 Created By Us\r\nLocation: /a?b=c&d=%20\r\nContent-Length: 3\r\n\r\n\r\n\0',
];

/** Forms the scan leaves to llhttp: each is refused however llhttp then reads it. */
const REFUSED = [
  'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi', // another version: keep-alive rules differ
  'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil close', // no Content-Length
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi', // repeated
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n', // CL + TE
  'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nContent-Length: 2 \r\n\r\nhi', // trailing whitespace in a value
  'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nhi', // obs-fold
  'HTTP/1.1 200 OK\nContent-Length: 2\n\nhi', // bare LF
  'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nhi', // bare CR
  'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nhi', // NUL
  'HTTP/1.1 200 OK\r\nX-A: caf\xe9\r\nContent-Length: 2\r\n\r\nhi', // obs-text
  'HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 2\r\n\r\nhi', // whitespace before the colon
  'HTTP/1.1 200 OK\r\nX-A:\r\nContent-Length: 2\r\n\r\nhi', // empty value
  'HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nhi', // empty reason
  'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-A\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nh', // the body is not all in this read
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n', // bytes after the response
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n', // the head is not all in this read
  `HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'x'.repeat(MAX_BODY)}`, // the bypass's size
  `HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\nContent-Length: 2\r\n\r\nhi`, // over the head limit
  'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 099 OK\r\nContent-Length: 2\r\n\r\nhi',
];

test('plain responses: accepted, and llhttp reads each the same way', () => {
  for (const raw of PLAIN) assert.equal(agrees(raw), true, JSON.stringify(raw));
});

test('anything not plain is left to llhttp', () => {
  for (const raw of REFUSED) assert.equal(quickResponse(Buffer.from(raw, 'latin1'), MAX_BODY), null, JSON.stringify(raw));
});

const INSERTS = ['\r', '\n', '\0', ' ', '\t', ':', ',', '\r\n ', '\r\n', '\r\n\r\n', 'Content-Length: 5\r\n', 'Content-Length: 0\r\n', 'Transfer-Encoding: chunked\r\n', 'Connection: close\r\n', 'Connection: Keep-Alive\r\n', '0', 'x', 'ff', '\x7f', '\xff', '"', '(', 'HTTP/1.1 200 OK\r\n'];

test('seeded mutations: whatever the scan accepts, llhttp reads the same (bounded: 3 000 cases or 10 s)', () => {
  const rnd = prng(0x516);
  const deadline = Date.now() + 10_000;
  let accepted = 0;
  let cases = 0;
  for (; cases < 3_000 && Date.now() < deadline; cases++) {
    const raw = mutate(PLAIN[cases % PLAIN.length]!, rnd, INSERTS);
    if (agrees(raw)) accepted++;
  }
  // both sides of the comparison were exercised: some mutations stay plain, most do not
  assert.ok(accepted > 0 && accepted < cases, `${accepted} of ${cases} accepted`);
});


test('the upstream connection runs no llhttp execute for a plain answer, and llhttp for the rest', async () => {
  const answers = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  ];
  let n = 0;
  const up = await rawUpstream((req) => req.socket.write(answers[n++]!));
  const proto = LlhttpParser.prototype as unknown as { execute: (d: Buffer) => unknown };
  const execute = proto.execute;
  let executes = 0;
  proto.execute = function (this: unknown, d: Buffer) {
    executes++;
    return execute.call(this, d);
  };
  const pools = new UpstreamPools({});
  try {
    const pool = new FastPool(pools);
    const endpoint = { address: '127.0.0.1', port: up.port };
    const seen: number[] = [];
    for (let i = 0; i < answers.length; i++) {
      const sink = new RecordingSink();
      const head = writeRequestHead({ method: 'GET', target: `/${i}`, host: 'a', framing: { kind: 'none' }, fields: [] });
      sink.lease = pool.send(endpoint, { method: 'GET', head, framing: { kind: 'none' } }, sink);
      sink.lease.end();
      await settled(sink);
      assert.deepEqual(sink.events, ['head 200', 'end'], `answer ${i}`);
      assert.equal(Buffer.concat(sink.pieces).toString(), 'hello');
      seen.push(executes);
    }
    // the plain first answer: none; the chunked one: llhttp; after it llhttp reads every answer on that connection
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(up.connections.length, 1, 'one kept-alive connection throughout');
  } finally {
    proto.execute = execute;
    pools.close();
    await up.close();
  }
});

/**
 * When the scan hands its field lines on as bytes (q.runs), the head written from them is the
 * head written from describeResponse's strings, byte for byte; undefined when it declines. The
 * read's buffer is overwritten afterwards: the written head must not change (it was copied).
 */
function rawWriteAgrees(raw: string): 'raw' | 'strings' | 'declined' {
  const bytes = Buffer.from(raw, 'latin1');
  const q = quickResponse(bytes, MAX_BODY);
  if (q === null) return 'declined';
  const head = describeResponse(q.status, q.reason, q.fields, true, 'GET');
  if (q.runs === null) return 'strings';
  const what = JSON.stringify(raw);
  const keepAlive = 'connection: keep-alive\r\nkeep-alive: timeout=5\r\n';
  for (const [close, date] of [[false, ''], [false, 'Mon, 07 Dec 2026 10:00:00 GMT'], [true, ''], [false, '']] as const) {
    const want = writeResponseHead(head, head.framing, close, [], keepAlive, date);
    const got = writeResponseHeadRaw(q.status, q.reason, { src: bytes, runs: q.runs, count: q.runCount }, head.framing, close, keepAlive, date);
    assert.equal(got.toString('latin1'), want.toString('latin1'), what);
    bytes.fill(0x2a);
    assert.equal(got.toString('latin1'), want.toString('latin1'), `${what}: the head changed with the read's buffer`);
    bytes.write(raw, 'latin1');
  }
  return 'raw';
}

const SPACED = [
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 07 Dec 2026 10:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\nContent-Length: 2\r\nX-B: 2\r\nTE: trailers\r\nTrailer: x\r\nX-C: 3\r\nConnection: keep-alive\r\n\r\nhi',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi',
  'HTTP/1.1 404 Not Found Here\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 401 Unauthorized\r\nProxy-Authenticate: Basic\r\nWWW-Authenticate: Basic\r\nProxy-Authorization: x\r\nkeep-alive: timeout=1\r\nContent-Length: 0\r\n\r\n',
];

test('a head written from the upstream\'s field lines is the head written from the strings, byte for byte', () => {
  for (const raw of SPACED) assert.equal(rawWriteAgrees(raw), 'raw', JSON.stringify(raw));
  // other spacing after a colon: the lines are not what the writer writes, the strings are used
  assert.equal(rawWriteAgrees('HTTP/1.1 200 OK\r\nX-A:1\r\nContent-Length: 2\r\n\r\nhi'), 'strings');
  assert.equal(rawWriteAgrees('HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B:\t2\r\nContent-Length: 2\r\n\r\nhi'), 'strings');
  assert.equal(rawWriteAgrees('HTTP/1.1 200 OK\r\nX-A:  1\r\nContent-Length: 2\r\n\r\nhi'), 'strings');
  const rnd = prng(0x1616);
  const deadline = Date.now() + 10_000;
  const seen = { raw: 0, strings: 0, declined: 0 };
  for (let cases = 0; cases < 3_000 && Date.now() < deadline; cases++) seen[rawWriteAgrees(mutate([...SPACED, ...PLAIN][cases % (SPACED.length + PLAIN.length)]!, rnd, INSERTS))]++;
  assert.ok(seen.raw > 0 && seen.strings > 0 && seen.declined > 0, JSON.stringify(seen));
});

test('the upstream connection hands a plain answer\'s field lines to the sink as bytes, and none for llhttp\'s', async () => {
  const answers = [
    'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nX-B: 2\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nX-A:1\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  ];
  let n = 0;
  const up = await rawUpstream((req) => req.socket.write(answers[n++]!));
  const pools = new UpstreamPools({});
  try {
    const pool = new FastPool(pools);
    const endpoint = { address: '127.0.0.1', port: up.port };
    const seen: string[] = [];
    for (let i = 0; i < answers.length; i++) {
      const sink = new RecordingSink();
      const onHead = sink.onResponseHead.bind(sink);
      sink.onResponseHead = (h) => {
        // read now: the bytes are the read's, valid during this call only
        seen.push(h.raw === null ? 'none' : Buffer.concat(Array.from({ length: h.raw.count }, (_, k) => h.raw!.src.subarray(h.raw!.runs[2 * k], h.raw!.runs[2 * k + 1]))).toString('latin1'));
        onHead(h);
      };
      const head = writeRequestHead({ method: 'GET', target: `/${i}`, host: 'a', framing: { kind: 'none' }, fields: [] });
      sink.lease = pool.send(endpoint, { method: 'GET', head, framing: { kind: 'none' } }, sink);
      sink.lease.end();
      await settled(sink);
      assert.deepEqual(sink.events, ['head 200', 'end'], `answer ${i}`);
    }
    assert.deepEqual(seen, ['X-A: 1\r\nX-B: 2\r\n', 'none', 'none']);
  } finally {
    pools.close();
    await up.close();
  }
});
