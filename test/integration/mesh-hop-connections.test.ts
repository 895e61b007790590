// Connections a sidecar pair opens under a burst followed by steady load (issue 16, ADR 0020):
// the client sidecar's pool to the server sidecar's inbound (a mesh mTLS hop) keeps the
// connections a burst opened, so the load after it opens none on that hop even after the
// app-facing keep-alive time has passed; and with every connection busy a request waits a moment
// for one instead of opening another. Both hops are counted at the TCP level: a transparent
// relay in front of the server's inbound (the mesh hop, TLS passes through it untouched) and the
// app's own `connection` events (the app-facing hop). The app-facing keep-alive is shortened to
// 150 ms so that "after it expired" fits in a test; the mesh hop keeps its default.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { testMeshCa } from '../support/mesh-identity.ts';
import { startMtlsSidecarPair, type MtlsSidecarPair } from '../support/mtls-sidecar-pair.ts';

const APP_KEEP_ALIVE_MS = 150;

describe('connections opened by a mesh mTLS sidecar pair: a burst, then steady load', () => {
  const ca = testMeshCa();
  let app: http.Server;
  let relay: net.Server;
  let pair: MtlsSidecarPair;
  let client: RunningProxy;
  let agent: http.Agent;
  let appConnections = 0;
  let meshConnections = 0;
  const relayed = new Set<net.Socket>();

  before(async () => {
    app = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('hello, mesh\n'));
    });
    app.keepAliveTimeout = 0; // no idle timeout and no `Keep-Alive: timeout=` hint: the agent's pool decides
    app.on('connection', () => { appConnections++; });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    pair = await startMtlsSidecarPair(ca, appPort, {
      pool: { keepAliveMs: APP_KEEP_ALIVE_MS },
      // a relay between the two sidecars counts the mesh connections the client opens
      via: async (serverInbound) => {
        relay = net.createServer((down) => {
          meshConnections++;
          const up = net.connect(serverInbound, '127.0.0.1');
          relayed.add(down).add(up);
          down.pipe(up).pipe(down);
          const close = (): void => { down.destroy(); up.destroy(); };
          down.on('error', close).on('close', close);
          up.on('error', close).on('close', close);
        });
        relay.listen(0, '127.0.0.1');
        await once(relay, 'listening');
        return (relay.address() as net.AddressInfo).port;
      },
    });
    ({ client } = pair);
    agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  });

  after(async () => {
    agent.destroy();
    await pair.close();
    for (const s of relayed) s.destroy();
    relay.close();
    app.closeAllConnections();
    app.close();
  });

  const get = (path: string): Promise<number> => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: client.ports.outbound!, path, agent, headers: { host: 'reviews:9080' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });

  /** `total` requests, at most `concurrency` in flight; every one must be answered 200. */
  async function load(total: number, concurrency: number): Promise<void> {
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        statuses.push(await get(`/r${next}`));
      }
    }));
    assert.deepEqual([...new Set(statuses)], [200]);
  }

  test('the burst opens the mesh connections once; the steady load after the app-facing keep-alive opens none on the mesh hop', async () => {
    await load(16, 16); // the burst: up to 16 in flight at once
    const burstMesh = meshConnections;
    assert.ok(burstMesh >= 1 && burstMesh <= 16, `the burst opened ${burstMesh} mesh connections`);
    // past the app-facing keep-alive time: app connections are retired, mesh ones must stay
    await new Promise((r) => setTimeout(r, APP_KEEP_ALIVE_MS * 3));
    const app0 = appConnections;
    // steady load never needing more connections at once than the burst opened on the mesh hop
    const concurrency = Math.min(4, burstMesh);
    await load(400, concurrency);
    assert.equal(meshConnections - burstMesh, 0, 'no mesh connection opened after the burst: its connections were kept');
    // the app-facing pool re-opened after its keep-alive, never more than what was in flight
    const appOpened = appConnections - app0;
    assert.ok(appOpened >= 1 && appOpened <= concurrency, `app-facing connections opened after the pause: ${appOpened}`);
  });
});
