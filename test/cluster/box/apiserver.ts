// kube-apiserver for the box, configured like a small production control plane rather than a
// test fixture: TLS with a client CA, ServiceAccount tokens signed by a real key pair (so
// projected tokens, TokenRequest and TokenReview behave as in a cluster), Node+RBAC authorization
// and the admission chain meshlet lives in (mutating/validating webhooks, ValidatingAdmissionPolicy).
import type { BoxApi } from './api-client.ts';
import { ComponentProcess, type Readiness } from './component-process.ts';

export interface ApiServerFiles {
  ca: string;
  servingCert: string;
  servingKey: string;
  serviceAccountPublicKey: string;
  serviceAccountPrivateKey: string;
}

export interface ApiServerOptions {
  bin: string;
  logsDir: string;
  certDir: string;
  files: ApiServerFiles;
  etcdUrl: string;
  bindAddress: string;
  advertiseAddress: string;
  port: number;
  serviceClusterIpRange: string;
  serviceAccountIssuer: string;
  /** Extra flags, appended last so they override (e.g. --feature-gates, --endpoint-reconciler-type). */
  extraArgs: string[];
  timeoutMs: number;
  /** Called with the process as soon as it is spawned, so a failed start can still be stopped. */
  register: (p: ComponentProcess, ready: Readiness) => void;
}

export const admissionPlugins = [
  'NamespaceLifecycle',
  'ServiceAccount',
  'NodeRestriction',
  'MutatingAdmissionWebhook',
  'ValidatingAdmissionWebhook',
  'ValidatingAdmissionPolicy',
  'ResourceQuota',
];

export function apiServerArgs(opts: ApiServerOptions): string[] {
  return [
    `--etcd-servers=${opts.etcdUrl}`,
    `--bind-address=${opts.bindAddress}`,
    `--advertise-address=${opts.advertiseAddress}`,
    `--secure-port=${opts.port}`,
    `--cert-dir=${opts.certDir}`,
    `--tls-cert-file=${opts.files.servingCert}`,
    `--tls-private-key-file=${opts.files.servingKey}`,
    `--client-ca-file=${opts.files.ca}`,
    `--service-account-key-file=${opts.files.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${opts.files.serviceAccountPrivateKey}`,
    `--service-account-issuer=${opts.serviceAccountIssuer}`,
    '--authorization-mode=Node,RBAC',
    `--enable-admission-plugins=${admissionPlugins.join(',')}`,
    `--service-cluster-ip-range=${opts.serviceClusterIpRange}`,
    '--allow-privileged=true',
    '--profiling=false',
    // The endpoints of the `kubernetes` Service may not be loopback (validation refuses 127/8 and
    // would log an error every 10 s); a box bound to a bridge address gets the usual lease reconciler.
    ...(opts.advertiseAddress.startsWith('127.') ? ['--endpoint-reconciler-type=none'] : []),
    ...opts.extraArgs,
  ];
}

export async function startApiServer(opts: ApiServerOptions, admin: BoxApi): Promise<ComponentProcess> {
  const process = new ComponentProcess({ name: 'kube-apiserver', bin: opts.bin, args: apiServerArgs(opts) }, opts.logsDir);
  // /readyz covers etcd and every post-start hook (RBAC bootstrap roles, priority levels, CRD
  // informers), so a 200 means the API is usable, not merely listening.
  const ready: Readiness = (p) => p.waitReady('ready (/readyz)', async () => {
    const res = await admin.request('GET', '/readyz', undefined, { timeoutMs: 3000 });
    return res.status === 200;
  }, opts.timeoutMs, 300);
  opts.register(process, ready);
  await ready(process);
  return process;
}
