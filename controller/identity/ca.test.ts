import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { loadCa, splitPem, type CaMaterial } from './ca.ts';
import { CaInvalidError } from './errors.ts';
import { generateRoot } from './root.ts';
import { makePluginCa } from './test-support.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const H = 3_600_000;
const plug = makePluginCa({ now: NOW });
const other = generateRoot({ now: NOW, trustDomain: 'elsewhere' });
const leafLike = makePluginCa({ now: NOW, intermediateExtensions: [{ name: 'basicConstraints', cA: false }] });
const noCertSign = makePluginCa({ now: NOW, intermediateExtensions: [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', digitalSignature: true }] });
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

test('a plug-in intermediate loads: issuer, roots, expiry of the chain', () => {
  const ca = loadCa(plug, NOW);
  assert.equal(ca.selfSigned, false);
  assert.deepEqual(ca.rootsPem, [plug.userRootPem]);
  assert.deepEqual(ca.intermediatesPem, []);
  assert.equal(ca.notAfter.getTime(), NOW.getTime() + 365 * 24 * H);
});

test('tls.crt may carry the chain up to and including the root; the root is not re-sent', () => {
  const ca = loadCa({ ...plug, certPem: plug.certPem + plug.userRootPem }, NOW);
  assert.deepEqual(ca.intermediatesPem, []);
  assert.equal(splitPem(plug.certPem + plug.userRootPem).length, 2);
});

const cases: [string, CaMaterial, RegExp, Date?][] = [
  ['key of another certificate', { ...plug, keyPem: other.keyPem }, /tls\.key is not the key of tls\.crt 'O=Example Corp, CN=meshlet intermediate'/],
  ['a non-CA certificate', leafLike, /is not a CA \(basicConstraints CA:TRUE is missing\)/],
  ['a CA without keyCertSign', noCertSign, /may not sign certificates \(keyUsage lacks keyCertSign\)/],
  ['an expired intermediate', plug, /tls\.crt certificate #1 'O=Example Corp, CN=meshlet intermediate' expired at 2027-12-02T12:00:00.000Z/, new Date(NOW.getTime() + 366 * 24 * H)],
  ['a not yet valid intermediate', plug, /is not valid before 2026-12-02T11:59:00.000Z/, new Date(NOW.getTime() - H)],
  ['an intermediate that does not chain to ca.crt', { ...plug, caPem: other.certPem }, /tls\.crt does not chain to any certificate of ca\.crt .* was issued by 'O=meshlet, CN=meshlet root CA \(corp\.example\)'/],
  ['an empty ca.crt', { ...plug, caPem: '' }, /ca\.crt holds no PEM certificate/],
  ['an empty tls.crt', { ...plug, certPem: 'junk' }, /tls\.crt holds no PEM certificate/],
  ['a garbled certificate', { ...plug, certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, /tls\.crt certificate #1 is not a readable certificate/],
  ['an unreadable key', { ...plug, keyPem: 'nope' }, /tls\.key is not a readable private key/],
  ['an ECDSA key', { ...plug, keyPem: ecKey }, /the issuing key is ec; meshlet's CA signs with RSA keys only/],
];
for (const [name, material, why, at] of cases) {
  test(`refuses ${name}, saying so`, () => {
    assert.throws(() => loadCa(material, at ?? NOW), (err: unknown) => {
      assert.ok(err instanceof CaInvalidError);
      assert.equal(err.code, 'E_CA_INVALID');
      assert.match(err.message, /^Secret meshlet-system\/meshlet-ca: /);
      assert.match(err.message, why);
      return true;
    });
  });
}
