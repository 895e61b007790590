// The whole control plane on loopback: fake apiserver → controller (informers, translate,
// publisher, status writer) → two real sidecars fed over WebSocket → echo workloads. A route
// change made through the Kubernetes API reaches both agents and changes their traffic, and the
// route's status says so: `meshlet.dev/Propagated` "2/2 proxies at generation G".
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeApiServer, FakeObject } from '../support/fake-apiserver/index.ts';
import { startFakeApiServer } from '../support/fake-apiserver/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { waitFor } from '../support/wait-for.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { controllerFor, GW, routeConds, type TestController } from './controller-harness.ts';
import { eventually, startAgent, startPublisher, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.20', port: 9080 };
const KEY = 'meshlet.dev/mesh-controller reviews';

function service(name: string, clusterIP: string, port: number): FakeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP, ports: [{ name: 'http', port: 9080, targetPort: port, protocol: 'TCP' }] } };
}

function slice(svc: string, port: number): FakeObject {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${svc}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] };
}

function route(backend: string): FakeObject {
  return { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'reviews', namespace: 'default' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }], rules: [{ backendRefs: [{ name: backend, port: 9080 }] }] } };
}

let api: FakeApiServer;
let pub: Publisher;
let ctl: TestController;
let v1: EchoServer;
let v2: EchoServer;
const agents: MeshAgent[] = [];

before(async () => {
  v1 = await startEchoServer({ pod: 'reviews-v1-0', namespace: 'default' });
  v2 = await startEchoServer({ pod: 'reviews-v2-0', namespace: 'default' });
  api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    service('reviews', dest.address, v1.port), slice('reviews', v1.port),
    service('reviews-v1', '10.96.0.21', v1.port), slice('reviews-v1', v1.port),
    service('reviews-v2', '10.96.0.22', v2.port), slice('reviews-v2', v2.port),
    route('reviews-v1'),
  ] });
  pub = await startPublisher();
  ctl = controllerFor(api, 'one', { publisher: pub, propagationResyncMs: 50 });
  await waitFor('first table published', () => pub.table !== null, { describe: () => ctl.logs.join('\n') });
});

after(async () => {
  for (const a of agents) await a.close();
  await ctl.close();
  await pub.close();
  await api.close();
  await v1.close();
  await v2.close();
});

const propagated = (): { status: string; message: string; observedGeneration?: number } | undefined =>
  routeConds(api, 'reviews', 'default')[KEY]?.find((c) => c.type === 'meshlet.dev/Propagated') as { status: string; message: string; observedGeneration?: number } | undefined;

test('two agents follow a route change made through the API, and the route status counts them', async () => {
  const url = `ws://127.0.0.1:${pub.port}`;
  agents.push(await startAgent({ url, pod: 'client-a', dest }), await startAgent({ url, pod: 'client-b', dest }));
  for (const a of agents) assert.equal((await a.get()).echo?.pod, 'reviews-v1-0', `${a.pod} on v1`);
  await waitFor('Propagated 2/2', () => propagated()?.message.startsWith('2/2 proxies'), { describe: () => `${JSON.stringify(api.get(GW, 'HTTPRoute', 'reviews', 'default'))}\n${ctl.logs.join('\n')}` });
  assert.equal(propagated()!.status, 'True');
  const genBefore = Number(/generation (\d+)/.exec(propagated()!.message)![1]);

  const current = api.get(GW, 'HTTPRoute', 'reviews', 'default')!;
  api.update({ ...current, spec: route('reviews-v2').spec });
  for (const a of agents) await eventually(`${a.pod} routes to v2`, async () => (await a.get()).echo?.pod === 'reviews-v2-0');
  await waitFor('Propagated at the new generation', () => {
    const p = propagated();
    const gen = p && Number(/generation (\d+)/.exec(p.message)?.[1]);
    return p?.status === 'True' && p.message.startsWith('2/2') && gen !== undefined && gen > genBefore && p.observedGeneration === 2;
  }, { describe: () => JSON.stringify(propagated()) });
  const conds = routeConds(api, 'reviews', 'default')[KEY]!;
  assert.deepEqual(conds.map((c) => [c.type, c.status]), [['Accepted', 'True'], ['ResolvedRefs', 'True'], ['meshlet.dev/Propagated', 'True']]);
});
