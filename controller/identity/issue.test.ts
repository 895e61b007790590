import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { loadCa } from './ca.ts';
import { CaUnavailableError, CsrInvalidError } from './errors.ts';
import { controllerDnsNames, issueServingCertificate, issueWorkloadCertificate } from './issue.ts';
import { generateRoot } from './root.ts';
import { makeCsr, makePluginCa } from './test-support.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const H = 3_600_000;
const ID = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' };
const root = generateRoot({ now: NOW, trustDomain: 'cluster.local' });
const ca = loadCa(root, NOW);

function ext<T>(pem: string, name: string): T | undefined {
  return forge.pki.certificateFromPem(pem).getExtension(name) as T | undefined;
}

describe('root', () => {
  test('self-signed CA:true, keyCertSign, ten years, backdated for skew; loads as a self-signed CA', () => {
    const c = new X509Certificate(root.certPem);
    assert.equal(c.ca, true);
    assert.equal(c.checkIssued(c), true);
    assert.equal(ext<{ keyCertSign: boolean }>(root.certPem, 'keyUsage')?.keyCertSign, true);
    assert.equal(c.validFromDate.getTime(), NOW.getTime() - 5 * 60_000);
    assert.equal(c.validToDate.getTime(), NOW.getTime() + 10 * 365 * 24 * H);
    assert.equal(root.caPem, root.certPem);
    assert.equal(ca.selfSigned, true);
    assert.deepEqual(ca.intermediatesPem, []);
  });
});

describe('workload certificates', () => {
  test('name only the token identity, whatever the CSR asks for', () => {
    const { csrPem } = makeCsr({ commonName: 'admin', dns: ['payments.prod.svc'], uris: ['spiffe://cluster.local/ns/kube-system/sa/admin'] });
    const out = issueWorkloadCertificate(ca, { csrPem, identity: ID, now: NOW });
    const leaf = new X509Certificate(out.chainPem[0]!);
    assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/cart');
    assert.ok(!leaf.subject, 'no subject: the SAN is the name');
    assert.equal(leaf.ca, false);
  });

  test('EKU serverAuth+clientAuth, keyUsage digitalSignature+keyEncipherment only', () => {
    const out = issueWorkloadCertificate(ca, { csrPem: makeCsr().csrPem, identity: ID, now: NOW });
    const leaf = new X509Certificate(out.chainPem[0]!);
    assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const ku = ext<Record<string, unknown>>(out.chainPem[0]!, 'keyUsage')!;
    assert.deepEqual(Object.keys(ku).filter((k) => ku[k] === true && k !== 'critical').sort(), ['digitalSignature', 'keyEncipherment']);
  });

  test('24 h by default, configurable, NotBefore backdated five minutes; verifies against the root', () => {
    const csrPem = makeCsr().csrPem;
    const day = issueWorkloadCertificate(ca, { csrPem, identity: ID, now: NOW });
    assert.equal(day.notAfter.getTime(), NOW.getTime() + 24 * H);
    assert.equal(day.notBefore.getTime(), NOW.getTime() - 5 * 60_000);
    const leaf = new X509Certificate(day.chainPem[0]!);
    assert.equal(leaf.validToDate.getTime(), day.notAfter.getTime());
    assert.equal(leaf.verify(new X509Certificate(root.certPem).publicKey), true);
    assert.deepEqual(day.chainPem.length, 1, 'a self-signed root is not sent: peers have it');
    const hour = issueWorkloadCertificate(ca, { csrPem, identity: ID, now: NOW, lifetimeMs: H });
    assert.equal(hour.notAfter.getTime(), NOW.getTime() + H);
  });

  test('NotAfter is clamped to the issuer chain expiry; an expired issuer issues nothing', () => {
    const plug = makePluginCa({ now: NOW, intermediateMs: 6 * H });
    const pca = loadCa(plug, NOW);
    const out = issueWorkloadCertificate(pca, { csrPem: makeCsr().csrPem, identity: ID, now: NOW });
    assert.equal(out.notAfter.getTime(), pca.notAfter.getTime());
    assert.ok(out.notAfter.getTime() < NOW.getTime() + 6 * H + 1);
    assert.throws(() => issueWorkloadCertificate(pca, { csrPem: makeCsr().csrPem, identity: ID, now: new Date(NOW.getTime() + 7 * H) }),
      (err: unknown) => err instanceof CaUnavailableError && err.code === 'E_CA_UNAVAILABLE' && err.retryable && /expired at/.test(err.message));
  });

  test('plug-in CA: chain is leaf then intermediate, and it chains to the user root', () => {
    const plug = makePluginCa({ now: NOW });
    const out = issueWorkloadCertificate(loadCa(plug, NOW), { csrPem: makeCsr().csrPem, identity: ID, now: NOW });
    assert.equal(out.chainPem.length, 2);
    const [leaf, mid] = out.chainPem.map((p) => new X509Certificate(p));
    const userRoot = new X509Certificate(plug.userRootPem);
    assert.equal(leaf!.checkIssued(mid!) && leaf!.verify(mid!.publicKey), true);
    assert.equal(mid!.checkIssued(userRoot) && mid!.verify(userRoot.publicKey), true);
    assert.deepEqual(out.rootsPem, [plug.userRootPem]);
  });

  test('a CSR whose signature does not verify, garbage, or a short key: E_CSR_INVALID', () => {
    const der = Buffer.from(makeCsr().csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 1]! ^= 0xff;
    const swapped = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const cases: [string, RegExp][] = [[swapped, /signature does not verify/], ['not a csr', /cannot be read/], [makeCsr({ bits: 1024 }).csrPem, /shorter than 2048 bits/]];
    for (const [pem, why] of cases) {
      assert.throws(() => issueWorkloadCertificate(ca, { csrPem: pem, identity: ID, now: NOW }), (err: unknown) => err instanceof CsrInvalidError && err.code === 'E_CSR_INVALID' && !err.retryable && why.test(err.message));
    }
  });
});

test('serving certificates carry the controller DNS names and serverAuth', () => {
  const out = issueServingCertificate(ca, { dnsNames: controllerDnsNames('meshlet-system'), now: NOW });
  const leaf = new X509Certificate(out.chainPem[0]!);
  assert.equal(leaf.subjectAltName, 'DNS:meshlet-controller.meshlet-system.svc, DNS:meshlet-controller.meshlet-system.svc.cluster.local');
  assert.equal(leaf.checkHost('meshlet-controller.meshlet-system.svc'), 'meshlet-controller.meshlet-system.svc');
  assert.equal(leaf.checkPrivateKey(createPrivateKey(out.keyPem)), true);
  assert.equal(out.notAfter.getTime(), NOW.getTime() + 365 * 24 * H);
});
