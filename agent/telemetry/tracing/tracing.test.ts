import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptEvent, RequestEvent } from '../events.ts';
import { clientAttributes, isClientError, isServerError, otlpTracesUrl, propagationFromEnv, resourceFromEnv, samplingPolicy, serverAttributes, shouldSample, spanName, TracePropagatorUnsupportedError, TraceSamplerInvalidError } from './index.ts';

const SC = { traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', traceFlags: 1, isRemote: false };

describe('OTEL_PROPAGATORS', () => {
  const W3C_IN = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const B3_IN = { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' };
  test('unset: W3C wins, B3 accepted and echoed in the form received', () => {
    const p = propagationFromEnv({});
    assert.equal(p.extract({ ...W3C_IN, ...B3_IN }).parent?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(p.extract(B3_IN).parent?.traceId, SC.traceId);
    const out: Record<string, string> = {};
    p.inject(out, SC, 'single');
    assert.deepEqual(Object.keys(out).sort(), ['b3', 'traceparent']);
  });
  test('b3: only B3 is read; B3 single is written and a stale traceparent removed', () => {
    const p = propagationFromEnv({ OTEL_PROPAGATORS: 'b3' });
    assert.equal(p.extract(W3C_IN).parent, null, 'traceparent is not a format this hop reads');
    assert.equal(p.extract({ ...W3C_IN, ...B3_IN }).parent?.traceId, SC.traceId);
    const out: Record<string, string> = { ...W3C_IN };
    p.inject(out, SC, null);
    assert.deepEqual(out, { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' });
  });
  test('b3multi,tracecontext: both written; B3 read first', () => {
    const p = propagationFromEnv({ OTEL_PROPAGATORS: 'b3multi, tracecontext' });
    assert.equal(p.extract({ ...W3C_IN, 'x-b3-traceid': SC.traceId, 'x-b3-spanid': SC.spanId, 'x-b3-sampled': '1' }).parent?.traceId, SC.traceId);
    const out: Record<string, string> = {};
    p.inject(out, SC, null);
    assert.deepEqual(out, { 'x-b3-traceid': SC.traceId, 'x-b3-spanid': SC.spanId, 'x-b3-sampled': '1', traceparent: `00-${SC.traceId}-${SC.spanId}-01` });
  });
  test('none: nothing read, the app\'s headers are left alone', () => {
    const p = propagationFromEnv({ OTEL_PROPAGATORS: 'none' });
    assert.equal(p.extract(W3C_IN).parent, null);
    const out: Record<string, string> = { ...W3C_IN };
    p.inject(out, SC, null);
    assert.deepEqual(out, W3C_IN);
  });
  test('an unknown propagator is refused at start', () => {
    assert.throws(() => propagationFromEnv({ OTEL_PROPAGATORS: 'tracecontext,xray' }), TracePropagatorUnsupportedError);
  });
});

describe('OTLP endpoint and resource from the env', () => {
  const cases: [Record<string, string>, string | undefined, string | null][] = [
    [{}, undefined, null],
    [{}, 'http://c:4318/', 'http://c:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, undefined, 'http://c:4318/v1/traces'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9/custom' }, undefined, 'http://t:9/custom'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9/custom' }, 'http://flag:1', 'http://flag:1/v1/traces'],
  ];
  for (const [env, flag, want] of cases) test(`${JSON.stringify(env)} flag ${flag}`, () => assert.equal(otlpTracesUrl(env, flag), want));
  test('OTEL_RESOURCE_ATTRIBUTES is decoded; OTEL_SERVICE_NAME wins for service.name', () => {
    assert.deepEqual(resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=x,deployment.environment=prod%20eu', OTEL_SERVICE_NAME: 'shop' }),
      { 'service.name': 'shop', 'deployment.environment': 'prod eu' });
    assert.deepEqual(resourceFromEnv({}), {});
  });
});

describe('sampling policy from OTEL_TRACES_SAMPLER / _ARG', () => {
  const cases: [Record<string, string>, number, { parentBased: boolean; ratio: number }][] = [
    [{}, 0.01, { parentBased: true, ratio: 0.01 }],
    [{}, 1, { parentBased: true, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER_ARG: '0.25' }, 0.01, { parentBased: true, ratio: 0.25 }],
    [{ OTEL_TRACES_SAMPLER: 'always_on' }, 0.01, { parentBased: false, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, 1, { parentBased: false, ratio: 0 }],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }, 0.01, { parentBased: false, ratio: 0.5 }],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, 1, { parentBased: true, ratio: 0 }],
  ];
  for (const [env, def, want] of cases) test(`${JSON.stringify(env)} default ${def}`, () => assert.deepEqual(samplingPolicy(env, def), want));

  test('a bad sampler or ratio is refused', () => {
    assert.throws(() => samplingPolicy({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, 1), TraceSamplerInvalidError);
    assert.throws(() => samplingPolicy({ OTEL_TRACES_SAMPLER_ARG: '2' }, 1), TraceSamplerInvalidError);
  });

  test('parent-based follows the caller; a root is sampled at the ratio', () => {
    const p = { parentBased: true, ratio: 0.1 };
    assert.equal(shouldSample(p, true, () => 0.99), true);
    assert.equal(shouldSample(p, false, () => 0), false);
    assert.equal(shouldSample(p, null, () => 0.05), true);
    assert.equal(shouldSample(p, null, () => 0.15), false);
    assert.equal(shouldSample({ parentBased: false, ratio: 0 }, true), false, 'not parent-based: the parent does not count');
  });
});

describe('span names and attributes', () => {
  test('name is "{method} {route}" or the method', () => {
    assert.equal(spanName('GET', '/api'), 'GET /api');
    assert.equal(spanName('POST', null), 'POST');
    assert.equal(spanName('', null), 'HTTP');
    // the last name is kept for the next span of the same route: repeats and changes of either part
    const rows: [string, string | null, string][] = [['GET', '/api', 'GET /api'], ['GET', '/api', 'GET /api'], ['POST', '/api', 'POST /api'],
      ['POST', '/api/v2', 'POST /api/v2'], ['POST', null, 'POST'], ['', null, 'HTTP'], ['', '/x', 'HTTP /x'], ['GET', '/api', 'GET /api']];
    for (const [method, route, name] of rows) assert.equal(spanName(method, route), name, `${method} ${route}`);
  });

  test('error rules: SERVER on 5xx or no answer, CLIENT on ≥ 400 or no answer', () => {
    const rows: [number, string | null, boolean, boolean][] = [
      [200, null, false, false], [404, 'no route', false, true], [503, null, true, true], [0, 'connect refused', true, true],
    ];
    for (const [status, err, server, client] of rows) {
      assert.equal(isServerError(status, err), server, `server ${status}`);
      assert.equal(isClientError(status), client, `client ${status}`);
    }
  });

  test('SERVER attributes follow the HTTP semantic conventions', () => {
    const ev = {
      site: 'inbound', method: 'GET', scheme: 'http', authority: 'reviews:9080', path: '/a', protocol: 'h2', headers: { 'user-agent': 'ua' },
      remoteAddress: '10.0.0.1', startNs: 0n, rule: 'r', routePath: '/', backend: null, upstream: '127.0.0.1:8080', upstreamIdentity: null,
      peerIdentity: 'spiffe://td/ns/a/sa/b', attempts: 1, status: 200, requestBytes: 0, responseBytes: 0, endNs: 1n, error: null, grpcStatus: null,
    } satisfies RequestEvent;
    assert.deepEqual(serverAttributes(ev), {
      'http.request.method': 'GET', 'url.path': '/a', 'url.scheme': 'http', 'server.address': 'reviews', 'server.port': 9080,
      'network.protocol.version': '2', 'network.peer.address': '10.0.0.1', 'client.address': '10.0.0.1', 'http.response.status_code': 200,
      'user_agent.original': 'ua', 'meshlet.route': 'r', 'meshlet.upstream': '127.0.0.1:8080', 'meshlet.peer.identity': 'spiffe://td/ns/a/sa/b',
    });
  });

  test('CLIENT attributes: a retry and a mirror say so', () => {
    const at = {
      request: null, attempt: 2, mirror: true, backend: 'service/default/r/80', upstream: '10.1.2.3:8080', upstreamIdentity: null,
      method: 'PUT', authority: 'r', pathAndQuery: '/p?q=1', headers: {}, startNs: 0n, status: 502, endNs: 1n, error: null,
    } satisfies AttemptEvent;
    assert.deepEqual(clientAttributes(at), {
      'http.request.method': 'PUT', 'url.full': 'http://r/p?q=1', 'url.path': '/p', 'server.address': '10.1.2.3', 'server.port': 8080,
      'http.response.status_code': 502, 'meshlet.backend': 'service/default/r/80', 'meshlet.upstream': '10.1.2.3:8080',
      'meshlet.retry.attempt': 2, 'http.request.resend_count': 1, 'meshlet.mirror': true,
    });
  });
});
