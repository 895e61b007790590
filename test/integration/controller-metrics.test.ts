// The controller's own /metrics (translation side): parsed as Prometheus text, the status-write
// counter follows what the fake apiserver actually received.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.ts';
import { controllerFor, fakeCluster, routeConds, statusWrites } from './controller-harness.ts';
import { parsePrometheus as parse } from '../support/prometheus-text.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});


test('status writes are counted by result, translations and leadership shown', async () => {
  const api = await fakeCluster();
  cleanup.push(() => api.close());
  const mark = api.requests.length;
  const c = controllerFor(api, 'solo');
  cleanup.push(() => c.close());
  await waitFor('leader', () => c.elector?.isLeader);
  await waitFor('statuses written', () => routeConds(api, 'cart-mesh')['meshlet.dev/mesh-controller cart']);
  await c.writer.idle();
  const samples = parse(c.metrics());
  const writes = samples.filter((s) => s.name === 'meshlet_controller_status_writes_total');
  assert.deepEqual(writes.map((s) => s.labels.result).sort(), ['conflict', 'error', 'unchanged', 'written']);
  const written = writes.find((s) => s.labels.result === 'written')!.value;
  assert.ok(written > 0);
  const conflicts = writes.find((s) => s.labels.result === 'conflict')!.value;
  assert.equal(writes.find((s) => s.labels.result === 'error')!.value, 0);
  // Every status PUT the apiserver saw is counted once: accepted (written) or refused with 409 (conflict, then retried).
  assert.equal(written + conflicts, statusWrites(api, mark));
  assert.ok(samples.find((s) => s.name === 'meshlet_controller_translations_total')!.value >= 1);
  assert.equal(samples.find((s) => s.name === 'meshlet_controller_leader')?.value, 1);
});
