// Per request, counts that other load does not move (issue 16: "why it cannot go lower in
// Node"): for nginx, the Node L4 pipe (no HTTP), the node:http floor and meshlet's ingress,
// plaintext sidecar pair and mTLS sidecar pair, each proxy process's syscalls by kind (strace -c -f attached to it
// over N sequential requests), its event-loop turns (the epoll_wait / epoll_pwait calls among
// them: libuv and nginx each make one per turn of their loop), its main thread's wake-ups
// (voluntary context switches over an untraced window) and the user-space instructions
// of its main thread (callgrind, instruction-count.ts). One configuration at a time, one request
// in flight on one warm keep-alive connection (the closed-loop stage's request): nothing
// batches, so each figure is what one request costs a process that was waiting for it.
// `npm run bench -- --scenario counts` runs it (a few minutes: the instruction pass starts every
// proxy again under callgrind, ~50x slower).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchConfig, BenchContext, Live } from './configs.ts';
import { buildRequest } from './http1-conn.ts';
import { CallgrindCounter } from './instruction-count.ts';
import { closeTarget, pingPongBlock, type PingPongConn } from './latency-ping-pong.ts';
import { SERVICE_HOST } from './meshlet.ts';
import { sleep } from './procs.ts';
import { pathFor } from './servers.ts';

export interface CountSettings {
  /**
   * Sequential requests before any window (JIT warm-up; uncounted). 12 000, not 3 000: after
   * 3 000 much of the fast path was still being optimised during the windows (one process read
   * 155, 1 120 and 216 k per request in its three), after 12 000 one process's windows agree
   * within ±0.3 k (h16, ADR 0017's 18:30 section).
   */
  warmRequests: number;
  /** Requests in the strace window. */
  straceRequests: number;
  /** Callgrind: requests per window, and windows (after one thrown away). */
  windowRequests: number;
  windows: number;
  bodyBytes: number;
}

export const COUNTS_DEFAULT: CountSettings = { warmRequests: 12_000, straceRequests: 2000, windowRequests: 200, windows: 3, bodyBytes: 12 };

/** Syscalls per request of one process, by kind. */
export interface SyscallCounts {
  /** read, readv, recvfrom, recvmsg. */
  reads: number;
  /** write, writev, sendto, sendmsg. */
  writes: number;
  /** epoll_wait, epoll_pwait, epoll_pwait2: one per event-loop turn. */
  turns: number;
  epollCtl: number;
  futex: number;
  /** Every other call, and in all. */
  other: number;
  total: number;
  /** Calls per request by name (the raw table). */
  byName: Record<string, number>;
}

export interface CountRow {
  config: string;
  label: string;
  hops: number;
  /** The process: its name as started (nginx's worker is counted, not its master). */
  process: string;
  syscalls: SyscallCounts | null;
  /** Voluntary context switches of the main thread per request, untraced: how often it slept and was woken. */
  wakeups: number;
  /** Thousands of main-thread instructions per request, one per window. */
  instructionsK: number[];
  /**
   * Of them, the socket I/O callbacks' (libuv's uv__stream_io, inclusive: what the request's reads
   * and writes run, microtasks included), one per window; empty for nginx. The rest of a Node
   * window is mostly wall-clock work (timers, thread-pool completions: the stall sampler, file
   * mode's poll), which callgrind's ~50x slower requests spread over far fewer of them than at speed.
   */
  socketK: number[];
  note?: string;
}

/** The configurations the counts scenario measures, in this order (nginx and the L4 pipe first: the references). */
export const COUNT_IDS = ['nginx', 'node-l4-pipe', 'node-floor', 'meshlet-ingress', 'meshlet-sidecars', 'meshlet-sidecars-mtls'];

/**
 * The counts lineup from the configurations known (`known`, the L4 pipe among them), in
 * COUNT_IDS's order; `only` (the runner's --only) narrows it to the ids named, since one
 * configuration's full pass takes minutes under callgrind; nginx and the pipe stay, as the
 * general --only keeps direct and nginx: every other row is read against them.
 */
/** The rows every counts run keeps, whatever --only names. */
const REFERENCES = ['nginx', 'node-l4-pipe'];

