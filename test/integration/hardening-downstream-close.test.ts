// Issue 15 items 1 and 2: a client that closes its side (FIN, no RST/GOAWAY) with requests open
// has every one of them cancelled upstream at once, the in-flight count returns to zero and a
// drain does not wait its deadline; and nothing pipelined behind a request the proxy answered
// with `Connection: close` is ever forwarded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { rawExchange, rawUpstream, sidecarFor } from './hardening-helpers.ts';

/** An upstream that reads request heads and never answers; counts heads and closed sockets. */
const silentUpstream = () => rawUpstream(() => undefined);

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** An h2c session whose TCP socket the test holds, to half-close it (FIN) behind the session's back. */
function h2cHoldingSocket(port: number): { session: http2.ClientHttp2Session; socket: () => net.Socket } {
  let sock: net.Socket | null = null;
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => {
      sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      return sock;
    },
  });
  session.on('error', () => undefined);
  return { session, socket: () => sock! };
}

describe('downstream close cancels upstream work', () => {
  let up: Awaited<ReturnType<typeof silentUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    up = await silentUpstream();
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test('h2: FIN with 20 streams open aborts all 20 upstream requests at once; in-flight 0; drain immediate', async () => {
    const n = 20;
    const before = up.heads.length;
    const { session, socket } = h2cHoldingSocket(proxy.ports.outbound!);
    for (let i = 0; i < n; i++) session.request({ ':path': `/s${i}`, ':authority': 'svc.default' }).on('error', () => undefined);
    assert.ok(await until(() => up.heads.length - before >= n, 5_000), `upstream saw ${up.heads.length - before} of ${n} requests`);
    assert.equal(proxy.core.inflight.count, n);
    const closedBefore = up.closed();
    // Half-close: FIN from the client, no RST_STREAM, no GOAWAY.
    socket().end();
    assert.ok(await until(() => up.closed() - closedBefore >= n, 2_000), `only ${up.closed() - closedBefore} of ${n} upstream requests aborted within 2 s`);
    assert.ok(await until(() => proxy.core.inflight.count === 0, 1_000), `in-flight still ${proxy.core.inflight.count}`);
    session.destroy();
  });

  test('h1: FIN with a request open aborts the upstream request', async () => {
    const before = up.heads.length;
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    s.on('error', () => undefined);
    s.write('GET /h1 HTTP/1.1\r\nHost: svc.default\r\n\r\n');
    assert.ok(await until(() => up.heads.length > before, 5_000), 'upstream saw the request');
    const closedBefore = up.closed();
    s.end();
    assert.ok(await until(() => up.closed() > closedBefore, 2_000), 'upstream request aborted within 2 s');
    assert.ok(await until(() => proxy.core.inflight.count === 0, 1_000), `in-flight still ${proxy.core.inflight.count}`);
    s.destroy();
  });

  test('pipelined behind a 400 (duplicated Host): the DELETE never reaches the backend', async () => {
    const before = up.heads.length;
    const r = await rawExchange(proxy.ports.outbound!, 'GET /bad HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nDELETE /x HTTP/1.1\r\nHost: svc.default\r\nContent-Length: 0\r\n\r\n', 1_000);
    assert.match(r.text, /^HTTP\/1.1 400/);
    assert.doesNotMatch(r.text, /HTTP\/1.1 [^4]/, 'only the 400 is answered');
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(up.heads.slice(before).filter((h) => h.startsWith('DELETE')), []);
  });

  test('a request sent after the 400 but before the close reached the client is not forwarded either', async () => {
    const before = up.heads.length;
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    s.on('error', () => undefined);
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.write('GET /bad HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    await until(() => text.length > 0, 2_000);
    s.write('DELETE /y HTTP/1.1\r\nHost: svc.default\r\nContent-Length: 0\r\n\r\n');
    await new Promise((res) => setTimeout(res, 300));
    s.destroy();
    assert.match(text, /^HTTP\/1.1 400/);
    assert.deepEqual(up.heads.slice(before).filter((h) => h.startsWith('DELETE')), []);
  });

  test('a drain after a client went away with streams open does not wait its deadline', async () => {
    const { session, socket } = h2cHoldingSocket(proxy.ports.outbound!);
    const before = up.heads.length;
    for (let i = 0; i < 5; i++) session.request({ ':path': `/d${i}`, ':authority': 'svc.default' }).on('error', () => undefined);
    assert.ok(await until(() => up.heads.length - before >= 5, 5_000));
    socket().end();
    await until(() => proxy.core.inflight.count === 0, 1_000);
    const t0 = Date.now();
    const clean = await proxy.drain(10_000);
    assert.equal(clean, true);
    assert.ok(Date.now() - t0 < 2_000, `drain took ${Date.now() - t0} ms`);
    session.destroy();
  });
});
