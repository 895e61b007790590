// kube-controller-manager for the box, limited to the controllers a mesh's user journey touches:
// ServiceAccounts and their root CA ConfigMap, Deployments/ReplicaSets/Jobs, EndpointSlices,
// namespace deletion and garbage collection. Each controller runs under its own ServiceAccount
// (--use-service-account-credentials), as kubeadm configures it, so RBAC is exercised for real.
import { ComponentProcess } from './component-process.ts';

export const boxControllers = [
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'deployment-controller',
  'replicaset-controller',
  'job-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'clusterrole-aggregation-controller',
];

export interface ControllerManagerOptions {
  bin: string;
  logsDir: string;
  kubeconfig: string;
  ca: string;
  serviceAccountPrivateKey: string;
  port: number;
  extraArgs: string[];
}

export function startControllerManager(opts: ControllerManagerOptions): ComponentProcess {
  return new ComponentProcess({
    name: 'kube-controller-manager',
    bin: opts.bin,
    args: [
      `--kubeconfig=${opts.kubeconfig}`,
      `--authentication-kubeconfig=${opts.kubeconfig}`,
      `--authorization-kubeconfig=${opts.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${opts.port}`,
      `--controllers=${boxControllers.join(',')}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${opts.serviceAccountPrivateKey}`,
      `--root-ca-file=${opts.ca}`,
      '--leader-elect=false',
      '--profiling=false',
      ...opts.extraArgs,
    ],
  }, opts.logsDir);
}
