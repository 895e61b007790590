// Issuing leaves. Workload certificates carry exactly one SAN, the SPIFFE URI of the identity the
// caller proved; serving certificates carry DNS names. Both are pure functions of their inputs
// and `now`, so validity and clamping are tested without a clock: NotBefore is backdated for
// clock skew, NotAfter is the lifetime or the issuer chain's first expiry, whichever is sooner.
import { formatSpiffeId, type SpiffeId } from '../../api/identity.ts';
import { buildCertificate, type Extension } from './build-cert.ts';
import type { CertificateAuthority } from './ca.ts';
import { csrPublicKey } from './csr.ts';
import { CaUnavailableError } from './errors.ts';
import { generateRsaKeyPair } from './keys.ts';
import { CLOCK_SKEW_MS } from './root.ts';

export const WORKLOAD_LIFETIME_MS = 24 * 3_600_000;
export const SERVING_LIFETIME_MS = 365 * 24 * 3_600_000;

export interface IssuedCertificate {
  /** Leaf first, then intermediates (never the root: peers have it). */
  chainPem: string[];
  rootsPem: string[];
  notBefore: Date;
  notAfter: Date;
}

export interface ValidityOptions {
  now: Date;
  lifetimeMs?: number;
  clockSkewMs?: number;
}

function window(ca: CertificateAuthority, o: ValidityOptions, defaultLifetime: number): { notBefore: Date; notAfter: Date } {
  const now = o.now.getTime();
  if (now >= ca.notAfter.getTime()) throw new CaUnavailableError(`the CA's issuing chain expired at ${ca.notAfter.toISOString()}`);
  const notAfter = Math.min(now + (o.lifetimeMs ?? defaultLifetime), ca.notAfter.getTime());
  return { notBefore: new Date(now - (o.clockSkewMs ?? CLOCK_SKEW_MS)), notAfter: new Date(notAfter) };
}

const LEAF_EXTENSIONS: Extension[] = [
  { name: 'basicConstraints', cA: false, critical: true },
  { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
];

export interface WorkloadRequest extends ValidityOptions {
  csrPem: string;
  /** From the TokenReview: the only identity this certificate will ever name. */
  identity: SpiffeId;
}

export function issueWorkloadCertificate(ca: CertificateAuthority, req: WorkloadRequest): IssuedCertificate {
  const publicKeyPem = csrPublicKey(req.csrPem);
  const uri = formatSpiffeId(req.identity);
  const { notBefore, notAfter } = window(ca, req, WORKLOAD_LIFETIME_MS);
  const leaf = buildCertificate({
    publicKeyPem,
    // An empty subject is allowed when the SAN is critical (RFC 5280 §4.2.1.6); Istio does the same.
    subject: [],
    notBefore,
    notAfter,
    extensions: [...LEAF_EXTENSIONS, { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: uri }] }],
    issuer: ca.issuer,
  });
  return { chainPem: [leaf, ...chainAbove(ca)], rootsPem: ca.rootsPem, notBefore, notAfter };
}

function chainAbove(ca: CertificateAuthority): string[] {
  return ca.selfSigned ? [] : [ca.issuer.certPem, ...ca.intermediatesPem];
}

export interface ServingRequest extends ValidityOptions {
  dnsNames: string[];
}

export interface ServingCertificate extends IssuedCertificate {
  keyPem: string;
}

/** The controller's own certificates (config channel, webhook): key made here, DNS SANs. */
export function issueServingCertificate(ca: CertificateAuthority, req: ServingRequest): ServingCertificate {
  const keys = generateRsaKeyPair();
  const { notBefore, notAfter } = window(ca, req, SERVING_LIFETIME_MS);
  const leaf = buildCertificate({
    publicKeyPem: keys.publicKeyPem,
    subject: [{ name: 'commonName', value: req.dnsNames[0] ?? 'meshlet-controller' }],
    notBefore,
    notAfter,
    extensions: [...LEAF_EXTENSIONS, { name: 'subjectAltName', altNames: req.dnsNames.map((value) => ({ type: 2, value })) }],
    issuer: ca.issuer,
  });
  return { keyPem: keys.privateKeyPem, chainPem: [leaf, ...chainAbove(ca)], rootsPem: ca.rootsPem, notBefore, notAfter };
}

/** The DNS names the controller's Service answers to in `namespace`. */
export function controllerDnsNames(namespace: string, service = 'meshlet-controller'): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}
