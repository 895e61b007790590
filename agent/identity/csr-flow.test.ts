// The whole certificate flow without the config channel's transport: two agents' managers send
// csr messages (JSON round-tripped and shape-checked as the wire would) to the controller's
// CsrAuthorizer, backed by the fake apiserver; then the agents speak mTLS with what they got.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { validateIdentityMessage, type CsrMessage, type IdentityControllerMessage } from '../../api/identity.ts';
import { CsrAuthorizer, bootstrapCa, type CertificateAuthority } from '../../controller/identity/index.ts';
import { withTokenReviews } from '../../controller/identity/test-support.ts';
import { startFakeApiServer, type FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { kubeClientFor } from '../../test/support/kube-client-for.ts';
import { CertificateManager, type CertificateAnswer } from './certificate-manager.ts';
import { SecureContextCache, createInboundTlsServer, outboundTlsOptions } from './tls-options.ts';

let api: FakeApiServer;
let ca: CertificateAuthority;
let authorizer: CsrAuthorizer;
const pod = (ns: string, name: string, sa: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { serviceAccountName: sa } });

before(async () => {
  api = await startFakeApiServer({ gatewayApi: false, objects: [pod('shop', 'cart-0', 'cart'), pod('web', 'web-0', 'frontend')] });
  const kube = kubeClientFor(api);
  ca = (await bootstrapCa({ client: kube, trustDomain: 'cluster.local' })).ca;
  const client = withTokenReviews(kube, {
    'tok-cart': { username: 'system:serviceaccount:shop:cart', pod: 'cart-0' },
    'tok-web': { username: 'system:serviceaccount:web:frontend', pod: 'web-0' },
  });
  authorizer = new CsrAuthorizer({ client, ca: () => ca, trustDomain: 'cluster.local' });
});
after(() => api.close());

let nextId = 0;
/** What the composition will wire: csr out, certificate back, both checked like wire frames. */
function channel(token: string, podName: string): (csrPem: string) => Promise<CertificateAnswer> {
  return async (csrPem) => {
    const out: CsrMessage = { type: 'csr', id: ++nextId, csrPem, token };
    const sent = JSON.parse(JSON.stringify(out)) as CsrMessage;
    assert.deepEqual(validateIdentityMessage(sent), []);
    const back = JSON.parse(JSON.stringify(await authorizer.answer(sent, podName))) as Exclude<IdentityControllerMessage, { type: 'trust-bundle' }>;
    assert.deepEqual(validateIdentityMessage(back), []);
    assert.equal(back.id, out.id);
    return back;
  };
}

test('two agents get certificates through the CA and speak mTLS, each knowing the other', async () => {
  const cart = new CertificateManager({ requestCertificate: channel('tok-cart', 'cart-0') });
  const web = new CertificateManager({ requestCertificate: channel('tok-web', 'web-0') });
  await Promise.all([cart.start(), web.start()]);
  const [cartCert, webCert] = await Promise.all([cart.ready(), web.ready()]);
  assert.equal(cartCert.spiffeId, 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(webCert.spiffeId, 'spiffe://cluster.local/ns/web/sa/frontend');
  assert.ok(cart.secondsLeft() > 23 * 3600 && cart.secondsLeft() <= 24 * 3600);

  const seen: string[] = [];
  const inbound = createInboundTlsServer({ source: cart, onConnection: (s, peer) => { seen.push(peer); s.end(`hello ${peer}`); } });
  const listener = createServer((s) => inbound.server.emit('connection', s));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  try {
    const port = (listener.address() as AddressInfo).port;
    const reply = await new Promise<string>((resolve, reject) => {
      const s: TLSSocket = connect({ host: '127.0.0.1', port, ...outboundTlsOptions(new SecureContextCache(web), { expectedSpiffeId: cartCert.spiffeId, alpn: 'meshlet/http1.1' }) });
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.equal(reply, 'hello spiffe://cluster.local/ns/web/sa/frontend');
    assert.deepEqual(seen, ['spiffe://cluster.local/ns/web/sa/frontend']);
  } finally {
    listener.close();
    inbound.close();
    await Promise.all([cart.stop(), web.stop()]);
  }
});

test('once the pod is deleted its token earns nothing more, and the agent keeps its current certificate', async () => {
  const lines: string[] = [];
  const cart = new CertificateManager({ requestCertificate: channel('tok-cart', 'cart-0'), log: (l) => lines.push(l) });
  await cart.start();
  const first = await cart.ready();
  api.delete('v1', 'Pod', 'cart-0', 'shop');
  cart.renewNow();
  const deadline = Date.now() + 5000;
  while (!lines.some((l) => l.includes('E_CSR_POD_NOT_FOUND')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await cart.stop();
  assert.match(lines.find((l) => l.includes('E_CSR_POD_NOT_FOUND')) ?? '', /keeping the current certificate \(\d+ s left\); retrying in 60 s: certificate request refused \(E_CSR_POD_NOT_FOUND\): the token is bound to pod shop\/cart-0, which no longer exists/);
  assert.equal(cart.current(), first);
});
