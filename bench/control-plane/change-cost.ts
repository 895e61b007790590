// `npx node bench/control-plane/change-cost.ts [--routes 10000] [--changes 12] [--warm 2] [--agents 0]`
// Where a route change's controller CPU goes at a given mesh size (issue 14): the bench's world
// (world.ts) in a fake apiserver here, the controller's translation runner and publisher in a
// child process (change-cost-controller.ts) metering each phase by main-thread CPU, and the
// bench's change (route 0's header value) made `--changes` times after `--warm` unmetered ones.
// With `--agents N` the bench's swarm (another child) holds N agents, each acking every change.
// Prints each change's phases and the medians: CPU, not wall time, so it reads under load.
// CHANGE_COST_PROF=<file>: the controller writes a V8 CPU profile of the metered changes there.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { cpuOf } from '../lib/proc-stats.ts';
import { sleep } from '../lib/procs.ts';
import type { Phase, PhaseTotals } from './change-cost-controller.ts';
import { percentiles } from './percentiles.ts';
import { Swarm } from './swarm-client.ts';
import { agentTargets, routeObject, world } from './world.ts';

const { values } = parseArgs({
  options: { routes: { type: 'string', default: '10000' }, changes: { type: 'string', default: '12' }, warm: { type: 'string', default: '2' }, agents: { type: 'string', default: '0' } },
  strict: true,
});
const routes = Number(values.routes);
const changes = Number(values.changes);
const warm = Number(values.warm);
const agents = Number(values.agents);
const log = (l: string): void => void process.stderr.write(`change-cost: ${l}\n`);

const api = await startFakeApiServer({ objects: world(routes) });
const child = fork(join(import.meta.dirname, 'change-cost-controller.ts'), [api.url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const replies: ((m: unknown) => void)[] = [];
child.on('message', (m) => replies.shift()?.(m));
const next = <T>(): Promise<T> => new Promise((resolve) => replies.push((m) => resolve(m as T)));
const ask = <T>(cmd: string): Promise<T> => {
  const p = next<T>();
  child.send({ cmd });
  return p;
};

/** Waits until the controller used under 5 % of a core over 500 ms (bounded by `maxMs`). */
async function quiet(minMs: number, maxMs = 120_000): Promise<void> {
  const started = Date.now();
  await sleep(minMs);
  while (Date.now() - started < maxMs) {
    const ns0 = cpuOf([child.pid!]).ns;
    await sleep(500);
    if ((cpuOf([child.pid!]).ns - ns0) / 1e6 / 500 < 0.05) return;
  }
  log(`not quiet after ${maxMs} ms`);
}

async function until(what: string, ok: () => Promise<boolean>, maxMs = 900_000): Promise<void> {
  const started = Date.now();
  while (!(await ok())) {
    if (Date.now() - started > maxMs) throw new Error(`change-cost: ${what} not within ${maxMs} ms`);
    await sleep(200);
  }
}

const { port } = await next<{ port: number }>();
await until('the first translation and its status pass', async () => (await ask<{ translations: number; writes: number }>('state')).writes >= routes);
await quiet(1000);
let swarm: Swarm | undefined;
if (agents > 0) {
  swarm = new Swarm('0-1');
  const conn = await swarm.connect(`ws://127.0.0.1:${port}`, Array.from({ length: agents }, (_, i) => ({ index: i, targets: agentTargets(i, routes) })), 120_000);
  log(`${conn.connected} agents connected`);
  await quiet(1500);
}
const PHASES: Phase[] = ['snapshot', 'translate', 'setTable', 'takeMoved'];
const rows: PhaseTotals[] = [];
// Windows without a change, waited for as a change's is: the watch streams' bookmarks and the
// timers the controller runs anyway, which a change's `rest` includes too.
const idle: PhaseTotals[] = [];
await ask('mark');
for (let k = 0; k < 3; k++) {
  await quiet(1200);
  idle.push(await ask<PhaseTotals>('mark'));
}
for (let k = 0; k < warm + changes; k++) {
  if (k === warm) await ask('prof'); // CHANGE_COST_PROF: the metered changes alone
  const marker = `chg-${k}-${Date.now().toString(36)}`;
  const acked = await swarm?.arm(marker, 120_000);
  const before = (await ask<{ translations: number }>('state')).translations;
  await ask('mark');
  api.update(routeObject(0, marker));
  await until('the change translated', async () => (await ask<{ translations: number }>('state')).translations > before);
  if (acked) await acked.done;
  // The Propagated resync follows the acks after the runner's 1 s throttle.
  await quiet(1200);
  const t = await ask<PhaseTotals>('mark');
  if (k < warm) continue;
  rows.push(t);
  const rest = t.threadMs - PHASES.reduce((a, p) => a + t.cpuMs[p], 0);
  log(`change ${k - warm}: thread ${t.threadMs.toFixed(1)} ms (process ${t.processMs.toFixed(1)}); ${PHASES.map((p) => `${p} ${t.cpuMs[p].toFixed(1)}/${t.calls[p]}`).join(', ')}; rest ${rest.toFixed(1)}; translations ${t.translations}, statuses visited ${t.statusesVisited}, counts asked ${t.countsAsked}, writes ${t.writes}`);
}
const med = (f: (t: PhaseTotals) => number): string => percentiles(rows.map(f)).p50.toFixed(1);
console.log(`routes ${routes}, agents ${agents}, ${rows.length} changes (after ${warm} unmetered), medians, ms of main-thread CPU per change:`);
console.log(`  thread ${med((t) => t.threadMs)} (process ${med((t) => t.processMs)}), ${PHASES.map((p) => `${p} ${med((t) => t.cpuMs[p])}`).join(', ')}, rest ${med((t) => t.threadMs - PHASES.reduce((a, p) => a + t.cpuMs[p], 0))}`);
console.log(`  idle windows (no change, same wait): thread ${idle.map((t) => t.threadMs.toFixed(1)).join(', ')} ms`);
console.log(`  statuses visited ${med((t) => t.statusesVisited)}, counts asked ${med((t) => t.countsAsked)}, writes ${med((t) => t.writes)}`);
await swarm?.close();
child.send({ cmd: 'stop' });
await new Promise((r) => child.once('exit', r));
await api.close();
process.exit(0);
