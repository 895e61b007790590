// 100 MB streamed through two hops, each way: meshlet's sidecar pair against two chained
// nginx, with direct as the floor. Throughput is bytes / wall time at the client; memory is the
// proxies' RSS sampled every 50 ms, reported as the peak growth over the RSS before the
// transfer. Issue target: RSS flat (here: growth under 16 MB, a sixth of what passed through)
// and throughput ≥ 0.5× nginx's.
import http from 'node:http';
import type { BenchConfig, BenchContext, Live, StartOutcome } from './configs.ts';
import { SERVICE_HOST } from './meshlet.ts';
import { freePort, waitReady } from './net-util.ts';
import { processTree, rssOf } from './proc-stats.ts';
import { STREAM_BYTES, STREAM_PATH, UPLOAD_PATH, startNginxProxy } from './servers.ts';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

export interface StreamRun { direction: 'download' | 'upload'; ok: boolean; bytes: number; seconds: number; mbPerS: number; rssBeforeMB: number; rssPeakMB: number; growthMB: number }
export interface StreamResult { config: string; label: string; hops: number; available: boolean; reason?: string; runs: StreamRun[] }

const MB = 1024 * 1024;
export const FLAT_MB = 16;

/** Two nginx proxies in a chain: the reference for two hops. */
export const NGINX_TWO_HOPS: BenchConfig = {
  id: 'nginx-2hops', label: 'nginx → nginx, 2 hops', kind: 'reference', hops: 2,
  async start(ctx: BenchContext): Promise<StartOutcome> {
    const dir = join(ctx.dir, 'nginx-2hops');
    mkdirSync(dir, { recursive: true });
    const second = await freePort();
    const first = await freePort();
    const b = startNginxProxy(dir, second, ctx.upstreamPort, ctx.proxyCpus, 'nginx-hop2');
    const a = startNginxProxy(dir, first, second, ctx.proxyCpus, 'nginx-hop1');
    const r = await waitReady(first, ctx.probe, 10_000, () => a.exited() || b.exited());
    const stop = async (): Promise<void> => { await Promise.all([a.stop(), b.stop()]); };
    if (!r.ok) { await stop(); return { ok: false, reason: `nginx chain did not answer: ${a.tail()} ${b.tail()}` }; }
    return { ok: true, live: { port: first, procs: [a, b], stop } };
  },
};

function transfer(port: number, direction: 'download' | 'upload'): Promise<{ ok: boolean; bytes: number }> {
  // keep-alive, so the client does not close the connection when an early answer (the upstream
  // answers an upload before reading it) ends the response while the body is still going out
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<{ ok: boolean; bytes: number }>((resolveOnce) => {
    let settled = false;
    const resolve = (r: { ok: boolean; bytes: number }): void => { if (!settled) { settled = true; clearTimeout(guard); resolveOnce(r); } };
    const guard = setTimeout(() => { req.destroy(); resolve({ ok: false, bytes: 0 }); }, 60_000);
    const req = http.request({
      host: '127.0.0.1', port, agent,
      method: direction === 'download' ? 'GET' : 'PUT',
      path: direction === 'download' ? STREAM_PATH : UPLOAD_PATH,
      headers: { host: SERVICE_HOST, ...(direction === 'upload' ? { 'content-length': String(STREAM_BYTES), 'content-type': 'application/octet-stream' } : {}) },
    }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const result = { ok: direction === 'upload' ? status >= 200 && status < 300 : status === 200 && bytes === STREAM_BYTES, bytes: direction === 'upload' ? STREAM_BYTES : bytes };
        // an upload is done when all of it has been written and the answer is in (a server may answer early)
        if (direction === 'upload' && !req.writableFinished) req.once('finish', () => resolve(result));
        else resolve(result);
      });
      res.on('error', () => resolve({ ok: false, bytes }));
    });
    req.on('error', () => resolve({ ok: false, bytes: 0 }));
    if (direction === 'download') { req.end(); return; }
    const chunk = Buffer.alloc(1024 * 1024, 'y');
    let sent = 0;
    const pump = (): void => {
      while (sent < STREAM_BYTES) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  }).finally(() => agent.destroy());
}

async function runOne(live: Live, direction: 'download' | 'upload'): Promise<StreamRun> {
  const pids = live.procs.flatMap((p) => processTree(p.pid));
  const rssBefore = pids.length > 0 ? rssOf(pids) : 0;
  let peak = rssBefore;
  const sampler = setInterval(() => { if (pids.length > 0) peak = Math.max(peak, rssOf(pids)); }, 50);
  const t0 = process.hrtime.bigint();
  const r = await transfer(live.port, direction);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(sampler);
  if (pids.length > 0) peak = Math.max(peak, rssOf(pids));
  return { direction, ok: r.ok, bytes: r.bytes, seconds, mbPerS: r.bytes / MB / seconds, rssBeforeMB: rssBefore / MB, rssPeakMB: peak / MB, growthMB: (peak - rssBefore) / MB };
}

export async function measureStreaming(ctx: BenchContext, configs: BenchConfig[], log: (s: string) => void): Promise<StreamResult[]> {
  const out: StreamResult[] = [];
  for (const cfg of configs) {
    log(`streaming 100 MB each way: ${cfg.label}`);
    const s = await cfg.start(ctx);
    if (!s.ok) {
      log(`    not available: ${s.reason}`);
      out.push({ config: cfg.id, label: cfg.label, hops: cfg.hops, available: false, reason: s.reason, runs: [] });
      continue;
    }
    try {
      const runs = [await runOne(s.live, 'download'), await runOne(s.live, 'upload')];
      for (const r of runs) log(`    ${r.direction}: ${r.ok ? 'ok' : 'FAILED'}, ${r.mbPerS.toFixed(0)} MB/s, RSS ${r.rssBeforeMB.toFixed(0)} → peak ${r.rssPeakMB.toFixed(0)} MB`);
      out.push({ config: cfg.id, label: cfg.label, hops: cfg.hops, available: true, runs });
    } finally {
      await s.live.stop();
    }
  }
  return out;
}
