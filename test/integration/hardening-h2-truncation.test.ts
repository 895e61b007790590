// An upstream that resets mid-body: an h2 client must see the stream fail (RST_STREAM with
// INTERNAL_ERROR), not a clean end that would pass a truncated body off as complete.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { rawUpstream, sidecarFor } from './hardening-helpers.ts';

describe('h2 truncation hardening', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    up = await rawUpstream((_head, s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
      setTimeout(() => s.destroy(), 50);
    });
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test('the h2 stream is reset with INTERNAL_ERROR when the upstream body is cut', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    session.on('error', () => undefined);
    const result = await new Promise<{ bytes: number; rstCode: number | undefined; ended: boolean }>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':authority': 'svc.default' });
      let bytes = 0;
      stream.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      stream.on('error', () => undefined);
      stream.on('close', () => resolve({ bytes, rstCode: stream.rstCode, ended: stream.readableEnded }));
      setTimeout(() => reject(new Error('stream never closed')), 3_000).unref();
    });
    session.close();
    assert.equal(result.bytes, 10);
    assert.equal(result.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    assert.equal(result.ended, false);
  });
});
