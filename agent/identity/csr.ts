// The agent's key pair and CSR. The key is made by node:crypto (OpenSSL: ~50 ms, where forge's
// pure-JS generator takes seconds) and lives only in this process's memory: never on disk, never
// sent. The CSR is built and signed by node-forge. It may name the identity the agent expects, as
// a hint for logs; the CA ignores it and names the token's identity.
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface WorkloadKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  publicKeyPem: string;
}

export function generateWorkloadKey(): WorkloadKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

export function buildCsr(key: WorkloadKey, spiffeId?: string): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
  csr.setSubject([]);
  if (spiffeId) csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: spiffeId }] }] }]);
  csr.sign(forge.pki.privateKeyFromPem(key.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr).replace(/\r\n/g, '\n');
}
