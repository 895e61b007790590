// Reads V8 .cpuprofile files (node --cpu-prof) into the two views a reader needs to see what
// limits the proxy: the top functions by self time, and self time by origin (meshlet's own
// code, undici, Node internals, GC, ...). Idle time is left out of the percentages.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] }

export interface HotFunction { name: string; where: string; selfPct: number }
export interface ProfileSummary {
  file: string;
  sampledMs: number;
  busyPct: number;
  top: HotFunction[];
  byOrigin: Record<string, number>;
}

function origin(cf: CallFrame): string {
  const u = cf.url;
  if (cf.functionName === '(garbage collector)') return 'GC';
  if (cf.functionName === '(program)') return 'V8/native (program)';
  if (u.startsWith('node:')) return 'Node internals';
  if (u.includes('/node_modules/undici/')) return 'undici';
  if (u.includes('/node_modules/http-proxy/')) return 'http-proxy';
  if (u.includes('/node_modules/')) return 'other dependencies';
  if (/\/(agent|ingress|controller|api|cli)\//.test(u)) return 'meshlet';
  return u === '' ? 'V8/native (program)' : 'other';
}

function shortUrl(u: string): string {
  const m = /\/(agent|ingress|controller|api|cli|node_modules)\/.*$/.exec(u);
  return m ? m[0].slice(1) : u;
}

export function summarizeProfile(file: string, topN = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = p.samples.length;
  const msPerSample = total > 0 ? (p.endTime - p.startTime) / 1000 / total : 0;
  let idle = 0;
  const byFn = new Map<string, { name: string; where: string; hits: number }>();
  const byOrigin: Record<string, number> = {};
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    if (n.callFrame.functionName === '(idle)') { idle += hits; continue; }
    const where = n.callFrame.url ? `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName}|${where}`;
    const e = byFn.get(key) ?? { name: n.callFrame.functionName || '(anonymous)', where, hits: 0 };
    e.hits += hits;
    byFn.set(key, e);
    const o = origin(n.callFrame);
    byOrigin[o] = (byOrigin[o] ?? 0) + hits;
  }
  const busy = total - idle;
  const pct = (h: number): number => (busy > 0 ? Math.round((h / busy) * 1000) / 10 : 0);
  return {
    file,
    sampledMs: Math.round(total * msPerSample),
    busyPct: total > 0 ? Math.round((busy / total) * 1000) / 10 : 0,
    top: [...byFn.values()].sort((a, b) => b.hits - a.hits).slice(0, topN).map((e) => ({ name: e.name, where: e.where, selfPct: pct(e.hits) })),
    byOrigin: Object.fromEntries(Object.entries(byOrigin).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pct(v)])),
  };
}

export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}
