// The real binary in controller mode: `meshlet agent --controller URL` and `meshlet ingress
// --controller URL` connect to a publisher, identify themselves (pod, namespace, service
// account, mode), become ready once their first table arrived, and the ingress serves the
// Gateway listener the controller sent it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Publisher } from '../../controller/publish/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { backend, backendName, gateway, rule, table } from '../support/routing-tables.ts';
import { eventually, startPublisher } from './distribution-world.ts';
import { freePort } from '../support/free-port.ts';
import { runMeshlet, stopMeshlet, type MeshletProcess } from '../support/meshlet-process.ts';


describe('meshlet agent / ingress --controller', () => {
  let pub: Publisher;
  let echo: EchoServer;
  const procs: MeshletProcess[] = [];
  let gatewayPort = 0;
  before(async () => {
    gatewayPort = await freePort();
    echo = await startEchoServer({ pod: 'web-0', namespace: 'default' });
    pub = await startPublisher();
    pub.setTable(table({
      gateways: [gateway({ name: 'public', port: gatewayPort, listeners: [{ name: 'http', hostname: null, vhosts: [{ hostname: '*', rules: [rule({ route: 'front', backends: [{ backend: backendName('default', 'web', 80) }] })] }] }] })],
      backends: [backend('default', 'web', 80, [{ port: echo.port, podName: 'web-0' }])],
    }));
  });
  after(async () => {
    for (const p of procs) await stopMeshlet(p);
    await pub.close();
    await echo.close();
  });

  test('the agent identifies itself and becomes ready on its first table', async () => {
    const p = runMeshlet(['agent', '--controller', `ws://127.0.0.1:${pub.port}`, '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--namespace', 'shop'],
      { POD_NAME: 'cart-7f9', POD_SERVICE_ACCOUNT: 'cart' });
    procs.push(p);
    await eventually('the agent says hello', () => pub.agents().some((a) => a.pod === 'cart-7f9'), 15_000);
    const me = pub.agents().find((a) => a.pod === 'cart-7f9');
    assert.deepEqual([me?.namespace, me?.serviceAccount, me?.mode], ['shop', 'cart', 'sidecar']);
    await eventually('the agent acks its slice', () => pub.agents().find((a) => a.pod === 'cart-7f9')?.ackedVersion != null, 5_000);
    await eventually('admin port logged', () => /admin 127\.0\.0\.1:\d+/.test(p.output()), 5_000);
    const admin = Number(/admin 127\.0\.0\.1:(\d+)/.exec(p.output())![1]);
    assert.equal((await send({ port: admin, path: '/ready' })).status, 200);
  });

  test('the ingress subscribes to the Gateways and serves their listeners', async () => {
    const p = runMeshlet(['ingress', '--controller', `ws://127.0.0.1:${pub.port}`, '--host', '127.0.0.1', '--admin-port', '0', '--pod', 'ingress-0']);
    procs.push(p);
    await eventually('the ingress says hello', () => pub.agents().some((a) => a.pod === 'ingress-0' && a.mode === 'ingress'), 15_000);
    await eventually('the Gateway listener answers', async () => {
      try {
        return (await send({ port: gatewayPort, path: '/hello', timeoutMs: 1_000 })).echo?.pod === 'web-0';
      } catch {
        return false;
      }
    }, 10_000);
    assert.equal(pub.propagation({ kind: 'HTTPRoute', namespace: 'default', name: 'front' }).total, 1);
  });

  test('--config and --controller together are refused', async () => {
    const p = runMeshlet(['agent', '--controller', 'ws://127.0.0.1:1', '--config', '.']);
    const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(p.output(), /exactly one of --config DIR and --controller URL/);
  });
});
