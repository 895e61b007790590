import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PropagationLatency, type AckState } from './metrics.ts';

/** count, sum and the cumulative bucket counts by bound, from the rendered text. */
function read(l: PropagationLatency): { count: number; sum: number; buckets: Record<string, number> } {
  const buckets: Record<string, number> = {};
  let count = -1;
  let sum = -1;
  for (const line of l.render().split('\n')) {
    const b = /^meshlet_controller_propagation_seconds_bucket\{le="([^"]+)"\} (\d+)$/.exec(line);
    if (b) buckets[b[1]!] = Number(b[2]);
    const c = /^meshlet_controller_propagation_seconds_(count|sum) (\S+)$/.exec(line);
    if (c) { if (c[1] === 'count') count = Number(c[2]); else sum = Number(c[2]); }
  }
  return { count, sum, buckets };
}

function world(): { now: { t: number }; latency: PropagationLatency; agents: { upToDate: boolean }[]; connected: Set<AckState> } {
  const now = { t: 0 };
  const agents = [{ upToDate: true }, { upToDate: true }];
  return { now, latency: new PropagationLatency(() => now.t), agents, connected: new Set(agents) };
}

test('observed once the last agent behind acknowledges: from the translation start, in seconds', () => {
  const { now, latency, agents, connected } = world();
  const isConnected = (s: AckState): boolean => connected.has(s);
  agents.forEach((a) => { a.upToDate = false; });
  now.t = 1_000;
  latency.published(900, agents, isConnected);
  now.t = 1_100;
  agents[0]!.upToDate = true;
  latency.check(isConnected);
  assert.equal(read(latency).count, 0, 'one agent still behind');
  now.t = 1_150;
  agents[1]!.upToDate = true;
  latency.check(isConnected);
  const r = read(latency);
  assert.equal(r.count, 1);
  assert.equal(r.sum, 0.25);
  assert.equal(r.buckets['0.1'], 0);
  assert.equal(r.buckets['0.25'], 1, 'cumulative from its bucket on');
  assert.equal(r.buckets['+Inf'], 1);
  latency.check(isConnected);
  assert.equal(read(latency).count, 1, 'observed once');
});

test('a table published while the previous one propagates keeps the older start', () => {
  const { now, latency, agents, connected } = world();
  const isConnected = (s: AckState): boolean => connected.has(s);
  agents[0]!.upToDate = false;
  latency.published(0, agents, isConnected);
  now.t = 100;
  latency.published(100, agents, isConnected);
  now.t = 3_000;
  agents[0]!.upToDate = true;
  latency.check(isConnected);
  assert.deepEqual([read(latency).count, read(latency).sum], [1, 3]);
});

test('an agent that leaves is not waited for; a table that changes no agent is not observed', () => {
  const { now, latency, agents, connected } = world();
  const isConnected = (s: AckState): boolean => connected.has(s);
  latency.published(0, agents, isConnected);
  latency.check(isConnected);
  assert.equal(read(latency).count, 0, 'every agent was already up to date');
  agents[1]!.upToDate = false;
  latency.published(0, agents, isConnected);
  now.t = 40;
  latency.check(isConnected);
  assert.equal(read(latency).count, 0);
  connected.delete(agents[1]!);
  latency.check(isConnected);
  assert.deepEqual([read(latency).count, read(latency).sum], [1, 0.04]);
});

test('changed() coalesces the checks of one event-loop turn', async () => {
  const { now, latency, agents, connected } = world();
  const isConnected = (s: AckState): boolean => connected.has(s);
  agents[0]!.upToDate = false;
  latency.published(0, agents, isConnected);
  now.t = 20;
  agents[0]!.upToDate = true;
  for (let i = 0; i < 5; i++) latency.changed(isConnected);
  assert.equal(read(latency).count, 0, 'not yet: checked after this turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([read(latency).count, read(latency).sum], [1, 0.02]);
});

test('waiting: from a publication with an agent behind until the last one caught up or left', () => {
  const { latency, agents, connected } = world();
  const isConnected = (s: AckState): boolean => connected.has(s);
  assert.equal(latency.waiting, false, 'nothing published');
  agents.forEach((a) => { a.upToDate = false; });
  latency.published(0, agents, isConnected);
  assert.equal(latency.waiting, true);
  agents[0]!.upToDate = true;
  latency.check(isConnected);
  assert.equal(latency.waiting, true, 'one still behind');
  connected.delete(agents[1]!);
  latency.check(isConnected);
  assert.equal(latency.waiting, false, 'the other left');
});

test('an ack naming its agent costs O(1): 1 000 agents acknowledging one per turn read each agent\'s state a bounded number of times', async () => {
  const { now, latency } = world();
  let reads = 0;
  const agents = Array.from({ length: 1000 }, () => {
    let up = false;
    return { set(v: boolean) { up = v; }, get upToDate() { reads++; return up; } };
  });
  const connected = new Set<AckState>(agents);
  const isConnected = (s: AckState): boolean => connected.has(s);
  latency.published(0, agents, isConnected);
  for (const [i, a] of agents.entries()) {
    now.t = i + 1;
    a.set(true);
    latency.changed(isConnected, a);
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual([read(latency).count, read(latency).sum], [1, 1], 'observed once, when the last one acknowledged');
  // published() reads each once, each ack its own agent once: a walk over those still behind per ack would be ~500 000.
  assert.ok(reads <= 3 * agents.length, `${reads} reads`);
});
