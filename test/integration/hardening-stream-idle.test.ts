// Issue 15 item 3, stream idle timeout (Envoy's stream_idle_timeout): an exchange with no
// request or response byte for the timeout is ended: 408 for an HTTP/1.1 client whose response
// has not started, a cut response (h1 connection closed, h2 RST_STREAM) otherwise, and its
// upstream request is cancelled. A slow upload that keeps sending is not cut.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { ManualTableSource } from '../../agent/table-source.ts';
import { startSidecar, type RunningProxy } from '../../agent/sidecar.ts';
import * as T from '../support/routing-tables.ts';
import { quiet, rawExchange, rawUpstream } from './hardening-helpers.ts';

const IDLE_MS = 400;

describe('stream idle timeout', () => {
  let up: Awaited<ReturnType<typeof rawUpstream>>;
  let upClosed = 0;
  let proxy: RunningProxy;
  before(async () => {
    // /stall: head and 2 of 10 body bytes, then silence; /ok: answered; anything else: never.
    up = await rawUpstream((head, s) => {
      s.once('close', () => upClosed++);
      if (head.startsWith('GET /stall')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok');
      if (head.startsWith('GET /ok')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    const be = T.backend('default', 'svc', 80, [{ port: up.port }]);
    const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: [T.rule({ backends: [{ backend: be.name }] })] });
    proxy = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, streamIdleTimeoutMs: IDLE_MS, defaultRequestTimeoutMs: 0,
      originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
    });
  });
  after(async () => {
    await proxy.close();
    up.close();
  });

  test('h1: an upload that stops sending gets 408 and its upstream request is cancelled', async () => {
    const closedBefore = upClosed;
    const t0 = Date.now();
    const r = await rawExchange(proxy.ports.outbound!, 'POST /upload HTTP/1.1\r\nHost: svc.default\r\nContent-Length: 100\r\n\r\nx', 3_000);
    assert.match(r.text, /^HTTP\/1.1 408/);
    assert.ok(r.closed, 'connection closed after the 408');
    assert.ok(Date.now() - t0 >= IDLE_MS, 'not before the timeout');
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(upClosed > closedBefore, 'upstream request cancelled');
  });

  test('h1: an upload that keeps sending a byte every 100 ms is not cut', async () => {
    const s = net.connect(proxy.ports.outbound!, '127.0.0.1');
    s.on('error', () => undefined);
    let text = '';
    let closed = false;
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.on('close', () => {
      closed = true;
    });
    s.write('POST /upload HTTP/1.1\r\nHost: svc.default\r\nContent-Length: 100\r\n\r\n');
    for (let i = 0; i < 15; i++) {
      await new Promise((res) => setTimeout(res, 100));
      s.write('x');
    }
    assert.equal(text, '');
    assert.equal(closed, false);
    s.destroy();
  });

  test('h1: a response that stalls mid-body is cut (connection closed, body short)', async () => {
    const r = await rawExchange(proxy.ports.outbound!, 'GET /stall HTTP/1.1\r\nHost: svc.default\r\n\r\n', 3_000);
    assert.match(r.text, /^HTTP\/1.1 200/);
    assert.ok(r.text.endsWith('ok'), 'only the two bytes sent');
    assert.ok(r.closed, 'the proxy closed the connection');
  });

  test('h2: a stream waiting with no bytes either way is reset', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.outbound!}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':path': '/wait', ':authority': 'svc.default', ':method': 'POST' }, { endStream: false });
    stream.write('x');
    const code = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('stream still open after 3 s')), 3_000);
      stream.on('error', () => undefined);
      stream.on('close', () => {
        clearTimeout(t);
        resolve(stream.rstCode ?? -1);
      });
    });
    assert.notEqual(code, http2.constants.NGHTTP2_NO_ERROR);
    session.destroy();
  });

  test('exchanges that end are no longer watched: the sweep holds none of them', async (t) => {
    // One shared sweep watches every exchange (no timer or listener per request); a finished one
    // must leave it when its response closes, not at the next sample: with a 60 s timeout that
    // is 15 s away, and every request of that span would be retained.
    const be = T.backend('default', 'svc', 80, [{ port: up.port }]);
    const svc = T.service({ name: 'svc', clusterIP: '10.96.0.1', port: 80, rules: [T.rule({ backends: [{ backend: be.name }] })] });
    const slowSweep = await startSidecar({
      namespace: 'default', source: new ManualTableSource(T.table({ services: [svc], backends: [be] })), host: '127.0.0.1',
      ports: { outbound: 0, inbound: 0, admin: 0 }, explicit: false, log: quiet, streamIdleTimeoutMs: 60_000,
      originalDestination: () => ({ address: '10.96.0.1', port: 80 }),
    });
    t.after(() => slowSweep.close());
    const answers = await Promise.all(Array.from({ length: 20 }, () => rawExchange(slowSweep.ports.outbound!, 'GET /ok HTTP/1.1\r\nHost: svc.default\r\nConnection: close\r\n\r\n', 3_000)));
    assert.ok(answers.every((r) => r.text.startsWith('HTTP/1.1 200')), answers.map((r) => r.text.slice(0, 20)).join(' | '));
    assert.equal(slowSweep.core.streamIdle!.size, 0, 'every exchange was forgotten when it closed');
  });
});
