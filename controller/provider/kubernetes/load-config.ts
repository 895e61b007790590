// Where the controller finds its cluster: --kubeconfig FILE, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token and CA).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type * as ClientNode from '@kubernetes/client-node';
import { KubeConfigError } from './errors.ts';
import { inClusterConfig, leanFromFile, type KubeAuth } from './lean-kube-config.ts';

// client-node's KubeConfig, loaded only for a kubeconfig lean-kube-config.ts does not handle: its
// module imports client-node's whole generated API (~30 MB of RSS, ADR 0019).
function clientNodeConfig(): ClientNode.KubeConfig {
  const { KubeConfig } = createRequire(import.meta.url)('@kubernetes/client-node') as typeof ClientNode;
  return new KubeConfig();
}

function fromFile(file: string): KubeAuth {
  const lean = leanFromFile(file);
  if (lean) return lean;
  const kc = clientNodeConfig();
  kc.loadFromFile(file);
  return kc;
}

export interface LoadConfigOptions {
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Where ~/.kube/config is looked for (tests). */
  home?: string;
}

export function loadKubeConfig(opts: LoadConfigOptions = {}): { config: KubeAuth; source: string } {
  const env = opts.env ?? process.env;
  try {
    if (opts.kubeconfig) return { config: fromFile(opts.kubeconfig), source: opts.kubeconfig };
    // The first file of a $KUBECONFIG list (kubectl merges them; meshlet needs one cluster).
    const fromEnv = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
    if (fromEnv) return { config: fromFile(fromEnv), source: `$KUBECONFIG (${fromEnv})` };
    if (env.KUBERNETES_SERVICE_HOST) return { config: inClusterConfig(env), source: 'in-cluster service account' };
    const home = join(opts.home ?? homedir(), '.kube', 'config');
    if (existsSync(home)) return { config: fromFile(home), source: home };
  } catch (err) {
    throw new KubeConfigError(`cannot load the Kubernetes configuration: ${(err as Error).message}`, { cause: err });
  }
  throw new KubeConfigError('no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account');
}
