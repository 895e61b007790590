import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessLogFormatInvalidError, entryOf, formatLine, parseAccessLogFormat } from './access-log.ts';
import type { RequestEvent } from './events.ts';

const ev: RequestEvent = {
  site: 'inbound', method: 'POST', scheme: 'http', authority: 'reviews:9080', path: '/api/v1', protocol: 'h2',
  headers: { 'x-request-id': 'req-1' }, remoteAddress: '10.0.0.1', startNs: 1_000_000n, endNs: 13_345_678n,
  rule: 'httproute/shop/reviews/rule/0', routePath: '/api', backend: null, upstream: '127.0.0.1:8080', upstreamIdentity: null,
  peerIdentity: 'spiffe://cluster.local/ns/web/sa/front', attempts: 1, status: 201, requestBytes: 12, responseBytes: 345, error: null, grpcStatus: null,
};
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const entry = entryOf(ev, traceId, new Date('2026-12-02T19:00:00.000Z'));

test('json: one object per line with every field', () => {
  assert.deepEqual(JSON.parse(formatLine('json', entry)), {
    time: '2026-12-02T19:00:00.000Z', method: 'POST', authority: 'reviews:9080', path: '/api/v1', protocol: 'h2', status: 201, reason: '',
    bytes_in: 12, bytes_out: 345, duration_ms: 12.35, upstream: '127.0.0.1:8080', route: 'httproute/shop/reviews/rule/0',
    peer_identity: 'spiffe://cluster.local/ns/web/sa/front', trace_id: traceId, request_id: 'req-1',
  });
});

test('text: Envoy-like, empty fields as "-", quoted when they hold spaces', () => {
  assert.equal(formatLine('text', entry),
    `[2026-12-02T19:00:00.000Z] "POST /api/v1 H2" 201 - 12 345 12.35 reviews:9080 127.0.0.1:8080 httproute/shop/reviews/rule/0 spiffe://cluster.local/ns/web/sa/front ${traceId} req-1`);
  const failed = entryOf({ ...ev, status: 503, error: 'upstream connect error' }, '', new Date(0));
  assert.match(formatLine('text', failed), /" 503 "upstream connect error" 12 345 .* - req-1$/);
});

test('format setting: off by default, json or text, anything else refused', () => {
  assert.equal(parseAccessLogFormat(undefined), null);
  assert.equal(parseAccessLogFormat('off'), null);
  assert.equal(parseAccessLogFormat('JSON'), 'json');
  assert.equal(parseAccessLogFormat('text'), 'text');
  assert.throws(() => parseAccessLogFormat('yaml'), AccessLogFormatInvalidError);
});
