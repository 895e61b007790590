// 100 MB each way through two agents (client -> sidecar A outbound -> sidecar B inbound -> app)
// with back-pressure end to end: the bytes arrive intact and memory does not grow with the
// body size (a proxy that buffered would hold 100 MB or more).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startEchoServer, type CapturedRequest, type EchoServer } from '../support/echo-server.ts';
import { pump } from '../support/pump.ts';
import { startSidecarChain, type SidecarChain } from '../support/sidecar-chain.ts';

const TOTAL = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

// Live memory (heap + Buffers) after a forced GC, sampled while the transfer runs: garbage from
// per-chunk allocations does not count, anything the proxies hold on to does.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function live(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function peakLiveMemory(): { stop: () => number } {
  const base = live();
  let peak = base;
  const t = setInterval(() => {
    peak = Math.max(peak, live());
  }, 25);
  return {
    stop: () => {
      clearInterval(t);
      return peak - base;
    },
  };
}

describe('streaming through two agents', () => {
  let app: EchoServer;
  let chain: SidecarChain;
  let a: SidecarChain['a'];

  before(async () => {
    app = await startEchoServer({ pod: 'sink', namespace: 'default' });
    chain = await startSidecarChain(app.port);
    a = chain.a;
  });
  after(async () => {
    await chain.close();
    await app.close();
  });

  test('100 MB upload arrives intact without memory growth', async () => {
    const mem = peakLiveMemory();
    const expected = createHash('sha256');
    const result = await new Promise<CapturedRequest>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: a.ports.outbound!, method: 'POST', path: '/upload', headers: { host: 'sink', 'content-length': TOTAL } }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += String(d);
        });
        res.on('end', () => resolve(JSON.parse(body) as CapturedRequest));
      });
      req.on('error', reject);
      pump(req, CHUNK, TOTAL, { onChunk: (c) => void expected.update(c) });
    });
    const growth = mem.stop();
    assert.equal(result.bodyBytes, TOTAL);
    assert.equal(result.bodySha256, expected.digest('hex'));
    assert.ok(growth < 32 * 1024 * 1024, `live memory grew by ${Math.round(growth / 1048576)} MB`);
  });

  test('a slow reader holds the upstream back instead of filling the proxy', async () => {
    const mem = peakLiveMemory();
    const received = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: a.ports.outbound!, path: `/download/${64 * 1024 * 1024}`, headers: { host: 'sink' } }, (res) => {
        let n = 0;
        let paused = false;
        res.on('data', (d: Buffer) => {
          n += d.length;
          if (!paused && n > 1024 * 1024) {
            // Stop reading for a while: with back-pressure the proxies stop reading too.
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), 600);
          }
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      }).on('error', reject);
    });
    const growth = mem.stop();
    assert.equal(received, 64 * 1024 * 1024);
    assert.ok(growth < 32 * 1024 * 1024, `live memory grew by ${Math.round(growth / 1048576)} MB`);
  });

  test('100 MB download arrives intact without memory growth', async () => {
    const mem = peakLiveMemory();
    const received = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: a.ports.outbound!, path: `/download/${TOTAL}`, headers: { host: 'sink' } }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => {
          n += d.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      }).on('error', reject);
    });
    const growth = mem.stop();
    assert.equal(received, TOTAL);
    assert.ok(growth < 32 * 1024 * 1024, `live memory grew by ${Math.round(growth / 1048576)} MB`);
  });
});
