// Test material for the CA: CSRs that ask for whatever a test wants (to prove it is ignored) and
// plug-in CAs as a user would bring them (their own root, an intermediate under it).
import forge from 'node-forge';
import { buildCertificate, type Extension } from './build-cert.ts';
import type { CaMaterial } from './ca.ts';
import { generateRsaKeyPair } from './keys.ts';
import { generateRoot } from './root.ts';

export interface CsrAsk {
  commonName?: string;
  dns?: string[];
  uris?: string[];
  bits?: number;
}

/** A CSR from a fresh RSA key (node:crypto, 2048 bits unless asked), signed by forge, asking for `ask`. */
export function makeCsr(ask: CsrAsk = {}): { csrPem: string; keyPem: string } {
  const keys = generateRsaKeyPair(ask.bits);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  csr.setSubject(ask.commonName ? [{ name: 'commonName', value: ask.commonName }] : []);
  const altNames = [...(ask.dns ?? []).map((value) => ({ type: 2, value })), ...(ask.uris ?? []).map((value) => ({ type: 6, value }))];
  if (altNames.length > 0) csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  csr.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem: keys.privateKeyPem };
}

export interface PluginOptions {
  now: Date;
  /** Lifetime of the intermediate (default 1 year). */
  intermediateMs?: number;
  intermediateExtensions?: Extension[];
}

/** A user's PKI: their root (ca.crt) and an intermediate under it (tls.crt, tls.key). */
export function makePluginCa(o: PluginOptions): CaMaterial & { userRootPem: string } {
  const root = generateRoot({ now: o.now, trustDomain: 'corp.example' });
  const keys = generateRsaKeyPair();
  const certPem = buildCertificate({
    publicKeyPem: keys.publicKeyPem,
    subject: [{ name: 'organizationName', value: 'Example Corp' }, { name: 'commonName', value: 'meshlet intermediate' }],
    notBefore: new Date(o.now.getTime() - 60_000),
    notAfter: new Date(o.now.getTime() + (o.intermediateMs ?? 365 * 24 * 3_600_000)),
    extensions: o.intermediateExtensions ?? [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
    issuer: { certPem: root.certPem, keyPem: root.keyPem },
  });
  return { caPem: root.certPem, certPem, keyPem: keys.privateKeyPem, userRootPem: root.certPem };
}
