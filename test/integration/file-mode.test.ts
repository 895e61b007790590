// `meshlet agent --config DIR` as a user runs it: explicit outbound requests routed by the
// manifests in DIR, a route change applied within a second without a restart, a broken edit
// that leaves the last good routing in force, and a clean exit on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/test-io.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';

function manifests(backend: string, v1: EchoServer, v2: EchoServer): string {
  const svc = (name: string, ip: string, port: number) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: shop}
spec:
  clusterIP: ${ip}
  ports: [{name: http, port: 80, targetPort: ${port}, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-x, namespace: shop, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${port}, protocol: TCP}]
endpoints: [{addresses: ['127.0.0.1'], conditions: {ready: true}, targetRef: {kind: Pod, name: ${name}-pod, namespace: shop}}]
`;
  return `${svc('cart', '10.96.0.10', v1.port)}---
${svc('cart-v1', '10.96.0.11', v1.port)}---
${svc('cart-v2', '10.96.0.12', v2.port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cart, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: cart, port: 80}]
  rules: [{backendRefs: [{name: ${backend}, port: 80}]}]
`;
}

let debugLog = (): string => '';
async function podOf(port: number, host: string): Promise<string> {
  // fetch() cannot set Host; explicit mode routes on it.
  const res = await send({ port, authority: host, timeoutMs: 3000 });
  assert.equal(res.status, 200, `${res.text}\n${debugLog()}`);
  return res.echo!.pod;
}

async function eventually(fn: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  for (let i = 0; i < 200 && Date.now() - start < ms; i++) {
    if (await fn()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

test('meshlet agent --config follows edits to the directory and drains on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-filemode-'));
  const v1 = await startEchoServer({ pod: 'cart-v1-pod', namespace: 'shop' });
  const v2 = await startEchoServer({ pod: 'cart-v2-pod', namespace: 'shop' });
  const io = captureIo();
  debugLog = () => io.err();
  let exit: Promise<number> | undefined;
  try {
    await writeFile(join(dir, 'shop.yaml'), manifests('cart-v1', v1, v2));
    exit = main(['agent', '--config', dir, '--namespace', 'shop', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0'], io);
    await eventually(() => /listening on/.test(io.err()), 5000);
    const port = Number(/outbound 127\.0\.0\.1:(\d+)/.exec(io.err())![1]);

    assert.equal(await podOf(port, 'cart'), 'cart-v1-pod');
    assert.equal(await podOf(port, 'cart.shop.svc.cluster.local:80'), 'cart-v1-pod');

    await writeFile(join(dir, 'shop.yaml'), manifests('cart-v2', v1, v2));
    const took = await eventually(async () => (await podOf(port, 'cart')) === 'cart-v2-pod', 2000);
    assert.ok(took < 1500, `route change took ${took} ms`);

    // A half-saved, broken edit is reported and the file's last good version stays in force.
    await writeFile(join(dir, 'shop.yaml'), 'apiVersion: v1\nkind: [broken\n');
    await eventually(() => /shop\.yaml: keeping its last good version/.test(io.err()), 2000);
    assert.match(io.err(), /shop\.yaml: document 1: /);
    assert.equal(await podOf(port, 'cart'), 'cart-v2-pod');

    // Removing the file does withdraw its objects.
    await rm(join(dir, 'shop.yaml'));
    await eventually(async () => (await send({ port, authority: 'cart', timeoutMs: 3000 })).status === 404, 2000);

    io.stop('SIGTERM');
    assert.equal(await exit, 0);
    assert.match(io.err(), /drained/);
  } finally {
    io.stop('SIGTERM');
    await exit?.catch(() => 0);
    await v1.close();
    await v2.close();
    await rm(dir, { recursive: true, force: true });
  }
});
