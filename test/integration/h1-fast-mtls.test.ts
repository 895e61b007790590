// The HTTP/1.1 fast path on both sides of a mesh mTLS hop: the client's sidecar forwards on the
// fast path over TLS (the fast upstream pool, ALPN meshlet/http1.1), the server's inbound side
// serves the decrypted stream on the fast path too (ordinary reads: a TLS socket cannot read
// into the reused buffer), names the caller in x-forwarded-client-cert, and hands a WebSocket
// upgrade to the general path, which tunnels it over the same kind of hop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { spiffeId } from '../../api/names.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { send } from '../support/http-client.ts';
import { testMeshCa } from '../support/mesh-identity.ts';
import { startMtlsSidecarPair, type MtlsSidecarPair } from '../support/mtls-sidecar-pair.ts';

const CLIENT_ID = spiffeId('default', 'productpage');
const SERVER_ID = spiffeId('default', 'reviews');

describe('HTTP/1.1 fast path across a mesh mTLS hop', () => {
  const ca = testMeshCa();
  let app: EchoServer;
  let pair: MtlsSidecarPair;
  let server: RunningProxy;
  let client: RunningProxy;

  before(async () => {
    app = await startEchoServer({ pod: 'reviews-0', namespace: 'default' });
    pair = await startMtlsSidecarPair(ca, app.port);
    ({ server, client } = pair);
  });
  after(async () => {
    await pair.close();
    await app.close();
  });

  test('requests cross the hop on the fast path; the app sees its caller in x-forwarded-client-cert, forgeries replaced', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send({ port: client.ports.outbound!, path: `/who/${i}`, authority: 'reviews:9080', headers: { 'x-forwarded-client-cert': 'By=x;URI=spiffe://cluster.local/ns/kube-system/sa/admin' } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.echo?.headers['X-Forwarded-Client-Cert'], [`By=${SERVER_ID};URI=${CLIENT_ID}`]);
      assert.ok(!r.rawHeaders.includes('Keep-Alive'), 'answered by the fast path, not node:http (which capitalises Keep-Alive)');
    }
  });

  test('STRICT: a plaintext caller gets 403 with the reason from the fast path', async () => {
    const r = await send({ port: server.ports.inbound!, path: '/', authority: 'reviews:9080' });
    assert.equal(r.status, 403);
    assert.match(String(r.headers['x-meshlet-denied-reason']), /STRICT mTLS/);
    assert.ok(r.rawHeaders.includes('connection') && !r.rawHeaders.includes('Connection'), 'answered by the fast path (node:http capitalises Connection)');
  });

  test('a WebSocket falls back on both sides and is tunnelled across the hop', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${client.ports.outbound!}/chat`, { headers: { host: 'reviews:9080' } });
    try {
      const echoed = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5_000);
        ws.once('open', () => ws.send('hi'));
        ws.once('message', (m: Buffer) => { clearTimeout(timer); resolve(m.toString()); });
        ws.once('error', (err) => { clearTimeout(timer); reject(err); });
      });
      assert.match(echoed, /hi/);
    } finally { ws.terminate(); }
  });
});
