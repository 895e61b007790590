// The config channel authenticated by client certificate: a controller with the mesh CA on the
// (fake) API server serves wss:// asking for an optional client certificate; a hello with auth
// `client-certificate` is judged by the verified certificate's SPIFFE ID alone. Raw WebSocket
// clients play the agents so each refusal is seen exactly as an agent would (the error frame).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerSource, workloadCertificates } from '../../cli/controller-source.ts';
import { waitFor } from '../support/wait-for.ts';
import WebSocket from 'ws';
import { WIRE_PATH, WIRE_PROTOCOL, type AgentMode, type SubscriptionTarget } from '../../api/wire.ts';
import { issueWorkloadCertificate, loadCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { makeCsr, makePluginCa, withTokenReviews } from '../../controller/identity/test-support.ts';
import { startControlPlane, type ControlPlane } from '../../controller/runners/index.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver/index.ts';
import { kubeClientFor } from '../support/kube-client-for.ts';

let api: FakeApiServer;
let plane: ControlPlane;
let ca: CertificateAuthority;
const lines: string[] = [];

before(async () => {
  api = await startFakeApiServer({
    gatewayApi: false,
    objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'meshlet.dev/inject': 'enabled' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshlet-system' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop' }, spec: { serviceAccountName: 'web' } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gw-0', namespace: 'meshlet-system' }, spec: { serviceAccountName: 'custom-gw' } },
    ],
  });
  const kube = kubeClientFor(api);
  plane = await startControlPlane({
    log: (l) => void lines.push(l),
    source: { kind: 'cluster', controller: { client: kube, leaderElection: false, debounceMs: 10, defaultMesh: false } },
    publish: { host: '127.0.0.1', port: 0, ingressIdentity: { namespace: 'meshlet-system', serviceAccount: 'meshlet-ingress' } },
    admin: null,
    identity: { client: withTokenReviews(kube, { 'tok-web': { username: 'system:serviceaccount:shop:web', pod: 'web-0' }, 'tok-gw': { username: 'system:serviceaccount:meshlet-system:custom-gw', pod: 'gw-0' } }), trustDomain: 'cluster.local', namespace: 'meshlet-system', extraDnsNames: ['localhost'] },
  });
  const d = api.get('v1', 'Secret', 'meshlet-ca', 'meshlet-system')!.data as Record<string, string>;
  const un = (k: string): string => Buffer.from(d[k]!, 'base64').toString();
  ca = loadCa({ caPem: un('ca.crt'), certPem: un('tls.crt'), keyPem: un('tls.key') }, new Date());
});

after(async () => {
  await plane.stop();
  await api.close();
});

interface Cert { cert: string; key: string }
function certFor(namespace: string, serviceAccount: string, o: { from?: CertificateAuthority; now?: Date; lifetimeMs?: number } = {}): Cert {
  const { csrPem, keyPem } = makeCsr();
  const out = issueWorkloadCertificate(o.from ?? ca, { csrPem, identity: { trustDomain: 'cluster.local', namespace, serviceAccount }, now: o.now ?? new Date(), ...(o.lifetimeMs ? { lifetimeMs: o.lifetimeMs } : {}) });
  return { cert: out.chainPem.join(''), key: keyPem };
}

/** One hello with auth client-certificate; resolves with the first frame's type and text. */
function hello(cert: Cert | null, agent: { namespace: string; serviceAccount: string; mode: AgentMode }, targets: SubscriptionTarget[]): Promise<{ type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://localhost:${plane.publisher!.port}${WIRE_PATH}`, { ca: plane.identity!.rootsPem, ...(cert ?? {}), perMessageDeflate: false });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer in 5 s')); }, 5_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: WIRE_PROTOCOL, agent: { pod: 'p-0', ...agent }, auth: { type: 'client-certificate' }, targets })));
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { type: string; code?: string; message?: string };
      // The welcome and the trust bundle that follows it come to every accepted agent.
      if (msg.type === 'welcome' || msg.type === 'trust-bundle') return;
      clearTimeout(timer);
      ws.close();
      resolve({ type: msg.type, text: msg.type === 'error' ? `${msg.code}: ${msg.message}` : msg.type });
    });
    ws.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

const sidecar = (namespace: string, serviceAccount = 'web') => ({ namespace, serviceAccount, mode: 'sidecar' as const });
const ingress = { namespace: 'meshlet-system', serviceAccount: 'meshlet-ingress', mode: 'ingress' as const };
const dest: SubscriptionTarget[] = [{ kind: 'destination', address: '10.96.0.1', port: 80 }];

test('a sidecar certificate for its own namespace is served that namespace\'s view', async () => {
  const r = await hello(certFor('shop', 'web'), sidecar('shop'), dest);
  assert.equal(r.type, 'update', r.text);
});

