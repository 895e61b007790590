// Instructions retired per request, a measure that other load on a shared machine does not
// move (CPU time from schedstat moved identical code 1.14x between processes of one run).
//
// The first choice is the CPU's own counter (`perf stat -e instructions:u`); in a container on
// a virtual machine without a virtual PMU the kernel has no hardware event source and perf
// answers "<not supported>". The fallback counts the same thing in software: the child runs
// under Valgrind's callgrind, which counts every user-space instruction it executes (Ir), JIT
// code included (callgrind's default --smc-check=all-non-file retranslates code written to the
// heap). The count is exact and independent of scheduling, but it is user space only (the
// kernel's side of a syscall is not counted) and the child runs ~50-100x slower, so requests
// are sent one at a time and the rates of the CPU-time mode do not apply.
//
// A window is read from outside the child through Valgrind's gdbserver (`vgdb`): `zero` before
// the window, `dump` after it, and the dump file's `summary:` line is the window's count.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why the hardware counter cannot be used here, or null when `perf stat` counts instructions. */
export function perfInstructionsUnavailable(): string | null {
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'instructions:u', 'true'], { encoding: 'utf8' });
  if (r.error) return `perf: ${r.error.message}`;
  const line = r.stderr.split('\n').find((l) => l.includes('instructions')) ?? r.stderr.trim();
  return /^\d+,/.test(line) ? null : `perf stat -e instructions:u: ${line || `exit ${r.status}`}`;
}

export class CallgrindCounter {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'meshlet-bench-callgrind-'));
  /** Windows' dumps are kept (the children then write V8's perf map to name JIT code). */
  keep = false;

  /**
   * mainThread: count the child's first thread alone (callgrind --separate-threads), leaving
   * out V8's background compilers, whose share of a window depends on how far tier-up has got,
   * not on the request (a Node child then also wants --single-threaded-gc, so that its
   * scavenges, which are the request's cost, stay on that thread).
   */
  readonly mainThread: boolean;

  constructor(mainThread = false) {
    this.mainThread = mainThread;
  }

  /** Words to put before the child's command line. */
  prefix(): string[] {
    if (spawnSync('valgrind', ['--version']).error) throw new Error('valgrind not found: apt-get install valgrind (or run without --instructions)');
    // No per-line or per-instruction data: a dump is only read for its total.
    // Start-up and warm-up run uninstrumented (several times faster): `instrument` switches
    // counting on once the child's code is warm.
    return ['valgrind', '--tool=callgrind', '--quiet', '--instr-atstart=no', `--callgrind-out-file=${this.dir}/cg.%p`, '--dump-line=no', '--dump-instr=no', '--compress-strings=no',
      ...(this.mainThread ? ['--separate-threads=yes'] : [])];
  }

  /** Switches counting on (it starts off); the windows that follow are counted. */
  async instrument(pid: number): Promise<void> {
    await run('vgdb', [`--pid=${pid}`, 'instrumentation', 'on'], { timeout: 120_000 });
  }

  /** Starts a window: the child's counters go back to zero. */
  async zero(pid: number): Promise<void> {
    await run('vgdb', [`--pid=${pid}`, 'zero'], { timeout: 60_000 });
  }

  /**
   * Ends a window: the instructions the child executed since `zero`. `keepAs` keeps the window's
   * dump (per-function counts: callgrind_annotate, with V8's --perf-basic-prof map for JIT code).
   */
  async read(pid: number, keepAs?: string): Promise<number> {
    await run('vgdb', [`--pid=${pid}`, 'dump'], { timeout: 60_000 });
    // callgrind writes each dump to cg.<pid>.<n>, n counting up from 1; with separate threads,
    // one file per thread, cg.<pid>.<n>-<tt> (01 the first thread).
    const prefix = `cg.${pid}.`;
    const files = readdirSync(this.dir).filter((f) => f.startsWith(prefix));
    const last = files.map((f) => parseInt(f.slice(prefix.length), 10)).reduce((a, b) => Math.max(a, b), 0);
    if (last === 0) throw new Error(`callgrind wrote no dump for ${pid} in ${this.dir}`);
    const file = path.join(this.dir, `${prefix}${last}${this.mainThread ? '-01' : ''}`);
    const m = /^summary: (\d+)/m.exec(readFileSync(file, 'utf8'));
    if (keepAs) renameSync(file, keepAs);
    for (const f of files) if (f === `${prefix}${last}` || f.startsWith(`${prefix}${last}-`)) rmSync(path.join(this.dir, f), { force: true });
    if (!m) throw new Error(`no summary line in ${file}`);
    return Number(m[1]);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A counted window's instructions less the work the child does on wall-clock timers (the event-loop
 * stall sampler's 100 ms tick, ADR 0018 2026-12-07 21:00), at the rate an idle window of the same
 * child measured. Under callgrind a request takes ~50x its real wall time, so a timer that costs a
 * pod nothing per request at any real rate fired once every few requests, and how often depended on
 * how fast the machine ran the child, not on the request. Never below zero.
 */
export function lessWallClockWork(instructions: number, windowMs: number, idle: { instructions: number; ms: number }): number {
  if (!(idle.ms > 0) || !(windowMs >= 0)) throw new Error(`wall-clock correction: windows of ${windowMs} ms and an idle window of ${idle.ms} ms`);
  return Math.max(0, instructions - (idle.instructions / idle.ms) * windowMs);
}
