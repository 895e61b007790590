// Issue 15, rapid reset from many connections: the per-connection cap (hardening-rapid-reset)
// closes an attacking connection after 100 premature resets in a second, but an attacker that
// reconnects gets a fresh allowance each time. Here every attacking connection stays under that
// cap (90 streams, then closed) and a new one follows at once, all from 127.0.0.2: the resets of
// one address are budgeted across its connections, so the backend requests it causes stay
// bounded, its new HTTP/2 connections are refused, and a client on 127.0.0.3 is still served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { H2_MAX_PREMATURE_RESETS_PER_SOURCE_PER_SECOND } from '../../agent/listener/source-budget.ts';
import { cancelFrame, CLIENT_PREFACE, getRequestBlock, headersFrame } from '../support/h2-frames.ts';
import { rawUpstream, sidecarFor } from './hardening-helpers.ts';

const block = getRequestBlock('svc.default');

/**
 * One attacking connection from `localAddress`: 90 HEADERS, their RST_STREAMs 30 ms later, then
 * close. Resolves whether the proxy answered the preface at all (its SETTINGS) before closing.
 */
function oneConnection(port: number, localAddress: string): Promise<{ served: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let served = false;
    s.on('error', () => undefined);
    s.on('data', () => {
      served = true;
    });
    const end = setTimeout(() => s.destroy(), 2_000);
    s.on('close', () => {
      clearTimeout(end);
      resolve({ served });
    });
    s.on('connect', () => {
      const heads: Buffer[] = [];
      const resets: Buffer[] = [];
      for (let i = 0, id = 1; i < 90; i++, id += 2) {
        heads.push(headersFrame(id, block));
        resets.push(cancelFrame(id));
      }
      s.write(Buffer.concat([CLIENT_PREFACE, ...heads]));
      setTimeout(() => {
        if (!s.destroyed) s.write(Buffer.concat(resets));
        setTimeout(() => s.destroy(), 20);
      }, 30);
    });
  });
}

describe('rapid reset from many connections of one address', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: RunningProxy;
  before(async () => {
    // Answers only /good: every stream the attacker resets was still waiting, so each counts.
    up = await rawUpstream((head, sock) => {
      if (head.startsWith('GET /good')) sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    proxy = await sidecarFor(up.port);
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test('40 reconnecting connections of 90 resets each: backend requests bounded, the address refused, others served', async () => {
    const results: { served: boolean }[] = [];
    const t0 = Date.now();
    // Two at a time, each replaced as soon as it closes: 3 600 streams over a few seconds.
    const lanes = [0, 1].map(async () => {
      for (let i = 0; i < 20 && Date.now() - t0 < 8_000; i++) results.push(await oneConnection(proxy.ports.outbound!, '127.0.0.2'));
    });
    await Promise.all(lanes);
    await new Promise((r) => setTimeout(r, 300));
    const budget = H2_MAX_PREMATURE_RESETS_PER_SOURCE_PER_SECOND;
    console.log(`# ${up.heads.length} backend requests from ${results.length} attacking connections (${results.filter((r) => !r.served).length} refused) in ${Date.now() - t0} ms`);
    // The budget, plus what the two connections open when it ran out had started.
    assert.ok(up.heads.length <= budget + 2 * 100, `${up.heads.length} backend requests from ${results.length} attacking connections`);
    assert.ok(results.filter((r) => !r.served).length >= 30, `refused: ${results.filter((r) => !r.served).length} of ${results.length}`);

    // Another address is not affected, and the attacker's is refused at once.
    const good = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`, { localAddress: '127.0.0.3' } as http2.SecureClientSessionOptions);
    good.on('error', () => undefined);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = good.request({ ':path': '/good', ':authority': 'svc.default' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    } finally {
      good.destroy();
    }
    const again = await oneConnection(proxy.ports.outbound!, '127.0.0.2');
    assert.equal(again.served, false, 'the attacking address is still refused');
  });
});
