// Installs the Gateway API release the build pinned (standard or experimental channel) into a
// box, exactly as its manifests are published: the CRDs and the release's own
// ValidatingAdmissionPolicy (safe-upgrades), then waits until every CRD is Established.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { BoxApi } from './api-client.ts';
import { eventually } from './eventually.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion?: string };
}

const collections: Record<string, string> = {
  CustomResourceDefinition: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
};

export function readManifests(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Manifest | null))
    .filter((m): m is Manifest => m !== null && typeof m === 'object' && typeof m.kind === 'string');
}

/** Create, or replace when it exists (like `kubectl apply` for whole objects); throws on refusal. */
export async function applyClusterScoped(api: BoxApi, manifest: Manifest): Promise<void> {
  const collection = collections[manifest.kind];
  if (!collection) throw new Error(`no collection known for kind ${manifest.kind}`);
  const created = await api.post(collection, manifest);
  if (created.status === 201) return;
  if (created.status !== 409) throw new Error(`creating ${manifest.kind} ${manifest.metadata.name}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const path = `${collection}/${manifest.metadata.name}`;
  const current = await api.get(path);
  const resourceVersion = (current.body as Manifest).metadata.resourceVersion;
  const replaced = await api.request('PUT', path, { ...manifest, metadata: { ...manifest.metadata, resourceVersion } });
  if (replaced.status !== 200) throw new Error(`replacing ${manifest.kind} ${manifest.metadata.name}: HTTP ${replaced.status} ${JSON.stringify(replaced.body)}`);
}

interface CrdStatus {
  status?: { conditions?: { type: string; status: string }[] };
}

export async function installGatewayApiCrds(api: BoxApi, crdsDir: string, timeoutMs = 60_000): Promise<string[]> {
  const manifests = readManifests(crdsDir);
  for (const m of manifests) await applyClusterScoped(api, m);
  const crds = manifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata.name);
  for (const name of crds) {
    await eventually(`CRD ${name} Established`, async () => {
      const res = await api.get(`${collections.CustomResourceDefinition}/${name}`);
      const conditions = (res.body as CrdStatus).status?.conditions ?? [];
      return conditions.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, timeoutMs);
  }
  return crds;
}
