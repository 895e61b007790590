// Downstream keep-alive outlives the old 5 s: a client that reuses a pooled socket after a few
// idle seconds (Go keeps them 90 s) must find it open, not a reset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { rawUpstream, sidecarFor } from './hardening-helpers.ts';

function nextResponse(s: net.Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (buf.endsWith('\r\n\r\nok')) done(null);
    };
    const done = (err: Error | null): void => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(buf);
    };
    const onClose = (): void => done(new Error(`socket closed (got ${JSON.stringify(buf)})`));
    const t = setTimeout(() => done(new Error('no response')), timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
  });
}

describe('downstream keep-alive hardening', () => {
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

  test('an idle client connection is still usable after 6 s', async () => {
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    s.on('error', () => undefined);
    try {
      s.write('GET / HTTP/1.1\r\nHost: svc.default\r\n\r\n');
      assert.match(await nextResponse(s, 3_000), /^HTTP\/1.1 200/);
      await new Promise((r) => setTimeout(r, 6_000));
      assert.ok(!s.destroyed, 'the proxy kept the idle connection');
      s.write('GET / HTTP/1.1\r\nHost: svc.default\r\n\r\n');
      assert.match(await nextResponse(s, 3_000), /^HTTP\/1.1 200/);
    } finally {
      s.destroy();
    }
  });
});
