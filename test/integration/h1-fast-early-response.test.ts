// Issue 16's "active" upstream connections with nothing in flight (ADR 0020, "A leak, seen and
// gone"), on real sockets through a sidecar's fast path: an upstream that answers a POST as soon
// as it has the head (nginx's `return 200` does; so does an early 401 or 413) completes its
// response before the request body has reached the proxy when the body comes in a later read.
// The exchange then had its answer and wrote nothing more upstream, and the lease waited for a
// request end that never came: the connection stayed counted active (and out of the pool) until
// the upstream gave up on it. Whether the client then sends its body or goes away, the pool must
// settle at active 0 with no more idle connections than the upstream still has open; a POST
// whose body comes with its head still reuses one connection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import * as T from '../support/routing-tables.ts';
import { readAnswer } from '../support/raw-answer.ts';

const quiet = (): void => undefined;
const ROUNDS = 8;

/**
 * Answers every request on its head (200, `ok`, kept alive), then reads and drops the
 * Content-Length body it announced before looking for the next head.
 */
async function answerOnHead(): Promise<{ port: number; accepted: number; openSockets: Set<net.Socket>; close(): Promise<void> }> {
  const openSockets = new Set<net.Socket>();
  const up = {
    port: 0,
    accepted: 0,
    openSockets,
    close: () => new Promise<void>((r) => {
      for (const s of openSockets) s.destroy();
      server.close(() => r());
    }),
  };
  const server = net.createServer((c) => {
    up.accepted++;
    openSockets.add(c);
    c.once('close', () => openSockets.delete(c));
    c.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    let skip = 0;
    c.on('data', (b: Buffer) => {
      pending = Buffer.concat([pending, b]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, pending.length);
          skip -= n;
          pending = pending.subarray(n);
          if (skip > 0) return;
        }
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /\r\ncontent-length: *(\d+)/i.exec(pending.toString('latin1', 0, end));
        skip = m ? Number(m[1]) : 0;
        pending = pending.subarray(end + 4);
        c.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up.port = (server.address() as net.AddressInfo).port;
  return up;
}

/** Reads one whole answer from `s` (bounded in time; a close before it is an error). */
const answer = (s: net.Socket): Promise<string> => readAnswer(s, { onClose: 'reject' });

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

/** A sidecar whose outbound service `svc` is the answer-on-head upstream, on the fast path. */
async function world(): Promise<{ up: Awaited<ReturnType<typeof answerOnHead>>; proxy: RunningProxy; settled(what: string): Promise<void>; close(): Promise<void> }> {
  const up = await answerOnHead();
  const be = T.backend('default', 'svc', 80, [{ port: up.port }]);
  const svc = T.service({ name: 'svc', clusterIP: '10.96.0.41', port: 80, rules: [T.rule({ backends: [{ backend: be.name }] })] });
  const proxy = await startSidecar({
    namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
    ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, h1Fast: true,
    originalDestination: () => ({ address: '10.96.0.41', port: 80 }),
  });
  return {
    up,
    proxy,
    // waits (bounded: 3 s) for the pool to hold no active connection, then checks what it holds
    async settled(what: string): Promise<void> {
      for (let i = 0; i < 300 && proxy.core.pools.stats().active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      const s = proxy.core.pools.stats();
      assert.equal(s.active, 0, `${what}: ${s.active} upstream connections still counted active with nothing in flight (${JSON.stringify(s)})`);
      assert.equal(s.queued, 0, what);
      assert.ok(s.idle <= up.openSockets.size, `${what}: ${s.idle} idle, ${up.openSockets.size} open at the upstream`);
    },
    async close(): Promise<void> {
      await proxy.close();
      await up.close();
    },
  };
}

describe('an upstream that answers before the request body arrived (fast path)', () => {
  test(`${ROUNDS} POSTs whose body comes with the head reuse one upstream connection (only a connection answered early is closed)`, async () => {
    const w = await world();
    const s = await connect(w.proxy.ports.outbound!);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const got = answer(s);
        s.write(`POST /whole${i} HTTP/1.1\r\nHost: svc\r\nContent-Length: 12\r\n\r\nbody-${String(i).padStart(7, '0')}`);
        assert.match(await got, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/, `request ${i}`);
      }
      await w.settled('after whole requests');
      assert.equal(w.up.accepted, 1, `${w.up.accepted} upstream connections for ${ROUNDS} sequential requests`);
      assert.equal(w.proxy.core.pools.stats().idle, 1, 'the connection is kept for the next request');
    } finally {
      s.destroy();
      await w.close();
    }
  });

  test(`${ROUNDS} POSTs on one connection, each answered on its head, the body sent after the answer: every answer arrives, the pool settles at active 0`, async () => {
    const w = await world();
    const s = await connect(w.proxy.ports.outbound!);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const got = answer(s);
        s.write(`POST /early${i} HTTP/1.1\r\nHost: svc\r\nContent-Length: 12\r\n\r\n`);
        assert.match(await got, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/, `request ${i}`);
        s.write(`body-${String(i).padStart(7, '0')}`);
      }
      // the last body is read and the connection still serves a request
      const got = answer(s);
      s.write('POST /after HTTP/1.1\r\nHost: svc\r\nContent-Length: 2\r\n\r\nhi');
      assert.match(await got, /^HTTP\/1\.1 200 OK\r\n/);
      await w.settled('after the bodies');
    } finally {
      s.destroy();
      await w.close();
    }
  });

  test(`${ROUNDS} clients that go away after an answer that came before their body: the pool settles at active 0`, async () => {
    const w = await world();
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const s = await connect(w.proxy.ports.outbound!);
        const got = answer(s);
        s.write(`POST /gone${i} HTTP/1.1\r\nHost: svc\r\nContent-Length: 1000\r\n\r\n`);
        assert.match(await got, /^HTTP\/1\.1 200 OK\r\n/, `request ${i}`);
        s.destroy();
      }
      await w.settled('after the clients left');
    } finally {
      await w.close();
    }
  });
});
