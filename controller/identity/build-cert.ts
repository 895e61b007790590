// One X.509 certificate, built and encoded by node-forge and signed through keys.ts. Everything
// that varies between the root, the serving certificates and workload certificates (subject,
// extensions, validity) is the caller's; this file owns serial numbers, key identifiers and the
// issuer name, which must be right for OpenSSL to build the chain.
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { rsaSigner } from './keys.ts';
import { CaInvalidError } from './errors.ts';

export type CertificateField = forge.pki.CertificateField;
/** forge's extension objects (`{ name: 'keyUsage', digitalSignature: true, … }`). */
export type Extension = Record<string, unknown> & { name: string };

export interface Issuer {
  certPem: string;
  keyPem: string;
}

export interface CertificateSpec {
  /** SubjectPublicKeyInfo PEM of the key being certified. */
  publicKeyPem: string;
  subject: CertificateField[];
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
  /** Who signs; absent: self-signed with `selfKeyPem`. */
  issuer?: Issuer;
  selfKeyPem?: string;
}

/** 128 random bits, positive (RFC 5280 §4.1.2.2 wants ≤ 20 octets, non-negative, unique). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

export function parseForgeCert(pem: string, what: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (err) {
    throw new CaInvalidError(`${what} cannot be read (meshlet's CA needs an RSA key): ${(err as Error).message}`, { cause: err });
  }
}

/** The issuer's own key identifier, so the child's AKI matches it even if the issuer was not made by us. */
function keyIdOf(cert: forge.pki.Certificate): string {
  const ext: { subjectKeyIdentifier?: string } | null | undefined = cert.getExtension('subjectKeyIdentifier');
  return ext?.subjectKeyIdentifier ? forge.util.hexToBytes(ext.subjectKeyIdentifier) : cert.generateSubjectKeyIdentifier().getBytes();
}

export function buildCertificate(spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(spec.subject);
  let signerPem: string;
  let authorityKeyId: string;
  if (spec.issuer) {
    const issuer = parseForgeCert(spec.issuer.certPem, 'the issuing certificate');
    cert.setIssuer(issuer.subject.attributes);
    authorityKeyId = keyIdOf(issuer);
    signerPem = spec.issuer.keyPem;
  } else {
    if (!spec.selfKeyPem) throw new CaInvalidError('a self-signed certificate needs its own private key');
    cert.setIssuer(spec.subject);
    authorityKeyId = cert.generateSubjectKeyIdentifier().getBytes();
    signerPem = spec.selfKeyPem;
  }
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId },
  ]);
  cert.sign(rsaSigner(signerPem) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  // LF line ends: forge writes CRLF, and PEM text is compared and concatenated as strings.
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}
