// A route with a RequestMirror or retries must not hold a streaming request body until it ends:
// a bidirectional stream whose client waits for the server's first message would hang. Only a
// body announced (Content-Length) within the bound is buffered for replay. A streamed body is
// still mirrored (gRPC unary calls have no Content-Length) — from a bounded copy, once the
// request is complete — without ever holding the main request back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import * as T from '../support/routing-tables.ts';

describe('streaming bodies on replaying routes', () => {
  let srv: http2.Http2Server;
  let shadowSrv: http2.Http2Server;
  let proxy: RunningProxy;
  const logged: string[] = [];
  const mirrored: Buffer[] = [];
  before(async () => {
    srv = http2.createServer();
    srv.on('stream', (st) => {
      st.respond({ ':status': 200, 'content-type': 'application/grpc' });
      st.on('data', (d: Buffer) => st.write(d));
      st.on('end', () => st.end());
      st.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    shadowSrv = http2.createServer();
    shadowSrv.on('stream', (st) => {
      const chunks: Buffer[] = [];
      st.on('data', (d: Buffer) => chunks.push(d));
      st.on('end', () => {
        mirrored.push(Buffer.concat(chunks));
        st.respond({ ':status': 200 });
        st.end();
      });
      st.on('error', () => undefined);
    });
    await new Promise<void>((r) => shadowSrv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    const be = T.backend('default', 'grpc', 80, [{ port }], 'kubernetes.io/h2c');
    const shadow = T.backend('default', 'shadow', 80, [{ port: (shadowSrv.address() as net.AddressInfo).port }], 'kubernetes.io/h2c');
    const rules = [
      T.rule({ index: 0, path: { type: 'PathPrefix', value: '/mirror' }, backends: [{ backend: be.name }], filters: [{ type: 'RequestMirror', backend: shadow.name, percent: 100 } as never] }),
      T.rule({ index: 1, path: { type: 'PathPrefix', value: '/retry' }, backends: [{ backend: be.name }], retry: { attempts: 2, codes: [503], backoffMs: 10 } }),
    ];
    const svc = T.service({ name: 'grpc', clusterIP: '10.96.0.9', port: 80, appProtocol: 'kubernetes.io/h2c', rules });
    proxy = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be, shadow] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: (m) => logged.push(m), originalDestination: () => ({ address: '10.96.0.9', port: 80 }),
    });
  });
  after(async () => {
    await proxy.close();
    srv.close();
    shadowSrv.close();
  });

  function firstMessage(path: string): Promise<boolean> {
    return new Promise((resolve) => {
      const s = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
      s.on('error', () => undefined);
      const st = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
      st.on('error', () => undefined);
      st.write(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
      const done = (ok: boolean): void => {
        clearTimeout(t);
        st.close();
        s.destroy();
        resolve(ok);
      };
      const t = setTimeout(() => done(false), 2_000);
      st.once('data', () => done(true));
    });
  }

  test('mirror route: the server\'s first message arrives before the client ends', async () => {
    assert.equal(await firstMessage('/mirror/Chat'), true);
    assert.equal(await firstMessage('/mirror/Chat'), true);
    // Those streams never completed, so there is nothing whole to mirror.
    assert.equal(mirrored.length, 0);
  });

  test('mirror route: a complete streamed request (gRPC unary, no Content-Length) is mirrored whole', async () => {
    const s = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    s.on('error', () => undefined);
    const message = Buffer.from([0, 0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
    const st = s.request({ ':method': 'POST', ':path': '/mirror/Unary', 'content-type': 'application/grpc', te: 'trailers' });
    st.on('error', () => undefined);
    st.end(message);
    await new Promise<void>((r) => { st.on('close', () => r()); st.resume(); });
    s.destroy();
    for (let i = 0; i < 100 && mirrored.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(mirrored, [message]);
  });

  test('retry route: the server\'s first message arrives before the client ends', async () => {
    assert.equal(await firstMessage('/retry/Chat'), true);
  });
});
