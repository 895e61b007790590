import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type AgentMessage, type ControllerMessage } from '../../api/wire.ts';
import { backend, backendName, rule, service, table } from '../../test/support/routing-tables.ts';
import { applyPatch } from '../../api/wire.ts';
import { validate } from '../../api/validate.ts';
import { computeVersion, entryDigestsComputed } from '../../api/version.ts';
import { withVersion, type BackendIR, type RoutingTable, type ServiceFrontendIR } from '../../api/index.ts';
import { Publisher, type PublisherOptions } from './publisher.ts';
import { routesIn, sliceTable } from './slice.ts';

// A raw protocol client: every frame the publisher sends, in order, with bounded waits.
class RawAgent {
  readonly ws: WebSocket;
  readonly inbox: ControllerMessage[] = [];
  #waiters: (() => void)[] = [];
  closed = false;
  constructor(port: number) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${WIRE_PATH}`);
    this.ws.on('message', (d: Buffer) => {
      this.inbox.push(parseMessage(d, 'controller') as ControllerMessage);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ws.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(m: AgentMessage | Record<string, unknown>): void {
    this.ws.send(typeof m === 'object' && 'type' in m ? encodeMessage(m as AgentMessage) : JSON.stringify(m));
  }
  hello(namespace = 'default', pod = 'client-0'): void {
    this.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod, namespace, serviceAccount: 'sa', mode: 'sidecar' }, auth: { type: 'none' }, targets: [] });
  }
  /** Resolves with the next message of that type not yet taken; fails after 2 s. */
  async next<T extends ControllerMessage['type']>(type: T): Promise<Extract<ControllerMessage, { type: T }>> {
    const deadline = Date.now() + 2_000;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Extract<ControllerMessage, { type: T }>;
      if (this.closed || Date.now() > deadline) throw new Error(`no ${type} frame (closed=${this.closed}, inbox ${JSON.stringify(this.inbox.map((m) => m.type))})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
  closedWithin(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.ws.once('close', () => { clearTimeout(t); resolve(true); });
    });
  }
}

function twoServices(weightV2 = 0) {
  return table({
    services: [
      service({ name: 'reviews', clusterIP: '10.0.0.1', port: 80, rules: [rule({ route: 'split', backends: [{ backend: backendName('default', 'reviews', 80), weight: 1 }, { backend: backendName('default', 'v2', 80), weight: weightV2 }] })] }),
      service({ name: 'ratings', clusterIP: '10.0.0.2', port: 80 }),
    ],
    backends: [backend('default', 'reviews', 80, [{ port: 1 }]), backend('default', 'v2', 80, [{ port: 2 }]), backend('default', 'ratings', 80, [{ port: 3 }])],
  });
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/**
 * A publisher on a free loopback port with `n` raw agents connected (not yet said hello): `fn`
 * runs the test, and every agent in `agents` (the test may add some) and the publisher are
 * closed after it, pass or fail. Per test, so a test filtered out opens nothing.
 */
async function withPublisher(n: number, fn: (pub: Publisher, agents: RawAgent[]) => Promise<void>, opts: Omit<PublisherOptions, 'host' | 'port'> = {}): Promise<void> {
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined, ...opts });
  const agents = Array.from({ length: n }, () => new RawAgent(pub.port));
  try {
    await Promise.all(agents.map((a) => a.open()));
    await fn(pub, agents);
  } finally {
    for (const a of agents) a.ws.terminate();
    await pub.close();
  }
}

