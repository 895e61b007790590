// The Propagated feed (issue 14): Publisher.movedRoutes() names every route whose propagation()
// answer moved since the last call (acks, disconnects, reconnects, route and endpoint changes),
// and only routes the step touched, so the status writer can ask those alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type AgentMessage, type ControllerMessage } from '../../api/wire.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { withVersion, type BackendIR, type RoutingTable, type ServiceFrontendIR } from '../../api/index.ts';
import { MovedRoutes } from './moved-routes.ts';
import { Publisher } from './publisher.ts';

test('MovedRoutes: any route at first, then what was added since the last take; any again past its bound', () => {
  const m = new MovedRoutes(3);
  m.add('HTTPRoute/a/x');
  assert.equal(m.take(), null, 'before the first take: any route may have moved');
  assert.deepEqual([...m.take()!], []);
  m.add('HTTPRoute/a/x');
  m.add('HTTPRoute/a/y');
  m.add('HTTPRoute/a/x');
  assert.deepEqual([...m.take()!].sort(), ['HTTPRoute/a/x', 'HTTPRoute/a/y']);
  assert.deepEqual([...m.take()!], []);
  for (const n of ['1', '2', '3', '4']) m.add(`HTTPRoute/a/${n}`);
  assert.equal(m.take(), null, 'more than the bound without a take: any route');
  m.add('HTTPRoute/a/5');
  assert.deepEqual([...m.take()!], ['HTTPRoute/a/5']);
});

/** A raw agent: hello, every update/patch frame kept, acks on demand. */
class Agent {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  constructor(port: number) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${WIRE_PATH}`);
    this.ws.on('message', (d: Buffer) => {
      const m = parseMessage(d, 'controller') as ControllerMessage;
      if (m.type === 'update' || m.type === 'patch') this.frames.push(m.version);
    });
  }
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(m: AgentMessage): void {
    this.ws.send(encodeMessage(m));
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

test('movedRoutes() names every route whose count or generation moved, over random acks, disconnects, reconnects and table changes, and no route a step did not touch', async () => {
  let seed = 11;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const names = ['a', 'b', 'c', 'd'];
  const ip = (n: string): string => `10.0.2.${names.indexOf(n) + 1}`;
  const frontends = new Map<string, ServiceFrontendIR>();
  const backends = new Map<string, BackendIR>();
  const newFrontend = (n: string): ServiceFrontendIR => service({ name: n, clusterIP: ip(n), port: 80, rules: [rule({ route: `r-${n}`, backends: [{ backend: backendName('default', pick(names), 80), weight: 1 + Math.floor(rnd() * 5) }] })] });
  const newBackend = (n: string): BackendIR => backend('default', n, 80, [{ port: 1 + Math.floor(rnd() * 3) }]);
  for (const n of names) frontends.set(n, newFrontend(n));
  for (const n of names) backends.set(n, newBackend(n));
  const build = (): RoutingTable => table({ services: [...frontends.values()], backends: [...backends.values()] });
  const keys = names.map((n) => `HTTPRoute/default/r-${n}`);
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  let current = build();
  pub.setTable(current);
  const live: { agent: Agent; pod: string; targets: string[] }[] = [];
  const connect = async (pod: string): Promise<void> => {
    const agent = new Agent(pub.port);
    await agent.open();
    const targets = [...new Set([pick(names), pick(names)])];
    agent.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: targets.map((n) => ({ kind: 'destination' as const, address: ip(n), port: 80 })) });
    live.push({ agent, pod, targets });
  };
  const answers = (): string[] => keys.map((k) => {
    const [kind, namespace, name] = k.split('/') as [string, string, string];
    const p = pub.propagation({ kind, namespace, name });
    return `${p.upToDate}/${p.total}@${p.generation}`;
  });
  try {
    for (let i = 0; i < 5; i++) await connect(`p${i}`);
    await settle();
    assert.equal(pub.movedRoutes(), null, 'the first take: any route');
    let last = answers();
    let narrow = 0;
    let upToDateSeen = 0;
    for (let step = 0; step < 60; step++) {
      const r = rnd();
      // The routes this step can move: those of the agents it touches, or of the table change.
      let touched: Set<string> | null = null;
      if (r < 0.35 && live.length > 0) {
        const a = pick(live);
        const version = a.agent.frames.at(-1);
        if (version) a.agent.send({ type: 'ack', version });
        touched = new Set(a.targets.map((n) => `HTTPRoute/default/r-${n}`));
      } else if (r < 0.5 && live.length > 1) {
        const a = live.splice(live.indexOf(pick(live)), 1)[0]!;
        a.agent.ws.close();
        touched = new Set(a.targets.map((n) => `HTTPRoute/default/r-${n}`));
      } else if (r < 0.65) {
        await connect(`p${5 + step}`);
      } else if (r < 0.8) {
        // An endpoint change: no route's generation moves.
        const b = newBackend(pick(names));
        backends.set(b.name.split('/')[2]!, b);
        const { version: _v, ...rest } = current;
        current = withVersion({ ...rest, backends: current.backends.map((x) => (x.name === b.name ? b : x)) });
        pub.setTable(current);
      } else {
        const n = pick(names);
        frontends.set(n, newFrontend(n));
        current = build();
        pub.setTable(current);
      }
      await settle();
      const moved = pub.movedRoutes();
      const now = answers();
      assert.ok(moved !== null, `step ${step}: a take after the first names routes`);
      for (const [i, k] of keys.entries()) {
        if (now[i] !== last[i]) assert.ok(moved.has(k), `step ${step}: ${k} moved ${last[i]} -> ${now[i]} but was not named (${[...moved].join(', ')})`);
      }
      if (touched) {
        for (const k of moved) assert.ok(touched.has(k), `step ${step}: ${k} named, but the step touched only ${[...touched].join(', ')}`);
        if (moved.size < keys.length) narrow++;
      }
      last = now;
      upToDateSeen += now.filter((a) => !a.startsWith('0/')).length;
    }
    assert.ok(narrow > 10, `steps that named fewer than every route: ${narrow}`);
    assert.ok(upToDateSeen > 10, `answers with agents up to date (the feed ran against real counts): ${upToDateSeen}`);
  } finally {
    for (const a of live) a.agent.ws.terminate();
    await pub.close();
  }
});
