// The translation runner's idle warm-up (change-warm-up.ts) against a fake apiserver and a real
// publisher with raw agents on loopback: after the agents' connections settle it re-translates
// the snapshot in force and collects, sending no frame and writing no status; the route and
// endpoint changes after it reach the agents as before; a change written during it is handled
// right after the step it met.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, encodeMessage, parseMessage, type ControllerMessage } from '../../api/wire.ts';
import { startFakeApiServer, type FakeObject } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { Publisher } from '../publish/index.ts';
import { startController } from './translation-runner.ts';

const GW = 'gateway.networking.k8s.io/v1';
const ES = 'discovery.k8s.io/v1';
const N = 12;

function world(): FakeObject[] {
  const objects: FakeObject[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }];
  for (let i = 0; i < N; i++) {
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'shop' }, spec: { clusterIP: `10.96.0.${i + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    objects.push(endpoints(i, `10.1.0.${i + 1}`));
    objects.push(route(i, 1));
  }
  return objects;
}

function route(i: number, weight: number): FakeObject {
  return { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: `r${i}`, namespace: 'shop' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: `s${i}`, port: 80 }], rules: [{ backendRefs: [{ name: `s${i}`, port: 80, weight }] }] } };
}

function endpoints(i: number, address: string): FakeObject {
  return { apiVersion: ES, kind: 'EndpointSlice', metadata: { name: `s${i}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': `s${i}` } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: [address], conditions: { ready: true } }] };
}

