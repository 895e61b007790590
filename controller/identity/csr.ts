// Reading a CSR: its signature must verify (the requester holds the key), and only its public
// key is used. Whatever subject, SANs or extensions it asks for are ignored by design: the
// identity comes from the authenticated token (issue.ts), never from the requester's words.
import forge from 'node-forge';
import { CsrInvalidError } from './errors.ts';

const MIN_RSA_BITS = 2048;

/** The CSR's public key as SubjectPublicKeyInfo PEM, once its self-signature checks out. */
export function csrPublicKey(csrPem: string): string {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new CsrInvalidError(`the CSR cannot be read (meshlet signs RSA keys of ${MIN_RSA_BITS} bits or more): ${(err as Error).message}`, { cause: err });
  }
  let ok: boolean;
  try {
    ok = csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new CsrInvalidError('the CSR signature does not verify');
  const key = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!key || key.n.bitLength() < MIN_RSA_BITS) throw new CsrInvalidError(`the CSR key is shorter than ${MIN_RSA_BITS} bits`);
  return forge.pki.publicKeyToPem(key);
}
