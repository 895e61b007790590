// The fast path announces how long it keeps an idle client connection, as node:http does on
// the general path (`Connection: keep-alive`, `Keep-Alive: timeout=<s>`), and a meshlet client
// pool reads it: a client sidecar keeps its pooled connection to a server sidecar's inbound for
// the inbound's 300 s (less undici's 1 s margin), not its own 4 s default for plaintext hops
// (issue 16). Two fast-path proxies on loopback, chained: "front" (its pool's own keep-alive time
// cut to 150 ms) forwards to "back" (a fast-path inbound listener), which forwards to an app.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { once } from 'node:events';
import { ProxyCore } from '../../agent/engine/core.ts';
import type { ProxyListener } from '../../agent/listener/proxy-listener.ts';
import { closeFastPathListener, connectLoopback as connect, fastPathListener, type FastCtx as Ctx } from '../support/fast-path-listener.ts';
import { exchangeRaw } from '../support/raw-answer.ts';

const quiet = (): void => undefined;

/** A fast-path listener whose requests all go to 127.0.0.1:`port`; `accepted` counts its connections. */
function fastListener(core: ProxyCore, port: () => number, accepted: { n: number }, keepAliveTimeoutMs?: number): Promise<ProxyListener<Ctx>> {
  return fastPathListener(core, port, { ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }), onConnection: () => { accepted.n++; } });
}

/** The head of an answer, field names lower-cased, for exact field checks. */
function fieldsOf(text: string): string[] {
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1).map((l) => l.replace(/^[^:]+/, (n) => n.toLowerCase()));
}

describe('the fast path announces its keep-alive time and a meshlet pool honours it', () => {
  let app: http.Server;
  let appPort = 0;
  let back: ProxyListener<Ctx>;
  let front: ProxyListener<Ctx>;
  let short: ProxyListener<Ctx>;
  const backAccepted = { n: 0 };
  const frontAccepted = { n: 0 };
  const shortAccepted = { n: 0 };

  before(async () => {
    app = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    appPort = (app.address() as net.AddressInfo).port;
    back = await fastListener(new ProxyCore({ log: quiet }), () => appPort, backAccepted);
    // the front's pool would retire an idle connection after 150 ms without a hint
    front = await fastListener(new ProxyCore({ log: quiet, pool: { keepAliveMs: 150 } }), () => back.port, frontAccepted);
    short = await fastListener(new ProxyCore({ log: quiet }), () => appPort, shortAccepted, 2_500);
  });
  after(async () => {
    for (const l of [front, back, short]) await closeFastPathListener(l);
    app.close();
  });

  test('a kept-alive answer carries connection: keep-alive and keep-alive: timeout=300 (the listener default); a closing one neither', async () => {
    const s = await connect(back.port);
    try {
      const kept = await exchangeRaw(s, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(kept, /^HTTP\/1\.1 200 OK\r\n/);
      const f = fieldsOf(kept);
      assert.ok(f.includes('connection: keep-alive'), kept);
      assert.ok(f.includes('keep-alive: timeout=300'), kept);
      const closing = await exchangeRaw(s, 'GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      assert.ok(fieldsOf(closing).includes('connection: close'), closing);
      assert.doesNotMatch(closing, /keep-alive/i);
    } finally { s.destroy(); }
  });

  test('an HTTP/1.0 client asking to keep the connection is told the same; the time follows the listener', async () => {
    const s = await connect(short.port);
    try {
      const text = await exchangeRaw(s, 'GET /a HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
      const f = fieldsOf(text);
      assert.ok(f.includes('connection: keep-alive') && f.includes('keep-alive: timeout=2'), text);
    } finally { s.destroy(); }
  });

  test("the proxy's own answers (a 503: the app is gone) announce it too", async () => {
    const port = appPort;
    appPort = 1; // nothing listens there
    const s = await connect(back.port);
    try {
      const text = await exchangeRaw(s, 'GET /gone HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.match(text, /^HTTP\/1\.1 503 /);
      assert.ok(fieldsOf(text).includes('keep-alive: timeout=300'), text);
    } finally {
      s.destroy();
      appPort = port;
    }
  });

  test('front → back: an idle pooled connection outlives the pool’s own 150 ms because back announced 300 s', async () => {
    const s = await connect(front.port);
    try {
      const before = backAccepted.n;
      assert.match(await exchangeRaw(s, 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 200 OK/);
      await new Promise((r) => setTimeout(r, 600));
      assert.match(await exchangeRaw(s, 'GET /2 HTTP/1.1\r\nHost: a\r\n\r\n'), /^HTTP\/1\.1 200 OK/);
      assert.equal(backAccepted.n - before, 1, 'both requests crossed one kept connection');
    } finally { s.destroy(); }
  });
});
