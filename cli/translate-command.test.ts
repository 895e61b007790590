import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

interface Cond { type: string; status: string; reason: string }
interface Item { kind: string; metadata: { name: string; namespace?: string }; status?: { conditions?: Cond[]; parents?: { conditions: Cond[] }[] }; backends?: unknown[] }

async function translateDir(dir: string, extra: string[] = []): Promise<{ code: number; items: Item[]; err: string }> {
  const io = captureIo();
  const code = await main(['translate', '-f', dir, ...extra], io);
  const list = parse(io.out()) as { items: Item[] };
  return { code, items: list.items, err: io.err() };
}

test('every route of the examples is Accepted with resolved refs, and the classes are Accepted', async () => {
  const { code, items } = await translateDir('examples');
  assert.equal(code, 0);
  const routes = items.filter((i) => i.kind === 'HTTPRoute');
  assert.equal(routes.length, 7);
  for (const r of routes) {
    for (const p of r.status!.parents!) {
      for (const type of ['Accepted', 'ResolvedRefs']) {
        const c = p.conditions.find((x) => x.type === type);
        assert.equal(c?.status, 'True', `${r.metadata.namespace}/${r.metadata.name} ${type}: ${JSON.stringify(c)}`);
      }
    }
  }
  for (const kind of ['GatewayClass', 'XMesh']) {
    const obj = items.find((i) => i.kind === kind)!;
    assert.equal(obj.status!.conditions!.find((c) => c.type === 'Accepted')?.status, 'True');
  }
});

test('--address makes a Gateway Programmed; --ir adds the routing table', async () => {
  const { items } = await translateDir('examples', ['--address', 'istio-ingress/gateway=127.0.0.1', '--ir']);
  const gw = items.find((i) => i.kind === 'Gateway' && i.metadata.name === 'gateway')!;
  assert.equal(gw.status!.conditions!.find((c) => c.type === 'Programmed')?.status, 'True');
  const table = items.find((i) => i.kind === 'RoutingTable');
  assert.ok(table && Array.isArray(table.backends) && table.backends.length > 0);
});

test('a broken document is reported with file and number, the rest is still translated, exit 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-cli-'));
  try {
    await cp('examples', dir, { recursive: true });
    await writeFile(join(dir, 'zz-broken.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\nkind: [unclosed\n');
    const { code, items, err } = await translateDir(dir);
    assert.equal(code, 1);
    assert.match(err, /zz-broken\.yaml: document 2: /);
    assert.equal(items.filter((i) => i.kind === 'HTTPRoute').length, 7);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing path is a user error', async () => {
  const io = captureIo();
  assert.equal(await main(['translate', '-f', '/nonexistent/meshlet'], io), 1);
  assert.match(io.err(), /cannot read \/nonexistent\/meshlet: no such file or directory/);
});

test('a route condition that holds keeps the time the input status gave it; one that changes gets the placeholder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-cli-times-'));
  const t = '2026-05-05T05:05:05Z';
  try {
    await writeFile(join(dir, 'shop.yaml'), [
      'apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, protocol: TCP}]}',
      `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop, generation: 1}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 80}]
  rules: [{backendRefs: [{name: cart, port: 80}]}]
status:
  parents:
  - parentRef: {group: "", kind: Service, name: cart, port: 80}
    controllerName: meshlet.dev/mesh-controller
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, message: "", observedGeneration: 1, lastTransitionTime: "${t}"}
    - {type: ResolvedRefs, status: "False", reason: BackendNotFound, message: "", observedGeneration: 1, lastTransitionTime: "${t}"}`,
    ].join('\n---\n'));
    const { code, items } = await translateDir(dir);
    assert.equal(code, 0);
    const route = items.find((i) => i.kind === 'HTTPRoute')!;
    const conds = route.status!.parents![0]!.conditions as (Cond & { lastTransitionTime: string })[];
    assert.equal(conds.find((c) => c.type === 'Accepted')?.lastTransitionTime, t, 'Accepted held: its time kept');
    const refs = conds.find((c) => c.type === 'ResolvedRefs')!;
    assert.equal(refs.status, 'True');
    assert.notEqual(refs.lastTransitionTime, t, 'ResolvedRefs changed: not the old time');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
