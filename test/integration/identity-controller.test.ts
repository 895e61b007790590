// Identity end to end through the controller: the mesh CA bootstraps its Secret on the (fake)
// API server and publishes meshlet-root-ca, agents connect over wss:// verifying the
// controller against that root, ask for certificates with their pod's token (TokenReview
// decides the identity), and the endpoints of meshed pods carry the identity their sidecar
// must present: a request between two sidecars fed by the controller is mTLS, and the app
// sees both SPIFFE IDs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { controllerSource } from '../../cli/controller-source.ts';
import type { ControlPlane } from '../../controller/runners/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import type { FakeApiServer } from '../support/fake-apiserver/index.ts';
import { send } from '../support/http-client.ts';
import { startIdentityWorld, type IdentityWorld } from '../support/identity-world.ts';
import { waitFor } from '../support/wait-for.ts';

let world: IdentityWorld;
let api: FakeApiServer;
let plane: ControlPlane;
let app: EchoServer;
let dir: string;
let clientOutbound = 0;
let reviewsInbound: number;

before(async () => {
  world = await startIdentityWorld({ extraObjects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } }] });
  ({ api, plane, dir, reviewsInbound } = world);
  app = await startEchoServer({ pod: 'reviews-0', namespace: 'shop' });
});

after(async () => {
  await world.close();
  await app.close();
});

test('the CA Secret is created on the API server and meshlet-root-ca published in the injected namespace and the controller\'s own only', async () => {
  const secret = api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system');
  assert.ok(secret, 'meshlet-system/meshlet-ca');
  assert.deepEqual(Object.keys((secret as unknown as { data: Record<string, string> }).data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  await waitFor('root CA published', () => api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'shop'));
  const cm = api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'shop') as unknown as { data: Record<string, string> };
  assert.equal(cm.data['root-cert.pem'], plane.identity!.rootsPem);
  // The controller's own namespace gets it too: the shared ingress there verifies the config channel with it.
  assert.equal((api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'meshlet-system') as unknown as { data: Record<string, string> } | undefined)?.data['root-cert.pem'], plane.identity!.rootsPem);
  assert.equal(api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'plain'), undefined, 'an unlabelled namespace gets nothing');
});

test('a namespace labelled while the controller runs gets meshlet-root-ca from the watch, not at the next resync (60 s)', async () => {
  const ns = api.get('v1', 'Namespace', 'plain')!;
  api.update({ ...ns, metadata: { ...ns.metadata, labels: { 'meshlet.dev/inject': 'enabled' } } });
  await waitFor('root CA published in the newly labelled namespace', () => api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'plain'), { timeoutMs: 10_000 });
  assert.equal((api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'plain') as unknown as { data: Record<string, string> }).data['root-cert.pem'], plane.identity!.rootsPem);
});

