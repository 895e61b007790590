// CPU per request of a sidecar hop pair (outbound → inbound, one proxy process) with telemetry
// off, metrics on, tracing at 1% and at 100% (exported over OTLP/HTTP protobuf to a sink in
// the harness). One child process per mode, all started first and kept for the whole run,
// pinned to one CPU with taskset; the load generator, the app (a minimal node:http server with
// a fixed 2-byte answer, so the figure is the proxy's work, not an app's) and the sink run in
// the harness, pinned to the other CPU. Each round measures every child in turn over a long
// window at a fixed rate (order rotated per round: A/B/C/D, B/C/D/A, ...), so the modes are
// interleaved in time and a shared machine's drift falls on all of them.
//
// CPU is read by the harness from /proc/<pid>/task/*/schedstat (nanoseconds on CPU, every
// thread of the child), before and after the window: nothing inside the child measures itself.
// A mode's ratio to "off" is the ratio of its summed CPU per request over the rounds to off's,
// with a 95 % confidence interval from a paired bootstrap over rounds (whole rounds resampled,
// so the pairing of a mode with the "off" measured beside it is kept). A target is reported as
// met when the interval lies below it, not met when the interval lies above it, and "within
// noise" when it straddles it.
//
// Usage: npx node bench/telemetry-cost.ts [--quick] [--rounds N] [--window-ms MS] [--rate R] [--against DIR] [--node-flags F,F]
//   --against DIR: also runs the four modes from another checkout (e.g. `git archive <sha> | tar
//   -x -C DIR` plus a node_modules symlink, and this file copied into DIR/bench/), interleaved in
//   the same rounds, and prints this tree's CPU per request over DIR's, mode by mode.
//   --node-flags F,F: Node/V8 flags for this tree's children only (e.g. --max-semi-space-size=1
//   with --against this same checkout: the flag's cost in the same run; or
//   --cpu-prof,--cpu-prof-dir=/tmp/x for profiles of every mode's child).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MODES = ['off', 'metrics', 'trace-1%', 'trace-100%'] as const;
type Mode = typeof MODES[number];
const TARGET: Record<Mode, number | null> = { off: null, metrics: 1.05, 'trace-1%': 1.05, 'trace-100%': 1.3 };
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
  const tel = mode === 'off' ? null : startTelemetry({
    role: 'sidecar', self: { name: 'bench', namespace: 'default', pod: 'bench-0', principal: '' }, env: {},
    metrics: mode === 'metrics', accessLog: null, otlpEndpoint: mode.startsWith('trace') ? otlp : null,
    defaultSamplingRatio: mode === 'trace-1%' ? 0.01 : 1, log: quiet,
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
async function load(port: number, ms: number, rate: number): Promise<number> {
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
        http.get({ port, host: '127.0.0.1', path: '/api', agent, headers: { host: 'svc:9080' } }, (res) => {
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

interface Subject { tree: string; mode: Mode; proc: ChildProcess; pid: number; port: number }

async function start(file: string, tree: string, mode: Mode, otlp: string, appPort: number, flags: string[]): Promise<Subject> {
  // taskset execs node, so the pid is the measured process and the IPC channel is inherited.
  const proc = spawn('taskset', ['-c', PROXY_CPU, process.execPath, ...process.execArgv, ...flags, file, '--child', mode, otlp, String(appPort)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { port: number }));
    proc.once('exit', (code) => reject(new Error(`${tree}:${mode} child exited ${code} before it listened`)));
  });
  return { tree, mode, proc, pid: proc.pid!, port };
}

/** CPU µs per request of one window. */
async function measure(s: Subject, ms: number, rate: number): Promise<number> {
  const before = cpuNs(s.pid);
  const n = await load(s.port, ms, rate);
  return (cpuNs(s.pid) - before) / 1000 / n;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** The ratio of summed CPU per request over the rounds, with a paired bootstrap 95 % interval. */
function ratioWithInterval(num: number[], den: number[], draws = 4000): { ratio: number; lo: number; hi: number } {
  const n = num.length;
  const rs: number[] = [];
  for (let d = 0; d < draws; d++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) { const k = Math.floor(Math.random() * n); a += num[k]!; b += den[k]!; }
    rs.push(a / b);
  }
  rs.sort((x, y) => x - y);
  return { ratio: sum(num) / sum(den), lo: quantile(rs, 0.025), hi: quantile(rs, 0.975) };
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
  const rounds = Number(arg('--rounds') ?? (quick ? 4 : 12));
  const against = arg('--against');
  const rate = Number(arg('--rate') ?? 1000);
  const flags = arg('--node-flags')?.split(',') ?? [];
  const ms = Number(arg('--window-ms') ?? (quick ? 1500 : 5000));
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
  const subjects: Subject[] = [];
  for (const [tree, file] of trees) for (const m of MODES) subjects.push(await start(file, tree, m, otlp, appPort, tree === 'this' ? flags : []));
  for (const s of subjects) await load(s.port, warmMs, rate);
  const key = (s: Subject): string => `${s.tree}:${s.mode}`;
  const abs = new Map<string, number[]>(subjects.map((s) => [key(s), []]));
  for (let r = 0; r < rounds; r++) {
    const us = new Map<string, number>();
    const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
    for (const s of order) us.set(key(s), await measure(s, ms, rate));
    for (const s of subjects) abs.get(key(s))!.push(us.get(key(s))!);
    console.log(`round ${r + 1}: ${subjects.map((s) => `${key(s)} ${us.get(key(s))!.toFixed(1)} µs`).join(', ')}`);
  }
  const fmt = (x: { ratio: number; lo: number; hi: number }): string => `${x.ratio.toFixed(3)}× [${x.lo.toFixed(3)}–${x.hi.toFixed(3)}]`;
  console.log(`\n| configuration | proxy CPU µs per request (2 hops), mean | ratio to off [95 % CI] | issue 11 target |${against ? ' this tree / against [95 % CI] |' : ''}`);
  console.log(`|---|---|---|---|${against ? '---|' : ''}`);
  for (const s of subjects) {
    const xs = abs.get(key(s))!;
    const r = ratioWithInterval(xs, abs.get(`${s.tree}:off`)!);
    const vs = against && s.tree === 'this' ? ` ${fmt(ratioWithInterval(xs, abs.get(`against:${s.mode}`)!))} |` : against ? ' |' : '';
    console.log(`| ${against ? key(s) : s.mode} | ${(sum(xs) / xs.length).toFixed(1)} | ${s.mode === 'off' ? '1' : fmt(r)} | ${verdict(r.lo, r.hi, TARGET[s.mode])} |${vs}`);
  }
  console.log(`\n(${rounds} rounds,${flags.length ? ` this tree's children with ${flags.join(' ')},` : ''} ${ms} ms per window, children kept across rounds after ${warmMs} ms warm-up each, ${rate} requests/s open loop over keep-alive connections; proxies on CPU ${PROXY_CPU}, harness on CPU ${HARNESS_CPU}; OTLP posts received: ${posts}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  for (const s of subjects) s.proc.send('exit');
  await Promise.all(subjects.map((s) => new Promise((r) => (s.proc.exitCode !== null ? r(null) : s.proc.once('exit', r)))));
  sink.close();
  app.close();
}

await main();
