// withTlsRecordBuffersKept(): the connections of TLS contexts created inside it keep OpenSSL's
// record buffers (SSL_MODE_RELEASE_BUFFERS cleared at their first message, counted by the addon);
// contexts created outside it, before or after, are untouched; data crosses such connections
// intact. Real TLS over loopback; on Linux the addon must be built (npm install does it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import { generateRoot, issueServingCertificate, loadCa } from '../../controller/identity/index.ts';
import { tlsRecordBuffersKept, withTlsRecordBuffersKept } from './index.ts';

const ca = loadCa(generateRoot({ now: new Date(), trustDomain: 'cluster.local' }), new Date());
const serving = issueServingCertificate(ca, { dnsNames: ['echo.test'], now: new Date() });
const serverOptions = { key: serving.keyPem, cert: serving.chainPem.join(''), minVersion: 'TLSv1.3' as const };
const clientContext = (): SecureContext => createSecureContext({ ca: serving.rootsPem, minVersion: 'TLSv1.3' });

/** A TLS server answering each connection with the sha256 of everything it received. */
async function hashingServer(make: () => Server): Promise<{ port: number; close: () => void }> {
  const server = make();
  server.on('secureConnection', (s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => s.end(h.digest('hex')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** Sends `body` over a new connection and returns the server's digest of it. */
function roundTrip(port: number, secureContext: SecureContext, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'echo.test', secureContext }, () => socket.end(body));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

test('connections of contexts created inside withTlsRecordBuffersKept keep their record buffers; others do not', async () => {
  const body = randomBytes(3 * 1024 * 1024); // ~190 records each way in 16 KB records
  const digest = createHash('sha256').update(body).digest('hex');
  const kept = await hashingServer(() => withTlsRecordBuffersKept(() => createServer(serverOptions)));
  const released = await hashingServer(() => createServer(serverOptions));
  try {
    const before = tlsRecordBuffersKept();
    const keptClient = withTlsRecordBuffersKept(clientContext);
    assert.equal(await roundTrip(kept.port, keptClient, body), digest);
    assert.equal(tlsRecordBuffersKept() - before, 2, 'both ends of the connection');

    // a client context from outside: only the server's end keeps its buffers
    assert.equal(await roundTrip(kept.port, clientContext(), body), digest);
    assert.equal(tlsRecordBuffersKept() - before, 3);

    // a server from outside: only the kept client's end
    assert.equal(await roundTrip(released.port, keptClient, body), digest);
    assert.equal(tlsRecordBuffersKept() - before, 4);

    // neither: nothing kept (the hook is armed only during the call, not after it)
    assert.equal(await roundTrip(released.port, clientContext(), body), digest);
    assert.equal(tlsRecordBuffersKept() - before, 4);
  } finally {
    kept.close();
    released.close();
  }
});

test('a create that throws still disarms the hook: contexts made afterwards are untouched', async () => {
  assert.throws(() => withTlsRecordBuffersKept(() => createSecureContext({ key: 'not a key' })));
  const released = await hashingServer(() => createServer(serverOptions));
  try {
    const before = tlsRecordBuffersKept();
    assert.equal(await roundTrip(released.port, clientContext(), Buffer.from('hello')), createHash('sha256').update('hello').digest('hex'));
    assert.equal(tlsRecordBuffersKept(), before);
  } finally {
    released.close();
  }
});
