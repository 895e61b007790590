// What else happened on the proxy's core during a window (issue 16): the core's own busy and
// steal time from /proc/stat, so a saturation round whose CPU per request jumps can be told
// apart from one where another process (or the hypervisor, as steal) took the core. /proc/stat
// counts in USER_HZ ticks (100 per second on Linux): 10 ms resolution, enough for windows of
// seconds. busy = user + nice + system + irq + softirq (guest time is inside user already).
import { readFileSync } from 'node:fs';

const TICK_NS = 10_000_000;

export interface CoreTimes { busyNs: number; stealNs: number }

/** The `cpuN` line's busy and steal time; `cpus` is a taskset list, only its single-CPU form is read ("1"). */
export function parseCoreTimes(stat: string, cpu: string): CoreTimes | null {
  const line = stat.split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return { busyNs: (user + nice + system + irq + softirq) * TICK_NS, stealNs: steal * TICK_NS };
}

export function coreTimes(cpu: string): CoreTimes | null {
  if (!/^\d+$/.test(cpu)) return null;
  try { return parseCoreTimes(readFileSync('/proc/stat', 'utf8'), cpu); } catch { return null; }
}
