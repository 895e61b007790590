// The kubelet's rewritten probes on the admin port: each runs the app's original probe (HTTP,
// HTTPS, TCP, gRPC health) against real servers on loopback and answers 200 or 503 with why.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { startAdminServer, type AdminServer } from '../../agent/admin/admin-server.ts';
import { startSidecar } from '../../agent/sidecar.ts';
import { ManualTableSource } from '../../agent/table-source.ts';
import type { AppProbers } from '../../api/pod-env.ts';
import { send } from '../support/http-client.ts';
import { table } from '../support/routing-tables.ts';
import { selfSignedCert } from '../support/self-signed-cert.ts';

const lines: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  lines.length = 0;
});

type Closable = net.Server | http2.Http2Server;
async function listen<S extends Closable>(server: S, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  cleanups.push(() => new Promise<void>((r) => {
    if (server instanceof http.Server) server.closeAllConnections();
    server.close(() => r());
  }));
  return (server.address() as net.AddressInfo).port;
}

/** An app whose handler sees every request; returns its port and what it received. */
async function app(handler: http.RequestListener, host?: string): Promise<{ port: number; seen: http.IncomingMessage[] }> {
  const seen: http.IncomingMessage[] = [];
  const port = await listen(http.createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  }), host);
  return { port, seen };
}

async function admin(probers: AppProbers, podIp?: string): Promise<AdminServer> {
  const a = await startAdminServer('127.0.0.1', 0, {
    table: () => null, ready: () => true, rejected: () => 0, lastError: () => null,
    appProbers: { probers, podIp, log: (l) => lines.push(l) },
  });
  cleanups.push(() => a.close());
  return a;
}

const probe = (a: AdminServer, path: string, headers: http.OutgoingHttpHeaders = {}): ReturnType<typeof send> =>
  send({ port: a.port, path, headers: { 'user-agent': 'kube-probe/1.31', ...headers } });

