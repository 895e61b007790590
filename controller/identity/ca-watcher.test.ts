import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { bootstrapCa } from './bootstrap.ts';
import type { CertificateAuthority } from './ca.ts';
import { CaWatcher } from './ca-watcher.ts';
import { issueWorkloadCertificate } from './issue.ts';
import { makeCsr, makePluginCa } from './test-support.ts';

const T0 = new Date('2026-12-02T12:00:00Z').getTime();
const HOUR = 3_600_000;
let api: FakeApiServer;

before(async () => {
  api = await startFakeApiServer({ gatewayApi: false });
});
after(() => api.close());

const b64 = (s: string): string => Buffer.from(s).toString('base64');
function replaceSecret(data: Record<string, string>): void {
  const cur = api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')!;
  api.update({ ...cur, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
}

/** Does `leafPem` chain to one of `rootsPem` (through the intermediates in `chain`)? */
function verifies(chain: string[], rootsPem: string[]): boolean {
  const certs = chain.map((p) => new X509Certificate(p));
  const roots = rootsPem.map((p) => new X509Certificate(p));
  let cur = certs[0]!;
  for (let i = 0; i < 5; i++) {
    const root = roots.find((r) => cur.checkIssued(r) && cur.verify(r.publicKey));
    if (root) return true;
    const up = certs.find((c) => cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!up || up === cur) return false;
    cur = up;
  }
  return false;
}

const leafOf = (ca: CertificateAuthority, at: number): string[] => issueWorkloadCertificate(ca, { csrPem: makeCsr().csrPem, identity: { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'web' }, now: new Date(at) }).chainPem;

test('a replaced CA Secret is picked up: new issuer, bundle = new + old roots, old root dropped after the overlap', async () => {
  let now = T0;
  const lines: string[] = [];
  const client = kubeClientFor(api);
  const initial = await bootstrapCa({ client, trustDomain: 'cluster.local', now: () => new Date(now) });
  const oldLeaf = leafOf(initial.ca, now);
  const changes: CertificateAuthority[] = [];
  const w = new CaWatcher({ client, initial, retainMs: 25 * HOUR, now: () => now, log: (l) => lines.push(l), onChange: (ca) => changes.push(ca) });

  await w.check();
  assert.equal(changes.length, 0, 'an unchanged Secret is no rotation');

  const plug = makePluginCa({ now: new Date(now) });
  replaceSecret({ 'ca.crt': plug.caPem, 'tls.crt': plug.certPem, 'tls.key': plug.keyPem });
  now += 60_000;
  await w.check();
  assert.equal(changes.length, 1);
  const rotated = changes[0]!;
  assert.equal(rotated.selfSigned, false, 'issues from the plug-in intermediate now');
  assert.deepEqual(rotated.rootsPem, [plug.caPem, initial.ca.rootsPem[0]], 'new root first, previous root still trusted');
  const newLeaf = leafOf(rotated, now);
  assert.equal(verifies(newLeaf, rotated.rootsPem), true, 'a new certificate verifies against the bundle');
  assert.equal(verifies(oldLeaf, rotated.rootsPem), true, 'an old certificate still verifies during the overlap');
  assert.equal(verifies(newLeaf, initial.ca.rootsPem), false, 'the old bundle alone would refuse the new certificate (why the union matters)');
  assert.match(lines.at(-1)!, /root rotation: the CA in Secret meshlet-system\/meshlet-ca changed; issuing under the new root, trusting 1 previous root\(s\) too until 2026-12-03T13:01:00.000Z/);

  now += 24 * HOUR;
  await w.check();
  assert.equal(changes.length, 1, 'the old root stays until its deadline');
  now += 2 * HOUR;
  await w.check();
  assert.equal(changes.length, 2);
  assert.deepEqual(changes[1]!.rootsPem, [plug.caPem]);
  assert.equal(changes[1]!.issuer.certPem, rotated.issuer.certPem, 'dropping the old root does not change the issuer');
  assert.match(lines.at(-1)!, /root rotation finished: dropped 1 previous root\(s\)/);
});

test('a replacement that does not load is logged once and the working CA stays; a later good one is taken', async () => {
  const now = T0;
  const lines: string[] = [];
  const client = kubeClientFor(api);
  const plug = makePluginCa({ now: new Date(now) });
  replaceSecret({ 'ca.crt': plug.caPem, 'tls.crt': plug.certPem, 'tls.key': plug.keyPem });
  const initial = await bootstrapCa({ client, trustDomain: 'cluster.local', now: () => new Date(now) });
  const changes: CertificateAuthority[] = [];
  const w = new CaWatcher({ client, initial, now: () => now, log: (l) => lines.push(l), onChange: (ca) => changes.push(ca) });

  const other = makePluginCa({ now: new Date(now) });
  replaceSecret({ 'ca.crt': other.caPem, 'tls.crt': other.certPem, 'tls.key': plug.keyPem });
  await w.check();
  await w.check();
  assert.equal(changes.length, 0);
  const refusals = lines.filter((l) => /changed but cannot be used; keeping the current CA: .*tls\.key is not the key of tls\.crt/.test(l));
  assert.equal(refusals.length, 1, `logged once: ${lines.join('\n')}`);

  replaceSecret({ 'ca.crt': other.caPem, 'tls.crt': other.certPem, 'tls.key': other.keyPem });
  await w.check();
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0]!.rootsPem, [other.caPem, plug.caPem]);
});

test('a deleted Secret or an apiserver error keeps the current CA, with one log line each', async () => {
  const now = T0;
  const lines: string[] = [];
  const client = kubeClientFor(api);
  const initial = await bootstrapCa({ client, trustDomain: 'cluster.local', now: () => new Date(now) });
  const changes: CertificateAuthority[] = [];
  const w = new CaWatcher({ client, initial, now: () => now, log: (l) => lines.push(l), onChange: (ca) => changes.push(ca) });
  api.injectFailure({ method: 'GET', path: '/secrets/meshlet-ca', code: 500 });
  await w.check();
  assert.match(lines.at(-1)!, /re-reading Secret meshlet-system\/meshlet-ca failed \(keeping the current CA, retried\): .*500/);
  api.delete('v1', 'Secret', 'meshlet-ca', 'meshlet-system');
  await w.check();
  await w.check();
  assert.equal(lines.filter((l) => /is gone; keeping the current CA/.test(l)).length, 1);
  assert.equal(changes.length, 0);
});
