// The self-signed root a controller generates on the first start of a mesh whose CA Secret is
// absent. It signs workload certificates directly (no intermediate), as Istio's self-signed CA
// does: its key never leaves the Secret, and a user who wants an offline root plugs in an
// intermediate instead (ca.ts).
import { buildCertificate } from './build-cert.ts';
import type { CaMaterial } from './ca.ts';
import { generateRsaKeyPair } from './keys.ts';

export const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3_600_000;
/** Backdating covers nodes whose clocks run behind the controller's. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export interface RootOptions {
  now: Date;
  trustDomain: string;
  lifetimeMs?: number;
}

export function generateRoot(opts: RootOptions): CaMaterial {
  const keys = generateRsaKeyPair();
  const subject = [
    { name: 'organizationName', value: 'meshlet' },
    { name: 'commonName', value: `meshlet root CA (${opts.trustDomain})` },
  ];
  const certPem = buildCertificate({
    publicKeyPem: keys.publicKeyPem,
    subject,
    notBefore: new Date(opts.now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(opts.now.getTime() + (opts.lifetimeMs ?? ROOT_LIFETIME_MS)),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
    selfKeyPem: keys.privateKeyPem,
  });
  return { caPem: certPem, certPem, keyPem: keys.privateKeyPem };
}
