import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { AckRecordInvalidError, decodeAckRecord, encodeAckRecord, sumAcks, type AgentAck } from './ack-record.ts';

const CART = 'HTTPRoute/shop/cart';
const PAY = 'HTTPRoute/shop/pay';

function agent(id: string, routes: Record<string, string>, upToDate = true): AgentAck {
  return { agent: id, routes: new Map(Object.entries(routes)), upToDate };
}

const plain = (agents: AgentAck[]): [string, Record<string, string>, boolean][] =>
  agents.map((a) => [a.agent, Object.fromEntries(a.routes), a.upToDate] as [string, Record<string, string>, boolean]).sort(([x], [y]) => (x < y ? -1 : 1));

test('a record round-trips its agents, their routes with fingerprints and whether they acked', () => {
  const agents = [agent('shop/a', { [CART]: 'f1', [PAY]: 'p1' }), agent('shop/b', { [CART]: 'f1', [PAY]: 'p1' }, false), agent('edge/ingress', { [CART]: 'f1' })];
  const { value, dropped } = encodeAckRecord(agents);
  assert.equal(dropped, 0);
  assert.deepEqual(plain(decodeAckRecord(value).agents), plain(agents));
  assert.deepEqual(decodeAckRecord(encodeAckRecord([]).value), { agents: [], dropped: 0 });
});

test('agents with the same routes share a group: a thousand sidecars of one namespace stay small', () => {
  const many = Array.from({ length: 1000 }, (_, i) => agent(`shop/web-7d9f8c-${String(i).padStart(5, '0')}`, { [CART]: 'f1', [PAY]: 'p1' }));
  const { value } = encodeAckRecord(many);
  assert.ok(value.length < 20_000, `${value.length} bytes`);
  assert.equal(decodeAckRecord(value).agents.length, 1000);
});

test('past the size bound whole agents are left out and counted as dropped', () => {
  const many = Array.from({ length: 400 }, (_, i) => agent(`ns-${i}/pod-${i}`, Object.fromEntries(Array.from({ length: 20 }, (_, j) => [`HTTPRoute/ns-${i}/r-${j}`, `${i}-${j}`]))));
  const { value, dropped } = encodeAckRecord(many, 10_000);
  assert.ok(value.length <= 10_000, `${value.length} bytes`);
  assert.ok(dropped > 0 && dropped < 400, `dropped ${dropped}`);
  const back = decodeAckRecord(value);
  assert.equal(back.dropped, dropped);
  assert.equal(back.agents.length + dropped, 400);
});

test('a record that is not ours is refused with E_ACK_RECORD_INVALID', () => {
  const packed = (v: unknown): string => deflateRawSync(Buffer.from(JSON.stringify(v))).toString('base64');
  for (const [what, value] of [
    ['not base64 deflate', 'hello'],
    ['empty', ''],
    ['a newer format', packed({ v: 2, routes: [], groups: [], dropped: 0 })],
    ['fields missing', packed({ v: 1, routes: [] })],
    ['a route index out of range', packed({ v: 1, routes: [[CART, 'f']], groups: [[[3], [['shop/a', 1]]]], dropped: 0 })],
    ['an agent flag that is not 0 or 1', packed({ v: 1, routes: [[CART, 'f']], groups: [[[0], [['shop/a', true]]]], dropped: 0 })],
  ] as const) {
    assert.throws(() => decodeAckRecord(value), (err: unknown) => err instanceof AckRecordInvalidError && err.code === 'E_ACK_RECORD_INVALID', what);
  }
});

test('sums count each agent once, from the first source that names it, up to date only at the current fingerprint', () => {
  const current: Record<string, string> = { [CART]: 'f2', [PAY]: 'p1' };
  const fp = (k: string): string | null => current[k] ?? null;
  const cases: { name: string; sources: AgentAck[][]; want: Record<string, [number, number]> }[] = [
    { name: 'two replicas, disjoint agents', sources: [[agent('s/a', { [CART]: 'f2' })], [agent('s/b', { [CART]: 'f2' }), agent('s/c', { [CART]: 'f2', [PAY]: 'p1' })]],
      want: { [CART]: [3, 3], [PAY]: [1, 1] } },
    { name: 'an agent that moved is counted from its new replica only', sources: [[agent('s/a', { [CART]: 'f2' }, false)], [agent('s/a', { [CART]: 'f2' }, true), agent('s/b', { [CART]: 'f2' })]],
      want: { [CART]: [1, 2] } },
    { name: 'a replica that has not translated the change: its agents count, not as up to date', sources: [[agent('s/a', { [CART]: 'f2' })], [agent('s/b', { [CART]: 'f1' })]],
      want: { [CART]: [1, 2] } },
    { name: 'an agent that did not ack its latest slice', sources: [[agent('s/a', { [CART]: 'f2' }, false)]], want: { [CART]: [0, 1] } },
    { name: 'two connections of one agent on one replica count once', sources: [[agent('s/a', { [CART]: 'f2' }), agent('s/a', { [CART]: 'f2' }, false)]], want: { [CART]: [1, 1] } },
    { name: 'no agents', sources: [[], []], want: {} },
  ];
  for (const c of cases) {
    const got = Object.fromEntries([...sumAcks(c.sources, fp)].map(([k, v]) => [k, [v.upToDate, v.total]]));
    assert.deepEqual(got, c.want, c.name);
  }
});

test('an agent with two connections on one replica is recorded from the newest (listed first), whatever the other agents\' routes', () => {
  // The publisher lists the newest connection first. Its old connection may share a route map
  // with an agent sorted before it, whose group would come first in the record.
  const shared = new Map([[CART, 'f1']]);
  const agents: AgentAck[] = [
    { agent: 'shop/b', routes: new Map([[CART, 'f2'], [PAY, 'p1']]), upToDate: true },
    { agent: 'shop/a', routes: shared, upToDate: true },
    { agent: 'shop/b', routes: shared, upToDate: false },
  ];
  const back = decodeAckRecord(encodeAckRecord(agents).value).agents;
  assert.deepEqual(plain(back), plain(agents.slice(0, 2)), 'one entry per agent, the newest');
  const got = Object.fromEntries([...sumAcks([back], (k) => ({ [CART]: 'f2', [PAY]: 'p1' } as Record<string, string>)[k] ?? null)].map(([k, v]) => [k, [v.upToDate, v.total]]));
  assert.deepEqual(got, { [CART]: [1, 2], [PAY]: [1, 1] });
});