describe('Publisher', () => {
  const logs: string[] = [];
  // Started in before(), not in an async describe body: Node's runner does not filter the tests of
  // an async describe by --test-name-pattern (nodejs/node#54084), and with every test filtered out
  // its after() never ran, so the open server kept the process alive.
  let pub: Publisher;
  before(async () => {
    pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: (l) => logs.push(l), helloTimeoutMs: 300 });
  });
  const agents: RawAgent[] = [];
  const agent = async (): Promise<RawAgent> => {
    const a = new RawAgent(pub.port);
    agents.push(a);
    await a.open();
    return a;
  };
  after(async () => {
    for (const a of agents) a.ws.terminate();
    await pub.close();
  });

  test('hello is answered with welcome and the (empty) slice once a table exists', async () => {
    pub.setTable(twoServices());
    const a = await agent();
    a.hello();
    assert.equal((await a.next('welcome')).protocol, WIRE_PROTOCOL);
    const u = await a.next('update');
    assert.deepEqual([u.table.services, u.table.backends], [[], []]);
  });

  test('subscribe: the update comes first, then subscribed with its version', async () => {
    const a = await agent();
    a.hello();
    await a.next('update');
    a.send({ type: 'subscribe', id: 7, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] });
    const u = await a.next('update');
    assert.deepEqual(u.table.services.map((s) => s.name), ['service/default/reviews']);
    const s = await a.next('subscribed');
    assert.deepEqual([s.id, s.version], [7, u.version]);
    // Subscribing again changes nothing: no update, just the answer.
    a.send({ type: 'subscribe', id: 8, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] });
    assert.equal((await a.next('subscribed')).version, u.version);
    assert.equal(a.inbox.some((m) => m.type === 'update'), false);
  });

  test('a table change reaches only the agents whose slice changed; acks drive propagation()', async () => {
    pub.setTable(twoServices(0));
    const user = await agent();
    const other = await agent();
    user.hello('default', 'user');
    other.hello('default', 'other');
    await user.next('update');
    await other.next('update');
    user.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] });
    other.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] });
    const first = await user.next('update');
    await other.next('update');
    const route = { kind: 'HTTPRoute', namespace: 'default', name: 'split' };
    const before = pub.propagation(route);
    assert.equal(before.upToDate, 0);
    assert.ok(before.total >= 1);
    user.send({ type: 'ack', version: first.version });
    await settle();
    const acked = pub.propagation(route);
    assert.equal(acked.upToDate, 1);
    const changes: number[] = [];
    const off = pub.onChange(() => changes.push(1));
    pub.setTable(twoServices(5));
    // It acked the base, and one entry of three changed: a patch.
    const second = await user.next('patch');
    assert.equal(second.base, first.version);
    assert.deepEqual(second.changes.services.upsert.map((x) => x.name), ['service/default/reviews']);
    assert.deepEqual([second.changes.backends, second.changes.gateways], [{ upsert: [], remove: [] }, { upsert: [], remove: [] }]);
    assert.notEqual(second.version, first.version);
    await settle();
    assert.equal(other.inbox.some((m) => m.type === 'update'), false, 'ratings user got an update for reviews');
    const after = pub.propagation(route);
    assert.equal(after.upToDate, acked.upToDate - 1);
    assert.equal(after.generation, pub.generation);
    assert.ok(after.generation > acked.generation);
    user.send({ type: 'ack', version: second.version });
    await settle();
    assert.equal(pub.propagation(route).upToDate, acked.upToDate);
    assert.ok(changes.length > 0);
    off();
    // A route nobody uses: zero of zero.
    assert.deepEqual(pub.propagation({ kind: 'HTTPRoute', namespace: 'x', name: 'y' }), { upToDate: 0, total: 0, generation: 0 });
  });

  test('a nack is logged with the agent\'s reason and counted; the agent is not up to date', async () => {
    const a = await agent();
    a.hello('shop', 'web-1');
    await a.next('update');
    a.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] });
    const u = await a.next('update');
    const nacks = pub.metrics().nacksTotal;
    a.send({ type: 'nack', version: u.version, reason: 'regex does not compile', resend: false });
    await settle();
    assert.equal(pub.metrics().nacksTotal, nacks + 1);
    assert.ok(logs.some((l) => l.includes('shop/web-1') && l.includes(u.version) && l.includes('regex does not compile')), logs.join('\n'));
    const st = pub.agents().find((s) => s.pod === 'web-1');
    assert.deepEqual(st?.lastNack, { version: u.version, reason: 'regex does not compile' });
    assert.match(pub.renderMetrics(), /meshlet_publisher_nacks_total \d+/);
  });

  test('no patch on a base the agent has not acknowledged; a patch it cannot apply is resent whole', async () => {
    pub.setTable(twoServices(0));
    const a = await agent();
    a.hello('default', 'patchy');
    await a.next('update');
    a.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] });
    const first = await a.next('update');
    pub.setTable(twoServices(7));
    const whole = await a.next('update');
    assert.notEqual(whole.version, first.version, 'not acked: whole slice');
    a.send({ type: 'ack', version: whole.version });
    await settle();
    pub.setTable(twoServices(8));
    const patch = await a.next('patch');
    assert.equal(patch.base, whole.version);
    const updates = pub.metrics().updatesSentTotal;
    a.send({ type: 'nack', version: patch.version, reason: 'base differs', resend: true });
    const again = await a.next('update');
    assert.equal(again.version, patch.version);
    assert.equal(pub.metrics().updatesSentTotal, updates + 1);
  });

  test('agents that subscribe alike share a slice, but never across namespaces', async () => {
    pub.setTable(table({
      services: [service({ name: 'cart', clusterIP: '10.0.0.9', port: 80, consumers: [{ namespace: 'web', rules: [rule({ route: 'web-cart', namespace: 'web', backends: [{ backend: backendName('default', 'cart', 80) }] })] }] })],
      backends: [backend('default', 'cart', 80, [{ port: 1 }])],
    }));
    const targets = [{ kind: 'destination', address: '10.0.0.9', port: 80 }];
    const hello = (ns: string, pod: string) => ({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod, namespace: ns, serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets });
    const [w1, w2, d1] = [await agent(), await agent(), await agent()];
    w1.send(hello('web', 'w1'));
    w2.send(hello('web', 'w2'));
    d1.send(hello('default', 'd1'));
    const [u1, u2, u3] = [await w1.next('update'), await w2.next('update'), await d1.next('update')];
    assert.equal(u1.version, u2.version);
    assert.notEqual(u1.version, u3.version);
    assert.deepEqual(u1.table.services[0]?.ports[0]?.consumers.map((c) => c.namespace), ['web']);
    assert.deepEqual(u3.table.services[0]?.ports[0]?.consumers, []);
  });

  test('a first frame other than hello is refused with an error frame', async () => {
    const a = await agent();
    a.send({ type: 'ack', version: 'x' });
    assert.equal((await a.next('error')).code, 'E_WIRE_HELLO_EXPECTED');
    assert.equal(await a.closedWithin(1_000), true);
  });

  test('a malformed frame and another protocol version are refused', async () => {
    const a = await agent();
    a.ws.send('{not json');
    assert.equal((await a.next('error')).code, 'E_WIRE_MESSAGE_INVALID');
    const b = await agent();
    b.send({ type: 'hello', protocol: 'meshlet.dev/wire/v0', agent: { pod: 'p', namespace: 'n', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: [] });
    assert.equal((await b.next('error')).code, 'E_WIRE_PROTOCOL_UNSUPPORTED');
  });

  test('an agent that never says hello is disconnected', async () => {
    const a = await agent();
    assert.equal(await a.closedWithin(2_000), true);
  });

  test('subscriptions in the hello are in the very first update', async () => {
    pub.setTable(twoServices());
    const a = await agent();
    a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p', namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] });
    assert.deepEqual((await a.next('update')).table.services.map((s) => s.name), ['service/default/ratings']);
  });

  test('a hello naming the version of its slice resumes: nothing sent, counted as acknowledged; any other version gets the slice', async () => {
    pub.setTable(twoServices());
    const targets = [{ kind: 'destination', address: '10.0.0.1', port: 80 }] as const;
    const hello = (pod: string, version?: string) => ({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets, ...(version ? { version } : {}) });
    const first = await agent();
    first.send(hello('first'));
    assert.equal((await first.next('welcome')).current, undefined);
    const u = await first.next('update');
    const resumesBefore = pub.metrics().resumesTotal;
    const route = { kind: 'HTTPRoute', namespace: 'default', name: 'split' };
    await settle();
    const before = pub.propagation(route);

    const back = await agent();
    back.send(hello('back', u.version));
    assert.equal((await back.next('welcome')).current, u.version, 'the welcome says the version is current');
    const stale = await agent();
    stale.send(hello('stale', 'a-version-of-another-table'));
    assert.equal((await stale.next('welcome')).current, undefined);
    assert.equal((await stale.next('update')).version, u.version, 'another version: the slice, as before');
    await settle();
    assert.equal(back.inbox.some((m) => m.type === 'update' || m.type === 'patch'), false, 'nothing sent to the resumed agent');
    assert.equal(pub.metrics().resumesTotal - resumesBefore, 1);
    const byPod = new Map(pub.agents().map((s) => [s.pod, s]));
    assert.deepEqual([byPod.get('back')?.sentVersion, byPod.get('back')?.ackedVersion], [u.version, u.version], 'counted as acknowledged without an ack');
    assert.deepEqual([byPod.get('stale')?.sentVersion, byPod.get('stale')?.ackedVersion], [u.version, null], 'not counted until it acks');
    const split = pub.propagation(route);
    assert.deepEqual([split.upToDate - before.upToDate, split.total - before.total], [1, 2], 'of the two, only the resumed agent is up to date');

    // The next change reaches the resumed agent as changes to the version it runs.
    pub.setTable(twoServices(1));
    const p = await back.next('patch');
    assert.equal(p.base, u.version);
  });

  test('a sidecar may not subscribe to Gateways (their TLS keys are for the ingress)', async () => {
    const a = await agent();
    a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p', namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: [{ kind: 'gateways' }] });
    assert.equal((await a.next('error')).code, 'E_WIRE_SUBSCRIPTION_FORBIDDEN');
    const b = await agent();
    b.hello();
    await b.next('welcome');
    b.send({ type: 'subscribe', id: 1, targets: [{ kind: 'gateway', namespace: 'infra', name: 'public' }] });
    assert.equal((await b.next('error')).code, 'E_WIRE_SUBSCRIPTION_FORBIDDEN');
    assert.equal(await b.closedWithin(1_000), true);
    const c = await agent();
    c.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'i', namespace: 'default', serviceAccount: 's', mode: 'ingress' }, auth: { type: 'none' }, targets: [{ kind: 'gateways' }] });
    await c.next('welcome');
  });

  test('ping is answered with pong', async () => {
    const a = await agent();
    a.hello();
    a.send({ type: 'ping', nonce: 42 });
    assert.equal((await a.next('pong')).nonce, 42);
  });

  test('disconnected agents leave the counts', async () => {
    const a = await agent();
    a.hello('default', 'leaver');
    await a.next('update');
    assert.ok(pub.agents().some((s) => s.pod === 'leaver'));
    a.ws.close();
    await a.closedWithin(1_000);
    await settle();
    assert.equal(pub.agents().some((s) => s.pod === 'leaver'), false);
  });
});