describe('httpGet probes', () => {
  test('a passing probe reaches the app on the pod IP with its path, query and the kubelet\'s User-Agent', async () => {
    const a = await app((_q, s) => s.end('fine'), '127.0.0.2');
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/healthz?full=1', port: a.port } } }, '127.0.0.2');
    const r = await probe(adm, '/app-health/web/livez');
    assert.equal(r.status, 200);
    assert.equal(r.text, `ok: GET http://127.0.0.2:${a.port}/healthz?full=1: HTTP 200\n`);
    assert.equal(a.seen.length, 1);
    assert.equal(a.seen[0]!.url, '/healthz?full=1');
    assert.equal(a.seen[0]!.headers['user-agent'], 'kube-probe/1.31');
    assert.equal(a.seen[0]!.headers.host, `127.0.0.2:${a.port}`);
    assert.equal(a.seen[0]!.headers.connection, 'close', 'no keep-alive, as the kubelet');
  });

  test('the probe\'s headers replace the defaults; Host sets the authority; repeated names send both values', async () => {
    const a = await app((_q, s) => s.end());
    const adm = await admin({ '/app-health/web/readyz': { httpGet: { path: 'ready', port: a.port, httpHeaders: [
      { name: 'Host', value: 'web.example' }, { name: 'User-Agent', value: 'custom' }, { name: 'X-Tag', value: 'a' }, { name: 'x-tag', value: 'b' },
    ] } } });
    assert.equal((await probe(adm, '/app-health/web/readyz')).status, 200);
    const h = a.seen[0]!.headers;
    assert.equal(a.seen[0]!.url, '/ready');
    assert.equal(h.host, 'web.example');
    assert.equal(h['user-agent'], 'custom');
    assert.equal(h['x-tag'], 'a, b');
  });

  test('an app answering 500 fails the probe with 503 and the app\'s status; the agent logs it once', async () => {
    const a = await app((_q, s) => {
      s.statusCode = 500;
      s.end('boom');
    });
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/healthz', port: a.port } } });
    for (let i = 0; i < 3; i++) {
      const r = await probe(adm, '/app-health/web/livez');
      assert.equal(r.status, 503);
      assert.match(r.text, /^failed: GET http:\/\/127\.0\.0\.1:\d+\/healthz: HTTP 500\n$/);
    }
    assert.equal(lines.filter((l) => l.includes('app probe /app-health/web/livez failed')).length, 1);
  });

  test('redirects: same host followed, another host counted as success, a loop fails after 10', async () => {
    const a = await app((q, s) => {
      const to = q.url === '/start' ? '/final' : q.url === '/away' ? 'http://elsewhere.example/' : q.url === '/loop' ? '/loop' : null;
      if (to) s.writeHead(302, { location: to }).end();
      else s.writeHead(q.url === '/final' ? 500 : 200).end();
    });
    const adm = await admin({
      '/app-health/a/livez': { httpGet: { path: '/start', port: a.port } },
      '/app-health/b/livez': { httpGet: { path: '/away', port: a.port } },
      '/app-health/c/livez': { httpGet: { path: '/loop', port: a.port } },
    });
    const followed = await probe(adm, '/app-health/a/livez');
    assert.equal(followed.status, 503, 'the redirect target answered 500');
    assert.match(followed.text, /\/final: HTTP 500/);
    const away = await probe(adm, '/app-health/b/livez');
    assert.equal(away.status, 200);
    assert.match(away.text, /redirect to another host \(elsewhere\.example\) not followed/);
    const loop = await probe(adm, '/app-health/c/livez');
    assert.equal(loop.status, 503);
    assert.match(loop.text, /stopped after 10 redirects/);
    assert.equal(a.seen.filter((q) => q.url === '/loop').length, 11);
  });

  test('HTTPS: the app\'s certificate is not verified, as the kubelet does not', async () => {
    const { cert, key } = selfSignedCert(['not-the-pod.example']);
    const port = await listen(https.createServer({ cert, key }, (_q, s) => s.end('ok')));
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/', port, scheme: 'HTTPS' } } });
    const r = await probe(adm, '/app-health/web/livez');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /GET https:\/\/127\.0\.0\.1:\d+\/: HTTP 200/);
  });

  test('nothing listening: 503 naming the refusal', async () => {
    const port = await listen(net.createServer());
    await cleanups.pop()!(); // closed again: the port is now free
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/', port } } });
    const r = await probe(adm, '/app-health/web/livez');
    assert.equal(r.status, 503);
    assert.match(r.text, /ECONNREFUSED/);
  });

  test('an app that never answers fails within the probe\'s timeout', async () => {
    const a = await app(() => undefined);
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/', port: a.port }, timeoutSeconds: 1 } });
    const r = await probe(adm, '/app-health/web/livez');
    assert.equal(r.status, 503);
    assert.match(r.text, /no answer within 1000 ms/);
  });

  test('the probe\'s own host wins over the pod IP', async () => {
    const a = await app((_q, s) => s.end(), '127.0.0.3');
    const adm = await admin({ '/app-health/web/livez': { httpGet: { path: '/', port: a.port, host: '127.0.0.3' } } }, '127.0.0.2');
    assert.equal((await probe(adm, '/app-health/web/livez')).status, 200);
  });
});

describe('an IPv6 pod IP', () => {
  test('is bracketed in URLs and dialled as is by every kind of probe', async () => {
    const a = await app((_q, s) => s.end(), '::1');
    const adm = await admin({
      '/app-health/web/livez': { httpGet: { path: '/healthz', port: a.port } },
      '/app-health/web/readyz': { tcpSocket: { port: a.port } },
    }, '::1');
    const live = await probe(adm, '/app-health/web/livez');
    assert.equal(live.status, 200, live.text);
    assert.equal(live.text, `ok: GET http://[::1]:${a.port}/healthz: HTTP 200\n`);
    assert.equal(a.seen[0]!.headers.host, `[::1]:${a.port}`);
    assert.equal((await probe(adm, '/app-health/web/readyz')).text, `ok: tcp [::1]:${a.port}: connected\n`);
  });
});

describe('tcpSocket probes', () => {
  test('connects to the pod IP: 200 when the port accepts, 503 when it refuses', async () => {
    const port = await listen(net.createServer((s) => s.destroy()), '127.0.0.2');
    const adm = await admin({
      '/app-health/db/livez': { tcpSocket: { port } },
      '/app-health/db/readyz': { tcpSocket: { port: port === 65535 ? 1 : port + 1 } },
    }, '127.0.0.2');
    const ok = await probe(adm, '/app-health/db/livez');
    assert.equal(ok.status, 200);
    assert.equal(ok.text, `ok: tcp 127.0.0.2:${port}: connected\n`);
    const refused = await probe(adm, '/app-health/db/readyz');
    assert.equal(refused.status, 503);
    assert.match(refused.text, /^failed: tcp 127\.0\.0\.2:\d+: connect ECONNREFUSED/);
  });
});

