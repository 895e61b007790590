// Upgrade smuggling: only WebSocket handshakes are tunnelled, and only after the upstream said
// 101. Anything else must leave the client connection under the proxy's routing, so a request
// pipelined after the handshake never reaches the upstream (it would bypass routing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningProxy } from '../../agent/sidecar.ts';
import * as T from '../support/routing-tables.ts';
import { rawExchange, rawUpstream, sidecarFor } from './hardening-helpers.ts';

describe('upgrade hardening', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    // Answers every request with a keep-alive 200, as servers that ignore Upgrade do, except
    // /ws-101 which switches protocols and then echoes raw bytes.
    up = await rawUpstream((head, s) => {
      const line = head.split('\r\n')[0]!;
      if (line.startsWith('GET /api/ws-101 ')) {
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
        s.removeAllListeners('data');
        s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
        return;
      }
      if (line.startsWith('GET /api/slow ')) return;
      const body = `served ${line}`;
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
    proxy = await sidecarFor(up.port, (be) => [T.rule({ path: { type: 'PathPrefix', value: '/api' }, backends: [{ backend: be }] })]);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  const smuggled = 'DELETE /admin/secret HTTP/1.1\r\nHost: x\r\n\r\n';

  test('a non-websocket Upgrade is a plain request: answered, closed, never spliced', async () => {
    up.heads.length = 0;
    const r = await rawExchange(proxy.ports.outbound!, `GET /api HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: anything\r\n\r\n${smuggled}`, 800);
    assert.match(r.text, /^HTTP\/1.1 200 OK\r\n/);
    assert.match(r.text, /served GET \/api HTTP\/1.1/);
    assert.ok(r.closed, 'closed after the answer: node stops parsing after a declined Upgrade');
    assert.deepEqual(up.heads.map((h) => h.split('\r\n')[0]), ['GET /api HTTP/1.1']);
    assert.doesNotMatch(up.heads[0]!, /upgrade/i, 'Upgrade/Connection stripped');
  });

  test('a websocket handshake the upstream refuses (200) is relayed, then the connection closes', async () => {
    up.heads.length = 0;
    const r = await rawExchange(proxy.ports.outbound!, `GET /api HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${smuggled}`, 2_000);
    assert.match(r.text, /^HTTP\/1.1 200 OK\r\n/);
    assert.match(r.text, /served GET \/api HTTP\/1.1/);
    assert.ok(r.closed, 'the proxy closes the client connection after a refused handshake');
    assert.deepEqual(up.heads.map((h) => h.split('\r\n')[0]), ['GET /api HTTP/1.1'], 'nothing after the handshake reached the upstream');
  });

  test('a 101 splices the sockets and early client bytes follow the handshake', async () => {
    const r = await rawExchange(proxy.ports.outbound!, 'GET /api/ws-101 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nhello', 800);
    assert.match(r.text, /^HTTP\/1.1 101 Switching Protocols\r\n/);
    assert.match(r.text, /\r\n\r\necho:hello$/);
  });

  test('framing headers (content-length, transfer-encoding) never reach the upstream on a handshake', async () => {
    up.heads.length = 0;
    await rawExchange(proxy.ports.outbound!, 'GET /api HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n', 800);
    assert.equal(up.heads.length, 1);
    assert.doesNotMatch(up.heads[0]!, /content-length|transfer-encoding/i);
  });
});