test('authenticate can refuse an agent', async () => {
  const authenticate = (h: { auth: { type: string } }): void => {
    if (h.auth.type !== 'token') throw Object.assign(new Error('a token is required'), { code: 'E_WIRE_UNAUTHENTICATED' });
  };
  await withPublisher(1, async (pub, agents) => {
    const a = agents[0]!;
    a.hello();
    const e = await a.next('error');
    assert.deepEqual([e.code, e.message], ['E_WIRE_UNAUTHENTICATED', 'a token is required']);
    assert.equal(pub.metrics().helloRejectedTotal, 1);
  }, { authenticate });
});

test('a table every agent refuses costs a handful of log lines, all refusals counted', async () => {
  const logs: string[] = [];
  await withPublisher(8, async (pub, agents) => {
    pub.setTable(twoServices());
    for (const [i, a] of agents.entries()) a.hello('default', `p${i}`);
    for (const a of agents) {
      const u = await a.next('update');
      a.send({ type: 'nack', version: u.version, reason: 'nope', resend: false });
    }
    const deadline = Date.now() + 2_000;
    while (pub.metrics().nacksTotal < 8 && Date.now() < deadline) await settle();
    assert.equal(pub.metrics().nacksTotal, 8);
    assert.equal(logs.filter((l) => l.includes('refused routing table')).length, 5);
    assert.equal(logs.filter((l) => l.includes('further refusals')).length, 1);
  }, { log: (l) => void logs.push(l) });
});