/** A raw agent subscribed to Service `s<i>`: counts the table frames it gets and acks each. */
class Agent {
  readonly ws: WebSocket;
  frames: ControllerMessage[] = [];
  constructor(port: number, i: number) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${WIRE_PATH}`);
    this.ws.on('open', () => this.ws.send(encodeMessage({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: `p${i}`, namespace: 'shop', serviceAccount: 'sa', mode: 'sidecar' }, auth: { type: 'none' },
      targets: [{ kind: 'destination', address: `10.96.0.${(i % N) + 1}`, port: 80 }] })));
    this.ws.on('message', (d: Buffer) => {
      const m = parseMessage(d, 'controller') as ControllerMessage;
      if (m.type !== 'update' && m.type !== 'patch') return;
      this.frames.push(m);
      this.ws.send(encodeMessage({ type: 'ack', version: m.version }));
    });
  }
  /** Whether the last frame holds `text` (a weight, an address). */
  holds(text: string): boolean {
    return JSON.stringify(this.frames.at(-1) ?? null).includes(text);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const completed = (metrics: string): number => Number(/meshlet_controller_warm_ups_total\{result="completed"\} (\d+)/.exec(metrics)?.[1] ?? 0);

test('after the agents connect, the warm-up runs once when quiet: no frame, no status write, no translation counted; the changes after it reach the agents', async () => {
  const api = await startFakeApiServer({ objects: world() });
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  const logs: string[] = [];
  let gcs = 0;
  // Propagated is rewritten 20 ms after the acks, well inside the 800 ms of quiet the warm-up waits for.
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs: 20, maxDelayMs: 100, defaultMesh: false, publisher: pub,
    propagationResyncMs: 20, warmUp: { quietMs: 800, checkMs: 20, minNewAgents: 8, minIntervalMs: 0, collect: () => void gcs++ } });
  const agents: Agent[] = [];
  const describe = (): string => `${logs.join('\n')}\n${ctl.metrics()}`;
  try {
    await waitFor('the warm-up after the initial sync', () => completed(ctl.metrics()) === 1 || undefined, { describe });
    for (let i = 0; i < 2 * N; i++) agents.push(new Agent(pub.port, i));
    await waitFor('every agent synced', () => agents.every((a) => a.frames.length === 1) || undefined, { describe });
    // The agents' Propagated pass is done; the warm-up is still ~800 ms of quiet away.
    await sleep(200);
    await ctl.writer.idle();
    assert.equal(completed(ctl.metrics()), 1, 'not yet: the storm is too recent');
    const frames = agents.map((a) => a.frames.length);
    const passes = (): number => ctl.writer.stats.writes + ctl.writer.stats.compared + ctl.writer.stats.unchanged + ctl.writer.stats.lookedUp;
    const [writes, looked] = [ctl.writer.stats.writes, passes()];
    const translations = ctl.translations;
    await waitFor('the warm-up after the storm', () => completed(ctl.metrics()) === 2 || undefined, { describe });
    assert.equal(gcs, 2, 'one collection per run');
    await sleep(300);
    await ctl.writer.idle();
    assert.deepEqual(agents.map((a) => a.frames.length), frames, 'no frame sent by it');
    assert.equal(ctl.writer.stats.writes, writes, 'no status written');
    assert.equal(passes(), looked, 'no status pass: the writer was not given its result');
    assert.equal(ctl.translations, translations, 'not counted as a translation');
    assert.equal(completed(ctl.metrics()), 2, 'quiet since: not run again');
    // A route change: a patch to the agents holding it, from the table the warm-up left in force.
    api.update(route(3, 7));
    await waitFor('the route change at its agents', () => (agents[3]!.holds('"weight":7') && agents[3 + N]!.holds('"weight":7')) || undefined, { describe });
    assert.equal(agents[3]!.frames.at(-1)!.type, 'patch');
    // An endpoint change after it: still the endpoint fast path (a patch of the result in force).
    const patches = ctl.endpointPatches;
    const endpointTables = pub.metrics().endpointTablesTotal;
    api.update(endpoints(5, '10.1.9.9'));
    await waitFor('the endpoint change at its agents', () => agents[5]!.holds('10.1.9.9') || undefined, { describe });
    assert.equal(ctl.endpointPatches, patches + 1, 'an endpoint patch, not a route re-translation');
    assert.equal(pub.metrics().endpointTablesTotal, endpointTables + 1, 'an endpoint delta of the table the warm-up left in force');
    assert.equal(agents.filter((a) => a.frames.length > 1).length, 4, 'only the agents of s3 and s5 got frames');
  } finally {
    for (const a of agents) a.ws.terminate();
    await ctl.close();
    await pub.close();
    await api.close();
  }
});

test('a change written while the warm-up runs is translated within one debounce of the step it met', async () => {
  const api = await startFakeApiServer({ objects: world() });
  const pub = await Publisher.start({ host: '127.0.0.1', port: 0, log: () => undefined });
  const logs: string[] = [];
  const debounceMs = 20;
  let stepEnded = 0;
  let written = false;
  const translatedAt: number[] = [];
  const agents: Agent[] = [];
  // The collection (the first step) writes a route change and then holds the thread for 200 ms,
  // as a long GC pause would: the watch event waits behind it, and the two translations after it
  // must not run before the change's own.
  const collect = (): void => {
    if (!written && agents.length > 0) {
      written = true;
      api.update(route(2, 9));
      const until = performance.now() + 200;
      while (performance.now() < until) { /* a pause */ }
    }
    stepEnded = performance.now();
  };
  const ctl = startController({ client: kubeClientFor(api), log: (l) => logs.push(l), leaderElection: false, debounceMs, maxDelayMs: 100, defaultMesh: false, publisher: pub,
    warmUp: { quietMs: 100, checkMs: 20, minNewAgents: 8, minIntervalMs: 0, collect },
    onTranslated: () => void translatedAt.push(performance.now()) });
  const describe = (): string => `${logs.join('\n')}\n${ctl.metrics()}`;
  try {
    await waitFor('the warm-up after the initial sync', () => completed(ctl.metrics()) === 1 || undefined, { describe });
    for (let i = 0; i < N; i++) agents.push(new Agent(pub.port, i));
    await waitFor('the warm-up after the storm, with the change written in it', () => written || undefined, { describe });
    await waitFor('the change at its agent', () => agents[2]!.holds('"weight":9') || undefined, { describe });
    const first = translatedAt.find((t) => t >= stepEnded);
    assert.ok(first !== undefined, 'translated after the step');
    // The leading edge takes the short window; one debounce and a scheduling slack is the bound.
    assert.ok(first - stepEnded < debounceMs + 100, `translated ${Math.round(first - stepEnded)} ms after the step ended`);
    assert.match(ctl.metrics(), /meshlet_controller_warm_ups_total\{result="stopped"\} 1/, 'the translations after the collection were dropped');
  } finally {
    for (const a of agents) a.ws.terminate();
    await ctl.close();
    await pub.close();
    await api.close();
  }
});
