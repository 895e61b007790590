// A pod's volumes, written to a per-pod directory before its containers start: ConfigMaps (the
// kubelet reads them as the node, so the Node authorizer's graph applies), projected
// ServiceAccount tokens obtained through the TokenRequest API bound to the pod (audience and
// expiry as the pod asks), downward API files and emptyDirs. Tokens are not refreshed: a box
// test is far shorter than their lifetime.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BoxApi } from '../box/index.ts';
import { eventually } from '../box/index.ts';
import type { KeyToPath, Pod, VolumeSpec } from './pod-types.ts';

/** The downward API fields the test kubelet serves (env and files alike). */
export function fieldValue(pod: Pod, fieldPath: string, podIp: string, nodeName: string): string {
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace;
    case 'metadata.uid': return pod.metadata.uid;
    case 'status.podIP': return podIp;
    case 'spec.serviceAccountName': return pod.spec.serviceAccountName ?? 'default';
    case 'spec.nodeName': return nodeName;
    default: throw new Error(`the test kubelet does not serve fieldRef ${fieldPath}`);
  }
}

function writeFile(root: string, rel: string, content: string): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  // Readable by any uid: the proxy runs as 1337 and reads its token.
  writeFileSync(path, content, { mode: 0o644 });
}

async function configMapData(api: BoxApi, ns: string, name: string): Promise<Record<string, string>> {
  // The Node authorizer learns of the pod's reference moments after binding, and a ConfigMap may
  // be created after the pod (a real kubelet keeps the pod ContainerCreating until it exists):
  // retry, bounded.
  return eventually(`ConfigMap ${ns}/${name} readable by the node`, async () => {
    const res = await api.get(`/api/v1/namespaces/${ns}/configmaps/${name}`);
    return res.status === 200 ? ((res.body as { data?: Record<string, string> }).data ?? {}) : undefined;
  }, 180_000, 500);
}

function writeConfigMap(dir: string, data: Record<string, string>, items?: KeyToPath[]): void {
  const entries = items ? items.map((i) => [i.path, data[i.key] ?? ''] as const) : Object.entries(data);
  for (const [path, value] of entries) writeFile(dir, path, value);
}

async function requestToken(api: BoxApi, pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
  const sa = pod.spec.serviceAccountName ?? 'default';
  const path = `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`;
  return eventually(`a token for ${pod.metadata.namespace}/${sa}`, async () => {
    const res = await api.post(path, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { ...(audience ? { audiences: [audience] } : {}), expirationSeconds, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid } },
    });
    return res.status === 201 ? (res.body as { status: { token: string } }).status.token : undefined;
  }, 30_000);
}

/** Writes every volume under `root/<volume name>/` and returns name → host directory. */
export async function prepareVolumes(api: BoxApi, pod: Pod, root: string, podIp: string, nodeName: string): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const dir = join(root, v.name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    await fillVolume(api, pod, v, dir, podIp, nodeName);
    dirs.set(v.name, dir);
  }
  return dirs;
}

async function fillVolume(api: BoxApi, pod: Pod, v: VolumeSpec, dir: string, podIp: string, nodeName: string): Promise<void> {
  const ns = pod.metadata.namespace;
  if (v.emptyDir) return;
  if (v.configMap) return writeConfigMap(dir, await configMapData(api, ns, v.configMap.name), v.configMap.items);
  if (!v.projected) throw new Error(`volume ${v.name}: only emptyDir, configMap and projected volumes are supported`);
  for (const s of v.projected.sources) {
    if (s.serviceAccountToken) {
      writeFile(dir, s.serviceAccountToken.path, await requestToken(api, pod, s.serviceAccountToken.audience, s.serviceAccountToken.expirationSeconds ?? 3600));
    } else if (s.configMap) {
      writeConfigMap(dir, await configMapData(api, ns, s.configMap.name), s.configMap.items);
    } else if (s.downwardAPI) {
      for (const item of s.downwardAPI.items) if (item.fieldRef) writeFile(dir, item.path, fieldValue(pod, item.fieldRef.fieldPath, podIp, nodeName));
    }
  }
}
