// Edits of a big frontend through the translation worker, as a user makes them: each one is
// applied, and the table this thread then holds is the one a fresh translation of the directory
// gives, although the worker sends only the rules this thread does not hold yet (table-parts.ts):
// the other rules stay the very objects of the last table. A route made invalid by an edit is
// reported with its reason while every other route keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteRuleIR, RoutingTable } from '../../../api/routing-table.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/index.ts';
import { FileTableSource } from './file-table-source.ts';
import { readManifests } from './read-manifests.ts';

const ROUTES = 200;

function manifest(routes: { name: string; path: string; backend?: string }[], services = ['front']): string {
  const docs = services.map((name, i) => JSON.stringify({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' },
    spec: { clusterIP: `10.96.0.${i + 10}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  }));
  for (const r of routes) {
    docs.push(JSON.stringify({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: r.name, namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'front', port: 80 }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: r.path } }], backendRefs: [{ name: r.backend ?? 'front', port: 80 }] }] },
    }));
  }
  return `${docs.join('\n---\n')}\n`;
}

async function until(what: string, fn: () => boolean, ms = 20_000): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < 2_000 && Date.now() - start < ms; i++) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

const rulesOf = (t: RoutingTable | null): RouteRuleIR[] => t?.services.find((s) => s.serviceName === 'front')?.ports[0]?.producer?.virtualHosts[0]?.rules ?? [];

test('edits of a 200-route frontend through the worker: each applied as a fresh translation of the directory gives it, unchanged rules kept as the same objects, an invalid route reported and the rest kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-fm16d-edits-'));
  const file = join(dir, 'shop.yaml');
  const logs: string[] = [];
  // A worker (not this thread's loop), kept for the whole test.
  const source = new FileTableSource({ dir, log: (l) => logs.push(l), recycleIdleMs: 0, inProcessBelowBytes: 0 });
  const routes: { name: string; path: string; backend?: string }[] = Array.from({ length: ROUTES }, (_, i) => ({ name: `r${i}`, path: `/r${i}` }));
  /** Writes the manifest as editors do (write, then rename) and waits for a table that has `path`. */
  const edit = async (text: string, ready: (t: RoutingTable | null) => boolean): Promise<void> => {
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    await until('the edit applied', () => ready(source.current));
  };
  const fresh = async (): Promise<RoutingTable> => JSON.parse(JSON.stringify(translate(buildSnapshot((await readManifests(dir)).objects.map((o) => o.object)).snapshot).ir)) as RoutingTable;
  try {
    await writeFile(file, manifest(routes));
    source.start();
    await source.ready();
    assert.equal(source.worker.running, true);
    assert.equal(rulesOf(source.current).length, ROUTES);
    assert.deepEqual(source.current, await fresh());

    // One route's path changed.
    const before = rulesOf(source.current);
    routes[routes.findIndex((r) => r.name === 'r17')] = { name: 'r17', path: '/changed' };
    await edit(manifest(routes), (t) => rulesOf(t).some((r) => r.match.path.value === '/changed'));
    assert.deepEqual(source.current, await fresh());
    const after = rulesOf(source.current);
    // Sent again: the edited route's rule, and once the last route's, which the worker's start-up
    // rehearsal of an edit (ADR 0016) translated anew (equal, not the same object).
    const sent = after.filter((r) => !before.includes(r)).map((r) => r.source.name).sort();
    assert.deepEqual(sent, ['r17', `r${ROUTES - 1}`], 'every other rule is the object this thread already held');

    // A route added and one removed.
    routes.push({ name: 'added', path: '/added' });
    routes.splice(3, 1);
    await edit(manifest(routes), (t) => rulesOf(t).some((r) => r.match.path.value === '/added'));
    assert.deepEqual(source.current, await fresh());
    assert.equal(rulesOf(source.current).length, ROUTES);

    // An invalid edit: a backend that does not exist. Reported, with its reason; the other routes serve.
    routes[routes.findIndex((r) => r.name === 'r10')] = { name: 'r10', path: '/broken', backend: 'missing' };
    await edit(manifest(routes), (t) => rulesOf(t).some((r) => r.match.path.value === '/broken'));
    await until('the route reported', () => logs.some((l) => l.includes('r10') && l.includes('BackendNotFound')));
    assert.deepEqual(source.current, await fresh());
    assert.equal(rulesOf(source.current).length, ROUTES, 'the other routes are all still in the table');

    // A second Service appears: its frontend comes whole, the big one is as it was.
    const held = rulesOf(source.current);
    await edit(manifest(routes, ['front', 'other']), (t) => (t?.services.length ?? 0) === 2);
    assert.deepEqual(source.current, await fresh());
    assert.ok(rulesOf(source.current).every((r, i) => r === held[i]), 'the big frontend\'s rules are the same objects');
  } finally {
    source.close();
    await rm(dir, { recursive: true, force: true });
  }
});
