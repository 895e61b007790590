// Issue 15 item 3, fairness: 256 clients uploading a byte now and then, or one HTTP/2
// connection asking for 1 000 streams at once, must not take the backend away from a
// well-behaved client. Each slow upload holds an upstream connection (the body streams), so the
// per-endpoint pool must be larger than what such clients can hold, and one h2 connection may
// only have as many streams open as the proxy advertises (SETTINGS_MAX_CONCURRENT_STREAMS).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { H2_MAX_CONCURRENT_STREAMS } from '../../agent/listener/proxy-listener.ts';
import { rawExchange, rawUpstream, sidecarFor } from './hardening-helpers.ts';

const GOOD = 'GET /good HTTP/1.1\r\nHost: svc.default\r\nConnection: close\r\n\r\n';

describe('one kind of client cannot hold the pool', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    // Answers /good at once; anything else (uploads, the h2 flood) never gets an answer.
    up = await rawUpstream((head, s) => {
      if (head.startsWith('GET /good')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test('256 slow uploaders: a well-behaved client still gets its answer', async () => {
    const uploaders: net.Socket[] = [];
    try {
      for (let i = 0; i < 256; i++) {
        const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
        s.on('error', () => undefined);
        s.write('POST /upload HTTP/1.1\r\nHost: svc.default\r\nContent-Length: 1000000\r\n\r\nx');
        uploaders.push(s);
      }
      const deadline = Date.now() + 10_000;
      while (up.heads.filter((h) => h.startsWith('POST')).length < 256 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(up.heads.filter((h) => h.startsWith('POST')).length, 256, 'every upload holds an upstream connection');
      const r = await rawExchange(proxy.ports.outbound!, GOOD, 3_000);
      assert.match(r.text, /^HTTP\/1.1 200/);
    } finally {
      for (const s of uploaders) s.destroy();
    }
  });

  test('one h2 connection asking for 1 000 streams: capped, and a well-behaved client still gets its answer', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    session.on('error', () => undefined);
    await new Promise((r) => session.once('remoteSettings', r));
    assert.equal(session.remoteSettings.maxConcurrentStreams, H2_MAX_CONCURRENT_STREAMS);
    const before = up.heads.length;
    for (let i = 0; i < 1_000; i++) session.request({ ':path': `/flood${i}`, ':authority': 'svc.default' }).on('error', () => undefined);
    const deadline = Date.now() + 5_000;
    while (up.heads.length - before < H2_MAX_CONCURRENT_STREAMS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(up.heads.length - before <= H2_MAX_CONCURRENT_STREAMS, `${up.heads.length - before} flood requests upstream`);
    const r = await rawExchange(proxy.ports.outbound!, GOOD, 3_000);
    assert.match(r.text, /^HTTP\/1.1 200/);
    session.destroy();
  });
});
