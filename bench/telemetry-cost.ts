// CPU per request of a sidecar hop pair (outbound → inbound → app, one process) with telemetry
// off, metrics on, tracing at 1% and at 100% (exported over OTLP/HTTP protobuf to a sink in
// this process). One child process per mode, all started first and kept for the whole run;
// each round measures every child in turn for a short window (order rotated per round), and a
// mode's ratio to "off" is taken inside the round, so a shared machine's drift cancels and the
// median over many rounds is readable. The app is a minimal node:http server (fixed 2-byte
// answer), so the figure is the proxy's work, not an app's.
//
// Usage: npx node bench/telemetry-cost.ts [--quick] [--rounds N] [--rate R] [--against DIR] [--node-flags F,F]
//   --against DIR: also runs the four modes from another checkout (e.g. `git archive <sha> | tar
//   -x -C DIR` plus a node_modules symlink, and this file copied into DIR/bench/), interleaved in
//   the same rounds, and prints this tree's CPU per request over DIR's, mode by mode.
//   --node-flags F,F: Node/V8 flags for this tree's children only (e.g. --max-semi-space-size=1
//   with --against this same checkout: the flag's cost in the same run).
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MODES = ['off', 'metrics', 'trace-1%', 'trace-100%'] as const;
type Mode = typeof MODES[number];

async function child(mode: Mode, otlp: string): Promise<void> {
  const { startSidecar } = await import('../agent/sidecar.ts');
  const { ManualTableSource } = await import('../agent/table-source.ts');
  const { startTelemetry } = await import('../agent/telemetry/index.ts');
  const T = await import('../test/support/routing-tables.ts');
  const quiet = (): void => undefined;
  const app = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
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
  let start = process.cpuUsage();
  process.on('message', (m: string) => {
    if (m === 'start') { start = process.cpuUsage(); process.send!('started'); }
    if (m === 'end') { const d = process.cpuUsage(start); process.send!({ cpuUs: d.user + d.system }); }
    if (m === 'exit') void (tel ? tel.shutdown() : Promise.resolve()).finally(() => process.exit(0));
  });
  process.send!({ port: sidecar.ports.outbound });
}

function ask<T>(c: ChildProcess, msg: string): Promise<T> {
  return new Promise((resolve) => { c.once('message', (m) => resolve(m as T)); c.send(msg); });
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

interface Subject { tree: string; mode: Mode; proc: ChildProcess; port: number }

async function spawn(file: string, tree: string, mode: Mode, otlp: string, flags: string[]): Promise<Subject> {
  const proc = fork(file, ['--child', mode, otlp], { execArgv: [...process.execArgv, ...flags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => proc.once('message', (m) => resolve(m as { port: number })));
  return { tree, mode, proc, port };
}

async function measure(s: Subject, ms: number, rate: number): Promise<number> {
  await ask(s.proc, 'start');
  const n = await load(s.port, ms, rate);
  const { cpuUs } = await ask<{ cpuUs: number }>(s.proc, 'end');
  return cpuUs / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as Mode, process.argv[4]!);
  const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i < 0 ? undefined : process.argv[i + 1]; };
  const quick = process.argv.includes('--quick');
  const rounds = Number(arg('--rounds') ?? (quick ? 5 : 15));
  const against = arg('--against');
  const rate = Number(arg('--rate') ?? 1000);
  const flags = arg('--node-flags')?.split(',') ?? [];
  const [warmMs, ms] = quick ? [1000, 1000] : [2000, 2000];
  let spans = 0;
  const sink = http.createServer((req, res) => { req.on('data', () => { spans++; }); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const trees: [string, string][] = [['this', fileURLToPath(import.meta.url)]];
  if (against) trees.push(['against', path.resolve(against, 'bench/telemetry-cost.ts')]);
  const subjects: Subject[] = [];
  for (const [tree, file] of trees) for (const m of MODES) subjects.push(await spawn(file, tree, m, otlp, tree === 'this' ? flags : []));
  for (const s of subjects) await load(s.port, warmMs, rate);
  const key = (s: Subject): string => `${s.tree}:${s.mode}`;
  const abs = new Map<string, number[]>(subjects.map((s) => [key(s), []]));
  const ratios = new Map<string, number[]>(subjects.map((s) => [key(s), []]));
  const vsAgainst = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    const us = new Map<string, number>();
    const order = subjects.map((_, i) => subjects[(i + r) % subjects.length]!);
    for (const s of order) us.set(key(s), await measure(s, ms, rate));
    for (const s of subjects) {
      abs.get(key(s))!.push(us.get(key(s))!);
      ratios.get(key(s))!.push(us.get(key(s))! / us.get(`${s.tree}:off`)!);
    }
    if (against) for (const m of MODES) vsAgainst.get(m)!.push(us.get(`this:${m}`)! / us.get(`against:${m}`)!);
    console.log(`round ${r + 1}: ${subjects.map((s) => `${key(s)} ${us.get(key(s))!.toFixed(0)} µs`).join(', ')}`);
  }
  console.log(`\n| configuration | CPU µs per request (2 hops + app), median | ratio to off, median of rounds [min–max] |${against ? ' this tree / against, median [min–max] |' : ''}`);
  console.log(`|---|---|---|${against ? '---|' : ''}`);
  for (const s of subjects) {
    const vs = against && s.tree === 'this' ? ` ${median(vsAgainst.get(s.mode)!).toFixed(3)}× [${range(vsAgainst.get(s.mode)!)}] |` : against ? ' |' : '';
    console.log(`| ${against ? key(s) : s.mode} | ${median(abs.get(key(s))!).toFixed(0)} | ${median(ratios.get(key(s))!).toFixed(3)}× [${range(ratios.get(key(s))!)}] |${vs}`);
  }
  console.log(`\n(${rounds} rounds,${flags.length ? ` this tree's children with ${flags.join(' ')},` : ''} ${ms} ms per measurement, children kept across rounds after ${warmMs} ms warm-up each, ${rate} requests/s open loop over keep-alive connections; OTLP posts received: ${spans > 0 ? 'yes' : 'no'})`);
  for (const s of subjects) s.proc.send('exit');
  await Promise.all(subjects.map((s) => new Promise((r) => (s.proc.exitCode !== null ? r(null) : s.proc.once('exit', r)))));
  sink.close();
}

await main();
