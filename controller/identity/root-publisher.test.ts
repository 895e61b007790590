import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { RootPublisher } from './root-publisher.ts';

let api: FakeApiServer;
const ns = (name: string, labels: Record<string, string> = { 'meshlet.dev/inject': 'enabled' }) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

before(async () => {
  api = await startFakeApiServer({ gatewayApi: false, objects: [ns('shop'), ns('pay'), ns('other', {}), ns('off', { 'meshlet.dev/inject': 'disabled' })] });
});
after(() => api.close());

const bundleIn = (n: string): string | undefined => (api.get('v1', 'ConfigMap', 'meshlet-root-ca', n)?.data as Record<string, string> | undefined)?.['root-cert.pem'];
const writes = (): string[] => api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

test('publishes to injected namespaces only, writes nothing when current, repairs drift and follows a new bundle', async () => {
  const lines: string[] = [];
  const pub = new RootPublisher({ client: kubeClientFor(api), bundle: 'ROOT-1', log: (l) => lines.push(l) });
  assert.deepEqual(await pub.sync(), { created: ['pay', 'shop'], updated: [], unchanged: [], failed: [] });
  assert.equal(bundleIn('shop'), 'ROOT-1');
  assert.equal(bundleIn('pay'), 'ROOT-1');
  assert.equal(bundleIn('other'), undefined);
  assert.equal(bundleIn('off'), undefined);

  api.requests.length = 0;
  assert.deepEqual(await pub.sync(), { created: [], updated: [], unchanged: ['pay', 'shop'], failed: [] });
  assert.deepEqual(writes(), [], 'an equal ConfigMap is not rewritten');

  const cm = api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'shop')!;
  api.update({ ...cm, data: { 'root-cert.pem': 'tampered', extra: 'kept' } });
  assert.deepEqual((await pub.sync()).updated, ['shop']);
  assert.equal(bundleIn('shop'), 'ROOT-1');
  assert.equal((api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'shop')?.data as Record<string, string>).extra, 'kept');

  assert.deepEqual((await pub.setBundle('ROOT-1\nROOT-2'))?.updated, ['pay', 'shop']);
  assert.equal(bundleIn('pay'), 'ROOT-1\nROOT-2');
  assert.equal(await pub.setBundle('ROOT-1\nROOT-2'), undefined, 'the same bundle again is no round');
  assert.deepEqual(lines, []);
});

test('one failing namespace is logged and retried; the others are published; a new namespace can be synced alone', async () => {
  const lines: string[] = [];
  const pub = new RootPublisher({ client: kubeClientFor(api), bundle: 'ROOT-3', log: (l) => lines.push(l) });
  api.injectFailure({ method: 'PUT', path: '/namespaces/pay/configmaps/meshlet-root-ca', code: 500 });
  const r = await pub.sync();
  assert.deepEqual([r.updated, r.failed], [['shop'], ['pay']]);
  assert.match(lines[0]!, /publishing pay\/meshlet-root-ca failed \(retried in the next round\): .*500/);
  assert.deepEqual((await pub.sync()).updated, ['pay']);

  api.create(ns('late'));
  assert.equal(await pub.syncNamespace('late'), true);
  assert.equal(bundleIn('late'), 'ROOT-3');
});

test('start() publishes at once and then every interval; stop() ends the rounds', async () => {
  api.create(ns('tick'));
  const pub = new RootPublisher({ client: kubeClientFor(api), bundle: 'ROOT-4', intervalMs: 20 });
  await pub.start();
  assert.equal(bundleIn('tick'), 'ROOT-4');
  api.update({ ...api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'tick')!, data: { 'root-cert.pem': 'drifted' } });
  await waitFor('the periodic resync to repair tick', () => bundleIn('tick') === 'ROOT-4', { timeoutMs: 3000 });
  await pub.stop();
  api.requests.length = 0;
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(api.requests, [], 'no round after stop()');
});

test('the controller\'s own namespace gets the bundle without the injection label (the shared ingress verifies the config channel with it)', async () => {
  api.create(ns('meshlet-system', {}));
  const pub = new RootPublisher({ client: kubeClientFor(api), bundle: 'ROOT-5', alwaysNamespaces: ['meshlet-system', 'shop'] });
  const r = await pub.sync();
  assert.ok(r.created.includes('meshlet-system') || r.updated.includes('meshlet-system'), JSON.stringify(r));
  assert.equal(bundleIn('meshlet-system'), 'ROOT-5');
  assert.equal(bundleIn('other'), undefined, 'other unlabelled namespaces still get nothing');
  assert.equal(r.failed.length, 0);
  assert.equal([...r.created, ...r.updated, ...r.unchanged].filter((n) => n === 'shop').length, 1, 'a namespace both labelled and listed is published once');
});