export function countLineup<C extends { id: string }>(known: C[], only?: string[]): C[] {
  const wanted = only === undefined ? COUNT_IDS : COUNT_IDS.filter((id) => REFERENCES.includes(id) || only.includes(id));
  const unknown = only?.filter((id) => !COUNT_IDS.includes(id)) ?? [];
  if (unknown.length > 0) throw new Error(`--scenario counts --only ${unknown.join(',')}: not measured by counts (known: ${COUNT_IDS.join(', ')})`);
  return wanted.flatMap((id) => known.filter((c) => c.id === id));
}

const READS = new Set(['read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg']);
const WRITES = new Set(['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg']);
const WAITS = new Set(['epoll_wait', 'epoll_pwait', 'epoll_pwait2']);

/** `strace -c`'s summary table as calls per syscall name (the total line left out). */
export function parseStraceSummary(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    // "% time seconds usecs/call calls [errors] syscall"
    if (!/^\s*\d+\.\d+\s+\d+\.\d+\s/.test(line)) continue;
    const t = line.trim().split(/\s+/);
    const name = t[t.length - 1]!;
    const calls = Number(t[3]);
    if (name === 'total' || !Number.isFinite(calls)) continue;
    out.set(name, (out.get(name) ?? 0) + calls);
  }
  return out;
}

/** Calls per request by kind, from the summary's calls over `requests` requests. */
export function perRequest(calls: Map<string, number>, requests: number): SyscallCounts {
  const c: SyscallCounts = { reads: 0, writes: 0, turns: 0, epollCtl: 0, futex: 0, other: 0, total: 0, byName: {} };
  for (const [name, n] of calls) {
    const x = n / requests;
    c.byName[name] = x;
    c.total += x;
    if (READS.has(name)) c.reads += x;
    else if (WRITES.has(name)) c.writes += x;
    else if (WAITS.has(name)) c.turns += x;
    else if (name === 'epoll_ctl') c.epollCtl += x;
    else if (name === 'futex') c.futex += x;
    else c.other += x;
  }
  return c;
}

/** The processes that serve: a process's children when it has any (nginx's workers), else itself. */
function servingPids(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return kids === '' ? [pid] : kids.split(/\s+/).map(Number);
  } catch {
    return [pid];
  }
}

/** The main thread's voluntary context switches so far (it blocked, in epoll or elsewhere, and was woken). */
export function voluntarySwitches(status: string): number {
  const m = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(status);
  return m ? Number(m[1]) : NaN;
}

