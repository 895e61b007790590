// Agent failover between controller replicas: agents reach the controller through its Service;
// when the replica they were on goes away they reconnect, through the same Service, to another
// one, with the production backoff (first retry after 125-250 ms, equal jitter), so they do not
// arrive in the same millisecond. Their hellos name the version they run (resume): the survivor
// sends nothing to an agent whose slice there is that version, and counts it as acknowledged at
// once (no ack round trip); an agent whose slice changed meanwhile gets exactly one table.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerClient } from '../../agent/controller-client/index.ts';
import type { RoutingTable } from '../../api/routing-table.ts';
import { switchableService } from '../support/switchable-service.ts';
import { waitFor } from '../support/wait-for.ts';
import { Publisher } from '../../controller/publish/index.ts';
import { quiet, reviewsTable } from './distribution-world.ts';

const AGENTS = 20;
const dest = { address: '10.96.0.10', port: 80 };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

test(`${AGENTS} agents on a replica that goes away reconnect to the survivor within a bound, spread out; only the one whose slice changed is sent a table`, async () => {
  const table = reviewsTable('v1', { v1: 1, v2: 2 });
  // The survivor also knows a Service (10.97.0.1:80, the first filler) that b did not: only
  // agent 0 calls it, so only agent 0's slice differs between the replicas.
  const tableA = reviewsTable('v1', { v1: 1, v2: 2 }, 1);
  const extra = { address: '10.97.0.1', port: 80 };
  // Pings every 10 s (the default): a loaded test process must not drop agents on its own.
  const a = await Publisher.start({ host: '127.0.0.1', port: 0, log: quiet });
  cleanup.push(() => a.close());
  const b = await Publisher.start({ host: '127.0.0.1', port: 0, log: quiet });
  cleanup.push(() => b.close());
  a.setTable(tableA);
  b.setTable(table);
  const svc = await switchableService();
  cleanup.push(() => svc.close());
  svc.target = b.port;

  let failedOver = false;
  const clients = Array.from({ length: AGENTS }, (_, i) => {
    const logs: string[] = [];
    const seen = { lostAt: 0, backAt: 0, firstDraw: -1 };
    const client = new ControllerClient({
      url: `ws://127.0.0.1:${svc.port}`, agent: { pod: `client-${i}`, namespace: 'default', serviceAccount: 'default', mode: 'sidecar' },
      // The production jitter source, watched: the first draw after b goes is this agent's first retry.
      random: () => {
        const r = Math.random();
        if (failedOver && seen.firstDraw < 0) seen.firstDraw = r;
        return r;
      },
      log: (l) => {
        logs.push(l);
        // The agent's own view: when it saw its controller go, and when one welcomed it again.
        if (!failedOver) return;
        if (l.startsWith('lost the controller')) seen.lostAt ||= performance.now();
        else if (l.startsWith('connected to controller') && seen.lostAt > 0) seen.backAt ||= performance.now();
      },
    }).start();
    cleanup.push(() => client.close());
    const swaps: RoutingTable[] = [];
    client.subscribe((t) => void swaps.push(t));
    return { client, swaps, logs, seen, reconnectedAt: 0 };
  });
  for (const c of clients) await c.client.ensureDestination(dest.address, dest.port);
  assert.equal(await clients[0]!.client.ensureDestination(extra.address, extra.port), true, 'b answers: not a Service there');
  await waitFor('every agent runs b\'s slice', () => b.agents().length === AGENTS && b.agents().every((s) => s.ackedVersion !== null && s.ackedVersion === s.sentVersion));
  const before = clients.map((c) => ({ version: c.client.current!.version, swaps: c.swaps.length, updates: c.client.stats.updates, connects: c.client.stats.connects }));
  const sentBefore = a.metrics();

  // b goes away; the Service now leads to a only.
  svc.target = a.port;
  failedOver = true;
  const gone = Date.now();
  await b.close();
  await waitFor('every agent reconnected to a', () => {
    for (const [i, c] of clients.entries()) if (!c.reconnectedAt && c.client.connected && c.client.stats.connects > before[i]!.connects) c.reconnectedAt = Date.now() - gone;
    return clients.every((c) => c.reconnectedAt > 0);
  }, { timeoutMs: 3000, intervalMs: 2, describe: () => clients.map((c) => c.logs.join(' | ')).join('\n') });
  await waitFor('a counts them all up to date', () => a.agents().length === AGENTS && a.agents().every((s) => s.ackedVersion !== null && s.ackedVersion === s.sentVersion));

  const times = clients.map((c) => c.reconnectedAt).sort((x, y) => x - y);
  assert.ok(times.at(-1)! < 1_000, `all back within 1 s (first retry at most 250 ms): ${times.join(', ')}`);
  // Each agent's first retry waits a delay drawn from 125-250 ms (equal jitter on the 250 ms
  // step): the draws differ between agents, and no agent was back before its own delay. (Wall-clock
  // spreads alone are squeezed by a loaded event loop, so the draws are checked too.)
  const drawn = clients.map((c) => 125 + 125 * c.seen.firstDraw);
  for (const [i, c] of clients.entries()) {
    assert.ok(c.seen.firstDraw >= 0, `${i}: drew a delay`);
    assert.ok(c.seen.backAt - c.seen.lostAt >= drawn[i]! - 2, `${i}: back after ${Math.round(c.seen.backAt - c.seen.lostAt)} ms, its delay was ${Math.round(drawn[i]!)} ms`);
  }
  assert.ok(Math.max(...drawn) - Math.min(...drawn) >= 60, `jittered, not all at once: ${drawn.map(Math.round).join(', ')}`);
  const sent = a.metrics();
  assert.equal(sent.updatesSentTotal + sent.patchesSentTotal - sentBefore.updatesSentTotal - sentBefore.patchesSentTotal, 1, 'one table from the survivor: agent 0\'s, whose slice changed');
  assert.equal(sent.resumesTotal - sentBefore.resumesTotal, AGENTS - 1, 'the others resumed');
  // Counted as acknowledged without an ack round trip: only agent 0 acked anything on a.
  assert.equal(sent.acksTotal - sentBefore.acksTotal, 1, 'one ack on the survivor');
  const route = { kind: 'HTTPRoute', namespace: 'default', name: 'reviews' } as const;
  assert.deepEqual({ ...a.propagation(route), generation: 0 }, { upToDate: AGENTS, total: AGENTS, generation: 0 }, 'Propagated counts every agent up to date');
  for (const [i, c] of clients.entries()) {
    const session = a.agents().find((s) => s.pod === `client-${i}`)!;
    assert.equal(session.ackedVersion, c.client.current!.version, `${i}: the survivor counts the version the agent runs`);
    if (i === 0) {
      assert.notEqual(c.client.current!.version, before[i]!.version, '0: a new slice');
      assert.equal(c.swaps.length, before[i]!.swaps + 1, '0: swapped in once');
      assert.equal(c.client.stats.updates, before[i]!.updates + 1, '0: one table received');
      assert.equal(c.client.stats.resumes, 0);
      assert.ok(c.client.current!.services.some((sv) => sv.name.includes('filler-0000')), '0: the Service b did not know');
      continue;
    }
    assert.equal(c.client.current!.version, before[i]!.version, `${i}: same slice`);
    assert.equal(c.swaps.length, before[i]!.swaps, `${i}: no table swap`);
    assert.equal(c.client.stats.updates, before[i]!.updates, `${i}: no table received`);
    assert.equal(c.client.stats.resumes, 1, `${i}: resumed`);
  }
});
