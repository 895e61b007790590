// The publisher alone, for bench/control-plane/publish-cost.ts: a Publisher (no informers, no
// status writer) fed the bench world's tables, translated as the controller translates them
// (IncrementalTranslator for a route change, EndpointPatcher for an endpoint-only one). Driven
// over stdin/stdout, one JSON line each way, so that the parent can count this process's main
// thread under callgrind from setTable() until every agent's ack was handled, nothing else.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Publisher } from '../../controller/publish/publisher.ts';
import { EndpointPatcher, endpointOnlyChange, IncrementalTranslator } from '../../controller/translate/index.ts';
import { buildSnapshot, type TranslateResult } from '../../controller/translate/snapshot.ts';
import { endpointSliceObject, routeObject, world } from './world.ts';

export type CostCommand = { cmd: 'prepare'; kind: 'route' | 'endpoint'; marker: string } | { cmd: 'go' } | { cmd: 'quit' };
export type CostReply = { ev: 'listening'; port: number } | { ev: 'ready' } | { ev: 'done'; acks: number; ms: number } | { ev: 'error'; message: string };

const { values } = parseArgs({ options: { routes: { type: 'string', default: '1000' }, agents: { type: 'string', default: '1000' } }, strict: true });
const routes = Number(values.routes);
const agents = Number(values.agents);

const reply = (r: CostReply): void => void process.stdout.write(`${JSON.stringify(r)}\n`);

const translator = new IncrementalTranslator();
const patcher = new EndpointPatcher(translator.versioner);
let snapshot = buildSnapshot(world(routes)).snapshot;
let result: TranslateResult = translator.translate(snapshot);
patcher.rebase(translator.lookup);
let next: TranslateResult | null = null;

// Pings every 10 min: none lands in a counted window.
const publisher = await Publisher.start({ host: '127.0.0.1', port: 0, heartbeatMs: 600_000, helloTimeoutMs: 600_000 });
publisher.setTable(result.ir);
let waiting: { from: number; started: number } | null = null;
publisher.onChange(() => {
  if (!waiting) return;
  const acks = publisher.metrics().acksTotal - waiting.from;
  if (acks < agents) return;
  const ms = performance.now() - waiting.started;
  waiting = null;
  reply({ ev: 'done', acks, ms });
});
reply({ ev: 'listening', port: publisher.port });

function prepare(kind: 'route' | 'endpoint', marker: string): void {
  if (kind === 'route') {
    const httpRoutes = [...snapshot.httpRoutes];
    httpRoutes[0] = routeObject(0, marker);
    snapshot = { ...snapshot, httpRoutes };
    next = translator.translate(snapshot);
    patcher.rebase(translator.lookup);
  } else {
    const endpointSlices = [...snapshot.endpointSlices];
    endpointSlices[0] = endpointSliceObject(0, marker);
    const s = { ...snapshot, endpointSlices };
    const change = endpointOnlyChange(snapshot, s);
    if (!change) throw new Error('not an endpoint-only change');
    next = patcher.patch(result, s, change);
    snapshot = s;
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as CostCommand;
  try {
    if (c.cmd === 'prepare') {
      prepare(c.kind, c.marker);
      reply({ ev: 'ready' });
    } else if (c.cmd === 'go') {
      waiting = { from: publisher.metrics().acksTotal, started: performance.now() };
      result = next!;
      publisher.setTable(result.ir);
    } else {
      await publisher.close();
      process.exit(0);
    }
  } catch (err) {
    reply({ ev: 'error', message: (err as Error).message });
  }
}
