// Protocol handling through a real sidecar: HTTP/2 prior knowledge (h2c), gRPC with trailers,
// WebSocket upgrades, opaque TCP (client-first and server-first), protocol detection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { WebSocket } from 'ws';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { backend, service, table } from '../support/routing-tables.ts';

const quiet = (): void => undefined;

function startGrpcServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':path'] === '/test.Echo/Fail') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise<void>((r) => server.close(() => r())),
    }));
  });
}

interface H2Result {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | null;
}

function h2Request(port: number, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Result> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request(headers, { endStream: body === undefined });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on('response', (h: http2.IncomingHttpHeaders) => {
      resHeaders = h;
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({ headers: resHeaders, body: Buffer.concat(chunks), trailers });
    });
    stream.on('error', reject);
    if (body) stream.end(body);
  });
}

describe('sidecar protocols', () => {
  let echo: EchoServer;
  let grpc: { port: number; close: () => Promise<void> };
  let tcpEcho: net.Server;
  let greeter: net.Server;
  let proxy: RunningProxy;
  let dest = { address: '10.96.0.1', port: 80 };

  before(async () => {
    echo = await startEchoServer({ pod: 'echo-0', namespace: 'default' });
    grpc = await startGrpcServer();
    tcpEcho = net.createServer((s) => s.pipe(s));
    greeter = net.createServer((s) => {
      s.write('220 hello\r\n');
      s.on('data', (d) => s.end(`got ${String(d)}`));
    });
    await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => greeter.listen(0, '127.0.0.1', r));
    const source = new ManualTableSource(table({
      backends: [
        backend('default', 'echo', 80, [{ port: echo.port }]),
        backend('default', 'grpc', 9000, [{ port: grpc.port }], 'grpc'),
        backend('default', 'tcp', 7000, [{ port: (tcpEcho.address() as net.AddressInfo).port }]),
        backend('default', 'grpc-down', 9000, [{ port: 1 }], 'grpc'),
        backend('default', 'db', 5432, [{ port: (greeter.address() as net.AddressInfo).port }], 'postgresql'),
      ],
      services: [
        service({ name: 'echo', clusterIP: '10.96.0.1', port: 80 }),
        service({ name: 'grpc', clusterIP: '10.96.0.2', port: 9000, appProtocol: 'grpc' }),
        service({ name: 'tcp', clusterIP: '10.96.0.3', port: 7000 }),
        service({ name: 'grpc-down', clusterIP: '10.96.0.4', port: 9000, appProtocol: 'grpc' }),
        service({ name: 'db', clusterIP: '10.96.0.5', port: 5432, appProtocol: 'postgresql' }),
      ],
    }));
    proxy = await startSidecar({
      namespace: 'default', source, host: '127.0.0.1', ports: { outbound: 0, inbound: 0, admin: 0 },
      originalDestination: () => dest, log: quiet, detectTimeoutMs: 3_000,
    });
  });
  after(async () => {
    await proxy.close();
    await echo.close();
    await grpc.close();
    tcpEcho.close();
    greeter.close();
  });

  test('h2c prior knowledge to an HTTP/1.1 backend', async () => {
    dest = { address: '10.96.0.1', port: 80 };
    const r = await h2Request(proxy.ports.outbound!, { ':method': 'GET', ':path': '/h2?x=1', ':authority': 'echo.default' });
    assert.equal(r.headers[':status'], 200);
    const captured = JSON.parse(r.body.toString()) as { path: string; host: string; proto: string };
    assert.equal(captured.path, '/h2?x=1');
    assert.equal(captured.host, 'echo.default');
    assert.equal(captured.proto, 'HTTP/1.1');
  });

  test('gRPC: body, response trailers and trailers-only errors', async () => {
    dest = { address: '10.96.0.2', port: 9000 };
    const msg = Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]);
    const ok = await h2Request(proxy.ports.outbound!, {
      ':method': 'POST', ':path': '/test.Echo/Say', ':authority': 'grpc.default:9000', 'content-type': 'application/grpc', te: 'trailers',
    }, msg);
    assert.equal(ok.headers[':status'], 200);
    assert.deepEqual(ok.body, msg);
    assert.equal(ok.trailers?.['grpc-status'], '0');
    const fail = await h2Request(proxy.ports.outbound!, {
      ':method': 'POST', ':path': '/test.Echo/Fail', ':authority': 'grpc.default:9000', 'content-type': 'application/grpc', te: 'trailers',
    }, msg);
    assert.equal(fail.headers['grpc-status'] ?? fail.trailers?.['grpc-status'], '5');
  });

  test('gRPC callers get proxy errors as grpc-status (UNAVAILABLE when nothing answers)', async () => {
    dest = { address: '10.96.0.4', port: 9000 };
    const r = await h2Request(proxy.ports.outbound!, {
      ':method': 'POST', ':path': '/test.Echo/Say', ':authority': 'grpc-down.default:9000', 'content-type': 'application/grpc', te: 'trailers',
    }, Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.headers['grpc-status'], '14');
  });

  test('WebSocket upgrade is spliced end to end', async () => {
    dest = { address: '10.96.0.1', port: 80 };
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.ports.outbound!}/chat`, { headers: { host: 'echo.default' } });
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => {
        ws.send('one');
        ws.send('two');
      });
      ws.on('message', (d: Buffer) => {
        replies.push(d.toString());
        if (replies.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    assert.deepEqual(replies, ['echo-0: one', 'echo-0: two']);
  });

  function tcpExchange(port: number, payload: Buffer | null, expectBytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let got = 0;
      c.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (got >= expectBytes) {
          c.end();
          resolve(Buffer.concat(chunks));
        }
      });
      c.on('error', reject);
      c.setTimeout(5_000, () => reject(new Error('tcp timeout')));
      if (payload) c.write(payload);
    });
  }

  test('opaque TCP to a Service port is forwarded byte for byte', async () => {
    dest = { address: '10.96.0.3', port: 7000 };
    const payload = Buffer.from([0x00, 0x01, 0xff, 0x16, 0x03, 0x47, 0x45, 0x54, 0x20, 0x0d, 0x0a]);
    assert.deepEqual(await tcpExchange(proxy.ports.outbound!, payload, payload.length), payload);
  });

  test('a server-first appProtocol skips detection: the greeting comes at once', async () => {
    dest = { address: '10.96.0.5', port: 5432 };
    const t0 = Date.now();
    const greeting = await tcpExchange(proxy.ports.outbound!, null, 11);
    assert.equal(greeting.toString(), '220 hello\r\n');
    assert.ok(Date.now() - t0 < 1_500, 'no detection wait (detectTimeoutMs is 3 000)');
  });

  test('server-first protocols work after the detection timeout, to addresses outside the mesh', async () => {
    dest = { address: '127.0.0.1', port: (greeter.address() as net.AddressInfo).port };
    const greeting = await tcpExchange(proxy.ports.outbound!, null, 11);
    assert.equal(greeting.toString(), '220 hello\r\n');
  });
});
