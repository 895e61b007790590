import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppProbersInvalidError, parseAppProbers } from './app-health-config.ts';

test('an unset or empty MESHLET_APP_PROBERS means no probes', () => {
  assert.deepEqual(parseAppProbers(undefined), {});
  assert.deepEqual(parseAppProbers('  '), {});
});

test('what the injector writes is accepted as is', () => {
  const value = {
    '/app-health/web/livez': { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTPS', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, timeoutSeconds: 3 },
    '/app-health/web/readyz': { tcpSocket: { port: 8080 } },
    '/app-health/api/startupz': { grpc: { port: 9090, service: 'api' }, timeoutSeconds: 1 },
  };
  assert.deepEqual(parseAppProbers(JSON.stringify(value)), value);
});

const refused: [string, unknown, RegExp][] = [
  ['not JSON', '{', /not JSON/],
  ['a list', [], /JSON object keyed by admin path/],
  ['a path outside /app-health', { '/ready': { tcpSocket: { port: 1 } } }, /'\/ready' is not \/app-health\/<container>\/<livez\|readyz\|startupz>/],
  ['an unknown kind', { '/app-health/web/healthz': { tcpSocket: { port: 1 } } }, /healthz/],
  ['no action', { '/app-health/web/livez': { timeoutSeconds: 1 } }, /exactly one of httpGet, tcpSocket, grpc/],
  ['two actions', { '/app-health/web/livez': { tcpSocket: { port: 1 }, grpc: { port: 1 } } }, /exactly one/],
  ['a named port', { '/app-health/web/livez': { httpGet: { port: 'http' } } }, /httpGet\.port must be a port number, got "http"/],
  ['port 0', { '/app-health/web/livez': { tcpSocket: { port: 0 } } }, /port number/],
  ['a bad scheme', { '/app-health/web/livez': { httpGet: { port: 80, scheme: 'FTP' } } }, /scheme must be HTTP or HTTPS/],
  ['a header without value', { '/app-health/web/livez': { httpGet: { port: 80, httpHeaders: [{ name: 'a' }] } } }, /httpHeaders\[0\] must be \{name, value\}/],
  ['a zero timeout', { '/app-health/web/livez': { tcpSocket: { port: 80 }, timeoutSeconds: 0 } }, /timeoutSeconds must be a positive whole number/],
  ['a numeric gRPC service', { '/app-health/web/livez': { grpc: { port: 80, service: 1 } } }, /service must be a string/],
];

for (const [what, value, message] of refused) {
  test(`refused: ${what}`, () => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    assert.throws(() => parseAppProbers(text), (err: unknown) => {
      assert.ok(err instanceof AppProbersInvalidError);
      assert.equal(err.code, 'E_APP_PROBERS_INVALID');
      assert.match(err.message, /^MESHLET_APP_PROBERS: /);
      assert.match(err.message, message);
      return true;
    });
  });
}
