// Where the built components live: an explicit directory, $MESHLET_CLUSTER_COMPONENTS (set by
// scripts/test-cluster.sh), or else the build script is run, which reuses its per-machine cache
// and only builds (for many minutes, printing progress) on a machine that has never built.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterComponentsMissingError } from './errors.ts';

export interface ComponentVersions {
  kubernetes: string;
  etcd: string;
  jaeger: string;
  gatewayApi: string;
}

export interface Components {
  dir: string;
  bin: { etcd: string; kubeApiserver: string; kubeControllerManager: string; jaeger: string };
  /** Directories of Gateway API CRD manifests, one per release channel. */
  crds: { standard: string; experimental: string };
  versions: ComponentVersions;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function buildOrReuse(): string {
  const script = join(repoRoot, 'scripts/build-cluster-components.sh');
  try {
    const out = execFileSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 90 * 60_000 });
    const last = out.trim().split('\n').pop();
    if (!last) throw new Error('the build script printed no directory');
    return last;
  } catch (err) {
    throw new ClusterComponentsMissingError(`${script} failed: ${(err as Error).message}`);
  }
}

export function locateComponents(dir?: string): Components {
  const root = dir ?? process.env.MESHLET_CLUSTER_COMPONENTS ?? buildOrReuse();
  const bin = {
    etcd: join(root, 'bin/etcd'),
    kubeApiserver: join(root, 'bin/kube-apiserver'),
    kubeControllerManager: join(root, 'bin/kube-controller-manager'),
    jaeger: join(root, 'bin/jaeger'),
  };
  const crds = { standard: join(root, 'crds/standard'), experimental: join(root, 'crds/experimental') };
  for (const path of [...Object.values(bin), ...Object.values(crds), join(root, 'versions.json')]) {
    if (!existsSync(path)) throw new ClusterComponentsMissingError(`${path} does not exist`);
  }
  const versions = JSON.parse(readFileSync(join(root, 'versions.json'), 'utf8')) as ComponentVersions;
  return { dir: root, bin, crds, versions };
}
