// CPU per request of a sidecar hop pair (outbound → inbound, one proxy process) with telemetry
// off, metrics on, tracing at 1% and at 100% (exported over OTLP/HTTP protobuf to a sink in
// the harness), and tracing at 1 % and 100 % with metrics on: a meshlet agent always runs
// metrics, so those two, read against "metrics", are what tracing costs a pod. One child
// process per mode, all started first and kept for the whole run, pinned to one CPU with taskset; the load generator, the app (a minimal node:http server with
// a fixed 2-byte answer, so the figure is the proxy's work, not an app's) and the sink run in
// the harness, pinned to the other CPU. By default each round loads every child at once, each at
// its own fixed rate, over one window: the modes share the same seconds of a shared machine, so
// what other work does to the CPU falls on all of them alike (run one after another, windows
// of the same mode moved 300-1000 µs per request between rounds at a load average of 10).
// `--sequential` measures the children in turn instead (order rotated per round: A/B/C/D,
// B/C/D/A, ...), each alone on its CPU.
//
// CPU is read by the harness from /proc/<pid>/task/*/schedstat (nanoseconds on CPU, every
// thread of the child), before and after the window: nothing inside the child measures itself.
// A mode's ratio to "off" is the ratio of its summed CPU per request over the rounds to off's,
// with a 95 % confidence interval from a paired bootstrap over rounds (whole rounds resampled,
// so the pairing of a mode with the "off" measured beside it is kept). A target is reported as
// met when the interval lies below it, not met when the interval lies above it, and "within
// noise" when it straddles it.
//
// `--instructions` counts instructions executed per request instead (bench/lib/instruction-count.ts:
// Valgrind's callgrind; perf's hardware counter is only probed and its error printed, as this
// machine has no PMU to test a perf path on): a count that other load does not move. Its noise
// is V8's own (compilers, tiers, scavenges per window), hence the long warm-up and
// `--main-thread` (docs/benchmarks.md, "Telemetry cost"). The children then run under callgrind (~50-100x slower, so not pinned and
// not comparable in CPU time), each window is a fixed number of requests sent one at a time
// (`--requests N`), and the verdict is on instructions with the same bootstrap. The CPU-time
// mode (the default) is the one to read for absolute cost; an A/A run (`--against` the same
// tree) gives either mode's noise floor.
//
// Usage: npx node bench/telemetry-cost.ts [--quick] [--modes M,M] [--rounds N] [--window-ms MS] [--rate R] [--replicas K] [--sequential] [--instructions [--main-thread]] [--requests N] [--warm-requests N] [--idle-ms MS] [--keep-dumps DIR] [--against DIR] [--node-flags F,F] [--distinct-paths N]
//   --replicas K: processes per configuration (default 3 at once, 1 sequential), so that one
//   process's luck (heap layout, JIT) is not read as the configuration's cost.
//   --rate R: requests/s per child (default 1000 spread over the children at once; 1000 sequential).
//   --against DIR: also runs the four modes from another checkout (e.g. `git archive <sha> | tar
//   -x -C DIR` plus a node_modules symlink, and this file and bench/lib/telemetry-modes.ts copied into DIR/bench/), interleaved in
//   the same rounds, and prints this tree's CPU per request over DIR's, mode by mode.
//   --node-flags F,F: Node/V8 flags for this tree's children only (e.g. --max-semi-space-size=1
//   with --against this same checkout: the flag's cost in the same run; or
//   --cpu-prof,--cpu-prof-dir=/tmp/x for profiles of every mode's child).
//   --modes M,M: only these configurations (of off, metrics, trace-1%, trace-100%,
//   metrics+trace-1%, metrics+trace-100%; off is always run, and metrics with a metrics+trace one,
//   as their ratios are read against them: bench/lib/telemetry-modes.ts), e.g. `--modes trace-1% --warm-requests 20000` to see what a
//   longer warm-up does to the 1 % child's cold encoder (ADR 0018, 2026-12-07 afternoon).
//   --distinct-paths N: request i goes to one of N paths in turn (bench/lib/distinct-paths.ts;
//   default 64). Real traffic varies the path (IDs in paths); one path (N = 1) let every sampled
//   span's attributes repeat the last span's of its kind, the encoder's best case, and read
//   1.30x where 64 paths read 1.51-1.54x before fa1a276 (ADR 0018, 09:10). 64 is more distinct paths than the
//   encoder keeps anything for (its caches hold the last four of a kind), so no span's url.path
//   is a repeat it could copy (the rest of a span's attributes, one caller, endpoint and status
//   here, still repeat: ADR 0018, 12:10).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDistinctPaths, requestPath } from './lib/distinct-paths.ts';
import { CallgrindCounter, lessWallClockWork, perfInstructionsUnavailable } from './lib/instruction-count.ts';
import { baselineOf, modesOf, settingsOf, TARGET, type Mode } from './lib/telemetry-modes.ts';

