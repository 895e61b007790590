// kubeconfig files for the box: what kubectl, helm, @kubernetes/client-node and the
// controller-manager read. Credentials are embedded so a file is self-contained and can be
// copied out of the box's temp dir while debugging.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

export interface KubeconfigSpec {
  server: string;
  ca: string;
  user: string;
  cert: string;
  key: string;
}

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'meshlet-box', cluster: { server: spec.server, 'certificate-authority-data': b64(spec.ca) } }],
    users: [{ name: spec.user, user: { 'client-certificate-data': b64(spec.cert), 'client-key-data': b64(spec.key) } }],
    contexts: [{ name: 'meshlet-box', context: { cluster: 'meshlet-box', user: spec.user, namespace: 'default' } }],
    'current-context': 'meshlet-box',
    preferences: {},
  });
}

export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}
