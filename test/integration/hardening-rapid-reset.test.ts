// Issue 15 item 8 (CVE-2023-44487, rapid reset): a client that opens streams and cancels them
// at once makes the proxy start work upstream for each. Streams the client resets before their
// response are capped per connection per second; beyond the cap the connection gets GOAWAY
// (ENHANCE_YOUR_CALM) and is closed, so the backend requests one attacking connection causes
// are bounded. Raw frames: node's own client would not send them this fast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { H2_MAX_PREMATURE_RESETS_PER_SECOND } from '../../agent/listener/proxy-listener.ts';
import { cancelFrame, CLIENT_PREFACE, getRequestBlock, headersFrame } from '../support/h2-frames.ts';
import { rawUpstream, sidecarFor } from './hardening-helpers.ts';

const block = getRequestBlock('svc.default');

/** Sends `pairs` HEADERS+RST_STREAM(CANCEL) pairs in batches; resolves how the connection ended. */
function attack(port: number, pairs: number): Promise<{ goaway: boolean; closed: boolean; sent: number }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let goaway = false;
    let sent = 0;
    let closed = false;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      // A GOAWAY frame header (type 7) anywhere in what the proxy sent.
      for (let i = 0; i + 9 <= d.length; i++) if (d[i + 3] === 7 && d.readUInt32BE(i + 5) === 0 && d.readUIntBE(i, 3) >= 8) goaway = true;
    });
    const end = setTimeout(() => s.destroy(), 5_000);
    s.on('close', () => {
      closed = true;
      clearTimeout(end);
      resolve({ goaway, closed, sent });
    });
    s.write(CLIENT_PREFACE);
    let id = 1;
    const batch = (): void => {
      if (closed || s.destroyed) return;
      const heads: Buffer[] = [];
      const resets: Buffer[] = [];
      for (let i = 0; i < 50 && sent < pairs; i++, sent++, id += 2) {
        heads.push(headersFrame(id, block));
        resets.push(cancelFrame(id));
      }
      // The resets follow their requests a moment later, once the proxy has forwarded them.
      s.write(Buffer.concat(heads));
      setTimeout(() => {
        if (!s.destroyed) s.write(Buffer.concat(resets));
      }, 20);
      if (sent < pairs) setTimeout(batch, 5);
      else setTimeout(() => s.destroy(), 1_000);
    };
    batch();
  });
}

describe('rapid reset', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    up = await rawUpstream((_head, sock) => sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test(`one connection resetting 5000 streams: GOAWAY, closed, backend requests bounded by ${2 * H2_MAX_PREMATURE_RESETS_PER_SECOND}`, async () => {
    const r = await attack(proxy.ports.outbound!, 5_000);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(r.goaway, 'the proxy sent GOAWAY');
    // node's own mitigation (nghttp2's reset rate limit) closes only after ~1 100 streams.
    assert.ok(r.sent <= 800, `the proxy closed the connection only after ${r.sent} streams`);
    assert.ok(up.heads.length <= 2 * H2_MAX_PREMATURE_RESETS_PER_SECOND, `${up.heads.length} backend requests from one attacking connection`);
  });
});
