// Back-pressure through two agents, checked by behaviour rather than by memory or timing: when
// the client stops reading a large download, the backend's writes must stall once the bytes in
// flight (socket buffers plus whatever the proxies hold) reach a bound. A proxy that kept reading
// upstream while the client was stalled (ignoring write() === false, or buffering a copy) would
// let the backend write the whole body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { pump } from '../support/pump.ts';
import { SINK, startSidecarChain, type SidecarChain } from '../support/sidecar-chain.ts';

const TOTAL = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
// Four loopback sockets' kernel buffers and the proxies' stream buffers: a few MB each at most.
const IN_FLIGHT_BOUND = 32 * 1024 * 1024;

/** Streams TOTAL bytes per request, honouring back-pressure, and counts what write() accepted. */
function startBackend(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(TOTAL) });
    pump(res, CHUNK, TOTAL, { onChunk: (c) => void (accepted += c.length) });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  })));
}

/** Polls until `value()` stops changing for `quietMs`, bounded by `maxMs`; returns the last value. */
async function settled(value: () => number, quietMs: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return v;
  }
  return value();
}

describe('back-pressure through two agents', () => {
  let app: Awaited<ReturnType<typeof startBackend>>;
  let chain: SidecarChain;

  before(async () => {
    app = await startBackend();
    chain = await startSidecarChain(app.port);
  });
  after(async () => {
    await chain.close();
    await app.close();
  });

  test('a client that stops reading stalls the backend within a bounded number of bytes, and reading again finishes the body', async () => {
    // A raw socket as the client so that nothing on the client side reads ahead once paused.
    const client = net.connect(chain.a.ports.outbound!, '127.0.0.1');
    await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
    let received = 0;
    let stopped = false;
    const resumed = new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('data', (d: Buffer) => {
        received += d.length;
        if (!stopped && received > 4 * 1024 * 1024) {
          stopped = true;
          client.pause();
          resolve();
        }
      });
    });
    client.write(`GET /download HTTP/1.1\r\nhost: ${SINK.host}\r\nconnection: close\r\n\r\n`);
    await resumed;

    const stalledAt = await settled(app.accepted, 500, 15_000);
    const inFlight = stalledAt - received;
    assert.ok(stalledAt < TOTAL, `the backend wrote the whole ${TOTAL / 1048576} MB while the client was not reading`);
    assert.ok(inFlight < IN_FLIGHT_BOUND, `${Math.round(inFlight / 1048576)} MB accepted from the backend but not delivered (bound ${IN_FLIGHT_BOUND / 1048576} MB)`);

    // Reading again drains everything: back-pressure delayed the body, it lost nothing.
    const done = new Promise<void>((r) => client.once('end', r));
    client.resume();
    await done;
    assert.ok(received > TOTAL, `received ${received} bytes (body ${TOTAL} plus the response head)`);
  });
});
