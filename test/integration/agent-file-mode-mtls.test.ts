// `meshlet agent --config DIR` with the mesh CA in the directory: two agents on loopback, each
// issuing its own workload certificate from Secret meshlet-system/meshlet-ca, the client's
// outbound side dialling the server's inbound side over mTLS, and the server delivering to its
// app through --app-port (no iptables). The app learns its caller from x-forwarded-client-cert.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spiffeId } from '../../api/names.ts';
import { generateRoot } from '../../controller/identity/index.ts';
import { main } from '../../cli/main.ts';
import { captureIo, type CapturedIo } from '../../cli/test-io.ts';
import { startEchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { waitFor } from '../support/wait-for.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function caSecret(): string {
  const ca = generateRoot({ now: new Date(), trustDomain: 'cluster.local' });
  return `apiVersion: v1
kind: Secret
metadata: { name: meshlet-ca, namespace: meshlet-system }
type: kubernetes.io/tls
data: { ca.crt: ${b64(ca.caPem)}, tls.crt: ${b64(ca.certPem)}, tls.key: ${b64(ca.keyPem)} }
`;
}

/** Service shop/reviews whose one endpoint is the server agent's inbound port, on a meshed Pod. */
const clientManifests = (inboundPort: number): string => `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { clusterIP: 10.96.0.40, ports: [{ name: http, port: 9080, targetPort: ${inboundPort}, appProtocol: http }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-1, namespace: shop, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true }
    targetRef: { kind: Pod, name: reviews-0, namespace: shop }
ports: [{ name: http, port: ${inboundPort}, protocol: TCP, appProtocol: http }]
---
apiVersion: v1
kind: Pod
metadata: { name: reviews-0, namespace: shop, labels: { meshlet.dev/mesh: meshlet } }
spec: { serviceAccountName: reviews, containers: [{ name: app, image: reviews }] }
`;

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Runs `meshlet agent` in process; resolves with its ports once it says it is listening. */
async function agent(args: string[]): Promise<{ io: CapturedIo; outbound: number; inbound: number }> {
  const io = captureIo();
  let code: number | undefined;
  void main(['agent', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--drain-seconds', '0', ...args], io).then((c) => { code = c; });
  cleanup.push(async () => {
    io.stop('SIGTERM');
    await waitFor('agent exit', () => code !== undefined, { timeoutMs: 5000 });
  });
  const m = await waitFor('listening line', () => /outbound 127\.0\.0\.1:(\d+), inbound 127\.0\.0\.1:(\d+)/.exec(io.err()) ?? (code !== undefined ? assert.fail(io.err()) : undefined), { timeoutMs: 15_000, describe: () => io.err() });
  return { io, outbound: Number(m[1]), inbound: Number(m[2]) };
}

test('two file-mode agents with the directory\'s CA speak mTLS: the app behind the server sees the client\'s SPIFFE ID', async () => {
  const app = await startEchoServer({ pod: 'reviews-0', namespace: 'shop' });
  cleanup.push(() => app.close());
  const secret = caSecret();
  const serverDir = await mkdtemp(join(tmpdir(), 'meshlet-fm-mtls-server-'));
  const clientDir = await mkdtemp(join(tmpdir(), 'meshlet-fm-mtls-client-'));
  cleanup.push(() => rm(serverDir, { recursive: true, force: true }), () => rm(clientDir, { recursive: true, force: true }));
  await writeFile(join(serverDir, 'mesh.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\n${secret}`);
  const server = await agent(['--config', serverDir, '--namespace', 'shop', '--service-account', 'reviews', '--app-port', String(app.port), '--mtls-mode', 'STRICT']);
  assert.match(server.io.err(), /mTLS: workload certificate for shop\/reviews issued from Secret meshlet-system\/meshlet-ca/);
  await writeFile(join(clientDir, 'mesh.yaml'), `${clientManifests(server.inbound)}---\n${secret}`);
  const client = await agent(['--config', clientDir, '--namespace', 'shop', '--service-account', 'productpage']);

  const r = await send({ port: client.outbound, path: '/who', authority: 'reviews.shop:9080' });
  assert.equal(r.status, 200, `${r.text}\n${server.io.err()}\n${client.io.err()}`);
  // STRICT on the server: a 200 can only have come over mTLS, and XFCC names both ends.
  assert.deepEqual(r.echo?.headers['X-Forwarded-Client-Cert'], [`By=${spiffeId('shop', 'reviews')};URI=${spiffeId('shop', 'productpage')}`]);
});

test('without the CA Secret the agent says it runs plaintext, and --app-port still delivers inbound to the app', async () => {
  const app = await startEchoServer({ pod: 'web-0', namespace: 'shop' });
  cleanup.push(() => app.close());
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-fm-plain-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'mesh.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n');
  const server = await agent(['--config', dir, '--namespace', 'shop', '--app-port', String(app.port)]);
  assert.match(server.io.err(), /plaintext: .* has no Secret meshlet-system\/meshlet-ca/);
  const r = await send({ port: server.inbound, path: '/', authority: 'web:80', headers: { 'x-forwarded-client-cert': 'By=x;URI=forged' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.echo?.headers['X-Forwarded-Client-Cert'], undefined, 'a plaintext caller is named by no one');
});
