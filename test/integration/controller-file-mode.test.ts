// `meshlet controller --config DIR`: no cluster, the manifests are translated and served to
// agents, and an edit to a manifest reaches a connected agent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControllerClient } from '../../agent/controller-client/index.ts';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/test-io.ts';
import { waitFor } from '../support/wait-for.ts';

const manifests = (backend: string): string => `
apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop }
spec: { clusterIP: 10.96.0.30, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: ${backend}, namespace: shop }
spec: { clusterIP: 10.96.0.31, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: cart, namespace: shop }
spec:
  parentRefs: [{ group: "", kind: Service, name: cart, port: 80 }]
  rules: [{ backendRefs: [{ name: ${backend}, port: 80 }] }]
`;

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

test('controller --config DIR serves the translated manifests to agents and follows edits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-controller-files-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'mesh.yaml'), manifests('cart-v1'));
  const io = captureIo();
  let code: number | undefined;
  void main(['controller', '--config', dir, '--listen-host', '127.0.0.1', '--listen-port', '0', '--admin-port', '0'], io).then((c) => { code = c; });
  cleanup.push(async () => {
    io.stop('SIGTERM');
    await waitFor('controller exit', () => code !== undefined, { timeoutMs: 5000 });
  });
  const port = await waitFor('serving line', () => /serving agents on ws:\/\/127\.0\.0\.1:(\d+)/.exec(io.err())?.[1], { describe: () => io.err() });
  const client = new ControllerClient({
    url: `ws://127.0.0.1:${port}`, agent: { pod: 'client-0', namespace: 'shop', serviceAccount: 'default', mode: 'sidecar' },
    targets: [{ kind: 'destination', address: '10.96.0.30', port: 80 }], backoff: { initialMs: 50, maxMs: 200 }, log: () => {},
  }).start();
  cleanup.push(() => client.close());
  const backends = (): string[] => (client.current?.backends ?? []).map((b) => b.name);
  await waitFor('first slice with cart-v1', () => backends().includes('service/shop/cart-v1/80'), { describe: () => `${JSON.stringify(backends())}\n${io.err()}` });
  await writeFile(join(dir, 'mesh.yaml'), manifests('cart-v2'));
  await waitFor('edited slice with cart-v2', () => backends().includes('service/shop/cart-v2/80'), { timeoutMs: 8000, describe: () => `${JSON.stringify(backends())}\n${io.err()}` });
  assert.ok(!backends().includes('service/shop/cart-v1/80'));
  io.stop('SIGTERM');
  await waitFor('controller exit', () => code !== undefined, { timeoutMs: 5000 });
  assert.equal(code, 0);
});

test('controller --config and --kubeconfig together is a usage error', async () => {
  const io = captureIo();
  assert.equal(await main(['controller', '--config', '/tmp', '--kubeconfig', '/tmp/x'], io), 1);
  assert.match(io.err(), /not both/);
});
