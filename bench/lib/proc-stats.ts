// CPU and memory of measured processes, from /proc. CPU comes from the per-thread schedstat
// (nanoseconds on CPU), summed over every thread of the process and its descendants — nginx
// and haproxy fork workers, Node runs GC and libuv threads. /proc/<pid>/stat utime+stime is
// read too as a cross-check, but at 100 ticks/s it quantizes to 10 ms, which is too coarse for
// a few seconds of a fast proxy. RSS is VmRSS summed over the same process tree.
import { readFileSync, readdirSync } from 'node:fs';

function read(path: string): string | null {
  try { return readFileSync(path, 'utf8'); } catch { return null; }
}

function parentOf(pid: number): number | null {
  const s = read(`/proc/${pid}/stat`);
  if (s === null) return null;
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** pid plus all its descendants, found by walking /proc (no pgrep: exact pids only). */
export function processTree(root: number): number[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const children = new Map<number, number[]>();
  for (const p of all) {
    const pp = parentOf(p);
    if (pp === null) continue;
    const list = children.get(pp) ?? [];
    list.push(p);
    children.set(pp, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface CpuSample { ns: number; ticks: number }

export function cpuOf(pids: number[]): CpuSample {
  let ns = 0;
  let ticks = 0;
  for (const pid of pids) {
    let tasks: string[];
    try { tasks = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const t of tasks) {
      const s = read(`/proc/${pid}/task/${t}/schedstat`);
      if (s !== null) ns += Number(s.split(' ')[0]);
    }
    const st = read(`/proc/${pid}/stat`);
    if (st !== null) {
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    }
  }
  return { ns, ticks };
}

/** Resident set size in bytes, summed over the pids. */
export function rssOf(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const s = read(`/proc/${pid}/status`);
    const m = s === null ? null : /VmRSS:\s+(\d+) kB/.exec(s);
    if (m?.[1] !== undefined) kb += Number(m[1]);
  }
  return kb * 1024;
}