describe('the endpoint fast path (issue 14)', () => {
  /** twoServices() with the endpoints of one backend replaced, the rest the same objects: what an endpoint patch publishes. */
  const withEndpoints = (t: RoutingTable, service: string, ports: number[], podName?: string): RoutingTable => {
    const { version: _v, ...rest } = t;
    return withVersion({ ...rest, backends: t.backends.map((b) => (b.serviceName === service ? backend('default', service, 80, ports.map((port) => ({ port, podName }))) : b)) });
  };
  const subscribe = async (a: RawAgent, pod: string, address: string | null): Promise<string> => {
    a.hello('default', pod);
    let u = await a.next('update');
    if (address) {
      a.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address, port: 80 }] });
      u = await a.next('update');
      await a.next('subscribed');
    }
    a.send({ type: 'ack', version: u.version });
    return u.version;
  };

  test('an endpoint change reaches exactly the agents whose slice holds the backend, patched once per shared slice', async () => {
    await withPublisher(4, async (pub, agents) => {
      const t1 = twoServices();
      pub.setTable(t1);
      const [r1, r2, reviews, idle] = agents as [RawAgent, RawAgent, RawAgent, RawAgent];
      const base = await subscribe(r1, 'r1', '10.0.0.2');
      assert.equal(await subscribe(r2, 'r2', '10.0.0.2'), base, 'the two ratings callers share a slice');
      await subscribe(reviews, 'rv', '10.0.0.1');
      await subscribe(idle, 'idle', null);
      await settle();
      const m0 = pub.metrics();
      pub.setTable(withEndpoints(t1, 'ratings', [7, 8]));
      for (const a of [r1, r2]) {
        const p = await a.next('patch');
        assert.equal(p.base, base);
        assert.deepEqual(p.changes.backends.upsert.map((b) => [b.name, b.endpoints.map((e) => e.port)]), [[backendName('default', 'ratings', 80), [7, 8]]]);
        assert.deepEqual([p.changes.services, p.changes.backends.remove], [{ upsert: [], remove: [] }, []]);
      }
      await settle();
      const tables = (a: RawAgent) => a.inbox.filter((m) => m.type === 'update' || m.type === 'patch');
      assert.deepEqual([tables(reviews), tables(idle)], [[], []], 'agents without the backend got nothing');
      const m1 = pub.metrics();
      assert.equal(m1.endpointTablesTotal - m0.endpointTablesTotal, 1);
      assert.equal(m1.slicesComputedTotal - m0.slicesComputedTotal, 1, 'one patched slice for both ratings callers; no other slice computed');
      assert.equal(pub.generation, 2);
      assert.equal(pub.propagation({ kind: 'HTTPRoute', namespace: 'default', name: 'split' }).generation, 1, 'no route changed');
    });
  });

  test('an agent that subscribes after an endpoint change gets the current endpoints', async () => {
    await withPublisher(3, async (pub, agents) => {
      const t1 = twoServices();
      pub.setTable(t1);
      const [early, late, again] = agents as [RawAgent, RawAgent, RawAgent];
      await subscribe(early, 'early', '10.0.0.2');
      await subscribe(again, 'again', null);
      await settle();
      const t2 = withEndpoints(t1, 'ratings', [9]);
      pub.setTable(t2);
      await early.next('patch');
      late.hello('default', 'late');
      await late.next('update');
      late.send({ type: 'subscribe', id: 1, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] });
      const u = await late.next('update');
      assert.deepEqual(u.table.backends.map((b) => b.endpoints.map((e) => e.port)), [[9]]);
      // An agent that was connected but subscribes only now, after a second change.
      const t3 = withEndpoints(t2, 'ratings', [10]);
      pub.setTable(t3);
      again.send({ type: 'subscribe', id: 2, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] });
      const v = await again.next('update');
      assert.deepEqual(v.table.backends.map((b) => b.endpoints.map((e) => e.port)), [[10]]);
      assert.equal(v.version, sliceTable(t3, { agent: { namespace: 'default', pod: 'again' }, targets: [{ kind: 'destination', address: '10.0.0.2', port: 80 }] }).version);
    });
  });

  test('an endpoint change racing a route change ends with every agent on the slice of the last table', async () => {
    const targets: Record<string, string> = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.1' };
    await withPublisher(3, async (pub, agents) => {
      const t1 = twoServices(0);
      pub.setTable(t1);
      for (const [i, a] of agents.entries()) await subscribe(a, 'abc'[i]!, targets['abc'[i]!]!);
      await settle();
      const t2 = twoServices(3); // a route change: new Service frontends
      pub.setTable(t2);
      pub.setTable(withEndpoints(t2, 'v2', [5])); // endpoints patched on top of it, before any ack
      pub.setTable(withEndpoints(t1, 'reviews', [6])); // a patch of an older table: not an endpoint delta of the one in force
      const last = withEndpoints(withEndpoints(t1, 'reviews', [6]), 'ratings', [4]);
      pub.setTable(last);
      await settle();
      for (const [i, a] of agents.entries()) {
        const pod = 'abc'[i]!;
        const frames = a.inbox.filter((m) => m.type === 'update' || m.type === 'patch');
        const final = frames.at(-1) as { version: string } | undefined;
        const want = sliceTable(last, { agent: { namespace: 'default', pod }, targets: [{ kind: 'destination', address: targets[pod]!, port: 80 }] });
        assert.equal(final?.version, want.version, `agent ${pod} ends on the last table's slice`);
      }
      assert.equal(pub.propagation({ kind: 'HTTPRoute', namespace: 'default', name: 'split' }).generation, 4, 'the route changed in table 2 and back in table 4');
    });
  });

  test('a route change re-slices only the agents whose slice holds a changed entry', async () => {
    await withPublisher(3, async (pub, agents) => {
      const t1 = twoServices(0);
      pub.setTable(t1);
      const [reviews, ratings, idle] = agents as [RawAgent, RawAgent, RawAgent];
      await subscribe(reviews, 'rv', '10.0.0.1');
      await subscribe(ratings, 'rt', '10.0.0.2');
      await subscribe(idle, 'idle', null);
      await settle();
      const before = pub.metrics().slicesComputedTotal;
      // The reviews frontend is a new object; ratings and every backend are the same objects.
      const { version: _v, ...rest } = t1;
      const reviewsV2 = twoServices(5).services.find((x) => x.serviceName === 'reviews')!;
      pub.setTable(withVersion({ ...rest, services: t1.services.map((x) => (x.serviceName === 'reviews' ? reviewsV2 : x)) }));
      await settle();
      assert.equal(pub.metrics().slicesComputedTotal - before, 1, 'only the reviews caller\'s slice was computed again');
      assert.equal(reviews.inbox.filter((m) => m.type === 'patch' || m.type === 'update').length, 1);
      assert.deepEqual([ratings, idle].map((a) => a.inbox.filter((m) => m.type === 'patch' || m.type === 'update').length), [0, 0]);
    });
  });

  test('a route change reaching agents with slices of their own: a frame only to those whose slice changed, each slice derived from its last, the changes serialised once', async () => {
    const ip = (i: number): string => `10.0.2.${i + 1}`;
    const front = (i: number, tag: string): ServiceFrontendIR => service({ name: `s${i}`, clusterIP: ip(i), port: 80, rules: [rule({ route: `r${i}`, headers: [{ type: 'Exact', name: 'x', value: tag }], backends: [{ backend: backendName('default', `s${i}`, 80) }] })] });
    const backends = Array.from({ length: 21 }, (_, i) => backend('default', `s${i}`, 80, [{ port: i + 1 }]));
    const others = Array.from({ length: 20 }, (_, i) => front(i + 1, 'same'));
    const t1 = table({ services: [front(0, 'v1'), ...others], backends });
    // Ten agents call s0 and one Service of their own; ten others call only their own.
    const specs = Array.from({ length: 20 }, (_, i) => ({ pod: `p${i}`, targets: [...(i < 10 ? [ip(0)] : []), ip(i + 1)].map((address) => ({ kind: 'destination' as const, address, port: 80 })) }));
    await withPublisher(specs.length, async (pub, agents) => {
      pub.setTable(t1);
      for (const [i, a] of agents.entries()) {
        a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: specs[i]!.pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: specs[i]!.targets });
        a.send({ type: 'ack', version: (await a.next('update')).version });
      }
      await settle();
      const m0 = pub.metrics();
      const encoded0 = pub.patchChangesEncoded;
      const frames0 = pub.framesEncoded;
      const diffed0 = pub.slicesDiffed;
      const r0 = { kind: 'HTTPRoute', namespace: 'default', name: 'r0' };
      assert.deepEqual([pub.propagation(r0).upToDate, pub.propagation(r0).total], [10, 10]);
      const recounted0 = pub.sessionsRecounted;
      // Only s0's frontend is a new object, as translation hands it back after a route change.
      const t2 = table({ services: [front(0, 'v2'), ...others], backends });
      pub.setTable(t2);
      await settle();
      const m1 = pub.metrics();
      assert.equal(m1.patchesSentTotal - m0.patchesSentTotal, 10, 'a patch to each of the ten agents calling s0');
      assert.equal(m1.updatesSentTotal - m0.updatesSentTotal, 0);
      assert.equal(m1.slicesComputedTotal - m0.slicesComputedTotal, 10, 'ten distinct slices');
      assert.equal(m1.slicesRebasedTotal - m0.slicesRebasedTotal, 10, 'each derived from the agent\'s last slice');
      assert.equal(pub.patchChangesEncoded - encoded0, 1, 'the changed frontend serialised once for the ten frames');
      assert.equal(pub.framesEncoded - frames0, 10, 'a frame per distinct slice');
      assert.equal(pub.slicesDiffed - diffed0, 0, 'no slice diffed: each patch is the frontend the change swapped into it (rebase-changes.ts)');
      assert.deepEqual([pub.propagation(r0).upToDate, pub.propagation(r0).total], [0, 10]);
      assert.equal(pub.sessionsRecounted - recounted0, 10, 'Propagated counts only the ten agents sent the change again, once');
      for (const [i, a] of agents.entries()) {
        const frames = a.inbox.filter((m) => m.type === 'patch' || m.type === 'update');
        if (i >= 10) {
          assert.equal(frames.length, 0, `agent ${i} does not call s0: nothing sent`);
          continue;
        }
        const want = sliceTable(t2, { agent: { namespace: 'default', pod: specs[i]!.pod }, targets: specs[i]!.targets });
        assert.deepEqual(frames.map((f) => [f.type, f.version]), [['patch', want.version]], `agent ${i}`);
        const patch = frames[0] as Extract<ControllerMessage, { type: 'patch' }>;
        assert.deepEqual(patch.changes.services.upsert.map((x) => x.name), ['service/default/s0']);
        a.send({ type: 'ack', version: want.version });
      }
      await settle();
      assert.deepEqual([pub.propagation(r0).upToDate, pub.propagation(r0).total], [10, 10]);
      assert.equal(pub.sessionsRecounted - recounted0, 20, 'and again each of the ten once its ack came');
    });
  });

  test('a rebased slice counts the routes it holds now: a route added to or taken from a Service the agent calls moves the Propagated totals (the route set is kept only when the routes are the same)', async () => {
    const ip = (i: number): string => `10.0.3.${i + 1}`;
    const backends = [backend('default', 's0', 80, [{ port: 1 }]), backend('default', 's1', 80, [{ port: 2 }])];
    const to = [{ backend: backendName('default', 's0', 80) }];
    const r = (route: string, tag: string, index = 0): ReturnType<typeof rule> => rule({ route, index, headers: [{ type: 'Exact', name: 'x', value: tag }], backends: to });
    const at = (rules: ReturnType<typeof rule>[]): RoutingTable => table({ services: [service({ name: 's0', clusterIP: ip(0), port: 80, rules }), service({ name: 's1', clusterIP: ip(1), port: 80 })], backends });
    const key = (name: string): { kind: string; namespace: string; name: string } => ({ kind: 'HTTPRoute', namespace: 'default', name });
    const totals = (pub: Publisher, name: string): [number, number] => [pub.propagation(key(name)).upToDate, pub.propagation(key(name)).total];
    const targets = [ip(0), ip(1)].map((address) => ({ kind: 'destination' as const, address, port: 80 }));
    await withPublisher(1, async (pub, [a]) => {
      pub.setTable(at([r('r0', 'v1')]));
      a!.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p0', namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets });
      a!.send({ type: 'ack', version: (await a!.next('update')).version });
      await settle();
      assert.deepEqual(totals(pub, 'r0'), [1, 1]);
      // Each step: the new table, whether its slice came from the last one (the path where the
      // last route set may be kept), and the totals once the agent acked.
      const steps: [ReturnType<typeof rule>[], Record<string, [number, number]>][] = [
        [[r('r0', 'v2')], { r0: [1, 1], rx: [0, 0] }],
        [[r('r0', 'v2'), r('rx', 'v1')], { r0: [1, 1], rx: [1, 1] }],
        [[r('rx', 'v2')], { r0: [0, 0], rx: [1, 1] }],
        [[r('ry', 'v1')], { rx: [0, 0], ry: [1, 1] }],
      ];
      for (const [i, [rules, want]] of steps.entries()) {
        const rebased0 = pub.metrics().slicesRebasedTotal;
        pub.setTable(at(rules));
        const f = await a!.next('patch');
        assert.equal(pub.metrics().slicesRebasedTotal - rebased0, 1, `step ${i}: the slice derived from the last one`);
        a!.send({ type: 'ack', version: f.version });
        await settle();
        for (const [name, counts] of Object.entries(want)) assert.deepEqual(totals(pub, name), counts, `step ${i}: ${name} up to date / total`);
      }
    });
  });

  test('movedRoutes() names no route over an endpoint change, acknowledged or not yet (no answer moved), and names a changed route', async () => {
    await withPublisher(1, async (pub, agents) => {
      const a = agents[0]!;
      const t1 = twoServices();
      pub.setTable(t1);
      await subscribe(a, 'k', '10.0.0.1');
      await settle();
      pub.movedRoutes(); // what the connect moved, taken
      const moved = (): string[] => [...pub.movedRoutes() ?? []];
      const sent = async (): Promise<{ version: string }> => {
        await settle();
        const f = a.inbox.filter((m) => m.type === 'update' || m.type === 'patch').at(-1) as { version: string } | undefined;
        assert.ok(f, 'a slice was sent');
        return f;
      };
      pub.setTable(withEndpoints(t1, 'reviews', [5]));
      const u = await sent();
      // The new endpoints are on their way: the agent still runs every route of its slice.
      assert.deepEqual(moved(), [], 'an endpoint change not yet acknowledged: nothing for a status pass to write');
      a.send({ type: 'ack', version: u.version });
      await settle();
      assert.deepEqual(moved(), [], 'acknowledged: still nothing');
      pub.setTable(twoServices(4));
      const v = await sent();
      const changed = moved();
      assert.ok(changed.some((k) => k.includes('split')), `the route changed: its generation moved (${changed.join(', ')})`);
      const split = { kind: 'HTTPRoute', namespace: 'default', name: 'split' };
      assert.deepEqual([pub.propagation(split).upToDate, pub.propagation(split).total], [0, 1], 'the route changed: behind until it acknowledges');
      a.send({ type: 'ack', version: v.version });
      await settle();
      assert.deepEqual([pub.propagation(split).upToDate, pub.propagation(split).total], [1, 1]);
      assert.ok(moved().some((k) => k.includes('split')), 'acknowledged: its count moved');
    });
  });

  test('an endpoint change reaching agents with slices of their own: one frame each, each slice patched when its agent is reached (none for an agent gone), the backend serialised once', async () => {
    const ip = (i: number): string => `10.0.3.${i + 1}`;
    const front = (i: number): ServiceFrontendIR => service({ name: `s${i}`, clusterIP: ip(i), port: 80, rules: [rule({ route: `r${i}`, backends: [{ backend: backendName('default', `s${i}`, 80) }] })] });
    const backends = Array.from({ length: 13 }, (_, i) => backend('default', `s${i}`, 80, [{ port: i + 1 }]));
    const t1 = table({ services: Array.from({ length: 13 }, (_, i) => front(i)), backends });
    // As the bench's agents: each calls s0 and one Service of its own (twelve slices); the last
    // one leaves before the change.
    const specs = Array.from({ length: 12 }, (_, i) => ({ pod: `p${i}`, targets: [ip(0), ip(i + 1)].map((address) => ({ kind: 'destination' as const, address, port: 80 })) }));
    await withPublisher(specs.length, async (pub, agents) => {
      pub.setTable(t1);
      for (const [i, a] of agents.entries()) {
        a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: specs[i]!.pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: specs[i]!.targets });
        a.send({ type: 'ack', version: (await a.next('update')).version });
      }
      const gone = agents.pop()!;
      gone.ws.close();
      await gone.closedWithin(1_000);
      await settle();
      const m0 = pub.metrics();
      const encoded0 = pub.patchChangesEncoded;
      const frames0 = pub.framesEncoded;
      const diffed0 = pub.slicesDiffed;
      const t2 = withEndpoints(t1, 's0', [40, 41]);
      pub.setTable(t2);
      await settle();
      const m1 = pub.metrics();
      assert.equal(m1.endpointTablesTotal - m0.endpointTablesTotal, 1);
      assert.equal(m1.patchesSentTotal - m0.patchesSentTotal, 11, 'a patch to each agent connected');
      assert.equal(m1.updatesSentTotal - m0.updatesSentTotal, 0);
      assert.equal(m1.slicesComputedTotal - m0.slicesComputedTotal, 11, 'the eleven slices patched; the twelfth, whose agent left, not');
      assert.equal(pub.framesEncoded - frames0, 11, 'a frame per agent');
      assert.equal(pub.patchChangesEncoded - encoded0, 1, 'the changed backend serialised once for the eleven frames');
      assert.equal(pub.slicesDiffed - diffed0, 0, 'no slice diffed: each patch is the backend the change swapped into it (endpoint-changes.ts)');
      const r1 = { kind: 'HTTPRoute', namespace: 'default', name: 'r1' };
      for (const [i, a] of agents.entries()) {
        const frames = a.inbox.filter((m) => m.type === 'patch' || m.type === 'update');
        const want = sliceTable(t2, { agent: { namespace: 'default', pod: specs[i]!.pod }, targets: specs[i]!.targets });
        assert.deepEqual(frames.map((f) => [f.type, f.version]), [['patch', want.version]], `agent ${i}: one frame, its slice of the new table`);
        const patch = frames[0] as Extract<ControllerMessage, { type: 'patch' }>;
        assert.deepEqual(patch.changes.backends.upsert.map((b) => [b.name, b.endpoints.map((e) => e.port)]), [[backendName('default', 's0', 80), [40, 41]]]);
        assert.deepEqual([patch.changes.services, patch.changes.gateways, patch.changes.policies, patch.changes.backends.remove], [{ upsert: [], remove: [] }, { upsert: [], remove: [] }, { upsert: [], remove: [] }, []]);
        a.send({ type: 'ack', version: want.version });
      }
      await settle();
      assert.equal(pub.metrics().acksTotal - m0.acksTotal, 11);
      assert.ok(pub.agents().every((x) => x.ackedVersion === x.sentVersion), 'every agent acknowledged the version it was sent');
      assert.deepEqual([pub.propagation(r1).upToDate, pub.propagation(r1).total, pub.propagation(r1).generation], [1, 1, 1], 'no route moved');
      // The slice of the agent that left is sliced afresh from the table in force when asked for.
      const back = new RawAgent(pub.port);
      agents.push(back);
      await back.open();
      back.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p11', namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: specs[11]!.targets });
      assert.equal((await back.next('update')).version, sliceTable(t2, { agent: { namespace: 'default', pod: 'p11' }, targets: specs[11]!.targets }).version);
    });
  });

  test('a route change to a Service every agent calls: agents that name the entry rule get e1 versions their check accepts, an older agent plain ones; the changed entry is hashed once for all of them (ADR 0025)', async () => {
    const ip = (i: number): string => `10.0.4.${i + 1}`;
    const front = (i: number, path = '/'): ServiceFrontendIR => service({ name: `s${i}`, clusterIP: ip(i), port: 80, rules: [rule({ route: `r${i}`, path: { type: 'PathPrefix', value: path }, backends: [{ backend: backendName('default', `s${i}`, 80) }] })] });
    const backends = Array.from({ length: 11 }, (_, i) => backend('default', `s${i}`, 80, [{ port: i + 1 }]));
    const t1 = table({ services: Array.from({ length: 11 }, (_, i) => front(i)), backends });
    // Ten agents as the bench's (s0 and one Service of their own: ten slices), the last one of an older kind.
    const specs = Array.from({ length: 10 }, (_, i) => ({ pod: `p${i}`, rules: i < 9 ? ['e1'] : undefined, targets: [ip(0), ip(i + 1)].map((address) => ({ kind: 'destination' as const, address, port: 80 })) }));
    await withPublisher(specs.length, async (pub, agents) => {
      pub.setTable(t1);
      const tables: RoutingTable[] = [];
      for (const [i, a] of agents.entries()) {
        a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: specs[i]!.pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: specs[i]!.targets, ...(specs[i]!.rules ? { versionRules: specs[i]!.rules } : {}) });
        const u = await a.next('update');
        tables.push(validate(u.table));
        a.send({ type: 'ack', version: u.version });
      }
      await settle();
      const digests0 = entryDigestsComputed();
      const t2 = table({ services: [front(0, '/v2'), ...t1.services.slice(1)], backends: t1.backends });
      pub.setTable(t2);
      await settle();
      assert.equal(entryDigestsComputed() - digests0, 1, 'the changed Service hashed once for the nine slices holding it; their other entries were hashed before');
      for (const [i, a] of agents.entries()) {
        const patch = await a.next('patch');
        const patched = validate(applyPatch(tables[i]!, patch));
        assert.equal(patched.version, patch.version);
        assert.ok(JSON.stringify(patched.services[0]).includes('"/v2"'), `agent ${i} runs s0's new route`);
        if (i < 9) assert.match(patch.version, /^e1\.[0-9a-f]{16}$/, `agent ${i} named the entry rule`);
        else assert.equal(patch.version, computeVersion(patched), 'the older agent: a plain content hash, as before');
      }
    });
  });

  test('an older and a newer agent subscribing to the same targets do not share a slice: each gets a version its own check accepts (the rule is part of the slice key, ADR 0025)', async () => {
    // Shared, an older agent would get an e1 version it cannot check and nack it for ever.
    const ip = (i: number): string => `10.0.5.${i + 1}`;
    const front = (i: number): ServiceFrontendIR => service({ name: `s${i}`, clusterIP: ip(i), port: 80, rules: [rule({ route: `r${i}`, path: { type: 'PathPrefix', value: '/' }, backends: [{ backend: backendName('default', `s${i}`, 80) }] })] });
    const t1 = table({ services: [front(0), front(1)], backends: [0, 1].map((i) => backend('default', `s${i}`, 80, [{ port: i + 1 }])) });
    const targets = [{ kind: 'destination' as const, address: ip(0), port: 80 }];
    const specs = [{ pod: 'newer', rules: ['e1'] }, { pod: 'older', rules: undefined }, { pod: 'newer-2', rules: ['e1'] }];
    await withPublisher(specs.length, async (pub, agents) => {
      pub.setTable(t1);
      const versions: string[] = [];
      const held: RoutingTable[] = [];
      for (const [i, a] of agents.entries()) {
        a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: specs[i]!.pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets, ...(specs[i]!.rules ? { versionRules: specs[i]!.rules } : {}) });
        const u = await a.next('update');
        assert.equal(validate(u.table).version, u.version, `${specs[i]!.pod}: its check accepts the version it got`);
        versions.push(u.version);
        held.push(u.table);
        a.send({ type: 'ack', version: u.version });
      }
      assert.match(versions[0]!, /^e1\./);
      assert.equal(versions[2], versions[0], 'the two newer agents share their slice');
      assert.equal(versions[1], computeVersion(held[1]!), 'the older agent: a plain content hash of its slice');
    });
  });

  test('an endpoint change after the same table was published again in new objects (a catch-up translation) is still an endpoint change', async () => {
    await withPublisher(3, async (pub, agents) => {
      const t1 = twoServices();
      pub.setTable(t1);
      const [ratings, reviews, idle] = agents as [RawAgent, RawAgent, RawAgent];
      await subscribe(ratings, 'rt', '10.0.0.2');
      await subscribe(reviews, 'rv', '10.0.0.1');
      await subscribe(idle, 'idle', null);
      await settle();
      const m0 = pub.metrics();
      const again = structuredClone(t1);
      pub.setTable(again);
      assert.equal(pub.generation, 1, 'the same content: not a new table');
      pub.setTable(withEndpoints(again, 'ratings', [7]));
      await settle();
      const m1 = pub.metrics();
      assert.equal(m1.endpointTablesTotal - m0.endpointTablesTotal, 1, 'taken as an endpoint patch of the table in force');
      assert.equal(m1.slicesComputedTotal - m0.slicesComputedTotal, 1, 'only the ratings caller\'s slice patched; no agent re-sliced');
      assert.deepEqual((await ratings.next('patch')).changes.backends.upsert.map((b) => b.endpoints.map((e) => e.port)), [[7]]);
      const tables = (a: RawAgent) => a.inbox.filter((m) => m.type === 'update' || m.type === 'patch');
      assert.deepEqual([tables(reviews), tables(idle)], [[], []]);
      // A route change after it is sliced from the table in force as before.
      pub.setTable(twoServices(4));
      const u = await reviews.next('patch');
      assert.equal(u.version, sliceTable(twoServices(4), { agent: { namespace: 'default', pod: 'rv' }, targets: [{ kind: 'destination', address: '10.0.0.1', port: 80 }] }).version);
    });
  });

  test('over random route, Service and endpoint changes, every agent ends each step on the slice of the table in force', async () => {
    // Tables built from kept entry objects, as translation hands them back: an unchanged
    // Service or backend is the same object, so only agents holding a changed one get work.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const names = ['a', 'b', 'c', 'd'];
    const ip = (n: string): string => `10.0.1.${names.indexOf(n) + 1}`;
    const frontends = new Map<string, ServiceFrontendIR>();
    const backends = new Map<string, BackendIR>();
    const newFrontend = (n: string): ServiceFrontendIR => service({ name: n, clusterIP: ip(n), port: 80, rules: [rule({ route: `r-${n}`, backends: [{ backend: backendName('default', pick(names), 80), weight: Math.floor(rnd() * 5) }] })] });
    const newBackend = (n: string): BackendIR => backend('default', n, 80, [{ port: 1 + Math.floor(rnd() * 3), podName: pick(['p0', 'p1', 'p2']) }]);
    for (const n of names.slice(0, 3)) frontends.set(n, newFrontend(n));
    for (const n of names) backends.set(n, newBackend(n));
    const build = (): RoutingTable => table({ services: [...frontends.values()], backends: [...backends.values()] });
    const specs = Array.from({ length: 6 }, (_, i) => ({
      pod: `p${i % 3}`, ns: 'default',
      targets: i === 5 ? [{ kind: 'inbound' as const, port: 2 }] : [...new Set([pick(names), pick(names)])].map((n) => ({ kind: 'destination' as const, address: ip(n), port: 80 })),
    }));
    let current = build();
    await withPublisher(specs.length, async (pub, agents) => {
      pub.setTable(current);
      for (const [i, a] of agents.entries()) {
        a.send({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: specs[i]!.pod, namespace: 'default', serviceAccount: 's', mode: 'sidecar' }, auth: { type: 'none' }, targets: specs[i]!.targets });
      }
      let endpointOnly = 0;
      // What each agent last acknowledged: Propagated counts an agent as running a route when
      // it acknowledged its slice, or one with the very same Service entries (AgentSession.routesUpToDate).
      const running: (RoutingTable | null)[] = specs.map(() => null);
      const sameEntries = <T>(x: readonly T[], y: readonly T[]): boolean => x.length === y.length && x.every((e, i) => e === y[i]);
      const checkCounts = (label: string, sent: RoutingTable[]): void => {
        const want = new Map<string, { upToDate: number; total: number }>();
        for (const [i, slice] of sent.entries()) {
          const r = running[i] ?? null;
          const ok = r !== null && (r.version === slice.version || (sameEntries(r.services, slice.services) && sameEntries(r.gateways, slice.gateways)));
          for (const key of routesIn(slice)) {
            const c = want.get(key) ?? { upToDate: 0, total: 0 };
            c.total++;
            if (ok) c.upToDate++;
            want.set(key, c);
          }
        }
        for (const n of names) {
          const key = `HTTPRoute/default/r-${n}`;
          const p = pub.propagation({ kind: 'HTTPRoute', namespace: 'default', name: `r-${n}` });
          assert.deepEqual({ upToDate: p.upToDate, total: p.total }, want.get(key) ?? { upToDate: 0, total: 0 }, `${label}: ${key}`);
        }
      };
      for (let step = 0; step < 40; step++) {
        const r = rnd();
        const n = pick(names);
        if (r < 0.4) {
          // An endpoint patch of the table in force: the same arrays but for the backends.
          const b = newBackend(n);
          backends.set(n, b);
          const { version: _v, ...rest } = current;
          current = withVersion({ ...rest, backends: current.backends.map((x) => (x.name === b.name ? b : x)) });
          endpointOnly++;
        } else {
          if (r < 0.55 && frontends.has(n)) frontends.delete(n);
          else frontends.set(n, newFrontend(n));
          const moved = pick(names);
          if (rnd() < 0.5) backends.set(moved, newBackend(moved)); // a backend changes with it
          current = build();
        }
        pub.setTable(current);
        await settle();
        const sent = specs.map((spec) => sliceTable(current, { agent: { namespace: 'default', pod: spec.pod }, targets: spec.targets }));
        checkCounts(`step ${step}, sent`, sent);
        for (const [i, a] of agents.entries()) {
          const frames = a.inbox.filter((m) => m.type === 'update' || m.type === 'patch') as { version: string }[];
          const want = sent[i]!;
          assert.equal(frames.at(-1)?.version, want.version, `step ${step}: agent ${i} (${JSON.stringify(specs[i]!.targets)})`);
          // Acknowledge, so the next change may come as a patch.
          if (frames.length > 0) a.send({ type: 'ack', version: frames.at(-1)!.version });
          running[i] = want;
        }
        await settle();
        checkCounts(`step ${step}, acknowledged`, sent);
      }
      assert.ok(endpointOnly > 5 && pub.metrics().endpointTablesTotal > 0, 'endpoint patches were exercised');
      assert.ok(pub.metrics().slicesRebasedTotal > 10, `slices derived from the last one were exercised (${pub.metrics().slicesRebasedTotal})`);
    });
  });

  test('an agent subscribed to an inbound port gets the backend its pod newly serves', async () => {
    await withPublisher(1, async (pub, agents) => {
      const a = agents[0]!;
      const t1 = twoServices();
      pub.setTable(t1);
      a.hello('default', 'ratings-pod');
      const u = await a.next('update');
      a.send({ type: 'subscribe', id: 1, targets: [{ kind: 'inbound', port: 9090 }] });
      assert.equal((await a.next('subscribed')).version, u.version, 'no backend serves the pod yet: the empty slice');
      a.send({ type: 'ack', version: u.version });
      await settle();
      pub.setTable(withEndpoints(t1, 'ratings', [9090], 'ratings-pod'));
      const whole = await a.next('update'); // one entry of one: whole, not a patch
      assert.deepEqual(whole.table.backends.map((b) => b.name), [backendName('default', 'ratings', 80)]);
    });
  });
});
