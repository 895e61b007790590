// Memory at scale: one agent with 10 and with 10 000 routes on the Service it serves; RSS when
// idle (ready, no traffic yet) and after a soak at 1000 rps. The targets: idle ≤ 60 MB,
// and the 10 000-route figure ≤ 1.3× the 10-route one — a sidecar's memory should track what
// its pod uses, not the size of the mesh.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './configs.ts';
import { buildRequest } from './http1-conn.ts';
import { SERVICE_HOST, startScaledAgent } from './meshlet.ts';
import { runOpenLoop, type Percentiles } from './open-loop.ts';
import { processTree, rssOf } from './proc-stats.ts';
import { privateMemoryOf, type PrivateMemory } from './smaps.ts';
import { sleep, startPinned } from './procs.ts';
import { pathFor } from './servers.ts';
import { STARTUP_RECLAIM_MS } from '../../agent/lifecycle/startup-reclaim.ts';

/** How long after ready the settled reading waits: the start-up collection plus a margin for its pages to go. */
const SETTLE_MS = STARTUP_RECLAIM_MS + 5_000;

export interface ScaleResult {
  routes: number;
  available: boolean;
  reason?: string;
  readyMs?: number;
  rssIdleMB?: number;
  /**
   * RSS once settled: idle past the agent's one start-up collection (STARTUP_RECLAIM_MS after the
   * start) and file mode's worker let-go, i.e. what a long-lived idle pod shows. Absent in results
   * from before it was measured.
   */
  rssSettledMB?: number;
  /**
   * Beside each RSS reading, what of it is the process's own (smaps_rollup, smaps.ts): PSS (shared
   * pages such as the node binary's divided among the processes mapping them) and Private_Dirty
   * (what one more agent adds to a node). Reported, not judged: the target is on RSS. Absent in
   * results from before they were read.
   */
  pssIdleMB?: number;
  privateDirtyIdleMB?: number;
  pssSettledMB?: number;
  privateDirtySettledMB?: number;
  rssLoadedMB?: number;
  soakS?: number;
  latencyUs?: Percentiles;
  errors?: number;
}

const MB = 1024 * 1024;

/**
 * RSS of an idle bare Node process (same binary, nothing loaded): the floor under any agent.
 * With `typescript`, the idle script is a .ts file, so Node loads its type stripper too — the
 * price of running the sources without a build step.
 */
export async function bareNodeRssMB(cpus: string, dir: string, typescript = false): Promise<number> {
  const file = join(dir, typescript ? 'idle.ts' : 'idle.mjs');
  writeFileSync(file, typescript ? 'const keep: number = 1000;\nsetInterval(() => {}, keep);\nexport {};\n' : 'setInterval(() => {}, 1000);\n');
  const p = startPinned('bare node', cpus, process.execPath, [file]);
  await sleep(1000);
  const mb = rssOf([p.pid]) / MB;
  await p.stop();
  return mb;
}

const own = (m: PrivateMemory | null): string => (m ? ` (PSS ${m.pssMB.toFixed(1)}, private dirty ${m.privateDirtyMB.toFixed(1)})` : '');

export async function measureScale(ctx: BenchContext, routes: number[], soakS: number, log: (s: string) => void): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  for (const n of routes) {
    log(`memory at scale: agent with ${n} routes`);
    const s = await startScaledAgent(ctx, join(ctx.dir, `scale-${n}`), n);
    if (!s.ok) {
      log(`    not available: ${s.reason}`);
      out.push({ routes: n, available: false, reason: s.reason });
      continue;
    }
    try {
      await sleep(1000);
      const pids = s.live.procs.flatMap((p) => processTree(p.pid));
      const rssIdleMB = rssOf(pids) / MB;
      const idle = privateMemoryOf(pids);
      await sleep(SETTLE_MS - 1000);
      const rssSettledMB = rssOf(pids) / MB;
      const settled = privateMemoryOf(pids);
      const load = await runOpenLoop({
        host: '127.0.0.1', port: s.live.port, request: buildRequest(SERVICE_HOST, pathFor(12), 12),
        rate: 1000, durationMs: soakS * 1000, warmupMs: 0, maxConnections: 64,
      });
      const rssLoadedMB = rssOf(pids) / MB;
      log(`    ready in ${s.readyMs} ms; RSS idle ${rssIdleMB.toFixed(1)} MB${own(idle)}, settled ${rssSettledMB.toFixed(1)} MB${own(settled)}, after ${soakS} s at 1000 rps ${rssLoadedMB.toFixed(1)} MB; p50 ${load.latencyUs.p50} µs, errors ${load.errors}`);
      out.push({
        routes: n, available: true, readyMs: s.readyMs, rssIdleMB, rssSettledMB, rssLoadedMB, soakS, latencyUs: load.latencyUs, errors: load.errors,
        ...(idle ? { pssIdleMB: idle.pssMB, privateDirtyIdleMB: idle.privateDirtyMB } : {}),
        ...(settled ? { pssSettledMB: settled.pssMB, privateDirtySettledMB: settled.privateDirtyMB } : {}),
      });
    } finally {
      await s.live.stop();
    }
  }
  return out;
}
