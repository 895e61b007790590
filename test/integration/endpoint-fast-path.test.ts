// The endpoint fast path end to end: fake apiserver → controller → publisher → a real sidecar.
// A pod becoming ready (and another not ready) is an EndpointSlice change only: the agent's
// traffic moves to the ready pod, and the controller did it without re-translating any route.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer, type FakeObject } from '../support/fake-apiserver/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { waitFor } from '../support/wait-for.ts';
import type { Publisher } from '../../controller/publish/index.ts';
import { controllerFor, GW, type TestController } from './controller-harness.ts';
import { eventually, startAgent, startPublisher, type MeshAgent } from './distribution-world.ts';

const dest = { address: '10.96.0.30', port: 9080 };
const ES = 'discovery.k8s.io/v1';

function service(name: string, clusterIP: string): FakeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP, ports: [{ name: 'http', port: 9080, protocol: 'TCP' }] } };
}

function slice(name: string, port: number, ready: boolean): FakeObject {
  return { apiVersion: ES, kind: 'EndpointSlice', metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'ratings-backend' } },
    addressType: 'IPv4', ports: [{ name: 'http', port, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }] };
}

let api: FakeApiServer;
let pub: Publisher;
let ctl: TestController;
let old: EchoServer;
let fresh: EchoServer;
let agent: MeshAgent | undefined;

before(async () => {
  old = await startEchoServer({ pod: 'ratings-old', namespace: 'default' });
  fresh = await startEchoServer({ pod: 'ratings-new', namespace: 'default' });
  api = await startFakeApiServer({ objects: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    service('ratings', dest.address), service('ratings-backend', '10.96.0.31'),
    slice('ratings-backend-old', old.port, true), slice('ratings-backend-new', fresh.port, false),
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'ratings', namespace: 'default' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'ratings', port: 9080 }], rules: [{ backendRefs: [{ name: 'ratings-backend', port: 9080 }] }] } },
  ] });
  pub = await startPublisher();
  ctl = controllerFor(api, 'one', { publisher: pub });
  await waitFor('first table published', () => pub.table !== null, { describe: () => ctl.logs.join('\n') });
  // The first translation makes the status writer create the default XMesh; that new object
  // comes back through the watch and is translated in full. Count from after it.
  await waitFor('the default XMesh translated', () => ctl.translations >= 2 || undefined, { describe: () => ctl.logs.join('\n') });
});

after(async () => {
  await agent?.close();
  await ctl.close();
  await pub.close();
  await api.close();
  await old.close();
  await fresh.close();
});

test('a pod becoming ready reaches the agent without re-translating routes', async () => {
  agent = await startAgent({ url: `ws://127.0.0.1:${pub.port}`, pod: 'client', dest });
  assert.equal((await agent.get()).echo?.pod, 'ratings-old');
  const translations = ctl.translations;
  const patches = ctl.endpointPatches;
  const flip = (name: string, ready: boolean): void => {
    const cur = api.get(ES, 'EndpointSlice', name, 'default')!;
    api.update({ ...cur, endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }] });
  };
  flip('ratings-backend-new', true);
  flip('ratings-backend-old', false);
  await eventually('the agent routes to the pod that became ready', async () => (await agent!.get()).echo?.pod === 'ratings-new');
  assert.equal(ctl.translations, translations, 'no route was re-translated');
  assert.ok(ctl.endpointPatches > patches, 'the endpoints were patched');
  // A route change is translated again, incrementally: only the changed route is rebuilt.
  const incremental = ctl.incrementalTranslations;
  const route = api.get(GW, 'HTTPRoute', 'ratings', 'default')!;
  api.update({ ...route, metadata: { ...route.metadata, labels: { touched: 'yes' } } });
  await waitFor('a translation for the route change', () => ctl.translations > translations || undefined);
  assert.ok(ctl.incrementalTranslations > incremental, 'it reused the previous translation');
  const counted = Number(/meshlet_controller_incremental_translations_total (\d+)/.exec(ctl.metrics())?.[1]);
  assert.equal(counted, ctl.incrementalTranslations, 'on /metrics');
});
