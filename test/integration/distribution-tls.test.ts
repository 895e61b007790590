// The distribution stream over TLS, as it will run in a cluster: the publisher on an https
// server that asks for client certificates, the agent's client with its certificate and the
// controller's CA. The authenticate hook sees the verified peer certificate (auth
// `client-certificate`) and refuses an agent whose claimed identity does not match it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import forge from 'node-forge';
import { ControllerClient } from '../../agent/controller-client/index.ts';
import { Publisher } from '../../controller/publish/index.ts';
import { selfSignedCert } from '../support/self-signed-cert.ts';
import { backend, service, table } from '../support/routing-tables.ts';
import { eventually } from './distribution-world.ts';

/** A client certificate for `cn`, signed by itself (the test trusts it as its own CA). */
function clientCert(cn: string): { cert: string; key: string } {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `02${Date.now().toString(16)}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

describe('distribution over mutual TLS', () => {
  const serverPair = selfSignedCert(['localhost']);
  const cartPair = clientCert('shop/cart');
  let server: https.Server;
  let pub: Publisher;
  const clients: ControllerClient[] = [];

  before(async () => {
    server = https.createServer({ cert: serverPair.cert, key: serverPair.key, ca: [cartPair.cert], requestCert: true, rejectUnauthorized: true });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    pub = await Publisher.start({
      server, log: () => undefined,
      authenticate: (hello, req) => {
        const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
        const claimed = `${hello.agent.namespace}/${hello.agent.pod.replace(/-[^-]+$/, '')}`;
        const cn = String(peer.subject.CN);
        if (hello.auth.type !== 'client-certificate' || cn !== claimed) {
          throw Object.assign(new Error(`certificate ${cn} does not match ${claimed}`), { code: 'E_WIRE_UNAUTHENTICATED' });
        }
      },
    });
    pub.setTable(table({ services: [service({ name: 'cart', namespace: 'shop', clusterIP: '10.96.0.20', port: 80 })], backends: [backend('shop', 'cart', 80, [{ port: 1 }])] }));
  });
  after(async () => {
    for (const c of clients) c.close();
    await pub.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const connect = (pod: string): ControllerClient => {
    const c = new ControllerClient({
      url: `wss://localhost:${(server.address() as net.AddressInfo).port}`,
      agent: { pod, namespace: 'shop', serviceAccount: 'cart', mode: 'sidecar' },
      auth: { type: 'client-certificate' },
      wsOptions: { ca: [serverPair.cert], cert: cartPair.cert, key: cartPair.key, family: 4 },
      backoff: { initialMs: 50, maxMs: 100 }, log: () => undefined,
    }).start();
    clients.push(c);
    return c;
  };

  test('an agent with its certificate gets its slice over wss', async () => {
    const c = connect('cart-7f9');
    await c.ready(5_000);
    await c.ensureDestination('10.96.0.20', 80);
    assert.deepEqual(c.current?.services.map((s) => s.name), ['service/shop/cart']);
    assert.equal(pub.agents().find((a) => a.pod === 'cart-7f9')?.serviceAccount, 'cart');
  });

  test('an agent claiming another identity than its certificate is refused', async () => {
    const c = connect('payments-1');
    await eventually('refused', () => pub.metrics().helloRejectedTotal >= 1, 5_000);
    assert.equal(c.connected, false);
    assert.equal(c.current, null);
  });
});