test('agents get certificates over wss:// for the identity their token proves, and the hop between them is mTLS', async () => {
  // As in a pod: the original destination is the endpoint (the pod's port); the app listens behind it.
  const server = await world.agent('reviews-0', 'reviews', {
    inbound: reviewsInbound,
    originalDestination: (s) => (s.localPort === reviewsInbound ? { address: '127.0.0.1', port: reviewsInbound, redirected: true } : null),
    inboundAppPortFor: () => app.port,
  });
  const client = await world.agent('productpage-0', 'productpage', { inbound: 0, originalDestination: () => ({ address: '10.96.0.30', port: 9080 }) });
  clientOutbound = client.proxy.ports.outbound!;
  const [sc, cc] = await Promise.all([server.certificates.ready(), client.certificates.ready()]);
  assert.equal(sc.spiffeId, 'spiffe://cluster.local/ns/shop/sa/reviews');
  assert.equal(cc.spiffeId, 'spiffe://cluster.local/ns/shop/sa/productpage');
  const r = await send({ port: client.proxy.ports.outbound!, path: '/who', authority: 'reviews.shop:9080' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.echo?.headers['X-Forwarded-Client-Cert'], ['By=spiffe://cluster.local/ns/shop/sa/reviews;URI=spiffe://cluster.local/ns/shop/sa/productpage']);
  const metrics = await send({ port: plane.admin!.port!, path: '/metrics' });
  assert.match(metrics.text, /^meshlet_ca_certificates_issued_total 2$/m);
});

test('an AuthorizationPolicy created while everything runs (its CRD too) reaches the destination sidecar, which subscribed no inbound port, and is enforced; its status is written', async () => {
  assert.ok(clientOutbound > 0, 'the previous test started the agents');
  const crd = parse(readFileSync(new URL('../../charts/meshlet/crds/policy.meshlet.dev_authorizationpolicies.yaml', import.meta.url), 'utf8')) as Parameters<FakeApiServer['create']>[0];
  api.create(crd);
  api.create({ apiVersion: 'policy.meshlet.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name: 'reviews-callers', namespace: 'shop' }, spec: { targetRefs: [{ group: '', kind: 'Service', name: 'reviews' }], action: 'ALLOW', rules: [{ sources: [{ type: 'ServiceAccount', serviceAccount: { name: 'ratings' } }] }] } });
  const call = () => send({ port: clientOutbound, path: '/who', authority: 'reviews.shop:9080' });
  /** The first answer with this status within 10 s (100 tries at most). */
  const until = async (status: number): Promise<Awaited<ReturnType<typeof call>>> => {
    let last = -1;
    for (let i = 0, end = Date.now() + 10_000; i < 100 && Date.now() < end; i++) {
      const r = await call();
      if (r.status === status) return r;
      last = r.status;
      await new Promise((res) => setTimeout(res, 100));
    }
    return assert.fail(`no ${status} within 10 s (last ${last})`);
  };
  const denied = await until(403);
  assert.match(String(denied.headers['x-meshlet-denied-reason']), /authorizationpolicy\/shop\/reviews-callers/);
  const status = await waitFor('the policy\'s status', () => (api.get('policy.meshlet.dev/v1alpha1', 'AuthorizationPolicy', 'reviews-callers', 'shop')?.status as { ancestors?: { conditions: { type: string; status: string; message: string }[] }[] } | undefined)?.ancestors);
  assert.deepEqual(status[0]!.conditions.map((c) => [c.type, c.status, c.message]), [['Accepted', 'True', 'enforced on 1 endpoint(s) by their sidecars']]);
  api.delete('policy.meshlet.dev/v1alpha1', 'AuthorizationPolicy', 'reviews-callers', 'shop');
  await until(200);
});

test('every agent gets the current trust bundle right after its welcome (one away during a rotation\'s push is not left behind), logged only when it changes', async () => {
  const lines: string[] = [];
  const c = controllerSource({ controller: `wss://localhost:${plane.publisher!.port}`, mode: 'sidecar', pod: 'productpage-0', namespace: 'shop', serviceAccount: 'productpage', tokenFile: join(dir, 'productpage.token'), rootCaFile: join(dir, 'root.pem'), log: (l) => lines.push(l) });
  const bundles: string[][] = [];
  c.onTrustBundle((roots) => bundles.push(roots));
  try {
    await waitFor('the trust bundle after the welcome', () => bundles.length > 0, { timeoutMs: 5_000, describe: () => lines.join('\n') });
    assert.deepEqual(bundles[0], plane.identity!.roots);
    assert.equal(plane.identity!.roots.join(''), plane.identity!.rootsPem);
    assert.deepEqual(lines.filter((l) => /trust bundle changed/.test(l)), [], 'the same bundle is no news');
  } finally {
    c.close();
  }
});

test('an agent that does not trust the controller\'s root cannot connect (the config channel is verified TLS)', async () => {
  const lines: string[] = [];
  writeFileSync(join(dir, 'other.pem'), (await import('../support/mesh-identity.ts')).testMeshCa().rootsPem.join(''));
  const c = controllerSource({ controller: `wss://localhost:${plane.publisher!.port}`, mode: 'sidecar', pod: 'x', namespace: 'shop', rootCaFile: join(dir, 'other.pem'), log: (l) => lines.push(l) });
  try {
    await waitFor('a TLS refusal', () => lines.some((l) => /certificate|self.signed|verify/i.test(l)), { describe: () => lines.join('\n') });
    assert.equal(c.connected, false);
  } finally {
    c.close();
  }
});
