// Config propagation in file mode: an agent serves N routes under steady open-loop load; the
// catch-all route's URLRewrite is flipped between /echo/12 and /echo/1024 by rewriting the
// manifest (write + rename), and the time from the rename to the first response with the new
// body size is one propagation sample. Every non-2xx or failed request during the whole window
// counts as a failure: a change must not drop traffic. Issue target: p99 ≤ 100 ms at 1 000
// routes, zero failed requests. After the changes, one more after IDLE_PAUSE_S without any (the
// load goes on): what a user editing the file by hand meets, since the translation worker has by
// then been idle past its 10 s (file-table-source.ts); reported as its own row.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './configs.ts';
import { buildRequest } from './http1-conn.ts';
import { SERVICE_HOST, startScaledAgent } from './meshlet.ts';
import { runOpenLoop } from './open-loop.ts';
import { scaleObjects } from './route-scale.ts';
import { sleep } from './procs.ts';
import { spread, type Spread } from './stats.ts';

export interface PropagationResult {
  routes: number;
  available: boolean;
  reason?: string;
  changes: number;
  /**
   * ms from the file rename to the first response reflecting it; NaN when never seen. Until
   * 2026-12-07 08:30 the clock started before the bench generated and wrote the 0.5 MB manifest
   * (8-30 ms at 1 000 routes on the loaded machine, `writeMs`), which the samples then included.
   */
  samplesMs: number[];
  /** ms the bench took to generate and write each change's manifest before its rename (not in the samples). */
  writeMs?: number[];
  /** The same for one change after IDLE_PAUSE_S without changes (NaN: never seen). */
  afterIdleMs?: number;
  /**
   * CPU of the agent's translation worker (its threads named WorkerThread) per change, ms: from
   * before the write to 300 ms after the change was seen (the worker is idle otherwise). Empty
   * where the directory is translated on the serving thread (no worker: small tables).
   */
  workerCpuMs?: number[];
  idlePauseS?: number;
  ms: Spread;
  failed: number;
  requests: number;
  rate: number;
}

const SIZES = [12, 1024] as const;
/** Longer than the translation worker's idle period (10 s). */
export const IDLE_PAUSE_S = 15;

/** CPU time (ms) of the threads of `pid` named `name`, from their schedstat; 0 when there are none. */
function threadsCpuMs(pid: number, name: string): number {
  let ns = 0;
  let tasks: string[];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const t of tasks) {
    try {
      if (readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() !== name) continue;
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* the thread is gone */ }
  }
  return ns / 1e6;
}

export async function measurePropagation(ctx: BenchContext, routes: number[], changes: number, log: (s: string) => void): Promise<PropagationResult[]> {
  const out: PropagationResult[] = [];
  const rate = 500;
  for (const n of routes) {
    log(`config propagation: agent with ${n} routes, ${changes} changes under ${rate} rps`);
    const dir = join(ctx.dir, `propagation-${n}`);
    const s = await startScaledAgent(ctx, dir, n, SIZES[0]);
    const base = { routes: n, changes, samplesMs: [], ms: spread([]), failed: 0, requests: 0, rate };
    if (!s.ok) {
      log(`    not available: ${s.reason}`);
      out.push({ ...base, available: false, reason: s.reason });
      continue;
    }
    try {
      let expected: number = SIZES[0];
      let changedAt = 0n;
      let seen: (() => void) | null = null;
      let done = false;
      let failed = 0;
      const load = runOpenLoop({
        host: '127.0.0.1', port: s.live.port, request: buildRequest(SERVICE_HOST, '/any', 0),
        rate, durationMs: 600_000, warmupMs: 0, maxConnections: 64, spin: 'near-send',
        shouldStop: () => done,
        onResponse: (status, bodyBytes, at) => {
          if (status < 200 || status >= 400) failed++;
          if (seen !== null && bodyBytes === expected && at > changedAt) { const f = seen; seen = null; f(); }
        },
      });
      const agentPid = s.live.procs[0]?.pid;
      const workerCpuMs: number[] = [];
      const writeMs: number[] = [];
      const change = async (i: number): Promise<number> => {
        const next = SIZES[i % 2]!;
        const cpuBefore = agentPid === undefined ? 0 : threadsCpuMs(agentPid, 'WorkerThread');
        const reflected = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => { seen = null; resolve(false); }, 15_000);
          seen = () => { clearTimeout(timer); resolve(true); };
        });
        // Written under another name first (what editors and tools do), timed from the rename:
        // generating 1 000 routes' JSON and writing it is the bench's own work, not propagation.
        const tmp = join(dir, '.routes.yaml.tmp');
        const writeStart = process.hrtime.bigint();
        writeFileSync(tmp, scaleObjects(n, ctx.upstreamPort, next).map((o) => JSON.stringify(o)).join('\n---\n') + '\n');
        expected = next;
        changedAt = process.hrtime.bigint();
        writeMs.push(Number(changedAt - writeStart) / 1e6);
        renameSync(tmp, join(dir, 'routes.yaml'));
        const ok = await reflected;
        const ms = ok ? Number(process.hrtime.bigint() - changedAt) / 1e6 : NaN;
        await sleep(300);
        if (agentPid !== undefined) workerCpuMs.push(threadsCpuMs(agentPid, 'WorkerThread') - cpuBefore);
        return ms;
      };
      const samples: number[] = [];
      await sleep(500);
      for (let i = 1; i <= changes; i++) {
        samples.push(await change(i));
        await sleep(100);
      }
      await sleep(IDLE_PAUSE_S * 1000);
      const afterIdleMs = await change(changes + 1);
      done = true;
      const res = await load;
      const r = { ...base, available: true, samplesMs: samples, ms: spread(samples), afterIdleMs, idlePauseS: IDLE_PAUSE_S, workerCpuMs, writeMs, failed: Math.max(failed, res.errors), requests: res.requests };
      log(`    ${samples.map((x) => x.toFixed(0)).join(', ')} ms; after ${IDLE_PAUSE_S} s without changes ${afterIdleMs.toFixed(0)} ms; failed requests ${r.failed} of ${r.requests}; translation worker CPU per change ${workerCpuMs.map((x) => x.toFixed(1)).join(', ')} ms; the bench's write before each rename ${writeMs.map((x) => x.toFixed(0)).join(', ')} ms (not counted)`);
      out.push(r);
    } finally {
      await s.live.stop();
    }
  }
  return out;
}
