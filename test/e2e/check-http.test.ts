// The e2e comparison itself, without namespaces: it must pass what the suite passes and fail
// what the suite fails (a check that cannot fail would make the conformance e2e meaningless).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpectation } from '../golden/conformance/expectations.ts';
import { checkHttpOutcome, checkMirrors, headersToSend, type HttpResult } from './check-http.ts';

const podServices = new Map([
  ['echo-v1-abc', new Set(['ns/echo', 'ns/echo-v1'])],
  ['echo-v2-def', new Set(['ns/echo', 'ns/echo-v2'])],
]);

function expectation(request: Record<string, unknown>) {
  return parseExpectation({ test: 't', source: 's', defaults: { mesh: { clientNamespace: 'ns' }, host: 'echo' }, requests: [request] }, 'inline').requests[0]!;
}

function echo(pod: string, extra: Partial<{ path: string; host: string; headers: Record<string, string[]> }> = {}, responseHeaders: Record<string, string[]> = {}): HttpResult {
  const body = JSON.stringify({ path: '/', host: 'echo', method: 'GET', headers: {}, namespace: 'ns', pod, ...extra });
  return { status: 200, headers: { 'content-type': ['application/json'], ...responseHeaders }, body };
}

describe('check-http (what the conformance e2e compares)', () => {
  test('the right backend, path, host and headers pass; each wrong one fails', () => {
    const q = expectation({ path: '/x', headers: { A: '1' }, expect: { status: 200, backend: 'ns/echo-v1', requestHeaders: { 'X-Add': 'a,b' } } });
    const good = echo('echo-v1-abc', { path: '/x', headers: { 'X-Add': ['a', 'b'] } });
    assert.deepEqual(checkHttpOutcome(q, 'echo', [good], podServices), []);
    assert.match(checkHttpOutcome(q, 'echo', [echo('echo-v2-def', { path: '/x', headers: { 'X-Add': ['a', 'b'] } })], podServices).join(), /backend: answered by pod ns\/echo-v2-def/);
    assert.match(checkHttpOutcome(q, 'echo', [echo('echo-v1-abc', { path: '/y', headers: { 'X-Add': ['a', 'b'] } })], podServices).join(), /upstream path/);
    // One line "a, b" is not the suite's "a,b" (it joins separate lines with ",").
    assert.match(checkHttpOutcome(q, 'echo', [echo('echo-v1-abc', { path: '/x', headers: { 'X-Add': ['a, b'] } })], podServices).join(), /X-Add: got 'a, b'/);
    assert.match(checkHttpOutcome(q, 'echo', [{ error: 'ECONNREFUSED' }], podServices).join(), /request failed: ECONNREFUSED/);
  });

  test('gRPC errors compare through the HTTP mapping (Unimplemented stands for 404)', () => {
    const q = expectation({ method: 'POST', headers: { 'content-type': 'application/grpc' }, expect: { status: 404 } });
    const grpc = (code: string): HttpResult => ({ status: 200, headers: { 'content-type': ['application/grpc'], 'grpc-status': [code] }, body: '' });
    assert.deepEqual(checkHttpOutcome(q, 'echo', [grpc('12')], podServices), []);
    assert.match(checkHttpOutcome(q, 'echo', [grpc('14')], podServices).join(), /got 503 \(grpc-status 14\), expected 404/);
  });

  test('splits are judged over all attempts with the suite tolerance', () => {
    const q = expectation({ expect: { status: 200, split: { 'ns/echo-v1': 70, 'ns/echo-v2': 30 } } });
    const mix = (v1: number): HttpResult[] => Array.from({ length: 100 }, (_, i) => echo(i < v1 ? 'echo-v1-abc' : 'echo-v2-def'));
    assert.deepEqual(checkHttpOutcome(q, 'echo', mix(72), podServices), []);
    assert.notDeepEqual(checkHttpOutcome(q, 'echo', mix(50), podServices), []);
  });

  test('response headers from the backend are sent as X-Echo-Set-Header when the case says so', () => {
    const q = expectation({ headers: { 'Some-Other-Header': 'val' }, expect: { status: 200, responseHeaders: { 'Some-Other-Header': 'val' } } });
    assert.deepEqual(headersToSend(q, { backendSetsResponseHeaders: true }), { 'X-Echo-Set-Header': 'Some-Other-Header:val' });
    assert.deepEqual(headersToSend(q, {}), { 'Some-Other-Header': 'val' });
    assert.deepEqual(checkHttpOutcome(q, 'echo', [echo('echo-v1-abc', {}, { 'some-other-header': ['val'] })], podServices, { backendSetsResponseHeaders: true }), []);
    assert.match(checkHttpOutcome(q, 'echo', [echo('echo-v1-abc')], podServices, { backendSetsResponseHeaders: true }).join(), /response header Some-Other-Header/);
  });

  test('mirrors: every attempt must reach the mirror Service, bounded wait', async () => {
    const q = expectation({ expect: { status: 200, mirrors: { 'ns/echo-v2': 100 } } });
    const seen = (pod: string): string => `{"seen":"id-0","pod":"${pod}","namespace":"ns"}\n`;
    assert.deepEqual(await checkMirrors(q, 'id', 1, () => [seen('echo-v1-abc') + seen('echo-v2-def')], podServices), []);
    const started = Date.now();
    assert.match((await checkMirrors(q, 'id', 1, () => [seen('echo-v1-abc')], podServices)).join(), /received 0 of 1/);
    assert.ok(Date.now() - started < 5_000);
  });
});