// Varied paths by default: the figure for traffic whose paths differ, not the one-path best case (see --distinct-paths).
const DEFAULT_DISTINCT_PATHS = 64;
// The harness (generator, app, sink) on one CPU, the measured proxies on the other.
const HARNESS_CPU = '0';
const PROXY_CPU = '1';

async function child(mode: Mode, otlp: string, appPort: number): Promise<void> {
  const { startSidecar } = await import('../agent/sidecar.ts');
  const { ManualTableSource } = await import('../agent/table-source.ts');
  const { startTelemetry } = await import('../agent/telemetry/index.ts');
  const T = await import('../test/support/routing-tables.ts');
  const quiet = (): void => undefined;
  let inboundPort = -1;
  const on = settingsOf(mode);
  const tel = mode === 'off' ? null : startTelemetry({
    role: 'sidecar', self: { name: 'bench', namespace: 'default', pod: 'bench-0', principal: '' },
    env: process.env.BENCH_OTEL_BSP_SCHEDULE_DELAY ? { OTEL_BSP_SCHEDULE_DELAY: process.env.BENCH_OTEL_BSP_SCHEDULE_DELAY } : {},
    metrics: on.metrics, accessLog: null, otlpEndpoint: on.samplingRatio !== null ? otlp : null,
    defaultSamplingRatio: on.samplingRatio ?? 1, log: quiet,
  });
  const source = new ManualTableSource();
  const sidecar = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
    originalDestination: (s) => (s.localPort === inboundPort ? { address: '127.0.0.1', port: appPort } : { address: '10.96.0.9', port: 9080 }),
    ...(tel ? { metrics: [tel.metrics] } : {}),
  });
  inboundPort = sidecar.ports.inbound!;
  const be = T.backend('default', 'svc', 9080, [{ port: inboundPort }]);
  source.push(T.table({ backends: [be], services: [T.service({ name: 'svc', clusterIP: '10.96.0.9', port: 9080, rules: [
    T.rule({ route: 'svc', path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: be.name }] })] })] }));
  // The harness gone (killed, crashed): nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: string) => {
    if (m === 'exit') void (tel ? tel.shutdown() : Promise.resolve()).finally(() => process.exit(0));
  });
  process.send!({ port: sidecar.ports.outbound });
}

/** Nanoseconds every thread of `pid` has spent on a CPU (schedstat's first field). */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch { /* the thread ended between the listing and the read */ }
  }
  return sum;
}

// Open loop at a fixed rate (not as fast as possible): a saturated child batches more requests
// per event-loop turn when the machine is busy and less when it is idle, which moved its CPU per
// request by 2x between rounds; at a fixed rate below saturation each request is handled alone.
async function load(port: number, ms: number, rate: number, paths: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const t0 = performance.now();
  let sent = 0;
  let done = 0;
  let inflight = 0;
  await new Promise<void>((resolve, reject) => {
    const finish = (): void => { if (performance.now() - t0 >= ms && inflight === 0) { clearInterval(tick); resolve(); } };
    const tick = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor((Math.min(elapsed, ms) * rate) / 1000), sent + 64);
      // A generator that falls behind sends at most 64 late requests at once and skips the rest.
      if (due - sent >= 64) sent = due - 64;
      for (; sent < due; sent++) {
        if (inflight >= 64) { sent = due; break; }
        inflight++;
        http.get({ port, host: '127.0.0.1', path: requestPath(sent, paths), agent, headers: { host: 'svc:9080' } }, (res) => {
          res.resume();
          res.on('end', () => { inflight--; done++; finish(); });
        }).on('error', reject);
      }
      finish();
    }, 1);
  });
  agent.destroy();
  return done;
}

