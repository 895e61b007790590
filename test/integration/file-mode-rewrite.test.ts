// A manifest rewritten in place while a file-mode agent serves traffic (issue 16 item 3): the
// writer truncates the file and writes it in two parts with a pause between them, and the first
// part alone is a valid manifest that lacks Service cart. The agent must not apply that half: a
// probe of cart.shop through it sees no failed request while the file is rewritten, and the
// rewrite (the route now sends cart to cart-v2) is applied once the file is whole. Before the
// fix the half was read 25 ms after the first write, and cart answered 404 until the next read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { fileAgentReady, probe, spawnFileAgent, stopFileAgent, until, type FileAgent } from './reload-probe.ts';

function service(name: string, ip: string, echo: EchoServer): string[] {
  return [
    JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: echo.port, protocol: 'TCP' }] } }),
    JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${name}-x`, namespace: 'shop', labels: { 'kubernetes.io/service-name': name } }, addressType: 'IPv4', ports: [{ name: 'http', port: echo.port, protocol: 'TCP' }], endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }] }),
  ];
}

/** The route, then cart-v2, then cart itself last: a file cut before cart's documents lacks the Service. */
function manifest(backend: string, v1: EchoServer, v2: EchoServer): { whole: string; cut: number } {
  const route = JSON.stringify({
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'cart', namespace: 'shop' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }], rules: [{ backendRefs: [{ name: backend, port: 80 }] }] },
  });
  const head = [route, ...service('cart-v2', '10.96.0.12', v2)].join('\n---\n');
  const whole = [head, ...service('cart', '10.96.0.10', v1)].join('\n---\n');
  return { whole, cut: head.length };
}

test('a manifest written in place in two parts is applied whole: no failed request while it is rewritten', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-rewrite-'));
  const v1 = await startEchoServer({ pod: 'cart-v1-pod', namespace: 'shop' });
  const v2 = await startEchoServer({ pod: 'cart-v2-pod', namespace: 'shop' });
  const file = join(dir, 'shop.yaml');
  let agent: FileAgent | null = null;
  let p: ReturnType<typeof probe> | null = null;
  try {
    await writeFile(file, manifest('cart', v1, v2).whole);
    agent = spawnFileAgent(dir);
    const { port } = await fileAgentReady(agent);
    const pod = async (): Promise<string | undefined> => (await send({ port, authority: 'cart.shop', timeoutMs: 10_000 })).echo?.pod;
    assert.equal(await pod(), 'cart-v1-pod', agent.log());

    p = probe(port, 50);
    await new Promise((r) => setTimeout(r, 300));
    const next = manifest('cart-v2', v1, v2);
    const h = await open(file, 'w');
    await h.write(next.whole.slice(0, next.cut));
    // Long enough for the 25 ms debounce to fire on the first part alone.
    await new Promise((r) => setTimeout(r, 100));
    await h.write(next.whole.slice(next.cut));
    await h.close();
    await until('the rewrite applied', async () => (await pod()) === 'cart-v2-pod', 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const seen = await p.stop();
    p = null;
    assert.ok(seen.latencies.length > 10, `the probe ran (${seen.latencies.length} requests)`);
    assert.deepEqual(seen.failures, [], agent.log());
  } finally {
    await p?.stop();
    await stopFileAgent(agent);
    await v1.close();
    await v2.close();
    await rm(dir, { recursive: true, force: true });
  }
});
