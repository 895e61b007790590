// Controller + fake apiserver: statuses land through the status subresource, a route change is
// re-translated and re-written (with a new transition time only where the status changed), and
// `meshlet controller --kubeconfig FILE` does the same as a command and releases its Lease on stop.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeApiServer } from '../support/fake-apiserver/index.ts';
import { waitFor } from '../support/wait-for.ts';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/test-io.ts';
import { cond, controllerFor, fakeCluster, GW, routeConds, XMESH, type TestController } from './controller-harness.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function world(): Promise<{ api: FakeApiServer; ctl: TestController }> {
  const api = await fakeCluster();
  cleanup.push(() => api.close());
  const ctl = controllerFor(api, 'one');
  cleanup.push(() => ctl.close());
  return { api, ctl };
}

const MESH = 'meshlet.dev/mesh-controller cart';
const GATEWAY = 'meshlet.dev/gateway-controller web';

test('statuses land: GatewayClass, Gateway, mesh and gateway routes, default XMesh', async () => {
  const { api, ctl } = await world();
  await waitFor('route statuses', () => routeConds(api, 'cart-mesh')[MESH] && routeConds(api, 'cart-public')[GATEWAY], { describe: () => ctl.logs.join('\n') });
  const gc = api.get(GW, 'GatewayClass', 'meshlet');
  assert.equal(cond(gc, 'Accepted')?.status, 'True');
  assert.equal(cond(gc, 'SupportedVersion')?.status, 'True');
  const gw = api.get(GW, 'Gateway', 'web', 'edge');
  assert.equal(cond(gw, 'Accepted')?.status, 'True');
  assert.equal(cond(gw, 'Programmed')?.status, 'True', JSON.stringify(gw?.status));
  assert.deepEqual((gw?.status as { addresses: unknown[] }).addresses, [{ type: 'IPAddress', value: '192.0.2.10' }]);
  for (const [route, key] of [['cart-mesh', MESH], ['cart-public', GATEWAY]] as const) {
    const conds = routeConds(api, route)[key]!;
    assert.deepEqual(conds.map((c) => [c.type, c.status]), [['Accepted', 'True'], ['ResolvedRefs', 'True']], route);
    assert.ok(conds.every((c) => c.lastTransitionTime !== '1970-01-01T00:00:00Z'), 'placeholder times replaced');
  }
  await waitFor('XMesh status', () => cond(api.get(XMESH, 'XMesh', 'meshlet'), 'Accepted')?.status === 'True');
  assert.deepEqual(api.get(XMESH, 'XMesh', 'meshlet')!.spec, { controllerName: 'meshlet.dev/mesh-controller' });
});

test('a route change re-translates and re-writes; unchanged conditions keep their time', async () => {
  const { api, ctl } = await world();
  await waitFor('initial status', () => routeConds(api, 'cart-mesh')[MESH]);
  const before = routeConds(api, 'cart-mesh')[MESH]!;
  await new Promise((r) => setTimeout(r, 1100)); // status times have one-second resolution
  const route = api.get(GW, 'HTTPRoute', 'cart-mesh', 'shop')!;
  api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 'gone', port: 80 }] }] } });
  await waitFor('ResolvedRefs False', () => routeConds(api, 'cart-mesh')[MESH]?.find((c) => c.type === 'ResolvedRefs')?.status === 'False', { describe: () => ctl.logs.join('\n') });
  const after = routeConds(api, 'cart-mesh')[MESH]!;
  const resolved = after.find((c) => c.type === 'ResolvedRefs')!;
  assert.equal(resolved.reason, 'BackendNotFound');
  assert.equal(resolved.observedGeneration, 2);
  assert.notEqual(resolved.lastTransitionTime, before.find((c) => c.type === 'ResolvedRefs')!.lastTransitionTime);
  const accepted = after.find((c) => c.type === 'Accepted')!;
  assert.equal(accepted.observedGeneration, 2);
  assert.equal(accepted.lastTransitionTime, before.find((c) => c.type === 'Accepted')!.lastTransitionTime, 'Accepted did not transition');
  // Deleting the parent Service's route reference elsewhere: our entry goes when the route leaves us.
  const changed = api.get(GW, 'HTTPRoute', 'cart-public', 'shop')!;
  api.update({ ...changed, spec: { ...changed.spec as object, parentRefs: [{ name: 'other-gateway-of-other-class', namespace: 'edge' }] } });
  await waitFor('our entry removed', () => Object.keys(routeConds(api, 'cart-public')).length === 0);
});

test('meshlet controller --kubeconfig FILE writes statuses and releases its Lease on stop', async () => {
  const api = await fakeCluster();
  cleanup.push(() => api.close());
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-controller-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  const io = captureIo();
  const exited = main(['controller', '--kubeconfig', kubeconfig, '--listen-host', '127.0.0.1', '--listen-port', '0', '--lease-namespace', 'default',
    '--identity', 'cli-1', '--lease-duration', '2', '--renew-deadline', '1', '--retry-period', '0.2', '--gateway-address', '192.0.2.20',
    '--admin-port', '0', '--webhook-port', '0'], io);
  let code: number | undefined;
  void exited.then((c) => { code = c; });
  try {
    await waitFor('route status from the CLI', () => routeConds(api, 'cart-mesh')[MESH], { describe: () => io.err() });
    assert.match(io.err(), /serving agents on wss:\/\/127\.0\.0\.1:\d+/);
    assert.match(io.err(), /mesh CA created \(generated root/);
    assert.match(io.err(), /injection webhook on 127\.0\.0\.1:\d+\/inject/);
    assert.ok(api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system'), 'the CA Secret was created');
    assert.match(io.err(), /became leader/);
  } finally {
    io.stop('SIGTERM');
    await waitFor('exit', () => code !== undefined, { timeoutMs: 5000, describe: () => io.err() });
  }
  assert.equal(code, 0, io.err());
  const lease = api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-controller', 'default')!;
  assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, '', 'Lease released');
});

test('meshlet controller rejects bad flags with exit code 1', async () => {
  const io = captureIo();
  assert.equal(await main(['controller', '--kubeconfig', '/nonexistent/kubeconfig'], io), 1);
  assert.match(io.err(), /cannot load the Kubernetes configuration/);
  const io2 = captureIo();
  assert.equal(await main(['controller', '--lease-duration', '5', '--renew-deadline', '9'], io2), 1);
  assert.match(io2.err(), /renew-deadline must be shorter/);
});

test('the watch\'s namespace cache answers labels and annotations (the injection webhook asks it before the API)', async () => {
  const { api, ctl } = await world();
  const shop = api.get('v1', 'Namespace', 'shop')!;
  api.update({ ...shop, metadata: { ...shop.metadata, labels: { 'meshlet.dev/inject': 'enabled' }, annotations: { 'meshlet.dev/mtls-mode': 'STRICT' } } });
  const meta = await waitFor('the namespace as the watch saw it', () => (ctl.namespaceMeta('shop')?.annotations['meshlet.dev/mtls-mode'] === 'STRICT' ? ctl.namespaceMeta('shop') : undefined), { describe: () => ctl.logs.join('\n') });
  assert.equal(meta.labels['meshlet.dev/inject'], 'enabled');
  assert.equal(ctl.namespaceMeta('nowhere'), undefined, 'an unknown namespace is not invented');
});
