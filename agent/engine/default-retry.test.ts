// Which failed attempts the default retry (ADR 0022) may repeat elsewhere: those that certainly
// reached no app. A table of errors as the two paths meet them (our connect error, undici's and
// Node's socket errors, node:http2's stream errors), by method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamConnectError } from './connect.ts';
import { unreachedCause, type UnreachedCause } from './default-retry.ts';

function coded(code: string, message = code, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

const refused = new UpstreamConnectError({ address: '10.0.0.1', port: 80 }, coded('ECONNREFUSED'));

const cases: { name: string; err: unknown; method: string; want: UnreachedCause | null }[] = [
  { name: 'our connect error (fast path, undici connector), any method', err: refused, method: 'POST', want: 'connect-failure' },
  { name: 'a refused connect wrapped by another error', err: new Error('session failed', { cause: coded('ECONNREFUSED') }), method: 'POST', want: 'connect-failure' },
  { name: 'host unreachable', err: coded('EHOSTUNREACH'), method: 'PATCH', want: 'connect-failure' },
  { name: 'host unreachable from connect()', err: Object.assign(coded('EHOSTUNREACH'), { syscall: 'connect' }), method: 'POST', want: 'connect-failure' },
  { name: 'host unreachable on an established socket (retransmissions timed out after the request was written), POST', err: Object.assign(coded('EHOSTUNREACH'), { syscall: 'read' }), method: 'POST', want: null },
  { name: 'undici: other side closed, GET, reuse unknown', err: coded('UND_ERR_SOCKET', 'other side closed'), method: 'GET', want: 'connection-lost' },
  { name: 'undici: other side closed, POST', err: coded('UND_ERR_SOCKET', 'other side closed'), method: 'POST', want: null },
  { name: 'a reset, PUT (idempotent)', err: coded('ECONNRESET'), method: 'PUT', want: 'connection-lost' },
  { name: 'fast path: a connection closed (FIN) before any response byte, GET', err: coded('E_UPSTREAM_CLOSED', 'upstream closed the connection'), method: 'GET', want: 'connection-lost' },
  { name: 'fast path: a connection closed (FIN) before any response byte, POST', err: coded('E_UPSTREAM_CLOSED', 'upstream closed the connection'), method: 'POST', want: null },
  { name: 'h2: refused stream, POST', err: coded('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'), method: 'POST', want: 'refused-stream' },
  { name: 'h2: stream opened after GOAWAY', err: coded('ERR_HTTP2_GOAWAY_SESSION'), method: 'POST', want: 'refused-stream' },
  { name: 'h2: another stream error', err: coded('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_INTERNAL_ERROR'), method: 'GET', want: null },
  { name: 'a queue bound or timeout (no socket error)', err: coded('E_UPSTREAM_QUEUE_FULL'), method: 'GET', want: null },
  { name: 'not an error at all', err: 'boom', method: 'GET', want: null },
];

for (const c of cases) {
  test(`unreachedCause: ${c.name}`, () => {
    assert.equal(unreachedCause(c.err, c.method), c.want);
  });
}

test('unreachedCause: a cause chain is followed a bounded number of steps', () => {
  let deep: Error = coded('ECONNREFUSED');
  for (let i = 0; i < 10; i++) deep = new Error(`wrap ${i}`, { cause: deep });
  assert.equal(unreachedCause(deep, 'GET'), null);
  const cyclic = new Error('cycle');
  (cyclic as { cause?: unknown }).cause = cyclic;
  assert.equal(unreachedCause(cyclic, 'GET'), null);
});
