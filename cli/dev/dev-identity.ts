// Identities for `meshlet dev`: one mesh CA for the run (the directory's meshlet-system/meshlet-ca
// Secret when it has one, else generated), each dev pod described as a meshed Pod with a service
// account, and every proxy given a workload certificate issued straight from that CA (in a
// cluster the agent asks the controller over the config channel; here everything is one process).
import type { CertificateManager } from '../../agent/identity/index.ts';
import { CA_SECRET } from '../../api/identity.ts';
import { DEFAULT_TRUST_DOMAIN } from '../../api/names.ts';
import { MESHED_POD_LABEL } from '../../api/pod-annotations.ts';
import { generateRoot, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { issuedCertificates, secretCa } from '../file-identity.ts';
import type { PodPlan } from './plan.ts';

/** The client sidecars' service account: a caller with a name of its own in XFCC. */
export const DEV_CLIENT_SERVICE_ACCOUNT = 'dev-client';
export const DEV_INGRESS_IDENTITY = { namespace: 'meshlet-system', serviceAccount: 'meshlet-ingress' } as const;

/** The run's CA and where it came from (for the banner). */
export function devCa(objects: KubeObject[], now = new Date()): { ca: CertificateAuthority; source: string } {
  const supplied = secretCa(objects);
  if (supplied) return { ca: loadCa(supplied, now), source: `Secret ${CA_SECRET.namespace}/${CA_SECRET.name}` };
  return { ca: loadCa(generateRoot({ now, trustDomain: DEFAULT_TRUST_DOMAIN }), now), source: 'generated for this run' };
}

/** `reviews-v1-6f8b9-aaaaa` → `reviews-v1`: a Deployment's pod without its ReplicaSet and pod suffixes. */
export function workloadOf(pod: string): string {
  const m = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(pod);
  return m ? m[1]! : pod;
}

/**
 * The Pods of the dev plan as meshed Pod objects: the directory's own Pod (if it lists one)
 * keeps its serviceAccountName; otherwise the workload's name is its service account.
 */
export function devPods(pods: readonly PodPlan[], objects: KubeObject[]): KubeObject[] {
  return pods.map((p) => {
    const own = objects.find((o) => o.kind === 'Pod' && o.metadata.namespace === p.namespace && o.metadata.name === p.pod);
    const sa = ((own as { spec?: { serviceAccountName?: string } } | undefined)?.spec?.serviceAccountName) ?? workloadOf(p.pod);
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { ...own?.metadata, name: p.pod, namespace: p.namespace, labels: { ...own?.metadata.labels, [MESHED_POD_LABEL]: 'meshlet' } },
      spec: { serviceAccountName: sa },
    };
  });
}

export function serviceAccountOf(pod: KubeObject): string {
  return (pod as { spec?: { serviceAccountName?: string } }).spec?.serviceAccountName ?? 'default';
}

/** A started CertificateManager for ns/sa, issued directly by the run's CA. */
export function devCertificates(ca: CertificateAuthority, namespace: string, serviceAccount: string): Promise<CertificateManager> {
  return issuedCertificates(ca, namespace, serviceAccount);
}
