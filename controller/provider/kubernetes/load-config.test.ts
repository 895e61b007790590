import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeConfig } from './load-config.ts';
import { KubeConfigError } from './errors.ts';

function kubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server } }], users: [{ name: 'u', user: { token: 't' } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  });
}

test('--kubeconfig, then $KUBECONFIG, then ~/.kube/config; nothing at all is a KubeConfigError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'load-config-'));
  try {
    await writeFile(join(dir, 'flag'), kubeconfig('https://flag.example:6443'));
    await writeFile(join(dir, 'env'), kubeconfig('https://env.example:6443'));
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await writeFile(join(dir, 'home', '.kube', 'config'), kubeconfig('https://home.example:6443'));
    const server = (o: Parameters<typeof loadKubeConfig>[0]): string | undefined => loadKubeConfig(o).config.getCurrentCluster()?.server;
    const env = { KUBECONFIG: `${join(dir, 'env')}:${join(dir, 'flag')}` };
    assert.equal(server({ kubeconfig: join(dir, 'flag'), env, home: join(dir, 'home') }), 'https://flag.example:6443');
    assert.equal(server({ env, home: join(dir, 'home') }), 'https://env.example:6443');
    assert.equal(server({ env: {}, home: join(dir, 'home') }), 'https://home.example:6443');
    assert.throws(() => loadKubeConfig({ env: {}, home: join(dir, 'nowhere') }), KubeConfigError);
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing'), env: {} }), /cannot load the Kubernetes configuration/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