describe('gRPC health probes', () => {
  /** grpc.health.v1 server: statuses by service name; 'missing' answers UNIMPLEMENTED. */
  async function healthServer(statuses: Record<string, number | 'missing'>): Promise<{ port: number; asked: { service: string; ua: string }[] }> {
    const asked: { service: string; ua: string }[] = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const service = body.length > 7 ? body.subarray(7).toString() : '';
        asked.push({ service, ua: String(headers['user-agent']) });
        const status = headers[':path'] === '/grpc.health.v1.Health/Check' ? statuses[service] ?? 'missing' : 'missing';
        if (status === 'missing') {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown%20service' }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
      });
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (s) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    const port = await listen(server);
    cleanups.push(() => {
      for (const s of sessions) s.destroy();
      return Promise.resolve();
    });
    return { port, asked };
  }

  test('SERVING passes; NOT_SERVING and an unknown service fail with the reason', async () => {
    const h = await healthServer({ '': 1, 'api': 2 });
    const adm = await admin({
      '/app-health/api/livez': { grpc: { port: h.port } },
      '/app-health/api/readyz': { grpc: { port: h.port, service: 'api' } },
      '/app-health/api/startupz': { grpc: { port: h.port, service: 'other' } },
    });
    const live = await probe(adm, '/app-health/api/livez');
    assert.equal(live.status, 200);
    assert.equal(live.text, `ok: grpc 127.0.0.1:${h.port}: SERVING\n`);
    const ready = await probe(adm, '/app-health/api/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /service 'api': service unhealthy \(responded with "NOT_SERVING"\)/);
    const startup = await probe(adm, '/app-health/api/startupz');
    assert.equal(startup.status, 503);
    assert.match(startup.text, /does not implement the gRPC health protocol \(grpc\.health\.v1\.Health\): unknown service/);
    assert.deepEqual(h.asked, [{ service: '', ua: 'kube-probe/1.31' }, { service: 'api', ua: 'kube-probe/1.31' }, { service: 'other', ua: 'kube-probe/1.31' }]);
  });

  test('a port that does not speak HTTP/2 fails the probe, within the timeout', async () => {
    const port = await listen(net.createServer((s) => s.on('data', () => undefined)));
    const adm = await admin({ '/app-health/api/livez': { grpc: { port }, timeoutSeconds: 1 } });
    const r = await probe(adm, '/app-health/api/livez');
    assert.equal(r.status, 503);
    assert.match(r.text, /^failed: grpc 127\.0\.0\.1:\d+: /);
  });
});

describe('paths', () => {
  test('an unknown probe path is a 404 listing the known ones; other admin paths still work', async () => {
    const adm = await admin({ '/app-health/web/livez': { tcpSocket: { port: 1 } } });
    const r = await probe(adm, '/app-health/db/livez');
    assert.equal(r.status, 404);
    assert.equal(r.text, 'no app probe at /app-health/db/livez (known: /app-health/web/livez)\n');
    assert.equal((await probe(adm, '/ready')).status, 200);
  });

  test('an admin server without probers answers 404 under /app-health/', async () => {
    const a = await startAdminServer('127.0.0.1', 0, { table: () => null, ready: () => false, rejected: () => 0, lastError: () => null });
    cleanups.push(() => a.close());
    const r = await probe(a, '/app-health/web/livez');
    assert.equal(r.status, 404);
    assert.match(r.text, /known: none/);
  });
});

describe('in the sidecar', () => {
  test('startSidecar serves the probes on its admin port and logs failures through its logger', async () => {
    const a = await app((q, s) => {
      s.statusCode = q.url === '/ok' ? 204 : 500;
      s.end();
    });
    const proxy = await startSidecar({
      namespace: 'default', source: new ManualTableSource(table({})), host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      log: (l) => lines.push(l),
      appProbers: { probers: { '/app-health/web/livez': { httpGet: { path: '/ok', port: a.port } }, '/app-health/web/readyz': { httpGet: { path: '/bad', port: a.port } } } },
    });
    cleanups.push(() => proxy.close());
    assert.equal((await send({ port: proxy.ports.admin!, path: '/app-health/web/livez' })).status, 200);
    assert.equal((await send({ port: proxy.ports.admin!, path: '/app-health/web/readyz' })).status, 503);
    assert.ok(lines.some((l) => /app probe \/app-health\/web\/readyz failed: GET .*\/bad: HTTP 500/.test(l)), lines.join('\n'));
  });
});
