// The request checks must be able to fail: real routing tables from golden outputs, requests
// whose expectations are deliberately wrong, and the failure each must produce.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compileTable } from '../../../agent/route/index.ts';
import type { RoutingTable } from '../../../api/routing-table.ts';
import type { KubeObject } from '../../../controller/translate/snapshot.ts';
import { runRequest } from './check-requests.ts';
import { parseExpectation } from './expectations.ts';

const GW = 'gateway-conformance-infra/same-namespace';
const ADDRESSES = { [GW]: ['192.0.2.10'] };

function table(file: string): ReturnType<typeof compileTable> {
  const out = parse(readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8')) as { ir: RoutingTable };
  return compileTable(out.ir);
}

function check(file: string, request: Record<string, unknown>, services: KubeObject[] = []): string[] {
  const exp = parseExpectation({ test: 'T', source: 's', defaults: { gateway: GW, port: 80 }, requests: [request] }, 'inline');
  return runRequest(exp.requests[0]!, table(file), services, ADDRESSES);
}

describe('check-requests', () => {
  const headers = './gateway-http/HTTPRouteRequestHeaderModifier.out.yaml';

  test('passes a request whose expectation holds', () => {
    assert.deepEqual(check(headers, { path: '/set', expect: { status: 200, backend: 'gateway-conformance-infra/infra-backend-v1', requestHeaders: { 'X-Header-Set': 'set-overwrites-values' } } }), []);
  });

  test('reports a wrong backend, status, header value and a header that should be absent', () => {
    assert.match(check(headers, { path: '/set', expect: { status: 200, backend: 'gateway-conformance-infra/infra-backend-v2' } }).join('\n'), /backend: got \[gateway-conformance-infra\/infra-backend-v1\]/);
    assert.match(check(headers, { path: '/nowhere', expect: { status: 200 } }).join('\n'), /status: got 404/);
    assert.match(check(headers, { path: '/add', headers: { 'X-Header-Add': 'a' }, expect: { requestHeaders: { 'X-Header-Add': 'add-appends-values' } } }).join('\n'), /got 'a,add-appends-values'/);
    assert.match(check(headers, { path: '/set', headers: { Keep: 'x' }, expect: { absentRequestHeaders: ['Keep'] } }).join('\n'), /Keep should be absent/);
  });

  test('reports a split that differs from the weights', () => {
    const failures = check('./gateway-http/HTTPRouteWeight.out.yaml', { path: '/', expect: { split: { 'gateway-conformance-infra/infra-backend-v1': 50, 'gateway-conformance-infra/infra-backend-v2': 50 } } });
    assert.equal(failures.length, 2);
  });

  test('reports a redirect whose Location differs, and a timeout that should have fired', () => {
    assert.match(check('./gateway-http/HTTPRouteRedirectPort.out.yaml', { path: '/port', expect: { status: 302, redirect: { port: '9999' } } }).join('\n'), /redirect port: got '8083'/);
    assert.match(check('./gateway-http/HTTPRouteTimeoutRequest.out.yaml', { path: '/request-timeout?delay=1s', expect: { status: 200 } }).join('\n'), /status: got 504/);
  });

  test('reports missing or wrong mirrors', () => {
    assert.match(check('./gateway-http/HTTPRouteRequestMirror.out.yaml', { path: '/mirror', expect: { mirrors: { 'gateway-conformance-infra/infra-backend-v3': 100 } } }).join('\n'), /mirrors: got gateway-conformance-infra\/infra-backend-v2=100%/);
  });
});
