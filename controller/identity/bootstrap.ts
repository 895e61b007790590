// Loading the CA at controller start, the same on every replica: read Secret
// meshlet-system/meshlet-ca; if it is absent, generate a root and create the Secret. Creation is
// create-if-absent (POST, never PUT), so when replicas race exactly one write wins and the losers
// get 409, re-read and adopt the winner's root: a mesh never has two roots. An existing Secret is
// never overwritten, even when invalid: it may be the user's plug-in CA, and they must fix it.
import { CA_SECRET } from '../../api/identity.ts';
import { loadCa, type CaMaterial, type CertificateAuthority } from './ca.ts';
import { CaBootstrapError } from './errors.ts';
import { MANAGED_BY, paths, statusOf, type IdentityKubeClient, type SecretObject } from './kube.ts';
import { generateRoot } from './root.ts';

export interface BootstrapOptions {
  client: IdentityKubeClient;
  trustDomain: string;
  namespace?: string;
  name?: string;
  now?: () => Date;
  /** Makes the root when the Secret is absent (tests pass a slower or fixed one). */
  generate?: (now: Date) => CaMaterial;
  log?: (line: string) => void;
}

export interface Bootstrapped {
  ca: CertificateAuthority;
  material: CaMaterial;
  /** This call created the Secret (it generated the root that won). */
  created: boolean;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

export function materialOf(secret: SecretObject): CaMaterial {
  const d = secret.data ?? {};
  return { caPem: unb64(d[CA_SECRET.caKey]), certPem: unb64(d[CA_SECRET.certKey]), keyPem: unb64(d[CA_SECRET.keyKey]) };
}

async function read(o: BootstrapOptions, ns: string, name: string): Promise<SecretObject | null> {
  try {
    return await o.client.request<SecretObject>('GET', paths.secret(ns, name));
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw new CaBootstrapError(`reading Secret ${ns}/${name}: ${(err as Error).message}`, { cause: err });
  }
}

export async function bootstrapCa(o: BootstrapOptions): Promise<Bootstrapped> {
  const ns = o.namespace ?? CA_SECRET.namespace;
  const name = o.name ?? CA_SECRET.name;
  const now = o.now ?? (() => new Date());
  const log = o.log ?? (() => undefined);
  const existing = await read(o, ns, name);
  if (existing) {
    const material = materialOf(existing);
    const ca = loadCa(material, now());
    log(`identity: using the CA in Secret ${ns}/${name} (${ca.selfSigned ? 'meshlet-generated root' : 'plug-in intermediate'}, issuing until ${ca.notAfter.toISOString()})`);
    return { ca, material, created: false };
  }
  const material = (o.generate ?? ((at) => generateRoot({ now: at, trustDomain: o.trustDomain })))(now());
  const body: SecretObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns, labels: { ...MANAGED_BY } },
    type: 'kubernetes.io/tls',
    data: { [CA_SECRET.caKey]: b64(material.caPem), [CA_SECRET.certKey]: b64(material.certPem), [CA_SECRET.keyKey]: b64(material.keyPem) },
  };
  try {
    await o.client.request('POST', paths.secret(ns), { body });
  } catch (err) {
    if (statusOf(err) !== 409) throw new CaBootstrapError(`creating Secret ${ns}/${name}: ${(err as Error).message}`, { cause: err });
    // Another replica created it between our read and our write: theirs is the mesh's root.
    const winner = await read(o, ns, name);
    if (!winner) throw new CaBootstrapError(`Secret ${ns}/${name} was created by someone else and then disappeared`);
    const won = materialOf(winner);
    log(`identity: another replica created Secret ${ns}/${name} first; using its root`);
    return { ca: loadCa(won, now()), material: won, created: false };
  }
  log(`identity: generated a root CA and stored it in Secret ${ns}/${name}`);
  return { ca: loadCa(material, now()), material, created: true };
}
