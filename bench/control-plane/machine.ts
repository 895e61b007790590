// How busy the machine was with work other than the benchmark's: the whole machine's busy CPU
// time (/proc/stat) minus the CPU of the benchmark's own process tree (itself, the controller,
// the agent swarm). On a shared 2-core machine this is the noise every figure carries.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { cpuOf, processTree } from '../lib/proc-stats.ts';
import { nowMs } from './swarm-protocol.ts';

const TICK_NS = 1e7; // USER_HZ is 100 on Linux

function machineBusyNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (total - idle) * TICK_NS;
}

export interface MachineSample { atMs: number; busyNs: number; oursNs: number }

export function sampleMachine(): MachineSample {
  return { atMs: nowMs(), busyNs: machineBusyNs(), oursNs: cpuOf(processTree(process.pid)).ns };
}

export interface MachineNoise {
  cores: number;
  /** Cores' worth of CPU that other work used on average over the window (0 … cores). */
  otherCores: number;
  /** The benchmark's own processes, same unit. */
  benchCores: number;
  loadavg1: number;
}

export function noiseBetween(a: MachineSample, b: MachineSample): MachineNoise {
  const wallNs = (b.atMs - a.atMs) * 1e6;
  const ours = (b.oursNs - a.oursNs) / wallNs;
  const busy = (b.busyNs - a.busyNs) / wallNs;
  return { cores: cpus().length, otherCores: Math.max(0, busy - ours), benchCores: ours, loadavg1: loadavg()[0] ?? 0 };
}