test('a sidecar certificate for namespace shop claiming namespace pay is refused, saying why', async () => {
  const r = await hello(certFor('shop', 'web'), sidecar('pay'), dest);
  assert.equal(r.type, 'error');
  assert.match(r.text, /^E_WIRE_AGENT_UNAUTHENTICATED: client certificate refused: the certificate is for namespace shop \(spiffe:\/\/cluster.local\/ns\/shop\/sa\/web\), the hello claims namespace pay$/);
  assert.ok(lines.some((l) => /the hello claims namespace pay/.test(l)), 'the controller logs the refusal');
});

test('the ingress identity\'s certificate gets the Gateways; a sidecar identity claiming to be the ingress is refused', async () => {
  const ok = await hello(certFor('meshlet-system', 'meshlet-ingress'), ingress, [{ kind: 'gateways' }]);
  assert.equal(ok.type, 'update', ok.text);
  const r = await hello(certFor('shop', 'web'), { ...ingress, namespace: 'shop', serviceAccount: 'web' }, [{ kind: 'gateways' }]);
  assert.equal(r.type, 'error');
  assert.match(r.text, /client certificate refused: spiffe:\/\/cluster.local\/ns\/shop\/sa\/web may not be the ingress \(the ingress identity is meshlet-system\/meshlet-ingress\)/);
});

test('a sidecar identity asking for the Gateways (and their TLS Secrets) is refused', async () => {
  const r = await hello(certFor('shop', 'web'), sidecar('shop'), [{ kind: 'gateways' }]);
  assert.equal(r.type, 'error');
  assert.match(r.text, /^E_WIRE_SUBSCRIPTION_FORBIDDEN/);
});

test('an expired, a foreign-CA or a missing client certificate is refused', async () => {
  const expired = await hello(certFor('shop', 'web', { now: new Date(Date.now() - 3 * 3_600_000), lifetimeMs: 3_600_000 }), sidecar('shop'), dest);
  assert.match(expired.text, /^E_WIRE_AGENT_UNAUTHENTICATED: client certificate refused: CERT_HAS_EXPIRED/);
  const foreign = loadCa(makePluginCa({ now: new Date() }), new Date());
  const other = await hello(certFor('shop', 'web', { from: foreign }), sidecar('shop'), dest);
  assert.match(other.text, /^E_WIRE_AGENT_UNAUTHENTICATED: client certificate refused: UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/);
  const none = await hello(null, sidecar('shop'), dest);
  assert.match(none.text, /^E_WIRE_AGENT_UNAUTHENTICATED: client certificate refused: the hello says client-certificate but none was presented/);
});

test('a real agent: the first connection uses the token and gets a certificate, then it reconnects presenting it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-cc-'));
  const agentLines: string[] = [];
  try {
    writeFileSync(join(dir, 'root.pem'), plane.identity!.rootsPem);
    writeFileSync(join(dir, 'web.token'), 'tok-web\n');
    const client = controllerSource({
      controller: `wss://localhost:${plane.publisher!.port}`, mode: 'sidecar', pod: 'web-0', namespace: 'shop', serviceAccount: 'web',
      tokenFile: join(dir, 'web.token'), rootCaFile: join(dir, 'root.pem'), log: (l) => void agentLines.push(l),
    });
    const certs = await workloadCertificates(client, join(dir, 'web.token'), (l) => void agentLines.push(l));
    try {
      await certs.ready();
      await waitFor('reconnected with the certificate', () => client.authType === 'client-certificate' && client.connected, { timeoutMs: 10_000, describe: () => agentLines.join('\n') });
      assert.ok(agentLines.some((l) => /reconnecting to the controller with our workload certificate/.test(l)));
      await client.ready(5_000);
    } finally {
      client.close();
      await certs.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an ingress whose certificate is not the ingress identity goes back to the token instead of being refused forever', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlet-cc-'));
  const agentLines: string[] = [];
  try {
    writeFileSync(join(dir, 'root.pem'), plane.identity!.rootsPem);
    writeFileSync(join(dir, 'gw.token'), 'tok-gw\n');
    // Loopback admits the token-authenticated ingress here (no shared token configured).
    const client = controllerSource({
      controller: `wss://localhost:${plane.publisher!.port}`, mode: 'ingress', pod: 'gw-0', namespace: 'meshlet-system', serviceAccount: 'custom-gw',
      tokenFile: join(dir, 'gw.token'), rootCaFile: join(dir, 'root.pem'), log: (l) => void agentLines.push(l),
    });
    const certs = await workloadCertificates(client, join(dir, 'gw.token'), (l) => void agentLines.push(l));
    try {
      await certs.ready();
      await waitFor('back on the token', () => agentLines.some((l) => /with the token again/.test(l)) && client.connected && client.authType === 'token', { timeoutMs: 15_000, describe: () => agentLines.join('\n') });
      assert.ok(agentLines.some((l) => /controller refused us: E_WIRE_AGENT_UNAUTHENTICATED: client certificate refused: spiffe:\/\/cluster.local\/ns\/meshlet-system\/sa\/custom-gw may not be the ingress/.test(l)), agentLines.join('\n'));
    } finally {
      client.close();
      await certs.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
