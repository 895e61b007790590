// Bounded differential fuzzing of the fast path's request policy against the general path
// (issue 16: "every disagreement is a test"): seeded mutations of valid requests — duplicated,
// dropped, added (Expect, Upgrade, TE, framing, Host) or case-flipped lines, inserted CR, LF,
// NUL, spaces, tabs, obs-fold, colons, commas and framing fields — go through llhttp +
// describeRequest + toRouteRequest, and through a real node:http server running the general
// path's describe(). Whatever the fast path forwards, the general path must accept with the same
// descriptor; whatever it refuses, the general path must refuse too. Both sides decide at head
// time (what follows a head is llhttp's on both paths). Requests the fast path hands to the
// general path are, by construction, not compared. Bounded: 240 cases or 10 s, whichever comes first; the seed is fixed, so a failure
// reproduces (and the failing bytes are printed, to be added to request-head.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { BadRequestError, describe as describeGeneral } from '../downstream.ts';
import { LlhttpParser, PAUSE } from './llhttp.ts';
import { describeRequest } from './request-head.ts';
import { toRouteRequest } from './route-request.ts';
import { prng } from '../../../test/support/prng.ts'; // seeded, so every run tries the same cases

const BASES = [
  'GET /a?b=1 HTTP/1.1\r\nHost: svc\r\nAccept: */*\r\nX-A: 1\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello',
  'POST /p HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'PUT /x HTTP/1.0\r\nHost: svc\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nab',
];
const INSERTS = ['\r', '\n', '\0', ' ', '\t', ':', ',', '\r\n ', '\r\n', 'Content-Length: 5\r\n', 'Content-Length: 0\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: other\r\n', 'Transfer-Encoding: gzip\r\n', '0', 'x', '\x7f', '\xff'];
const FIELD_LINES = ['Expect: 100-continue', 'Upgrade: websocket', 'TE: trailers', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked', 'Content-Length: 3', 'Content-Length: 0', 'Host: other', 'Host:', 'Connection: close, X-A', 'X-A: 2', 'cookie: c=1'];
const CASES = 240;
const BUDGET_MS = 10_000;

function mutate(base: string, rnd: () => number): string {
  let s = base;
  const ops = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < ops; k++) {
    const lines = s.split('\r\n');
    const i = 1 + Math.floor(rnd() * Math.max(1, lines.length - 2));
    switch (Math.floor(rnd() * 6)) {
      case 5: lines.splice(i, 0, FIELD_LINES[Math.floor(rnd() * FIELD_LINES.length)]!); s = lines.join('\r\n'); break; // add a field line
      case 0: lines.splice(i, 0, lines[i] ?? ''); s = lines.join('\r\n'); break; // duplicate a line
      case 1: if (lines.length > 3) lines.splice(i, 1); s = lines.join('\r\n'); break; // drop a line
      case 2: { // flip the case of one character
        const at = Math.floor(rnd() * s.length);
        const c = s[at]!;
        s = s.slice(0, at) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + s.slice(at + 1);
        break;
      }
      default: { // insert a troublesome piece anywhere
        const at = Math.floor(rnd() * s.length);
        s = s.slice(0, at) + INSERTS[Math.floor(rnd() * INSERTS.length)]! + s.slice(at);
      }
    }
  }
  return s;
}

type FastOutcome = { kind: 'fast'; descriptor: unknown } | { kind: 'fallback' } | { kind: 'refused' } | { kind: 'incomplete' };

/**
 * The fast path's decision on the first head. What happens after it (a bad chunk, garbage after
 * the message) is llhttp's on both paths alike, so only the head-time decision is compared.
 */
function fastPath(raw: string): FastOutcome {
  let out: FastOutcome = { kind: 'incomplete' };
  let decided = false;
  const p = new LlhttpParser('request', {
    onHead(major, minor, fields, method, target, _s, _r, upgrade, keepAlive) {
      const d = describeRequest(major, minor, fields, method, target, upgrade, keepAlive);
      decided = true;
      if (d.kind === 'fallback') out = { kind: 'fallback' };
      else if (d.kind === 'reject') out = { kind: 'refused' };
      else out = { kind: 'fast', descriptor: JSON.parse(JSON.stringify(toRouteRequest(d.head, 'http'))) as unknown };
      return PAUSE;
    },
    onBody() { /* not reached: paused at the head */ },
    onTrailers() { /* not reached */ },
    onComplete() { /* not reached */ },
  });
  const r = p.execute(Buffer.from(raw, 'latin1'));
  p.close();
  if (!decided) return r.kind === 'error' ? { kind: 'refused' } : { kind: 'incomplete' };
  return out;
}

let server: http.Server;
let port = 0;

before(async () => {
  // answers at head time, like the fast path decides: the descriptor, or 400 for what describe() refuses
  server = http.createServer((req, res) => {
    req.on('error', () => { /* a later parse error on this connection: node answers or closes */ });
    let body: string;
    try {
      body = JSON.stringify(describeGeneral(req, 'http'));
    } catch (e) {
      if (!(e instanceof BadRequestError)) throw e;
      res.writeHead(400, { 'content-length': 0, connection: 'close' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

/** The general path's first answer to `raw` (sent, then the client's side closed): status and body, or 0 when it only closed. */
function generalPath(raw: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      const at = got.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, body: at >= 0 ? Buffer.from(got.slice(at + 4), 'latin1').toString('utf8') : '' });
    };
    const timer = setTimeout(finish, 3000);
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('end', finish);
    s.on('error', finish);
    s.end(Buffer.from(raw, 'latin1'));
  });
}

test('fast path and general path agree on seeded mutations of valid requests', async (t) => {
  const rnd = prng(0x16);
  const started = Date.now();
  const tally = { fast: 0, fallback: 0, refused: 0, incomplete: 0 };
  for (let n = 0; n < CASES && Date.now() - started < BUDGET_MS; n++) {
    const raw = mutate(BASES[n % BASES.length]!, rnd);
    const fast = fastPath(raw);
    tally[fast.kind]++;
    if (fast.kind === 'fallback') continue;
    const general = await generalPath(raw);
    const where = `case ${n}: ${JSON.stringify(raw)}`;
    if (fast.kind === 'fast') {
      assert.equal(general.status, 200, `general path refused what the fast path forwards — ${where}`);
      let parsed: unknown;
      try { parsed = JSON.parse(general.body); } catch { assert.fail(`unreadable general answer ${JSON.stringify(general.body)} — ${where}`); }
      assert.deepEqual(fast.descriptor, parsed, where);
    } else if (fast.kind === 'refused') {
      assert.ok(general.status >= 400 && general.status < 500 || general.status === 0, `general path answered ${general.status} to what the fast path refuses — ${where}`);
    } else {
      assert.notEqual(general.status, 200, `general path answered 200 to an incomplete request — ${where}`);
    }
  }
  // the mutations must exercise every outcome, or the comparison says little
  assert.ok(tally.fast > 20 && tally.refused > 20 && tally.fallback > 0, JSON.stringify(tally));
  t.diagnostic(`outcomes: ${JSON.stringify(tally)}`);
});
