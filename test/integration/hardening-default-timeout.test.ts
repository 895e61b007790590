// Issue 15 item 6: a route without a timeout no longer waits for a backend that never answers
// (it got a 503 after 322 s). The default request timeout (ADR 0006) answers 504, runs from the
// end of the request body to the response head, and never cuts a response that has begun.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../agent/engine/core.ts';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from '../../injector/inject/mesh-config.ts';
import type { TimeoutsIR } from '../../api/routing-table.ts';
import * as T from '../support/routing-tables.ts';
import { quiet } from './hardening-helpers.ts';

function proxyTo(upstreamPort: number, defaultRequestTimeoutMs: number | undefined, timeouts: TimeoutsIR | null = null): Promise<RunningProxy> {
  const be = T.backend('default', 'svc', 80, [{ port: upstreamPort }]);
  const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: [T.rule({ backends: [{ backend: be.name }], timeouts })] });
  return startSidecar({
    namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
    ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, defaultRequestTimeoutMs,
    originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
  });
}

interface Answer { status: number; body: string; ms: number }

/** One request through the proxy; `upload` chunks are written `gapMs` apart. Bounded by `capMs`. */
function request(port: number, capMs: number, upload: string[] = [], gapMs = 0): Promise<Answer | 'no answer'> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: upload.length ? 'POST' : 'GET', path: '/', headers: { host: 'svc.default' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: `${body}<aborted>`, ms: Date.now() - started }));
    });
    req.on('error', () => resolve('no answer'));
    const cap = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, capMs);
    req.on('close', () => clearTimeout(cap));
    void (async () => {
      for (const chunk of upload) {
        req.write(chunk);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      req.end();
    })();
  });
}

describe('default request timeout', () => {
  const held = new Set<net.Socket>();
  let silent: net.Server;
  let silentPort: number;
  let trickle: http.Server;
  let tricklePort: number;
  before(async () => {
    // Accepts, reads, never answers.
    silent = net.createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
      s.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as net.AddressInfo).port;
    // Reads the whole body, answers its head at once, then sends 6 chunks 150 ms apart.
    trickle = http.createServer((req, res) => {
      let got = 0;
      req.on('data', (d: Buffer) => {
        got += d.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let n = 0;
        const t = setInterval(() => {
          res.write(`${n}`);
          if (++n === 6) {
            clearInterval(t);
            res.end(`:${got}`);
          }
        }, 150);
      });
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', () => r()));
    tricklePort = (trickle.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const s of held) s.destroy();
    silent.close();
    trickle.closeAllConnections();
    trickle.close();
  });

  test('a backend that never answers gets 504 after the default (here 400 ms)', async () => {
    const proxy = await proxyTo(silentPort, 400);
    try {
      const a = await request(proxy.ports.outbound!, 5_000);
      assert.notEqual(a, 'no answer');
      if (a === 'no answer') return;
      assert.equal(a.status, 504);
      assert.match(a.body, /request did not complete within 400 ms|timeout/);
      assert.ok(a.ms >= 350 && a.ms < 3_000, `answered after ${a.ms} ms`);
    } finally {
      await proxy.close();
    }
  });

  test('with no option the default is 15 s', async () => {
    // The injector leaves the variable out at its default, so both must agree.
    assert.equal(DEFAULT_REQUEST_TIMEOUT_SECONDS * 1000, DEFAULT_REQUEST_TIMEOUT_MS);
    const proxy = await proxyTo(silentPort, undefined);
    try {
      const a = await request(proxy.ports.outbound!, 25_000);
      assert.notEqual(a, 'no answer');
      if (a === 'no answer') return;
      assert.equal(a.status, 504);
      assert.ok(a.ms >= 14_500 && a.ms < 22_000, `answered after ${a.ms} ms`);
    } finally {
      await proxy.close();
    }
  });

  test('0 turns the default off: the request is still waiting after 1.5 s', async () => {
    const proxy = await proxyTo(silentPort, 0);
    try {
      assert.equal(await request(proxy.ports.outbound!, 1_500), 'no answer');
    } finally {
      await proxy.close();
    }
  });

  test("a route's own timeout wins over the default", async () => {
    const proxy = await proxyTo(silentPort, 10_000, { requestMs: 300, backendRequestMs: null });
    try {
      const a = await request(proxy.ports.outbound!, 5_000);
      assert.ok(a !== 'no answer' && a.status === 504 && a.ms < 3_000, JSON.stringify(a));
    } finally {
      await proxy.close();
    }
  });

  test('a response that has begun streams past the default, and so does a slow upload', async () => {
    const proxy = await proxyTo(tricklePort, 300);
    try {
      // Response body: 6 x 150 ms = 900 ms after its head, three times the default.
      const down = await request(proxy.ports.outbound!, 5_000);
      assert.deepEqual(down !== 'no answer' && { status: down.status, body: down.body }, { status: 200, body: '012345:0' });
      // Upload: 5 chunks 200 ms apart (1 s), then the same trickled response.
      const up = await request(proxy.ports.outbound!, 6_000, ['aa', 'bb', 'cc', 'dd', 'ee'], 200);
      assert.deepEqual(up !== 'no answer' && { status: up.status, body: up.body }, { status: 200, body: '012345:10' });
    } finally {
      await proxy.close();
    }
  });
});
