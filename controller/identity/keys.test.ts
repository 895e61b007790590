import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { CaInvalidError } from './errors.ts';
import { generateRsaKeyPair, rsaSigner } from './keys.ts';

function tbs(publicKeyPem: string): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  c.serialNumber = '0badc0de';
  c.validity.notBefore = new Date('2026-12-02T00:00:00Z');
  c.validity.notAfter = new Date('2026-12-03T00:00:00Z');
  c.setSubject([{ name: 'commonName', value: 'x' }]);
  c.setIssuer([{ name: 'commonName', value: 'x' }]);
  return c;
}

test('the OpenSSL-backed signer produces the very signature forge would (PKCS#1 v1.5 is deterministic)', () => {
  const k = generateRsaKeyPair();
  const byForge = tbs(k.publicKeyPem);
  byForge.sign(forge.pki.privateKeyFromPem(k.privateKeyPem), forge.md.sha256.create());
  const byUs = tbs(k.publicKeyPem);
  byUs.sign(rsaSigner(k.privateKeyPem) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  assert.equal(forge.pki.certificateToPem(byUs), forge.pki.certificateToPem(byForge));
  assert.equal(forge.pki.certificateFromPem(forge.pki.certificateToPem(byUs)).verify(byUs), true);
});

test('the signer refuses keys forge cannot describe (EC), unreadable keys, and other digests', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  assert.throws(() => rsaSigner(ec.privateKey), (e: unknown) => e instanceof CaInvalidError && /the CA key is ec; meshlet's CA signs with RSA keys only/.test(e.message));
  assert.throws(() => rsaSigner('nope'), (e: unknown) => e instanceof CaInvalidError && /cannot be read/.test(e.message));
  const k = generateRsaKeyPair();
  assert.throws(() => tbs(k.publicKeyPem).sign(rsaSigner(k.privateKeyPem) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha1.create()), /unsupported digest sha1/);
});