const switchesOf = (pid: number): number => {
  try {
    return voluntarySwitches(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'));
  } catch {
    return NaN;
  }
};

/** strace -c -f attached to `pid` (all its threads) while `work` runs; calls per syscall. */
async function straced(pid: number, dir: string, work: () => Promise<void>): Promise<Map<string, number>> {
  const file = join(dir, `strace.${pid}`);
  const child = spawn('strace', ['-c', '-f', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 10_000;
  while (!err.includes(`Process ${pid} attached`) && Date.now() < deadline && child.exitCode === null) await sleep(20);
  if (!err.includes(`Process ${pid} attached`)) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`strace did not attach to ${pid}: ${err.trim().slice(0, 300)}`);
  }
  await sleep(300); // the other threads
  try {
    await work();
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  return parseStraceSummary(readFileSync(file, 'utf8'));
}

/**
 * `n` sequential requests, all answered. A connection the proxy closed while it idled (node:http's
 * 5 s keep-alive, passed while callgrind switched instrumentation on) is opened again, at most
 * twice; the new connection's cost then falls in that window.
 */
async function requests(target: PingPongConn, request: Buffer, n: number, timeoutMs: number): Promise<void> {
  let answered = 0;
  let errors = 0;
  for (let tries = 0; tries < 3 && answered < n; tries++) {
    const out = await pingPongBlock(target, request, n - answered, timeoutMs, Infinity, (status) => { process.stdout.write(`    answer ${status} after ${answered} (retried ${tries})\n`); });
    answered += out.samples.length;
    errors += out.errors;
    if (out.samples.length === 0 && target.conn?.alive() === true) break; // answering, but not 2xx: no retry helps
  }
  if (answered !== n) throw new Error(`${answered} of ${n} requests answered (${errors} errors)`);
}

interface Measured { proc: string; pid: number }

function measuredProcs(live: Live): Measured[] {
  return live.procs.flatMap((p) => servingPids(p.pid).map((pid) => ({ proc: p.name, pid })));
}

/** Pass 1: syscalls of every proxy process of `cfg` over settings.straceRequests requests. */
async function syscallPass(ctx: BenchContext, cfg: BenchConfig, s: CountSettings, request: Buffer, dir: string): Promise<Map<number, { proc: string; counts: SyscallCounts; wakeups: number }> | string> {
  const started = await cfg.start(ctx);
  if (!started.ok) return started.reason;
  const target: PingPongConn = { host: '127.0.0.1', port: started.live.port, conn: null };
  try {
    await requests(target, request, s.warmRequests, 120_000);
    const procs = measuredProcs(started.live);
    // untraced first: the main threads' wake-ups
    const before = procs.map((m) => switchesOf(m.pid));
    await requests(target, request, s.straceRequests, 300_000);
    const wakeups = procs.map((m, i) => (switchesOf(m.pid) - before[i]!) / s.straceRequests);
    const out = new Map<number, { proc: string; counts: SyscallCounts; wakeups: number }>();
    // one process at a time under strace: a traced process is slower, and the others then wait on it alike
    for (const [i, m] of procs.entries()) {
      const calls = await straced(m.pid, dir, () => requests(target, request, s.straceRequests, 300_000));
      out.set(m.pid, { proc: m.proc, counts: perRequest(calls, s.straceRequests), wakeups: wakeups[i]! });
    }
    return out;
  } finally {
    closeTarget(target);
    await started.live.stop();
  }
}

/** A function's inclusive count in `callgrind_annotate --inclusive=yes` output (its first, non-recursive line), or NaN. */
export function inclusiveOf(annotated: string, fn: string): number {
  const m = new RegExp(`^\\s*([\\d,]+) \\([^)]*\\)\\s+\\S*:${fn} \\[`, 'm').exec(annotated);
  return m ? Number(m[1]!.replace(/,/g, '')) : NaN;
}

function socketWork(dump: string): number {
  const r = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', dump], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return inclusiveOf(r.stdout ?? '', 'uv__stream_io');
}

/** Pass 2: main-thread instructions per request of every proxy process, under callgrind. */
async function instructionPass(ctx: BenchContext, cfg: BenchConfig, s: CountSettings, request: Buffer, keepDir?: string): Promise<Map<string, { all: number[]; socket: number[] }> | string> {
  const counter = new CallgrindCounter(true);
  counter.keep = true;
  const wrapped: BenchContext = {
    ...ctx, wrap: counter.prefix(), startDeadlineMs: 300_000, noStartupReclaim: true,
    // the request's own work on the main thread: scavenges stay on it, V8's memory reducer (wall-clock timers that fire every few requests under callgrind) is off;
    // with kept dumps, V8's perf map (/tmp/perf-<pid>.map) names the JIT code in them
    nodeArgs: [...(ctx.nodeArgs ?? []), '--single-threaded-gc', '--no-memory-reducer', ...(keepDir !== undefined ? ['--perf-basic-prof-only-functions'] : [])],
  };
  const started = await cfg.start(wrapped);
  if (!started.ok) {
    counter.close();
    return started.reason;
  }
  const target: PingPongConn = { host: '127.0.0.1', port: started.live.port, conn: null };
  try {
    await requests(target, request, s.warmRequests, 600_000);
    const procs = measuredProcs(started.live);
    for (const m of procs) await counter.instrument(m.pid);
    await requests(target, request, s.windowRequests, 600_000); // thrown away: code retranslated once instrumented
    const out = new Map(procs.map((m) => [m.proc, { all: [] as number[], socket: [] as number[] }]));
    for (let w = 0; w < s.windows; w++) {
      for (const m of procs) await counter.zero(m.pid);
      await requests(target, request, s.windowRequests, 600_000);
      for (const m of procs) {
        const keepAs = join(keepDir ?? counter.dir, `${cfg.id}-${m.proc.replace(/[^a-z0-9]+/gi, '-')}-${m.pid}-w${w + 1}.callgrind`);
        const o = out.get(m.proc)!;
        o.all.push((await counter.read(m.pid, keepAs)) / 1000 / s.windowRequests);
        const socket = socketWork(keepAs);
        if (Number.isFinite(socket)) o.socket.push(socket / 1000 / s.windowRequests);
      }
    }
    return out;
  } finally {
    closeTarget(target);
    await started.live.stop();
    counter.close();
  }
}

/**
 * `keepDir`: each window's callgrind dump is kept there (per-function counts: callgrind_annotate,
 * JIT addresses named from V8's /tmp/perf-<pid>.map, which the Node children then write).
 */
export async function measureCounts(ctx: BenchContext, configs: BenchConfig[], s: CountSettings, log: (line: string) => void, instructions = true, keepDir?: string): Promise<CountRow[]> {
  const request = buildRequest(SERVICE_HOST, pathFor(s.bodyBytes), s.bodyBytes);
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-bench-strace-'));
  const rows: CountRow[] = [];
  try {
    for (const cfg of configs) {
      log(`  ${cfg.id}: syscalls over ${s.straceRequests} requests (strace -c -f)…`);
      const sys = await syscallPass(ctx, cfg, s, request, dir).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (typeof sys === 'string') {
        log(`    not available: ${sys.slice(0, 300)}`);
        rows.push({ config: cfg.id, label: cfg.label, hops: cfg.hops, process: '', syscalls: null, wakeups: NaN, instructionsK: [], socketK: [], note: sys.slice(0, 300) });
        continue;
      }
      const mine: CountRow[] = [...sys.values()].map((x) => ({ config: cfg.id, label: cfg.label, hops: cfg.hops, process: x.proc, syscalls: x.counts, wakeups: x.wakeups, instructionsK: [], socketK: [] }));
      rows.push(...mine);
      if (!instructions) continue;
      log(`  ${cfg.id}: instructions, ${s.windows} windows of ${s.windowRequests} requests (callgrind)…`);
      const ins = await instructionPass(ctx, cfg, s, request, keepDir).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (typeof ins === 'string') {
        log(`    instructions not available: ${ins.slice(0, 300)}`);
        for (const r of mine) r.note = `instructions not available: ${ins.slice(0, 200)}`;
        continue;
      }
      for (const r of mine) {
        r.instructionsK = ins.get(r.process)?.all ?? [];
        r.socketK = ins.get(r.process)?.socket ?? [];
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const line of countsTable(rows)) log(line);
  return rows;
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** The table, one row per process: syscalls by kind and instructions per request. */
export function countsTable(rows: CountRow[]): string[] {
  const out = [
    '| configuration | process | reads | writes | event-loop turns (epoll waits) | main-thread wake-ups (untraced) | epoll_ctl | futex | other syscalls | all syscalls | k instructions (main thread), mean [windows] | of them socket I/O callbacks (uv__stream_io) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const r of rows) {
    const c = r.syscalls;
    const ins = r.instructionsK.length > 0 ? `${f(mean(r.instructionsK), 1)} [${r.instructionsK.map((x) => f(x, 1)).join(', ')}]` : (r.note ?? '–');
    const sock = r.socketK.length > 0 ? `${f(mean(r.socketK), 1)} [${r.socketK.map((x) => f(x, 1)).join(', ')}]` : '–';
    if (c === null) out.push(`| ${r.label} | | not available: ${(r.note ?? '').replace(/\|/g, '\\|')} | | | | | | | | | |`);
    else out.push(`| ${r.label} | ${r.process} | ${f(c.reads)} | ${f(c.writes)} | ${f(c.turns)} | ${f(r.wakeups)} | ${f(c.epollCtl)} | ${f(c.futex)} | ${f(c.other)} | ${f(c.total)} | ${ins} | ${sock} |`);
  }
  const others = new Map<string, number>();
  for (const r of rows) {
    for (const [name, x] of Object.entries(r.syscalls?.byName ?? {})) {
      if (!READS.has(name) && !WRITES.has(name) && !WAITS.has(name) && name !== 'epoll_ctl' && name !== 'futex' && x >= 0.01) others.set(`${r.config}/${r.process}: ${name}`, x);
    }
  }
  if (others.size > 0) out.push('', `Other syscalls per request (≥ 0.01): ${[...others].map(([k, x]) => `${k} ${f(x)}`).join('; ')}.`);
  return out;
}

