// source_workload / destination_workload from a meshed call between two agents, each its own
// process (telemetry listens on process-wide channels, so two agents in one process would
// mix their metrics): the client sidecar learns the callee's workload from the endpoint's pod
// in its routing table, the server sidecar the caller's from x-meshlet-peer-workload, which it
// believes only over mTLS and never hands to the app (on an opaque TCP hop, from the preamble
// of ALPN meshlet/tcp+workload instead; a WebSocket's from its handshake's header). A plaintext caller's claim is ignored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { WebSocket } from 'ws';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRoot } from '../../controller/identity/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { waitFor } from '../support/wait-for.ts';

const BIN = join(import.meta.dirname, '../../bin/meshlet.js');
const HEADER = 'x-meshlet-peer-workload';
const SERVER_POD = 'reviews-v1-7d9c8b6f4d-x2bqz';
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

/**
 * Service shop/reviews whose one endpoint is the server agent's inbound port, on pod SERVER_POD:
 * port 9080 declared HTTP, port 9091 opaque TCP (the same endpoint).
 */
const clientManifests = (inboundPort: number): string => `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { clusterIP: 10.96.0.40, ports: [{ name: http, port: 9080, targetPort: ${inboundPort}, appProtocol: http }, { name: tcp, port: 9091, targetPort: ${inboundPort}, appProtocol: tcp }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-1, namespace: shop, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true }
    targetRef: { kind: Pod, name: ${SERVER_POD}, namespace: shop }
ports: [{ name: http, port: ${inboundPort}, protocol: TCP, appProtocol: http }, { name: tcp, port: ${inboundPort}, protocol: TCP, appProtocol: tcp }]
---
apiVersion: v1
kind: Pod
metadata: { name: ${SERVER_POD}, namespace: shop, labels: { meshlet.dev/mesh: meshlet } }
spec: { serviceAccountName: reviews, containers: [{ name: app, image: reviews }] }
`;

interface Agent { child: ChildProcess; err: () => string; outbound: number; inbound: number; admin: number }

const children: ChildProcess[] = [];

