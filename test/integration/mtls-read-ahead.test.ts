// A sidecar pair whose hop is mesh mTLS, both sides on the HTTP/1.1 fast path (issue 16, ADR 0020):
// each request is one TLS read on each side of the hop (the client sidecar reads the answer, the
// server sidecar the request), and neither schedules Readable's read-ahead (`maybeReadMore`, a
// process.nextTick per chunk added) after it: the fast path reads TLS sockets through 'data'
// and tells Readable to skip it (read-buffer.ts, skipReadAhead). What the skipped tick did must
// still happen: bodies larger than a TLS record, and a client that stops reading, get every byte.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { RunningProxy } from '../../agent/sidecar.ts';
import { testMeshCa } from '../support/mesh-identity.ts';
import { startMtlsSidecarPair, type MtlsSidecarPair } from '../support/mtls-sidecar-pair.ts';
import { selfSignedCert } from '../support/self-signed-cert.ts';

const BIG = 3 * 1024 * 1024;
/** Every 4-byte word differs: bytes lost, repeated or overwritten would show in the digest. */
const PATTERN = Buffer.alloc(BIG);
for (let j = 0; j < BIG; j += 4) PATTERN.writeUInt32LE(j, j);
const PATTERN_SHA = createHash('sha256').update(PATTERN).digest('hex');

interface ReadAheadCounter {
  /** Restores process.nextTick; the read-ahead ticks seen on TLS sockets, by side. */
  stop(): { client: number; server: number };
}

/**
 * Counts Node's Readable read-ahead ticks (`maybeReadMore_`, queued after each chunk pushed) on TLS
 * sockets, by wrapping process.nextTick. The function is found by its internal name: the control
 * test below proves the count still sees them on TLS sockets that do not skip the read-ahead, so a
 * rename in Node fails that test rather than making the fast-path test pass without testing.
 */
function countTlsReadAheads(): ReadAheadCounter {
  const original = Reflect.get<NodeJS.Process, 'nextTick'>(process, 'nextTick');
  const seen = { client: 0, server: 0 };
  process.nextTick = function nextTick(fn: (...args: unknown[]) => void, ...args: unknown[]) {
    const stream = args[0] as { encrypted?: boolean; _tlsOptions?: { isServer?: boolean } } | undefined;
    if (fn.name === 'maybeReadMore_' && stream?.encrypted === true) seen[stream._tlsOptions?.isServer === true ? 'server' : 'client']++;
    return original.call(process, fn, ...args);
  } as typeof process.nextTick;
  return {
    stop: () => {
      process.nextTick = original;
      return seen;
    },
  };
}

test('control: the count sees the read-ahead ticks of plain TLS sockets (which do not skip them)', async () => {
  const pair = selfSignedCert(['localhost']);
  const server = tls.createServer({ key: pair.key, cert: pair.cert }, (s) => s.on('data', (d: Buffer) => s.write(d)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sock = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ca: pair.cert, servername: 'localhost' });
  let seen: { client: number; server: number } | undefined;
  try {
    await once(sock, 'secureConnect');
    const counter = countTlsReadAheads();
    try {
      for (let i = 0; i < 5; i++) {
        sock.write(`ping ${i}`);
        await once(sock, 'data');
      }
    } finally {
      seen = counter.stop();
    }
  } finally {
    sock.destroy();
    server.close();
  }
  assert.ok(seen !== undefined && seen.client >= 5 && seen.server >= 5, `read-ahead ticks on plain TLS sockets: ${JSON.stringify(seen)}`);
});

describe('the mTLS hop on the fast path: no read-ahead tick per TLS read', () => {
  const ca = testMeshCa();
  let app: http.Server;
  let pair: MtlsSidecarPair;
  let client: RunningProxy;

  before(async () => {
    app = http.createServer((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (d: Buffer) => { h.update(d); n += d.length; });
      req.on('end', () => {
        if (req.url === '/pattern') res.writeHead(200, { 'content-length': String(BIG) }).end(PATTERN);
        else res.end(`${n} ${h.digest('hex')}`);
      });
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const appPort = (app.address() as net.AddressInfo).port;
    pair = await startMtlsSidecarPair(ca, appPort);
    ({ client } = pair);
  });

  after(async () => {
    await pair.close();
    app.closeAllConnections();
    app.close();
  });

  /** One request on the client sidecar's outbound port through `agent`; the status and body. */
  const send = (agent: http.Agent, path: string, body: Buffer, slow = false): Promise<{ status: number; body: Buffer }> => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: client.ports.outbound!, method: 'POST', path, agent, headers: { host: 'reviews:9080', 'content-length': String(body.length) } }, (res) => {
      const pieces: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        pieces.push(d);
        if (slow) {
          // stop reading for a moment after each piece: both hops' writes back up to the app
          res.pause();
          setTimeout(() => res.resume(), 1);
        }
      });
      res.on('end', () => { clearTimeout(guard); resolve({ status: res.statusCode ?? 0, body: Buffer.concat(pieces) }); });
    });
    const guard = setTimeout(() => req.destroy(new Error(`no answer to ${path} within 30 s`)), 30_000);
    req.on('error', (e) => { clearTimeout(guard); reject(e); });
    req.end(body);
  });

  test('20 small requests on a warm connection: no maybeReadMore tick on the TLS sockets of either side', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const small = Buffer.from('0123456789ab');
    const REQUESTS = 20;
    let counter: ReadAheadCounter | null = null;
    let readAheads = { client: 0, server: 0 };
    try {
      for (let i = 0; i < 5; i++) assert.equal((await send(agent, `/warm/${i}`, small)).status, 200);
      // both sidecars run in this process: count the read-ahead ticks of TLS sockets (the test's
      // own client socket and the app's are plaintext and not counted)
      counter = countTlsReadAheads();
      for (let i = 0; i < REQUESTS; i++) {
        const r = await send(agent, `/small/${i}`, small);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `12 ${createHash('sha256').update(small).digest('hex')}`);
      }
    } finally {
      if (counter) readAheads = counter.stop();
      agent.destroy();
    }
    assert.ok(readAheads.client + readAheads.server < REQUESTS / 4, `read-ahead ticks in ${REQUESTS} requests: ${JSON.stringify(readAheads)}`);
  });

  test('bodies of many TLS records arrive whole both ways, to a client that keeps stopping', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // a 3 MB upload: many records read by the server sidecar, relayed to the app
      const up = await send(agent, '/upload', PATTERN);
      assert.equal(up.status, 200);
      assert.equal(up.body.toString(), `${BIG} ${PATTERN_SHA}`);
      // a 3 MB answer read by the client sidecar from TLS, to a client that pauses after every piece
      const down = await send(agent, '/pattern', Buffer.alloc(0), true);
      assert.equal(down.status, 200);
      assert.equal(down.body.length, BIG);
      assert.equal(createHash('sha256').update(down.body).digest('hex'), PATTERN_SHA);
    } finally {
      agent.destroy();
    }
  });
});
