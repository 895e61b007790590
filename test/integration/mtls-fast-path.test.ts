// The HTTP/1.1 fast path across a mesh mTLS hop between two real agents (identity world: a
// controller with the mesh CA, certificates over the config channel): productpage's outbound
// side sends through the fast path's upstream pool (connect.ts: TLS 1.3, ALPN meshlet/http1.1,
// reviews' SPIFFE ID required) to reviews' inbound side, which terminates the mTLS and serves
// the app. The app sees the verified caller (x-forwarded-client-cert), the answer comes back
// on the fast path, the mTLS connection is kept and reused, and the pool's connections show in
// the agent's meshlet_proxy_upstream_connections gauge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { startIdentityWorld, type IdentityWorld } from '../support/identity-world.ts';
import { parsePrometheus } from '../support/prometheus-text.ts';

/** Polls an async check until it returns a value, bounded in time. */
async function poll<T>(what: string, check: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// both agents take HTTP/1.1 on the fast path (set before they start; this file runs in its own process)
process.env.MESHLET_H1_FAST = '1';

const BULK = 8 * 1024 * 1024;
/** 8 MB in which every 4-byte word differs: bytes overwritten in a reused read buffer would show. */
const PATTERN = Buffer.alloc(BULK);
for (let j = 0; j < BULK; j += 4) PATTERN.writeUInt32LE(j, j);
const PATTERN_SHA = createHash('sha256').update(PATTERN).digest('hex');
let world: IdentityWorld;
let app: http.Server;
let appConnections = 0;
const seen: { url: string; xfcc: string | undefined; peerWorkload: string | undefined }[] = [];
let outbound = 0;

async function gauge(state: string): Promise<number | null> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  return parsePrometheus(text).find((x) => x.name === 'meshlet_proxy_upstream_connections' && x.labels.state === state)?.value ?? null;
}
let admin = 0;
let serverAdmin = 0;

/** mTLS connections reviews' inbound side has terminated so far. */
async function terminated(): Promise<number> {
  return ((await (await fetch(`http://127.0.0.1:${serverAdmin}/config_dump`)).json()) as { mtls: { terminated: number } }).mtls.terminated;
}