/** `meshlet agent` as its own process, with the pod env the injector would give it. */
async function agent(args: string[], env: Record<string, string>): Promise<Agent> {
  const child = spawn(process.execPath, [BIN, 'agent', '--host', '127.0.0.1', '--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0', '--drain-seconds', '0', ...args], {
    env: { ...process.env, POD_NAMESPACE: 'shop', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const m = await waitFor('listening line', () => /outbound 127\.0\.0\.1:(\d+), inbound 127\.0\.0\.1:(\d+), admin 127\.0\.0\.1:(\d+)/.exec(err) ?? (child.exitCode !== null ? assert.fail(err) : undefined), { timeoutMs: 30_000, describe: () => err });
  return { child, err: () => err, outbound: Number(m[1]), inbound: Number(m[2]), admin: Number(m[3]) };
}

/** Samples of one metric (meshlet_requests_total unless named), as label sets with their value. */
async function requests(admin: number, name = 'meshlet_requests_total'): Promise<{ labels: Record<string, string>; value: number }[]> {
  const res = await send({ port: admin, path: '/metrics' });
  assert.equal(res.status, 200);
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    if (m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

const pick = (l: Record<string, string>): Record<string, string | undefined> => ({
  reporter: l.reporter, source_workload: l.source_workload, source_namespace: l.source_namespace,
  destination_workload: l.destination_workload, destination_namespace: l.destination_namespace, connection_security_policy: l.connection_security_policy,
});

const PRINCIPALS = { productpage: 'spiffe://cluster.local/ns/shop/sa/productpage', reviews: 'spiffe://cluster.local/ns/shop/sa/reviews' };
const tunnelLabels = (s: { labels: Record<string, string> }): Record<string, string | undefined> => ({
  reporter: s.labels.reporter, source_workload: s.labels.source_workload, destination_workload: s.labels.destination_workload, source_namespace: s.labels.source_namespace, source_principal: s.labels.source_principal,
  destination_namespace: s.labels.destination_namespace, destination_principal: s.labels.destination_principal,
  connection_security_policy: s.labels.connection_security_policy,
});

describe('workload labels across a meshed hop (two agent processes)', () => {
  let app: EchoServer;
  let server: Agent;
  let client: Agent;
  const dirs: string[] = [];

  before(async () => {
    app = await startEchoServer({ pod: SERVER_POD, namespace: 'shop' });
    const secret = caSecret();
    const serverDir = await mkdtemp(join(tmpdir(), 't11-workloads-server-'));
    const clientDir = await mkdtemp(join(tmpdir(), 't11-workloads-client-'));
    dirs.push(serverDir, clientDir);
    await writeFile(join(serverDir, 'mesh.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\n${secret}`);
    // PERMISSIVE: plaintext callers reach the app too, so the spoofing test has something to spoof.
    server = await agent(['--config', serverDir, '--namespace', 'shop', '--service-account', 'reviews', '--app-port', String(app.port)],
      { POD_NAME: SERVER_POD, MESHLET_WORKLOAD_NAME: 'reviews-v1' });
    await writeFile(join(clientDir, 'mesh.yaml'), `${clientManifests(server.inbound)}---\n${secret}`);
    client = await agent(['--config', clientDir, '--namespace', 'shop', '--service-account', 'productpage'],
      { POD_NAME: 'productpage-v1-5f6d7c8b9d-k8w4z', MESHLET_WORKLOAD_NAME: 'productpage-v1' });
  });
  after(async () => {
    for (const c of children) {
      if (c.exitCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
    await app.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /**
   * Both sidecars have closed `n` tunnels, all labelled with both principals over mTLS and both
   * workloads: the client's from the mTLS hop's preamble (opaque TCP) or its workload header
   * (WebSocket handshake), the server's from the endpoint's pod.
   */
  async function expectMeshTunnels(n: number): Promise<void> {
    const want = {
      source_namespace: 'shop', source_principal: PRINCIPALS.productpage,
      destination_namespace: 'shop', destination_principal: PRINCIPALS.reviews, connection_security_policy: 'mutual_tls',
    };
    const total = (xs: { value: number }[]): number => xs.reduce((a, x) => a + x.value, 0);
    // Closed is recorded when each sidecar sees its side close: bounded poll.
    let src: { labels: Record<string, string>; value: number }[] = [];
    let dst: { labels: Record<string, string>; value: number }[] = [];
    for (let i = 0; i < 50 && (total(src) < n || total(dst) < n); i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, 20));
      src = await requests(client.admin, 'meshlet_tcp_connections_closed_total');
      dst = await requests(server.admin, 'meshlet_tcp_connections_closed_total');
    }
    const both = { source_workload: 'productpage-v1', destination_workload: 'reviews-v1' };
    assert.deepEqual(src.map((x) => [tunnelLabels(x), x.value]), [[{ reporter: 'source', ...both, ...want }, n]]);
    assert.deepEqual(dst.map((x) => [tunnelLabels(x), x.value]), [[{ reporter: 'destination', ...both, ...want }, n]]);
  }

  test('both reporters name both workloads; the app never sees the workload header', async () => {
    // The app claims to be someone else: the client sidecar replaces the claim with its own workload.
    const r = await send({ port: client.outbound, path: '/who', authority: 'reviews.shop:9080', headers: { [HEADER]: 'admin-console' } });
    assert.equal(r.status, 200, `${r.text}\n${server.err()}\n${client.err()}`);
    assert.ok(r.echo?.headers['X-Forwarded-Client-Cert'], 'the hop was mTLS');
    assert.equal(r.echo?.headers['X-Meshlet-Peer-Workload'], undefined, 'stripped before the app');
    const want = {
      source_workload: 'productpage-v1', source_namespace: 'shop',
      destination_workload: 'reviews-v1', destination_namespace: 'shop', connection_security_policy: 'mutual_tls',
    };
    // Recorded when the client's response closes, which may follow the reply by a moment: bounded poll.
    let src: { labels: Record<string, string> } | undefined;
    for (let i = 0; i < 50 && !src; i++) {
      src = (await requests(client.admin)).find((s) => s.labels.reporter === 'source');
      if (!src) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(src, 'the client recorded the request');
    assert.deepEqual(pick(src.labels), { reporter: 'source', ...want });
    const dst = (await requests(server.admin)).filter((s) => s.labels.reporter === 'destination' && s.labels.connection_security_policy === 'mutual_tls');
    assert.deepEqual(dst.map((s) => pick(s.labels)), [{ reporter: 'destination', ...want }]);
    assert.equal(dst[0]!.value, 1);
  });

  test('an opaque TCP tunnel over the mesh hop carries both workloads, both principals and mutual_tls', async () => {
    // CONNECT (explicit mode) to the Service's TCP port: the client sidecar tunnels what follows
    // over mTLS (ALPN meshlet/tcp), the server sidecar splices it to the app (HTTP, which
    // answers the bytes it cannot parse with a 400 and closes).
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(client.outbound, '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`tunnel still open after 5 s: ${JSON.stringify(text)}`)); }, 5_000);
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => {
        const established = !text.includes('\r\n\r\n');
        text += d;
        if (established && text.includes('\r\n\r\n')) socket.write(Buffer.from([0, 1, 2, 0x6d, 0x73, 0x68, 10]));
      });
      socket.on('error', reject);
      socket.on('close', () => { clearTimeout(timer); resolve(text); });
      socket.write('CONNECT reviews.shop:9091 HTTP/1.1\r\nhost: reviews.shop:9091\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200 /, reply);
    assert.match(reply, /HTTP\/1\.1 400 /, `the app answered the bytes it got: ${reply}`);
    await expectMeshTunnels(1);
  });

  test('a WebSocket over the mesh hop is a tunnel with the same labels', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${client.outbound}/chat`, { headers: { host: 'reviews.shop:9080' } });
    const echoed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('no echo within 5 s')); }, 5_000);
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (m: Buffer) => { clearTimeout(timer); resolve(m.toString()); });
      ws.once('error', reject);
    });
    assert.match(echoed, /hi/);
    await new Promise<void>((resolve) => { ws.once('close', () => resolve()); ws.close(); });
    await expectMeshTunnels(2); // the opaque TCP test's tunnel and this one
  });

  test('a plaintext caller claiming a workload is recorded as unknown, and its claim does not reach the app', async () => {
    const r = await send({ port: server.inbound, path: '/', authority: 'reviews.shop:9080', headers: { [HEADER]: 'productpage-v1' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.echo?.headers['X-Meshlet-Peer-Workload'], undefined);
    const plain = (await requests(server.admin)).filter((s) => s.labels.reporter === 'destination' && s.labels.connection_security_policy === 'none');
    assert.deepEqual(plain.map((s) => [s.labels.source_workload, s.labels.destination_workload, s.value]), [['unknown', 'reviews-v1', 1]]);
  });
});
