// ReplicaPropagation.moved(): the routes whose count summed over every replica's record moved
// since the last call (issue 14: the status writer asks those alone), exact when another
// replica's record is written, goes stale or is deleted, and when this replica's agents ack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../provider/kubernetes/index.ts';
import { ACK_LEASE_ANNOTATION, ACK_LEASE_LABEL } from './ack-lease-writer.ts';
import { encodeAckRecord, type AgentAck } from './ack-record.ts';
import { ReplicaPropagation, type OwnAgents } from './replica-propagation.ts';

const FP = 'f1';
const route = (name: string): string => `HTTPRoute/shop/${name}`;
const agent = (id: string, routes: string[], upToDate: boolean): AgentAck => ({ agent: id, routes: new Map(routes.map((r) => [route(r), FP])), upToDate });

test('moved(): every route whose sum over the replicas moved, and only those', async () => {
  // The other replica's Lease, as the API lists it; its annotation is what the reader decodes.
  let other: { value: string; rv: number } | null = null;
  const client = {
    request: (method: string): Promise<unknown> => {
      assert.equal(method, 'GET');
      const items = other ? [{ metadata: { name: 'meshlet-acks-b', resourceVersion: String(other.rv), labels: { [ACK_LEASE_LABEL]: 'true' }, annotations: { [ACK_LEASE_ANNOTATION]: other.value } } }] : [];
      return Promise.resolve({ items });
    },
  } as unknown as KubeClient;
  let now = 1_000_000;
  const realNow = Date.now;
  Date.now = () => now;
  // This replica's agents and what its publisher says moved (generations, its own counts).
  let mine: AgentAck[] = [agent('shop/a', ['r1', 'r2'], true)];
  let ackEpoch = 1;
  let ownMoved: Set<string> | null = null;
  const own: OwnAgents = {
    get ackEpoch() { return ackEpoch; },
    agentAcks: () => mine,
    routeFingerprint: () => FP,
    propagation: () => ({ generation: 3 }),
    movedRoutes: () => {
      const m = ownMoved;
      ownMoved = new Set();
      return m;
    },
  };
  const rp = new ReplicaPropagation({ client, namespace: 'meshlet-system', identity: 'a', own: () => own, leading: () => false, onChange: () => undefined, staleAfterMs: 15_000 });
  try {
    const count = (r: string): string => {
      const c = rp.hook({ kind: 'HTTPRoute', namespace: 'shop', name: r, generation: 1 })!;
      return `${c.upToDate}/${c.total}`;
    };
    const moved = (): string[] | null => {
      const m = rp.moved();
      return m === null ? null : [...m].sort();
    };
    assert.equal(moved(), null, 'the first call: any route');
    assert.deepEqual(moved(), [], 'nothing since');
    // Another replica's record appears: its agents' routes move, r1 (also ours) among them.
    other = { value: encodeAckRecord([agent('shop/b', ['r1', 'r3'], false)]).value, rv: 1 };
    await rp.reader.poll();
    assert.deepEqual(moved(), [route('r1'), route('r3')]);
    assert.deepEqual([count('r1'), count('r2'), count('r3')], ['1/2', '1/1', '0/1']);
    // Renewed with the same agents: nothing moves.
    other = { ...other, rv: 2 };
    now += 5_000;
    await rp.reader.poll();
    assert.deepEqual(moved(), []);
    // Its agent acks: r1 and r3 move (counts), not r2.
    other = { value: encodeAckRecord([agent('shop/b', ['r1', 'r3'], true)]).value, rv: 3 };
    await rp.reader.poll();
    assert.deepEqual(moved(), [route('r1'), route('r3')]);
    // One of our agents disconnects (the publisher names its routes too).
    mine = [];
    ackEpoch++;
    ownMoved!.add(route('r1')).add(route('r2'));
    assert.deepEqual(moved(), [route('r1'), route('r2')]);
    assert.deepEqual([count('r1'), count('r2')], ['1/1', '0/0']);
    // The other replica dies: its record goes stale, its routes move, and are counted no more.
    now += 20_000;
    await rp.reader.poll();
    assert.deepEqual(moved(), [route('r1'), route('r3')]);
    assert.deepEqual([count('r1'), count('r3')], ['0/0', '0/0']);
    // Our publisher says any route may have moved (a new one): so does moved().
    ownMoved = null;
    assert.equal(moved(), null);
  } finally {
    Date.now = realNow;
  }
});
