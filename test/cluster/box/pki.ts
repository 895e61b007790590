// The box's certificates: one CA that signs the API server's serving certificate and the client
// certificates the API server trusts (--client-ca-file), plus the ServiceAccount signing key pair.
// Keys come from node:crypto (fast, native); node-forge only assembles and signs certificates.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface BoxPki {
  /** The CA's certificate and private key (it signs client certificates on demand). */
  ca: KeyPairPem;
  /** kube-apiserver's serving certificate. */
  serving: KeyPairPem;
  /** CN meshlet-admin, O system:masters: the test's cluster-admin identity. */
  admin: KeyPairPem;
  /** CN system:kube-controller-manager: the identity the RBAC bootstrap policy expects. */
  controllerManager: KeyPairPem;
  /** Signs and verifies ServiceAccount tokens (projected tokens, TokenRequest, TokenReview). */
  serviceAccount: { publicKey: string; privateKey: string };
}

export interface PkiOptions {
  /** IPs the serving certificate must cover (127.0.0.1 and the kubernetes Service IP at least). */
  ips: string[];
  dnsNames: string[];
}

function rsaKeys(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

type Extension = Record<string, unknown>;

function sign(subject: forge.pki.CertificateField[], keys: { publicKey: string; privateKey: string }, extensions: Extension[], issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }): KeyPairPem {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  // A random positive serial: the API server's client-CA cache keys on issuer+serial.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3_600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(extensions);
  cert.sign(issuer ? issuer.key : (forge.pki.privateKeyFromPem(keys.privateKey)), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.privateKey };
}

const leafUsage = { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true };

function issuerOf(ca: KeyPairPem): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  return { cert: forge.pki.certificateFromPem(ca.cert), key: forge.pki.privateKeyFromPem(ca.key) };
}

/**
 * A client certificate the API server authenticates as user `commonName` in `groups` (the O
 * attributes), e.g. system:node:<name> in system:nodes for a kubelet.
 */
export function issueClientCert(ca: KeyPairPem, commonName: string, groups: string[]): KeyPairPem {
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: commonName }, ...groups.map((value) => ({ name: 'organizationName', value }))];
  return sign(subject, rsaKeys(), [{ name: 'basicConstraints', cA: false }, leafUsage, { name: 'extKeyUsage', clientAuth: true }], issuerOf(ca));
}

/** A serving certificate for dnsNames signed by ca: e.g. a Gateway listener's, verified against the box CA. */
export function issueServingCert(ca: KeyPairPem, dnsNames: string[]): KeyPairPem {
  return sign([{ name: 'commonName', value: dnsNames[0] ?? 'server' }], rsaKeys(), [
    { name: 'basicConstraints', cA: false },
    leafUsage,
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
  ], issuerOf(ca));
}

/** A self-signed CA (its certificate and key), e.g. a test's own CA for Gateway certificates. */
export function createCa(commonName: string): KeyPairPem {
  return sign([{ name: 'commonName', value: commonName }], rsaKeys(), [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ]);
}

export function createBoxPki(opts: PkiOptions): BoxPki {
  const ca = createCa('meshlet-box-ca');
  const issuer = issuerOf(ca);
  const altNames = [...opts.dnsNames.map((value) => ({ type: 2, value })), ...opts.ips.map((ip) => ({ type: 7, ip }))];
  const serving = sign([{ name: 'commonName', value: 'kube-apiserver' }], rsaKeys(), [
    { name: 'basicConstraints', cA: false },
    leafUsage,
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ], issuer);
  return {
    ca,
    serving,
    admin: issueClientCert(ca, 'meshlet-admin', ['system:masters']),
    controllerManager: issueClientCert(ca, 'system:kube-controller-manager', []),
    serviceAccount: rsaKeys(),
  };
}
