// CPU per request of a sidecar hop pair (outbound → inbound → app, one process) with telemetry
// off, metrics on, tracing at 1% and at 100% (exported over OTLP/HTTP protobuf to a sink in
// this process). Modes are interleaved within each round and the ratio to "off" is taken inside
// the round, so a shared machine's drift cancels. Usage: npx node bench/telemetry-cost.ts [--quick]
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const MODES = ['off', 'metrics', 'trace-1%', 'trace-100%'] as const;
type Mode = typeof MODES[number];

async function child(mode: Mode, otlp: string): Promise<void> {
  const { startSidecar } = await import('../agent/sidecar.ts');
  const { ManualTableSource } = await import('../agent/table-source.ts');
  const { startTelemetry } = await import('../agent/telemetry/index.ts');
  const { startEchoServer } = await import('../cli/dev/echo-workload.ts');
  const T = await import('../test/support/routing-tables.ts');
  const quiet = (): void => undefined;
  const app = await startEchoServer({ pod: 'bench-0', namespace: 'default' });
  let inboundPort = -1;
  const tel = mode === 'off' ? null : startTelemetry({
    role: 'sidecar', self: { name: 'bench', namespace: 'default', pod: 'bench-0', principal: '' }, env: {},
    metrics: mode === 'metrics', accessLog: null, otlpEndpoint: mode.startsWith('trace') ? otlp : null,
    defaultSamplingRatio: mode === 'trace-1%' ? 0.01 : 1, log: quiet,
  });
  const source = new ManualTableSource();
  const sidecar = await startSidecar({
    namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 }, log: quiet,
    originalDestination: (s) => (s.localPort === inboundPort ? { address: '127.0.0.1', port: app.port } : { address: '10.96.0.9', port: 9080 }),
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

async function load(port: number, ms: number, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + ms;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      await new Promise<void>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: '/api', agent, headers: { host: 'svc:9080' } }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
      });
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return done;
}

async function measure(mode: Mode, otlp: string, warmMs: number, ms: number): Promise<number> {
  const c = fork(fileURLToPath(import.meta.url), ['--child', mode, otlp], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve) => c.once('message', (m) => resolve(m as { port: number })));
  await load(port, warmMs, 16);
  await ask(c, 'start');
  const n = await load(port, ms, 16);
  const { cpuUs } = await ask<{ cpuUs: number }>(c, 'end');
  c.send('exit');
  await new Promise((r) => c.once('exit', r));
  return cpuUs / n;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as Mode, process.argv[4]!);
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 3 : 7;
  const [warmMs, ms] = quick ? [300, 1500] : [1000, 5000];
  let spans = 0;
  const sink = http.createServer((req, res) => { req.on('data', () => { spans++; }); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const ratios: Record<Mode, number[]> = { 'off': [], 'metrics': [], 'trace-1%': [], 'trace-100%': [] };
  const abs: Record<Mode, number[]> = { 'off': [], 'metrics': [], 'trace-1%': [], 'trace-100%': [] };
  for (let r = 0; r < rounds; r++) {
    const us: Partial<Record<Mode, number>> = {};
    for (const m of MODES) us[m] = await measure(m, otlp, warmMs, ms);
    for (const m of MODES) { abs[m].push(us[m]!); ratios[m].push(us[m]! / us.off!); }
    console.log(`round ${r + 1}: ${MODES.map((m) => `${m} ${us[m]!.toFixed(0)} µs`).join(', ')}`);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log('\n| configuration | CPU µs per request (2 hops + app), median | ratio to off, median of rounds [min–max] |\n|---|---|---|');
  for (const m of MODES) {
    console.log(`| ${m} | ${median(abs[m]).toFixed(0)} | ${median(ratios[m]).toFixed(3)}× [${Math.min(...ratios[m]).toFixed(2)}–${Math.max(...ratios[m]).toFixed(2)}] |`);
  }
  console.log(`\n(${rounds} rounds, ${ms} ms per measurement after ${warmMs} ms warm-up, 16 concurrent keep-alive clients; OTLP posts received: ${spans > 0 ? 'yes' : 'no'})`);
  sink.close();
}

await main();
