// Where meshlet's time goes: each meshlet configuration is started once more under
// `node --cpu-prof`, given open-loop load (1000 rps, 12 B — the common case), stopped, and its
// profiles summarized. This is the evidence behind "what limits it" in docs/benchmarks.md; the
// .cpuprofile files are kept in bench/results/profiles/ (not committed) for Chrome DevTools.
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchConfig, BenchContext } from './configs.ts';
import { buildRequest } from './http1-conn.ts';
import { SERVICE_HOST } from './meshlet.ts';
import { runOpenLoop } from './open-loop.ts';
import { profilesIn, summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { pathFor } from './servers.ts';

export interface ConfigProfile { config: string; rate: number; seconds: number; processes: Array<{ process: string } & ProfileSummary> }

export async function profileMeshlet(ctx: BenchContext, configs: BenchConfig[], seconds: number, keepDir: string, tag: string, log: (s: string) => void): Promise<ConfigProfile[]> {
  const out: ConfigProfile[] = [];
  for (const cfg of configs) {
    const dir = join(ctx.dir, `prof-${cfg.id}`);
    mkdirSync(dir, { recursive: true });
    const s = await cfg.start({ ...ctx, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    if (!s.ok) continue;
    const names = new Map(s.live.procs.map((p) => [p.pid, p.name]));
    await runOpenLoop({ host: '127.0.0.1', port: s.live.port, request: buildRequest(SERVICE_HOST, pathFor(12), 12), rate: 1000, durationMs: seconds * 1000, warmupMs: 500, maxConnections: 64 });
    await s.live.stop();
    const processes = profilesIn(dir).map((f) => {
      const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]);
      mkdirSync(keepDir, { recursive: true });
      const kept = join(keepDir, `${tag}-${cfg.id}-${basename(f)}`);
      copyFileSync(f, kept);
      return { process: names.get(pid) ?? `pid ${pid}`, ...summarizeProfile(f), file: kept };
    });
    for (const p of processes) {
      log(`  ${p.process}: busy ${p.busyPct}%; ${Object.entries(p.byOrigin).slice(0, 4).map(([k, v]) => `${k} ${v}%`).join(', ')}; top: ${p.top.slice(0, 3).map((t) => `${t.name} ${t.selfPct}%`).join(', ')}`);
    }
    if (processes.length === 0) log(`  ${cfg.id}: no profile written (the process did not exit cleanly on SIGTERM?)`);
    out.push({ config: cfg.id, rate: 1000, seconds, processes });
  }
  return out;
}
