// `npx node bench/control-plane/publish-cost.ts [--routes 1000] [--agents 1000] [--kind route|endpoint]
//   [--warm 2] [--changes 6] [--swarm-cpus 0-1] [--keep-dumps DIR] [--node-flags '...']`
// What one change costs the controller per agent, counted, not timed (issue 14, ADR 0011): a
// Publisher alone in its process (publish-cost-child.ts) under callgrind, its main thread only
// (--separate-threads, the child run with --single-threaded-gc so that its collections are the
// change's cost), fed the bench world's tables; the bench's swarm (swarm.ts, another process)
// acks. Counting is switched on after the agents connected and the warm-up changes; each counted
// window runs from setTable() until the publisher handled every agent's ack (the translation of
// the change is done before it), and is reported as thousands of instructions per agent.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CallgrindCounter } from '../lib/instruction-count.ts';
import { Swarm } from './swarm-client.ts';
import { agentTargets } from './world.ts';
import type { CostCommand, CostReply } from './publish-cost-child.ts';
import { whole } from './args.ts';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '1000' }, agents: { type: 'string', default: '1000' }, kind: { type: 'string', default: 'route' },
    warm: { type: 'string', default: '2' }, changes: { type: 'string', default: '6' }, 'swarm-cpus': { type: 'string', default: '0-1' },
    'keep-dumps': { type: 'string' }, 'node-flags': { type: 'string', default: '' },
  },
  strict: true,
});
const kind = values.kind;
if (kind !== 'route' && kind !== 'endpoint') throw new Error(`--kind takes 'route' or 'endpoint', not '${kind}'`);
const routes = whole('routes', values.routes)!;
const agents = whole('agents', values.agents)!;
const warm = whole('warm', values.warm)!;
const changes = whole('changes', values.changes)!;
const log = (l: string): void => void process.stderr.write(`publish-cost: ${l}\n`);

const counter = new CallgrindCounter(true);
if (values['keep-dumps']) counter.keep = true;
const nodeFlags = ['--single-threaded-gc', ...values['node-flags'].split(' ').filter(Boolean)];
const child = spawn(counter.prefix()[0]!, [...counter.prefix().slice(1), process.execPath, ...nodeFlags, join(import.meta.dirname, 'publish-cost-child.ts'), '--routes', `${routes}`, '--agents', `${agents}`], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const pid = child.pid!;
const replies: CostReply[] = [];
let wake: (() => void) | null = null;
createInterface({ input: child.stdout }).on('line', (l) => {
  if (!l.startsWith('{')) return;
  replies.push(JSON.parse(l) as CostReply);
  wake?.();
});
child.once('exit', (code) => { replies.push({ ev: 'error', message: `publisher exited (${code})` }); wake?.(); });

async function reply(): Promise<CostReply> {
  while (replies.length === 0) await new Promise<void>((r) => { wake = r; });
  wake = null;
  const r = replies.shift()!;
  if (r.ev === 'error') throw new Error(r.message);
  return r;
}
const command = (c: CostCommand): void => void child.stdin.write(`${JSON.stringify(c)}\n`);

const swarm = new Swarm(values['swarm-cpus'], log);
try {
  const listening = await reply();
  if (listening.ev !== 'listening') throw new Error(`expected listening, got ${listening.ev}`);
  const url = `ws://127.0.0.1:${listening.port}`;
  const connected = await swarm.connect(url, Array.from({ length: agents }, (_, index) => ({ index, targets: agentTargets(index, routes) })), 900_000);
  if (connected.connected !== agents) throw new Error(`${connected.connected} of ${agents} agents connected: ${connected.failures.slice(0, 3).join('; ')}`);
  log(`${agents} agents connected to the publisher (${routes} routes); ${warm} warm-up and ${changes} counted ${kind} changes`);
  const perAgent: number[] = [];
  for (let i = 0; i < warm + changes; i++) {
    const counted = i >= warm;
    command({ cmd: 'prepare', kind, marker: `m${i}-${Date.now()}` });
    await reply();
    if (i === warm) await counter.instrument(pid);
    if (counted) await counter.zero(pid);
    command({ cmd: 'go' });
    const done = await reply();
    if (done.ev !== 'done') throw new Error(`expected done, got ${done.ev}`);
    if (!counted) continue;
    const n = await counter.read(pid, values['keep-dumps'] ? join(values['keep-dumps'], `${kind}-${i - warm}.cg`) : undefined);
    perAgent.push(n / agents / 1000);
    log(`${kind} change ${i - warm}: ${(n / agents / 1000).toFixed(1)} k instructions per agent (${done.acks} acks, ${done.ms.toFixed(0)} ms under callgrind)`);
  }
  const sorted = [...perAgent].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  process.stdout.write(`${JSON.stringify({ kind, routes, agents, perAgentK: perAgent.map((x) => Number(x.toFixed(1))), medianK: Number(median.toFixed(1)) })}\n`);
} finally {
  command({ cmd: 'quit' });
  await swarm.close();
  // callgrind writes its last dump as the child exits: the directory is removed after that
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  clearTimeout(killer);
  counter.close();
}
