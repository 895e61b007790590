// Two real `meshlet controller` processes against one fake apiserver: the first leads and
// writes statuses; SIGTERM makes it release the Lease and exit 0, and the second process takes
// over and writes the statuses of a change made afterwards.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeApiServer } from '../support/fake-apiserver/index.ts';
import { runMeshlet, type MeshletProcess } from '../support/meshlet-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { fakeCluster, GW, routeConds } from './controller-harness.ts';

const KEY = 'meshlet.dev/mesh-controller cart';

let api: FakeApiServer;
let dir: string;
const procs: MeshletProcess[] = [];

function controller(identity: string, kubeconfig: string): MeshletProcess {
  const p = runMeshlet(['controller', '--kubeconfig', kubeconfig, '--identity', identity, '--listen-host', '127.0.0.1', '--listen-port', '0', '--admin-port', '0', '--webhook-port', '0',
    '--lease-namespace', 'default', '--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.2']);
  procs.push(p);
  return p;
}

before(async () => {
  api = await fakeCluster();
  dir = await mkdtemp(join(tmpdir(), 'meshlet-controllers-'));
});

after(async () => {
  for (const p of procs) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exit;
  }
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

const holder = (): string | undefined => (api.get('coordination.k8s.io/v1', 'Lease', 'meshlet-controller', 'default')?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;

test('SIGTERM on the leading process hands status writing to the other process', async () => {
  const kubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  const a = controller('proc-a', kubeconfig);
  await waitFor('proc-a leads and writes', () => holder() === 'proc-a' && routeConds(api, 'cart-mesh')[KEY], { timeoutMs: 10_000, describe: () => a.output() });
  const b = controller('proc-b', kubeconfig);
  await waitFor('proc-b serving', () => /serving agents/.test(b.output()), { timeoutMs: 10_000, describe: () => b.output() });

  a.child.kill('SIGTERM');
  assert.equal(await a.exit, 0, a.output());
  assert.match(a.output(), /lease released/);
  await waitFor('proc-b leads', () => holder() === 'proc-b', { timeoutMs: 5000, describe: () => b.output() });

  const route = api.get(GW, 'HTTPRoute', 'cart-mesh', 'shop')!;
  api.update({ ...route, spec: { ...route.spec as object, rules: [{ backendRefs: [{ name: 'missing', port: 80 }] }] } });
  await waitFor('proc-b wrote the new status', () => routeConds(api, 'cart-mesh')[KEY]?.find((c) => c.type === 'ResolvedRefs')?.status === 'False', { timeoutMs: 5000, describe: () => b.output() });
  b.child.kill('SIGTERM');
  assert.equal(await b.exit, 0, b.output());
});
