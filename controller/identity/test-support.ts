// Test material for the CA: CSRs that ask for whatever a test wants (to prove it is ignored) and
// plug-in CAs as a user would bring them (their own root, an intermediate under it).
import forge from 'node-forge';
import { buildCertificate, type Extension } from './build-cert.ts';
import type { CaMaterial } from './ca.ts';
import type { IdentityKubeClient } from './kube.ts';
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
  /** Sign the intermediate under this root (a second intermediate of the same user PKI). */
  root?: CaMaterial;
}

/** A user's PKI: their root (ca.crt) and an intermediate under it (tls.crt, tls.key). */
export function makePluginCa(o: PluginOptions): CaMaterial & { userRootPem: string; root: CaMaterial } {
  const root = o.root ?? generateRoot({ now: o.now, trustDomain: 'corp.example' });
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
  return { caPem: root.certPem, certPem, keyPem: keys.privateKeyPem, userRootPem: root.certPem, root };
}

/** What the stand-in TokenReview says about one token. */
export interface TokenReviewAnswer {
  username: string;
  pod?: string;
  uid?: string;
  /** Default: the audiences asked for (an audience-aware apiserver). */
  audiences?: string[];
}

/**
 * A client that serves TokenReviews from `reviews` (unknown tokens are not authenticated) and
 * passes every other request to `kube`: the fake apiserver has no TokenReview endpoint.
 * `down()` true makes reviews fail as an unreachable apiserver would.
 */
export function withTokenReviews(kube: IdentityKubeClient, reviews: Record<string, TokenReviewAnswer>, down: () => boolean = () => false): IdentityKubeClient & { reviews: unknown[] } {
  const c = {
    reviews: [] as unknown[],
    request<T>(method: 'GET' | 'POST' | 'PUT', path: string, opts?: { body?: unknown; timeoutMs?: number }): Promise<T> {
      if (path !== '/apis/authentication.k8s.io/v1/tokenreviews') return kube.request<T>(method, path, opts);
      c.reviews.push(opts?.body);
      if (down()) return Promise.reject(Object.assign(new Error('POST tokenreviews: 503 ServiceUnavailable'), { statusCode: 503 }));
      const spec = (opts?.body as { spec: { token: string; audiences: string[] } }).spec;
      const r = reviews[spec.token];
      const extra = r?.pod ? { 'authentication.kubernetes.io/pod-name': [r.pod], ...(r.uid ? { 'authentication.kubernetes.io/pod-uid': [r.uid] } : {}) } : {};
      const status = r
        ? { authenticated: true, audiences: r.audiences ?? spec.audiences, user: { username: r.username, extra } }
        : { authenticated: false, error: 'invalid bearer token' };
      return Promise.resolve({ status } as T);
    },
  };
  return c;
}