interface Subject { tree: string; mode: Mode; replica: number; proc: ChildProcess; pid: number; port: number }

/**
 * `count` requests one after another (one in flight): under callgrind a child is too slow for a
 * fixed rate, and with one request at a time none shares an event-loop turn with another.
 */
async function loadSerial(port: number, count: number, paths: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get({ port, host: '127.0.0.1', path: requestPath(i, paths), agent, headers: { host: 'svc:9080' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
  }
  agent.destroy();
  return count;
}

async function start(file: string, tree: string, mode: Mode, replica: number, otlp: string, appPort: number, flags: string[], counter: CallgrindCounter | null): Promise<Subject> {
  // taskset and valgrind exec in place, so the pid is the measured process and the IPC channel
  // is inherited. Under callgrind the child is not pinned: its count does not depend on the CPU.
  // (The harness pinned itself to HARNESS_CPU, which a child would inherit.)
  const pre = ['-c', counter ? `${HARNESS_CPU},${PROXY_CPU}` : PROXY_CPU, ...(counter ? counter.prefix() : [])];
  // Counted with --keep-dumps, V8 writes its perf map so a dump's JIT addresses can be named.
  // (Tiering earlier to shorten the warm-up, TurboFan after 300 calls instead of 3000, was tried
  // and made it worse: 75 % of a window's instructions went to the compilers, against ~30 % with
  // V8's defaults after 400 warm-up requests.)
  // Counted, V8's memory reducer is off: it starts full mark-compacts on wall-clock timers, which
  // under callgrind fire every few requests (one window in three held one, ~1.6 M instructions
  // per request of a 50-request window); allocation-driven collections still run.
  const nodeFlags = [...flags, ...(counter ? ['--no-memory-reducer'] : []), ...(counter?.keep ? ['--perf-basic-prof-only-functions'] : []), ...(counter?.mainThread ? ['--single-threaded-gc'] : [])];
  // Under callgrind a request takes ~100x longer, so the batch processor's 5 s timer would
  // export after a few requests instead of after thousands: each export's fixed cost (an HTTP
  // POST) would be spread over 100x fewer requests than at any real rate. Counted, batches are
  // exported when they fill (512 spans), as under load; at 1 % no export falls in a window.
  const env = counter ? { ...process.env, BENCH_OTEL_BSP_SCHEDULE_DELAY: '3600000' } : process.env;
  const proc = spawn('taskset', [...pre, process.execPath, ...process.execArgv, ...nodeFlags, file, '--child', mode, otlp, String(appPort)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { port: number }));
    proc.once('exit', (code) => reject(new Error(`${tree}:${mode} child exited ${code} before it listened`)));
  });
  return { tree, mode, replica, proc, pid: proc.pid!, port };
}

/** One window: CPU µs per request, or thousands of instructions per request with a counter (then also less wall-clock timers' work). */
interface Reading { perRequest: number; counted: { instructions: number; requests: number; ms: number } | null }

/** The instant a vgdb command took effect, as well as the harness can tell: halfway through it. */
async function halfway(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (t0 + performance.now()) / 2;
}

/** How many instructions the idle child runs per ms of wall time: its timers (no request in flight). */
async function idleRate(s: Subject, counter: CallgrindCounter, ms: number): Promise<{ instructions: number; ms: number }> {
  // Let the last window's connections close before counting: that is the request's work, not a timer's.
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = await halfway(() => counter.zero(s.pid));
  await new Promise((r) => setTimeout(r, ms));
  let instructions = 0;
  const t1 = await halfway(async () => { instructions = await counter.read(s.pid); });
  return { instructions, ms: t1 - t0 };
}

