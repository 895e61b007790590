import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTable, route } from './index.ts';
import { GATEWAY, gatewayTable, listener, request, rule, vhost } from './test-support.ts';
import type { RedirectIR, RedirectStatus } from '../../api/index.ts';

function redirect(partial: Partial<RedirectIR>): RedirectIR {
  return { scheme: null, hostname: null, port: null, path: null, statusCode: 302, ...partial };
}

/** Routes one request through a single redirect rule on a listener at `port`. */
function location(r: RedirectIR, port: number, path = '/x', partial: Parameters<typeof request>[1] = {}): { status: number; location: string | undefined } {
  const table = gatewayTable([listener('l', null, [vhost('*', [
    rule('redir', { path: { type: 'PathPrefix', value: '/' }, action: { type: 'Redirect', redirect: r } }),
  ])])], port);
  const d = route(compileTable(table), { kind: 'gateway', gateway: GATEWAY, port }, request(path, { authority: 'example.org', ...partial }));
  assert.equal(d.type, 'respond');
  return d.type === 'respond' ? { status: d.status, location: d.headers.location } : { status: 0, location: undefined };
}

describe('redirect Location construction (HTTPRouteRedirectPortAndScheme cases)', () => {
  // [listener port, request scheme, redirect scheme, redirect port, expected Location]
  const cases: [number, 'http' | 'https', RedirectIR['scheme'], number | null, string][] = [
    [80, 'http', null, null, 'http://example.org/x'],
    [80, 'http', null, 80, 'http://example.org/x'],
    [80, 'http', null, 8080, 'http://example.org:8080/x'],
    [80, 'http', 'https', null, 'https://example.org/x'],
    [80, 'http', 'https', 443, 'https://example.org/x'],
    [80, 'http', 'https', 8443, 'https://example.org:8443/x'],
    [8080, 'http', null, null, 'http://example.org:8080/x'],
    [8080, 'http', null, 80, 'http://example.org/x'],
    [8080, 'http', 'https', null, 'https://example.org/x'],
    [443, 'https', null, null, 'https://example.org/x'],
    [443, 'https', null, 443, 'https://example.org/x'],
    [443, 'https', null, 8443, 'https://example.org:8443/x'],
    [443, 'https', 'http', null, 'http://example.org/x'],
    [443, 'https', 'http', 80, 'http://example.org/x'],
    [443, 'https', 'http', 8080, 'http://example.org:8080/x'],
    // A scheme change on a non-default listener port goes to the scheme's well-known port.
    [8443, 'https', 'http', null, 'http://example.org/x'],
    // No scheme in the filter: the listener port, even when it is the other scheme's default.
    [443, 'http', null, null, 'http://example.org:443/x'],
  ];
  for (const [port, scheme, rScheme, rPort, want] of cases) {
    test(`listener ${port} (${scheme}), scheme ${rScheme ?? 'nil'}, port ${rPort ?? 'nil'} → ${want}`, () => {
      assert.equal(location(redirect({ scheme: rScheme, port: rPort }), port, '/x', { scheme }).location, want);
    });
  }
});

describe('redirect host, path, query and status', () => {
  test('hostname replaces the request host; without one the request host (sans port) is used', () => {
    assert.equal(location(redirect({ hostname: 'other.org' }), 80).location, 'http://other.org/x');
    assert.equal(location(redirect({}), 80, '/x', { authority: 'Example.ORG:80' }).location, 'http://example.org/x');
  });
  test('ReplacePrefixMatch and ReplaceFullPath (HTTPRouteRedirectPath cases)', () => {
    assert.equal(location(redirect({ path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix', prefix: '/original-prefix' } }), 80, '/original-prefix/lemon').location,
      'http://example.org/replacement-prefix/lemon');
    assert.equal(location(redirect({ path: { type: 'ReplaceFullPath', value: '/full-path-replacement' } }), 80, '/full/path/original').location,
      'http://example.org/full-path-replacement');
    assert.equal(location(redirect({ hostname: 'example.org', path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix', prefix: '/path-and-host' } }), 80, '/path-and-host').location,
      'http://example.org/replacement-prefix');
  });
  test('the query string is kept', () => {
    assert.equal(location(redirect({ path: { type: 'ReplaceFullPath', value: '/new' } }), 80, '/old?a=1&b=2').location, 'http://example.org/new?a=1&b=2');
  });
  test('each status code is answered as configured', () => {
    for (const statusCode of [301, 302, 303, 307, 308] as RedirectStatus[]) {
      assert.equal(location(redirect({ statusCode }), 80).status, statusCode);
    }
  });
  test('an IPv6 literal host keeps its brackets', () => {
    assert.equal(location(redirect({ scheme: 'https' }), 80, '/x', { authority: '[fd00::1]:80' }).location, 'https://[fd00::1]/x');
  });
  test('without any host the Location is a relative reference', () => {
    assert.equal(location(redirect({}), 80, '/x?y', { authority: '' }).location, '/x?y');
  });
  test('response header modifiers of the rule apply to the redirect answer', () => {
    const table = gatewayTable([listener('l', null, [vhost('*', [rule('redir', {
      filters: [{ type: 'ResponseHeaderModifier', modifier: { set: [], add: [{ name: 'X-Why', value: 'moved' }], remove: [] } }],
      action: { type: 'Redirect', redirect: redirect({ scheme: 'https' }) },
    })])])]);
    const d = route(compileTable(table), { kind: 'gateway', gateway: GATEWAY, port: 80 }, request('/x', { authority: 'example.org' }));
    assert.deepEqual(d.type === 'respond' && d.headers, { location: 'https://example.org/x', 'x-why': 'moved' });
  });
});
