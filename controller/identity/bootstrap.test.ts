import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { bootstrapCa } from './bootstrap.ts';
import { CaBootstrapError, CaInvalidError } from './errors.ts';
import { makePluginCa } from './test-support.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const now = (): Date => NOW;
let api: FakeApiServer;

before(async () => {
  api = await startFakeApiServer({ gatewayApi: false });
});
after(() => api.close());

function secret(): Record<string, string> | undefined {
  return api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')?.data as Record<string, string> | undefined;
}

function clear(): void {
  if (secret()) api.delete('v1', 'Secret', 'meshlet-ca', 'meshlet-system');
  api.requests.length = 0;
}

describe('bootstrapCa', () => {
  test('creates the Secret with a generated root when absent; the next start reuses it without writing', async () => {
    clear();
    const client = kubeClientFor(api);
    const first = await bootstrapCa({ client, trustDomain: 'cluster.local', now });
    assert.equal(first.created, true);
    const data = secret()!;
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(Buffer.from(data['ca.crt']!, 'base64').toString(), first.material.caPem);
    assert.equal(api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')?.type, 'kubernetes.io/tls');
    api.requests.length = 0;
    const again = await bootstrapCa({ client, trustDomain: 'cluster.local', now });
    assert.equal(again.created, false);
    assert.equal(again.material.caPem, first.material.caPem);
    assert.deepEqual(api.requests.map((r) => r.method), ['GET']);
  });

  test('two replicas at once end with one root: the loser gets 409, re-reads and adopts the winner', async () => {
    clear();
    const [a, b] = await Promise.all([
      bootstrapCa({ client: kubeClientFor(api), trustDomain: 'cluster.local', now }),
      bootstrapCa({ client: kubeClientFor(api), trustDomain: 'cluster.local', now }),
    ]);
    assert.equal(a.material.caPem, b.material.caPem);
    assert.equal(a.material.keyPem, b.material.keyPem);
    assert.deepEqual([a.created, b.created].sort(), [false, true]);
    assert.equal(Buffer.from(secret()!['ca.crt']!, 'base64').toString(), a.material.caPem);
    assert.equal(api.requests.filter((r) => r.method === 'POST').length, 2, 'both tried to create; one lost');
  });

  test('a plug-in Secret is used as it is: the issuer is the user intermediate', async () => {
    clear();
    const plug = makePluginCa({ now: NOW });
    api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'meshlet-ca', namespace: 'meshlet-system' }, data: { 'ca.crt': btoa(plug.caPem), 'tls.crt': btoa(plug.certPem), 'tls.key': btoa(plug.keyPem) } });
    const got = await bootstrapCa({ client: kubeClientFor(api), trustDomain: 'cluster.local', now });
    assert.equal(got.ca.selfSigned, false);
    assert.equal(new X509Certificate(got.ca.issuer.certPem).subject, 'O=Example Corp\nCN=meshlet intermediate');
  });

  test('an invalid Secret is refused with its reason and never overwritten', async () => {
    clear();
    const plug = makePluginCa({ now: NOW });
    api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'meshlet-ca', namespace: 'meshlet-system' }, data: { 'ca.crt': btoa(plug.caPem), 'tls.crt': btoa(plug.certPem) } });
    await assert.rejects(bootstrapCa({ client: kubeClientFor(api), trustDomain: 'cluster.local', now }), (err: unknown) => err instanceof CaInvalidError && /tls\.key is not a readable private key/.test(err.message));
    assert.equal(secret()!['tls.key'], undefined);
    assert.equal(api.requests.filter((r) => r.method !== 'GET').length, 0);
  });

  test('an apiserver error is a CaBootstrapError, not a new root', async () => {
    clear();
    api.injectFailure({ method: 'GET', path: '/secrets/meshlet-ca', code: 500 });
    await assert.rejects(bootstrapCa({ client: kubeClientFor(api), trustDomain: 'cluster.local', now }), (err: unknown) => err instanceof CaBootstrapError && err.code === 'E_CA_BOOTSTRAP' && /reading Secret meshlet-system\/meshlet-ca: .*500/.test(err.message));
    assert.equal(secret(), undefined);
  });
});
