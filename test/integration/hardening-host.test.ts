// The authority a request is routed on is the one its upstream receives: absolute-form wins
// over Host (RFC 9112 §3.2.2), h2 `host` must agree with :authority (RFC 9113 §8.3.1), and a
// request with two Host lines is refused (RFC 9112 §3.2).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { rawExchange, rawUpstream, sidecarFor } from './hardening-helpers.ts';

describe('host/authority hardening', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  const hostOf = (head: string): string[] => head.split('\r\n').filter((l) => /^host:/i.test(l)).map((l) => l.slice(5).trim());

  test('absolute-form: the upstream gets the URI authority as Host', async () => {
    up.heads.length = 0;
    const r = await rawExchange(proxy.ports.outbound!, 'GET http://svc.default/x HTTP/1.1\r\nHost: admin.internal\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /^HTTP\/1.1 200/);
    assert.equal(up.heads.length, 1);
    assert.deepEqual(hostOf(up.heads[0]!), ['svc.default']);
  });

  test('two Host lines: 400, nothing forwarded', async () => {
    up.heads.length = 0;
    const r = await rawExchange(proxy.ports.outbound!, 'GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    assert.match(r.text, /^HTTP\/1.1 400/);
    assert.equal(up.heads.length, 0);
  });

  function h2Status(headers: http2.OutgoingHttpHeaders): Promise<number> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
      session.on('error', reject);
      const stream = session.request(headers);
      stream.on('response', (h) => {
        resolve(Number(h[':status']));
        stream.resume();
        stream.on('end', () => session.close());
      });
      stream.on('error', reject);
      stream.setTimeout(3_000, () => reject(new Error('timeout')));
    });
  }

  test('h2: a host header that disagrees with :authority is a 400', async () => {
    up.heads.length = 0;
    assert.equal(await h2Status({ ':path': '/x', ':authority': 'svc.default', host: 'admin.internal' }), 400);
    assert.equal(up.heads.length, 0);
  });

  test('h2: the upstream gets :authority as Host', async () => {
    up.heads.length = 0;
    assert.equal(await h2Status({ ':path': '/x', ':authority': 'svc.default' }), 200);
    assert.deepEqual(hostOf(up.heads[0]!), ['svc.default']);
  });
});
