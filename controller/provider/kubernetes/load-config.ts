// Where the controller finds its cluster: --kubeconfig FILE, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token and CA).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './errors.ts';

export interface LoadConfigOptions {
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadKubeConfig(opts: LoadConfigOptions = {}): { config: KubeConfig; source: string } {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
      return { config: kc, source: opts.kubeconfig };
    }
    if (env.KUBECONFIG) {
      kc.loadFromDefault();
      return { config: kc, source: `$KUBECONFIG (${env.KUBECONFIG})` };
    }
    if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      return { config: kc, source: 'in-cluster service account' };
    }
    const home = join(homedir(), '.kube', 'config');
    if (existsSync(home)) {
      kc.loadFromFile(home);
      return { config: kc, source: home };
    }
  } catch (err) {
    throw new KubeConfigError(`cannot load the Kubernetes configuration: ${(err as Error).message}`, { cause: err });
  }
  throw new KubeConfigError('no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account');
}
