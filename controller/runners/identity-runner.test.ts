import { after, afterEach, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { makePluginCa, withTokenReviews } from '../identity/test-support.ts';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { IdentityRunner } from './identity-runner.ts';

let api: FakeApiServer;
before(async () => {
  api = await startFakeApiServer({ gatewayApi: false, objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshlet-system' } }] });
});
after(() => api.close());
afterEach(() => mock.timers.reset());

const b64 = (s: string): string => Buffer.from(s).toString('base64');
function replaceSecret(m: { caPem: string; certPem: string; keyPem: string }): void {
  const cur = api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')!;
  api.update({ ...cur, data: { 'ca.crt': b64(m.caPem), 'tls.crt': b64(m.certPem), 'tls.key': b64(m.keyPem) } });
}
const servingIssuer = (r: IdentityRunner): string => new X509Certificate(r.serving().certPem).issuer;

test('a new root: bundle pushed first (old issuer still signing), the new issuer 60 s later with a renew push; a new intermediate under a trusted root at once', async () => {
  const lines: string[] = [];
  const runner = new IdentityRunner({ client: withTokenReviews(kubeClientFor(api), {}), trustDomain: 'cluster.local', namespace: 'meshlet-system', caPollMs: 3_600_000, log: (l) => lines.push(l) });
  await runner.start();
  const pushes: [number, boolean][] = [];
  runner.setTrustPush((roots, renew) => (pushes.push([roots.length, renew]), 2));
  const oldIssuer = servingIssuer(runner);
  try {
    const plug = makePluginCa({ now: new Date() });
    replaceSecret(plug);
    mock.timers.enable({ apis: ['setTimeout'] });
    await runner.checkCa();
    assert.deepEqual(pushes, [[2, false]], 'step 1: both roots, no re-issue yet');
    assert.equal(servingIssuer(runner), oldIssuer, 'the old issuer still signs');
    assert.ok(runner.rootsPem.includes(plug.caPem));
    assert.match(runner.metrics(), /^meshlet_ca_trusted_roots 2$/m);
    mock.timers.tick(59_999);
    assert.equal(pushes.length, 1, 'not before the grace period');
    mock.timers.tick(1);
    assert.deepEqual(pushes, [[2, false], [2, true]], 'step 2: agents told to re-issue');
    assert.equal(servingIssuer(runner), 'O=Example Corp\nCN=meshlet intermediate');
    assert.ok(lines.some((l) => /root rotation step 1: trusting 2 root\(s\); issuing under the new root in 60 s/.test(l)));
    assert.ok(lines.some((l) => /trust bundle \(2 root\(s\)\) pushed to 2 agent\(s\), asking them to re-issue/.test(l)));

    // A second intermediate under the user's root (already trusted): no grace period.
    const again = makePluginCa({ now: new Date(), root: plug.root });
    assert.equal(again.caPem, plug.caPem);
    replaceSecret(again);
    await runner.checkCa();
    assert.deepEqual(pushes.at(-1), [2, true]);
    assert.equal(pushes.length, 3);
    assert.ok(new X509Certificate(runner.serving().certPem).checkIssued(new X509Certificate(again.certPem)), 'the serving certificate comes from the second intermediate');
  } finally {
    mock.timers.reset();
    await runner.stop();
  }
});