async function measure(s: Subject, ms: number, rate: number, counter: CallgrindCounter | null, requests: number, paths: number, keepAs?: string): Promise<Reading> {
  if (counter) {
    const t0 = await halfway(() => counter.zero(s.pid));
    const n = await loadSerial(s.port, requests, paths);
    let instructions = 0;
    const t1 = await halfway(async () => { instructions = await counter.read(s.pid, keepAs); });
    return { perRequest: instructions / 1000 / n, counted: { instructions, requests: n, ms: t1 - t0 } };
  }
  const before = cpuNs(s.pid);
  const n = await load(s.port, ms, rate, paths);
  return { perRequest: (cpuNs(s.pid) - before) / 1000 / n, counted: null };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;

/** CPU per request of one configuration: [replica][round]. */
type Readings = number[][];

/** Sum over `rounds` of the mean over `replicas` (indices, repeats allowed). */
function total(x: Readings, replicas: number[], rounds: number[]): number {
  let t = 0;
  for (const k of rounds) for (const p of replicas) t += x[p]![k]! / replicas.length;
  return t;
}

const draw = (n: number): number[] => Array.from({ length: n }, () => Math.floor(Math.random() * n));
const every = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The ratio of summed CPU per request over the rounds (replicas averaged), with a 95 % interval
 * from a two-level bootstrap: each draw resamples the rounds (the same rounds for both sides,
 * keeping the pairing in time) and, per side, the replica processes. The second level matters:
 * two processes of the same code read up to 1.2x apart for a whole run (heap layout, JIT), which
 * resampling rounds alone cannot see.
 */
function ratioWithInterval(num: Readings, den: Readings, draws = 4000): { ratio: number; lo: number; hi: number } {
  const n = num[0]!.length;
  const rs: number[] = [];
  for (let d = 0; d < draws; d++) {
    const rounds = draw(n);
    rs.push(total(num, draw(num.length), rounds) / total(den, draw(den.length), rounds));
  }
  rs.sort((x, y) => x - y);
  return { ratio: total(num, every(num.length), every(n)) / total(den, every(den.length), every(n)), lo: quantile(rs, 0.025), hi: quantile(rs, 0.975) };
}

function verdict(lo: number, hi: number, target: number | null): string {
  if (target === null) return '';
  if (hi <= target) return `≤ ${target}×: met`;
  if (lo > target) return `≤ ${target}×: not met`;
  return `≤ ${target}×: within noise`;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as Mode, process.argv[4]!, Number(process.argv[5]));
  const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1]; };
  const quick = process.argv.includes('--quick');
  const sequential = process.argv.includes('--sequential');
  let counter: CallgrindCounter | null = null;
  if (process.argv.includes('--instructions')) {
    const why = perfInstructionsUnavailable();
    // perf's hardware counter would let both measures come from one run of native children;
    // not written until a machine with a PMU can test it.
    console.log(why === null ? 'perf counts instructions on this machine, but this bench counts them with callgrind' : `no hardware instruction counter (${why}); counting with callgrind`);
    // --main-thread: the first thread alone (V8's background compilers left out, GC kept on it).
    counter = new CallgrindCounter(process.argv.includes('--main-thread'));
  }
  const requests = Number(arg('--requests') ?? (quick ? 20 : 100));
  // Counted, the warm-up must reach V8's steady state: TurboFan takes a function after 3000 calls,
  // and after 400 requests ~30 % of a window's instructions were still the compilers'.
  const warmRequests = Number(arg('--warm-requests') ?? (quick ? 100 : 4000));
  // --keep-dumps DIR (with --instructions): every window's callgrind dump, named by child and round.
  const keep = counter ? arg('--keep-dumps') : undefined;
  if (counter && keep) counter.keep = true;
  const rounds = Number(arg('--rounds') ?? (quick ? 4 : counter ? 8 : sequential ? 12 : 40));
  const against = arg('--against');
  const replicas = Number(arg('--replicas') ?? (sequential ? 1 : counter ? 2 : 3));
  const modes = modesOf(arg('--modes'));
  const children = modes.length * (against ? 2 : 1) * replicas;
  // At once, 1000 requests/s in all: the proxies' CPU stays well below saturation (8 children at
  // 250/s each saturated it and moved CPU per request 2x).
  const rate = Number(arg('--rate') ?? (sequential ? 1000 : Math.floor(1000 / children)));
  const flags = arg('--node-flags')?.split(',') ?? [];
  const paths = parseDistinctPaths(arg('--distinct-paths') ?? String(DEFAULT_DISTINCT_PATHS));
  const ms = Number(arg('--window-ms') ?? (quick ? 1500 : sequential ? 5000 : 4000));
  const warmMs = quick ? 1500 : 3000;
  spawnSync('taskset', ['-a', '-p', '-c', HARNESS_CPU, String(process.pid)], { stdio: 'ignore' });
  let posts = 0;
  const sink = http.createServer((req, res) => { req.resume(); req.on('end', () => { posts++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(); }); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const app = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const trees: [string, string][] = [['this', fileURLToPath(import.meta.url)]];
  if (against) trees.push(['against', path.resolve(against, 'bench/telemetry-cost.ts')]);
  const starting: Promise<Subject>[] = [];
  for (let p = 0; p < replicas; p++) {
    for (const [tree, file] of trees) {
      for (const m of modes) {
        const s = start(file, tree, m, p, otlp, appPort, tree === 'this' ? flags : [], counter);
        starting.push(s);
        // Under callgrind a child takes a minute to start: start them side by side.
        if (!counter) await s;
      }
    }
  }
  const subjects = await Promise.all(starting);
  // Counted: each child's idle instructions per ms (its wall-clock timers), measured after the
  // warm-up and again after the rounds; windows are read with and without that work, at the
  // lower of the two rates (an idle window that caught one-off work, a collection or a late
  // compile, read up to 2x the other in a trial run: that is not a timer's).
  const idle = new Map<Subject, { instructions: number; ms: number }>();
  const idleMs = Number(arg('--idle-ms') ?? (quick ? 2000 : 6000));
  const idleRates = async (): Promise<string> => {
    const got = await Promise.all(subjects.map((s) => idleRate(s, counter!, idleMs)));
    subjects.forEach((s, i) => {
      const was = idle.get(s);
      if (!was || got[i]!.instructions / got[i]!.ms < was.instructions / was.ms) idle.set(s, got[i]!);
    });
    return subjects.map((s, i) => `${name(s)} ${(got[i]!.instructions / got[i]!.ms).toFixed(1)}`).join(', ');
  };
  const key = (s: Subject): string => `${s.tree}:${s.mode}`;
  const name = (s: Subject): string => `${key(s)}${replicas > 1 ? `#${s.replica}` : ''}`;
  if (counter) {
    // Warm-up: enough requests that the hot functions are optimised (V8 tiers up by
    // invocation counts), then one window thrown away.
    await Promise.all(subjects.map((s) => loadSerial(s.port, warmRequests, paths)));
    await Promise.all(subjects.map((s) => counter.instrument(s.pid)));
    await Promise.all(subjects.map((s) => measure(s, ms, rate, counter, requests, paths)));
    console.log(`idle k instr per s (timers), after the warm-up: ${await idleRates()}`);
  }
  // Warm-up: every child at the measured rate, then one full round thrown away (the first
  // measured round read up to 2.5x the later ones: code paths still being optimised).
  if (!counter) await Promise.all(subjects.map((s) => load(s.port, warmMs, rate, paths)));
  if (!sequential && !counter) await Promise.all(subjects.map((s) => load(s.port, ms, rate, paths)));
  const unit = counter ? 'k instr' : 'µs';
  const empty = (): Map<string, Readings> => new Map<string, Readings>(subjects.map((s) => [key(s), Array.from({ length: replicas }, () => [])]));
  const abs = empty();
  const windows = new Map<Subject, Reading[]>(subjects.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    const us = new Map<string, Reading>();
    const keepAs = (s: Subject): string | undefined => keep && `${keep}/${name(s).replace(/[:#%]/g, '-')}-${s.pid}-r${r + 1}.callgrind`;
    if (sequential) {
      const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
      for (const s of order) us.set(name(s), await measure(s, ms, rate, counter, requests, paths, keepAs(s)));
    } else {
      const got = await Promise.all(subjects.map((s) => measure(s, ms, rate, counter, requests, paths, keepAs(s))));
      subjects.forEach((s, i) => us.set(name(s), got[i]!));
    }
    for (const s of subjects) {
      abs.get(key(s))![s.replica]!.push(us.get(name(s))!.perRequest);
      windows.get(s)!.push(us.get(name(s))!);
    }
    console.log(`round ${r + 1}: ${subjects.map((s) => `${name(s)} ${us.get(name(s))!.perRequest.toFixed(1)}${counter ? ` (${us.get(name(s))!.counted!.ms.toFixed(0)} ms)` : ''} ${unit}`).join(', ')}`);
  }
  const lessTimers = empty();
  if (counter) {
    console.log(`idle k instr per s (timers), after the rounds: ${await idleRates()}`);
    for (const s of subjects) {
      for (const w of windows.get(s)!) lessTimers.get(key(s))![s.replica]!.push(lessWallClockWork(w.counted!.instructions, w.counted!.ms, idle.get(s)!) / 1000 / w.counted!.requests);
    }
  }
  const fmt = (x: { ratio: number; lo: number; hi: number }): string => `${x.ratio.toFixed(3)}× [${x.lo.toFixed(3)}–${x.hi.toFixed(3)}]`;
  const table = (readings: Map<string, Readings>, what: string): void => {
    console.log(`\n| configuration | ${what}, mean | ratio to off (metrics+trace: to metrics) [95 % CI] | issue 11 target |${against ? ' this tree / against [95 % CI] |' : ''}`);
    console.log(`|---|---|---|---|${against ? '---|' : ''}`);
    for (const s of subjects.filter((x) => x.replica === 0)) {
      const xs = readings.get(key(s))!;
      const base = baselineOf(s.mode);
      const r = ratioWithInterval(xs, readings.get(`${s.tree}:${base}`)!);
      const vs = against && s.tree === 'this' ? ` ${fmt(ratioWithInterval(xs, readings.get(`against:${s.mode}`)!))} |` : against ? ' |' : '';
      console.log(`| ${against ? key(s) : s.mode} | ${(total(xs, every(replicas), every(rounds)) / rounds).toFixed(1)} | ${s.mode === 'off' ? '1' : `${fmt(r)}${base === 'off' ? '' : ` (of ${base})`}`} | ${verdict(r.lo, r.hi, TARGET[s.mode])} |${vs}`);
    }
  };
  if (counter) {
    table(abs, 'proxy user-space instructions per request (2 hops), thousands, as counted (wall-clock timers included)');
    // The figure to read: a timer's ticks per request under callgrind are ~50x a pod's (ADR 0018, 21:00).
    table(lessTimers, 'the same less wall-clock timers\' work (idle rate × window time)');
  } else {
    table(abs, 'proxy CPU µs per request (2 hops)');
  }
  const how = counter
    ? `instructions counted by callgrind, ${requests} requests per window one at a time, children kept across rounds after ${warmRequests} warm-up requests and one discarded window, idle windows of ${idleMs} ms for the timers' rate`
    : `${ms} ms per window, children kept across rounds after ${warmMs} ms warm-up, ${rate} requests/s per child open loop over keep-alive connections; proxies on CPU ${PROXY_CPU}, harness on CPU ${HARNESS_CPU}`;
  console.log(`\n(${rounds} rounds, ${sequential ? 'children measured in turn' : 'all children loaded at once'},${flags.length ? ` this tree's children with ${flags.join(' ')},` : ''} ${replicas} process${replicas > 1 ? 'es' : ''} per configuration, ${how}, ${paths === 1 ? 'one request path' : `requests cycling through ${paths} distinct paths`}; OTLP posts received: ${posts}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  for (const s of subjects) s.proc.send('exit');
  await Promise.all(subjects.map((s) => new Promise((r) => (s.proc.exitCode !== null ? r(null) : s.proc.once('exit', r)))));
  sink.close();
  app.close();
  counter?.close();
}

await main();
