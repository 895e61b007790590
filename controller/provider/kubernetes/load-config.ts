// Where the controller finds its cluster: --kubeconfig FILE, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token and CA).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './errors.ts';

export interface LoadConfigOptions {
  kubeconfig?: string;
  env?: NodeJS.ProcessEnv;
  /** Where ~/.kube/config is looked for (tests). */
  home?: string;
}

export function loadKubeConfig(opts: LoadConfigOptions = {}): { config: KubeConfig; source: string } {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
      return { config: kc, source: opts.kubeconfig };
    }
    // The first file of a $KUBECONFIG list (kubectl merges them; meshlet needs one cluster).
    const fromEnv = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
    if (fromEnv) {
      kc.loadFromFile(fromEnv);
      return { config: kc, source: `$KUBECONFIG (${fromEnv})` };
    }
    if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      return { config: kc, source: 'in-cluster service account' };
    }
    const home = join(opts.home ?? homedir(), '.kube', 'config');
    if (existsSync(home)) {
      kc.loadFromFile(home);
      return { config: kc, source: home };
    }
  } catch (err) {
    throw new KubeConfigError(`cannot load the Kubernetes configuration: ${(err as Error).message}`, { cause: err });
  }
  throw new KubeConfigError('no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account');
}