before(async () => {
  app = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', xfcc: req.headers['x-forwarded-client-cert'] as string | undefined, peerWorkload: req.headers['x-meshlet-peer-workload'] as string | undefined });
    req.resume();
    if (req.url === '/pattern') {
      // written in 64 KB pieces, so the inbound side relays many reads of its reused buffer
      req.on('end', () => {
        res.writeHead(200, { 'content-length': String(BULK) });
        let at = 0;
        const more = (): void => {
          while (at < BULK) {
            const piece = PATTERN.subarray(at, at + 65_536);
            at += piece.length;
            if (!res.write(piece)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        more();
      });
      return;
    }
    if (req.url === '/bulk') {
      req.on('end', () => res.writeHead(200, { 'content-length': String(BULK) }).end(Buffer.alloc(BULK, 0x62)));
      return;
    }
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' }).end('served'));
  });
  app.on('connection', () => { appConnections++; });
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  world = await startIdentityWorld();
  const appPort = (app.address() as AddressInfo).port;
  const server = await world.agent('reviews-0', 'reviews', {
    inbound: world.reviewsInbound,
    originalDestination: (s) => (s.localPort === world.reviewsInbound ? { address: '127.0.0.1', port: world.reviewsInbound, redirected: true } : null),
    inboundAppPortFor: () => appPort,
  });
  const client = await world.agent('productpage-0', 'productpage', { inbound: 0, originalDestination: () => ({ address: '10.96.0.30', port: 9080 }) });
  await client.certificates.ready();
  outbound = client.proxy.ports.outbound!;
  serverAdmin = server.proxy.ports.admin!;
  admin = client.proxy.ports.admin!;
});

after(async () => {
  await world?.close();
  app.closeAllConnections();
  app.close();
});

/** One request on a fresh client connection; the raw answer (head and body), bounded in time. */
function rawGet(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(outbound, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer within 5 s: ${JSON.stringify(text)}`)); }, 5_000);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n') && text.endsWith('served')) { clearTimeout(timer); s.destroy(); resolve(text); }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.write(`GET ${path} HTTP/1.1\r\nHost: reviews.shop:9080\r\n\r\n`);
  });
}

test('requests over the mesh mTLS hop on the fast path: the caller verified, the connection reused, the gauge counting it', async () => {
  // the first request to the service subscribes to it on demand (served by the general path meanwhile)
  await poll('a first answer through the mesh', async () => {
    try { return await rawGet('/warm'); } catch { return null; }
  }, 10_000);
  const connectionsBefore = appConnections;
  const idleBefore = await poll('the warm-up connection idle', async () => ((await gauge('idle')) ?? 0) >= 1 ? gauge('idle') : null, 3_000);
  const handshakesBefore = await terminated();
  for (const path of ['/one', '/two', '/three']) {
    const answer = await rawGet(path);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    // node:http (the general path) writes `Keep-Alive: timeout=…` capitalised; the fast path in lower case
    assert.doesNotMatch(answer, /Keep-Alive: timeout/, `the outbound side answered ${path} on the fast path`);
  }
  const last = seen.at(-1)!;
  assert.equal(last.url, '/three');
  assert.equal(last.xfcc, 'By=spiffe://cluster.local/ns/shop/sa/reviews;URI=spiffe://cluster.local/ns/shop/sa/productpage');
  // one mTLS connection carried both requests: the agent's pool holds it idle afterwards
  // the warm-up's connection (general or fast path) plus at most one the fast pool opened for all three
  const idle = await poll('the kept mTLS connection in the gauge', async () => gauge('idle'), 3_000);
  assert.ok(idle - idleBefore <= 1 && idle >= 1, `idle connections ${idleBefore} -> ${idle}: one kept mTLS connection carried the three requests`);
  assert.equal(await gauge('active'), 0);
  assert.ok(await terminated() - handshakesBefore <= 1, 'at most one new mTLS connection for the three requests');
  // reviews' inbound kept its own connection to the app too: both requests on it
  assert.equal(appConnections, connectionsBefore, 'no new app connection for the fast-path requests');
});

test('a bulk answer over the mTLS hop frees its read buffers young: the relay scavenges count it (TLS reads are fresh buffers)', async () => {
  const scavenges = async (): Promise<number> => parsePrometheus(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text())
    .find((x) => x.name === 'meshlet_relay_scavenges_total')?.value ?? 0;
  const before = await scavenges();
  const got = await new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: outbound, path: '/bulk', headers: { host: 'reviews.shop:9080' }, agent: false }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => void (n += d.length));
      res.on('end', () => { clearTimeout(guard); resolve(n); });
    });
    const guard = setTimeout(() => req.destroy(new Error('8 MB not received within 20 s')), 20_000);
    req.on('error', (e) => { clearTimeout(guard); reject(e); });
  });
  assert.equal(got, BULK);
  // Both agents share this process's counter (one per 2 MB relayed): 8 MB read from TLS sockets
  // by the client side alone is 4; fewer than 2 means TLS reads went uncounted.
  assert.ok(await scavenges() - before >= 2, `relay scavenges ${before} -> ${await scavenges()}`);
});

test('a slow client reading a large answer over the mTLS hop gets every byte intact', async () => {
  const digest = await new Promise<{ n: number; sha: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: outbound, path: '/pattern', headers: { host: 'reviews.shop:9080' }, agent: false }, (res) => {
      const h = createHash('sha256');
      let n = 0;
      // take a piece, then stop reading for a moment: both hops' writes back up to the app
      res.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
        res.pause();
        setTimeout(() => res.resume(), 1);
      });
      res.on('end', () => { clearTimeout(guard); resolve({ n, sha: h.digest('hex') }); });
    });
    const guard = setTimeout(() => req.destroy(new Error('8 MB not received within 60 s')), 60_000);
    req.on('error', (e) => { clearTimeout(guard); reject(e); });
  });
  assert.equal(digest.n, BULK);
  assert.equal(digest.sha, PATTERN_SHA);
});

test('small requests over the warm mTLS hop do not pause a socket per request (the answer written to TLS is not held as queued)', async () => {
  const s = net.connect(outbound, '127.0.0.1');
  await once(s, 'connect');
  let text = '';
  s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
  const ask = async (i: number): Promise<void> => {
    const answers = (text.match(/served/g) ?? []).length;
    s.write(`GET /small/${i} HTTP/1.1\r\nHost: reviews.shop:9080\r\n\r\n`);
    for (let t = 0; t < 500 && (text.match(/served/g) ?? []).length === answers; t++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((text.match(/served/g) ?? []).length, answers + 1, `an answer to request ${i}`);
  };
  const REQUESTS = 20;
  const original: (this: net.Socket) => net.Socket = Reflect.get(net.Socket.prototype, 'pause');
  let pauses = 0;
  try {
    for (let i = 0; i < 5; i++) await ask(i); // warm: connections to reviews and to the app are open and kept
    // both agents run in this process: count every socket pause while requests go one at a time
    net.Socket.prototype.pause = function pause(this: net.Socket) {
      pauses++;
      return original.call(this);
    };
    for (let i = 0; i < REQUESTS; i++) await ask(100 + i);
  } finally {
    net.Socket.prototype.pause = original;
    s.destroy();
  }
  assert.match(text, /HTTP\/1\.1 200 /);
  assert.ok(pauses < REQUESTS / 4, `${pauses} socket pauses in ${REQUESTS} requests`);
});
