// Workload certificates without a controller: file mode (`meshlet agent --config DIR`) and
// `meshlet dev` issue them in process, straight from the mesh CA the manifests carry in Secret
// meshlet-system/meshlet-ca (the cert-manager layout). In a cluster the agent asks the
// controller over the config channel instead; here the directory stands in for it.
import type { CertificateManager } from '../agent/identity/index.ts';
import { CA_SECRET, parseSpiffeId } from '../api/identity.ts';
import { spiffeId } from '../api/names.ts';
import { readFile } from 'node:fs/promises';
import { listManifestFiles, readManifests } from '../controller/provider/file/index.ts';
import type { CaMaterial, CertificateAuthority } from '../controller/identity/index.ts';
import type { KubeObject } from '../controller/translate/snapshot.ts';

/** The CA material of Secret meshlet-system/meshlet-ca among `objects`, or null when it is absent. */
export function secretCa(objects: readonly KubeObject[]): CaMaterial | null {
  const s = objects.find((o) => o.kind === 'Secret' && o.metadata.namespace === CA_SECRET.namespace && o.metadata.name === CA_SECRET.name);
  const data = (s as { data?: Record<string, string> } | undefined)?.data;
  if (!data) return null;
  const get = (k: string): string => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
  return { caPem: get(CA_SECRET.caKey), certPem: get(CA_SECRET.certKey), keyPem: get(CA_SECRET.keyKey) };
}

/**
 * A started CertificateManager for ns/sa whose requests the CA answers directly. It renews at
 * half life like any other (the CA stays in memory for the process's lifetime).
 */
export async function issuedCertificates(ca: CertificateAuthority, namespace: string, serviceAccount: string, log: (line: string) => void = () => undefined): Promise<CertificateManager> {
  // The CA and CSR code (node-forge) is loaded only when a certificate is issued (ADR 0012).
  const [{ CertificateManager }, { issueWorkloadCertificate }] = await Promise.all([import('../agent/identity/index.ts'), import('../controller/identity/index.ts')]);
  const identity = parseSpiffeId(spiffeId(namespace, serviceAccount));
  const manager = new CertificateManager({
    requestCertificate: (csrPem) => {
      const issued = issueWorkloadCertificate(ca, { csrPem, identity, now: new Date() });
      return Promise.resolve({ type: 'certificate', chainPem: issued.chainPem, rootsPem: issued.rootsPem, notAfter: issued.notAfter.toISOString() });
    },
    log,
  });
  // The manager's timers do not hold the process open (a sidecar's listeners do); nothing is
  // listening yet here, so hold it open until the first certificate is in.
  const hold = setInterval(() => undefined, 1_000);
  try {
    await manager.start();
    await manager.ready();
  } finally {
    clearInterval(hold);
  }
  return manager;
}

/**
 * Whether any manifest under `path` may hold Secret meshlet-system/meshlet-ca, read as text, so
 * that a directory without it is answered without the YAML parser (~70 modules, ~12 MB that
 * file mode's serving thread otherwise never loads: ADR 0012). Sound, not a guess: YAML and JSON
 * can spell a name other than literally only through escapes in double-quoted strings, which
 * take a backslash; plain, single-quoted and block scalars, anchors and folded lines keep
 * `meshlet-ca` as written. So a file with neither the name nor a backslash cannot name the
 * Secret; any other file, or one that cannot be read here, leaves the answer to the parser.
 */
export async function mayHoldCaSecret(path: string): Promise<boolean> {
  for (const file of await listManifestFiles(path)) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null || text.includes(CA_SECRET.name) || text.includes('\\')) return true;
  }
  return false;
}

/**
 * File mode: the workload certificate for ns/sa from the directory's CA Secret, or null (the
 * agent stays plaintext) when the directory has none.
 */
export async function fileModeCertificates(dir: string, namespace: string, serviceAccount: string, log: (line: string) => void): Promise<CertificateManager | null> {
  if (!(await mayHoldCaSecret(dir))) return null;
  const { objects } = await readManifests(dir);
  const material = secretCa(objects.map((o) => o.object));
  if (!material) return null;
  const { loadCa } = await import('../controller/identity/index.ts');
  return issuedCertificates(loadCa(material, new Date()), namespace, serviceAccount, log);
}
