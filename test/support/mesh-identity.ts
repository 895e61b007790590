// A mesh CA for tests and workload certificates issued straight from it (no config channel):
// each workload's CertificateManager asks this CA, which names only the identity given here.
import { CertificateManager } from '../../agent/identity/index.ts';
import { parseSpiffeId } from '../../api/identity.ts';
import { spiffeId } from '../../api/names.ts';
import { generateRoot, issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';

export function testMeshCa(trustDomain = 'cluster.local'): CertificateAuthority {
  const now = new Date();
  return loadCa(generateRoot({ now, trustDomain }), now);
}

export interface WorkloadOptions {
  lifetimeMs?: number;
  /** Seen by the manager; renewals follow its schedule. */
  onRequest?: () => void;
}

/** A started CertificateManager for `ns/sa` whose first certificate has arrived. */
export async function workloadCertificates(ca: CertificateAuthority, namespace: string, serviceAccount: string, o: WorkloadOptions = {}): Promise<CertificateManager> {
  const identity = parseSpiffeId(spiffeId(namespace, serviceAccount));
  const manager = new CertificateManager({
    requestCertificate: (csrPem) => {
      o.onRequest?.();
      const issued = issueWorkloadCertificate(ca, { csrPem, identity, now: new Date(), ...(o.lifetimeMs ? { lifetimeMs: o.lifetimeMs } : {}) });
      return Promise.resolve({ type: 'certificate', chainPem: issued.chainPem, rootsPem: issued.rootsPem, notAfter: issued.notAfter.toISOString() });
    },
    log: () => undefined,
  });
  await manager.start();
  await manager.ready();
  return manager;
}
