// Root rotation under load, end to end: a controller with the mesh CA on the (fake) API server,
// two sidecars (productpage → reviews) fed by it over wss://, their hop mutual TLS. While
// requests flow without pause, the user replaces Secret meshlet-system/meshlet-ca with a plug-in
// CA under a different root. The controller picks it up without a restart, pushes the bundle
// (old + new root) to both agents, issues under the new root after the grace period and asks
// the agents to re-issue; every request in the meantime must succeed (counted).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { CertificateManager } from '../../agent/identity/index.ts';
import { makePluginCa } from '../../controller/identity/test-support.ts';
import type { ControlPlane } from '../../controller/runners/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import type { FakeApiServer } from '../support/fake-apiserver/index.ts';
import { send } from '../support/http-client.ts';
import { startIdentityWorld, type IdentityAgent, type IdentityWorld } from '../support/identity-world.ts';
import { waitFor } from '../support/wait-for.ts';

const lines: string[] = [];
const log = (l: string): void => void lines.push(l);

let world: IdentityWorld;
let api: FakeApiServer;
let plane: ControlPlane;
let app: EchoServer;
let reviewsInbound: number;

before(async () => {
  world = await startIdentityWorld({ log, caPollMs: 100, rotationGraceMs: 700 });
  ({ api, plane, reviewsInbound } = world);
  app = await startEchoServer({ pod: 'reviews-0', namespace: 'shop' });
});

after(async () => {
  await world.close();
  await app.close();
});

/** An agent whose controller client and certificates log into `lines`, prefixed by its pod. */
const agent = (pod: string, sa: string, inbound: number, originalDestination: Parameters<IdentityWorld['agent']>[2]['originalDestination']): Promise<IdentityAgent> =>
  world.agent(pod, sa, { inbound, originalDestination, log: (l) => log(`${pod}: ${l}`) });

const issuerOf = (m: CertificateManager): string => new X509Certificate(m.current()!.chainPem[0]!).issuer;

test('replacing the CA Secret with another root under steady load loses zero requests', async () => {
  const server = await agent('reviews-0', 'reviews', reviewsInbound, (s) => (s.localPort === reviewsInbound ? { address: '127.0.0.1', port: app.port } : null));
  const client = await agent('productpage-0', 'productpage', 0, () => ({ address: '10.96.0.30', port: 9080 }));
  await Promise.all([server.certificates.ready(), client.certificates.ready()]);
  const oldIssuer = issuerOf(server.certificates);
  const first = await send({ port: client.proxy.ports.outbound!, path: '/who', authority: 'reviews.shop:9080' });
  assert.equal(first.status, 200, first.text);

  // Steady load: one request after another (new client connection each), counted, until told to stop.
  const outcomes = { ok: 0, failed: [] as string[] };
  let loading = true;
  const load = (async () => {
    const until = Date.now() + 30_000;
    while (loading && Date.now() < until) {
      try {
        const r = await send({ port: client.proxy.ports.outbound!, path: '/who', authority: 'reviews.shop:9080' });
        if (r.status === 200) outcomes.ok++;
        else outcomes.failed.push(`${r.status} ${r.text.slice(0, 200)}`);
      } catch (err) {
        outcomes.failed.push((err as Error).message);
      }
    }
  })();

  await waitFor('some requests before the rotation', () => outcomes.ok >= 20);
  const plug = makePluginCa({ now: new Date() });
  const cur = api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')!;
  api.update({ ...cur, data: { 'ca.crt': btoa(plug.caPem), 'tls.crt': btoa(plug.certPem), 'tls.key': btoa(plug.keyPem) } });

  // Step 1: both agents trust old + new root while still holding certificates of the old issuer.
  await waitFor('both agents trust both roots', () => server.certificates.current()!.rootsPem.length === 2 && client.certificates.current()!.rootsPem.length === 2, { describe: () => lines.join('\n') });
  assert.equal(issuerOf(server.certificates), oldIssuer, 'no certificate from the new root before the grace period');
  // Step 2: both re-issue under the new root (the plug-in intermediate).
  await waitFor('both agents re-issued under the new root', () => issuerOf(server.certificates) === 'O=Example Corp\nCN=meshlet intermediate' && issuerOf(client.certificates) === 'O=Example Corp\nCN=meshlet intermediate', { timeoutMs: 10_000, describe: () => lines.join('\n') });
  const afterCount = outcomes.ok;
  await waitFor('requests after the rotation', () => outcomes.ok >= afterCount + 20);
  loading = false;
  await load;

  assert.deepEqual(outcomes.failed, [], `every request succeeds (${outcomes.ok} ok)`);
  assert.ok(outcomes.ok >= 40, `load ran throughout (${outcomes.ok} requests)`);
  const last = await send({ port: client.proxy.ports.outbound!, path: '/who', authority: 'reviews.shop:9080' });
  assert.deepEqual(last.echo?.headers['X-Forwarded-Client-Cert'], ['By=spiffe://cluster.local/ns/shop/sa/reviews;URI=spiffe://cluster.local/ns/shop/sa/productpage']);
  const cm = api.get('v1', 'ConfigMap', 'meshlet-root-ca', 'shop') as unknown as { data: Record<string, string> };
  assert.equal(cm.data['root-cert.pem'], plane.identity!.rootsPem, 'the published bundle is the union');
  assert.ok(plane.identity!.rootsPem.includes(plug.caPem));
  assert.ok(lines.some((l) => /root rotation step 1/.test(l)) && lines.some((l) => /root rotation step 2/.test(l)), lines.join('\n'));
  const metrics = await send({ port: plane.admin!.port!, path: '/metrics' });
  assert.match(metrics.text, /^meshlet_ca_trusted_roots 2$/m);
});
