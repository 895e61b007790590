import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTable, route, type Decision, type RouteTarget } from './index.ts';
import {
  GATEWAY, SERVICE_IP, backendName, gatewayTable, listener, meshTable, request, rule, servicePort, vhost,
} from './test-support.ts';
import { prng } from '../../test/support/prng.ts';
import type { RouteRuleIR, RoutingTable } from '../../api/index.ts';

const GW: RouteTarget = { kind: 'gateway', gateway: GATEWAY, port: 80 };

function single(rules: RouteRuleIR[], hostname = '*'): RoutingTable {
  return gatewayTable([listener('http', null, [vhost(hostname, rules)])]);
}

/** Which backend a decision forwards to ('404' etc. for direct answers). */
function outcome(d: Decision): string {
  if (d.type === 'forward') return d.backends.map((b) => b.backend?.split('/')[2]).join('+');
  if (d.type === 'respond') return String(d.status);
  return 'passthrough';
}

function via(table: RoutingTable, path: string, partial: Parameters<typeof request>[1] = {}, target: RouteTarget = GW): string {
  return outcome(route(compileTable(table), target, request(path, partial)));
}

describe('precedence within a virtual host (rules arrive sorted; the first match wins)', () => {
  const table = single([
    rule('exact', { path: { type: 'Exact', value: '/foo/bar' }, backend: 'a' }),
    rule('long-prefix', { path: { type: 'PathPrefix', value: '/foo/bar' }, backend: 'b' }),
    rule('short-prefix', { path: { type: 'PathPrefix', value: '/foo' }, backend: 'c' }),
  ]);

  test('an exact path beats a longer prefix', () => assert.equal(via(table, '/foo/bar'), 'a'));
  test('a longer prefix beats a shorter one', () => assert.equal(via(table, '/foo/bar/baz'), 'b'));
  test('the shorter prefix takes what the longer one does not', () => assert.equal(via(table, '/foo/qux'), 'c'));
  test('nothing matches outside every prefix: 404', () => assert.equal(via(table, '/other'), '404'));

  test('a rule listed earlier wins over a later one with the same path', () => {
    const t = single([rule('first', { method: 'GET', backend: 'a' }), rule('second', { backend: 'b' })]);
    assert.equal(via(t, '/x'), 'a');
    assert.equal(via(t, '/x', { method: 'POST' }), 'b');
  });

  test('a rule with more headers listed first wins when they all match, else the next', () => {
    const t = single([
      rule('two', { headers: [{ type: 'Exact', name: 'env', value: 'canary' }, { type: 'Exact', name: 'team', value: 'x' }], backend: 'a' }),
      rule('one', { headers: [{ type: 'Exact', name: 'env', value: 'canary' }], backend: 'b' }),
      rule('none', { backend: 'c' }),
    ]);
    assert.equal(via(t, '/', { headers: { env: 'canary', team: 'x' } }), 'a');
    assert.equal(via(t, '/', { headers: { env: 'canary' } }), 'b');
    assert.equal(via(t, '/', { headers: {} }), 'c');
  });

  test('a regex rule is considered in its precedence position, between prefix rules', () => {
    const t = single([
      rule('prefix-long', { path: { type: 'PathPrefix', value: '/api/v1' }, backend: 'a' }),
      rule('regex', { path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' }, backend: 'b' }),
      rule('prefix-short', { path: { type: 'PathPrefix', value: '/api' }, backend: 'c' }),
    ]);
    assert.equal(via(t, '/api/v1/users'), 'a');
    assert.equal(via(t, '/api/v2/users'), 'b');
    assert.equal(via(t, '/api/other'), 'c');
  });
});

describe('path matching', () => {
  const prefix = single([rule('p', { path: { type: 'PathPrefix', value: '/foo' } })]);
  test('a prefix matches itself, with a trailing slash, and below it', () => {
    for (const p of ['/foo', '/foo/', '/foo/bar']) assert.equal(via(prefix, p), 'a', p);
  });
  test('a prefix does not match a longer segment: /foo is not a prefix of /foobar', () => assert.equal(via(prefix, '/foobar'), '404'));
  test('a trailing slash in the prefix value is ignored', () => {
    const t = single([rule('p', { path: { type: 'PathPrefix', value: '/foo/' } })]);
    for (const p of ['/foo', '/foo/', '/foo/bar']) assert.equal(via(t, p), 'a', p);
    assert.equal(via(t, '/foobar'), '404');
  });
  test('exact paths are exact: no trailing slash, case-sensitive', () => {
    const t = single([rule('e', { path: { type: 'Exact', value: '/abc' } })]);
    assert.equal(via(t, '/abc'), 'a');
    for (const p of ['/abc/', '/Abc', '/abcd']) assert.equal(via(t, p), '404', p);
  });
  test('a regular expression must match the whole path', () => {
    const t = single([rule('r', { path: { type: 'RegularExpression', value: '/foo[0-9]+' } })]);
    assert.equal(via(t, '/foo12'), 'a');
    assert.equal(via(t, '/foo12/bar'), '404');
    assert.equal(via(t, '/x/foo12'), '404');
  });
  test('matching sees the normalized path: dot segments resolved, unreserved escapes decoded', () => {
    const t = single([rule('p', { path: { type: 'PathPrefix', value: '/public' }, backend: 'a' }), rule('rest', { backend: 'b' })]);
    assert.equal(via(t, '/public/../admin'), 'b');
    assert.equal(via(t, '/%70ublic/x'), 'a');
  });
});

describe('method, header and query conditions', () => {
  test('GET does not match HEAD', () => {
    const t = single([rule('get', { method: 'GET' })]);
    assert.equal(via(t, '/', { method: 'GET' }), 'a');
    assert.equal(via(t, '/', { method: 'HEAD' }), '404');
  });
  test('header names are case-insensitive, values case-sensitive', () => {
    const t = single([rule('h', { headers: [{ type: 'Exact', name: 'x-version', value: 'V1' }] })]);
    assert.equal(via(t, '/', { headers: { 'x-version': 'V1' } }), 'a');
    assert.equal(via(t, '/', { headers: { 'x-version': 'v1' } }), '404');
  });
  test('a header rule whose name was written in capitals still matches', () => {
    const t = single([rule('h', { headers: [{ type: 'Exact', name: 'X-Version', value: 'v1' }] })]);
    assert.equal(via(t, '/', { headers: { 'x-version': 'v1' } }), 'a');
  });
  test('a repeated header is matched as its values joined with commas', () => {
    const t = single([rule('h', { headers: [{ type: 'Exact', name: 'x-tag', value: 'a,b' }] })]);
    assert.equal(via(t, '/', { headers: { 'x-tag': ['a', 'b'] } }), 'a');
    assert.equal(via(t, '/', { headers: { 'x-tag': ['a'] } }), '404');
  });
  test('a header regex must match the whole value', () => {
    const t = single([rule('h', { headers: [{ type: 'RegularExpression', name: 'x-user', value: 'a.*' }] })]);
    assert.equal(via(t, '/', { headers: { 'x-user': 'alice' } }), 'a');
    assert.equal(via(t, '/', { headers: { 'x-user': 'bob-a' } }), '404');
  });
  test('query parameter names are case-sensitive and the first repeated value counts', () => {
    const t = single([rule('q', { queryParams: [{ type: 'Exact', name: 'animal', value: 'whale' }] })]);
    assert.equal(via(t, '/?animal=whale'), 'a');
    assert.equal(via(t, '/?Animal=whale'), '404');
    assert.equal(via(t, '/?animal=whale&animal=dolphin'), 'a');
    assert.equal(via(t, '/?animal=dolphin&animal=whale'), '404');
    assert.equal(via(t, '/?animal=wh%61le'), 'a');
  });
  test('all conditions must hold together', () => {
    const t = single([rule('all', {
      path: { type: 'PathPrefix', value: '/x' }, method: 'POST',
      headers: [{ type: 'Exact', name: 'h', value: '1' }], queryParams: [{ type: 'Exact', name: 'q', value: '2' }],
    })]);
    assert.equal(via(t, '/x?q=2', { method: 'POST', headers: { h: '1' } }), 'a');
    assert.equal(via(t, '/x?q=3', { method: 'POST', headers: { h: '1' } }), '404');
    assert.equal(via(t, '/x?q=2', { method: 'PUT', headers: { h: '1' } }), '404');
    assert.equal(via(t, '/x?q=2', { method: 'POST', headers: { h: '2' } }), '404');
  });
});

describe('listeners and virtual hosts (gateway)', () => {
  const table = gatewayTable([
    listener('exact', 'foo.example.com', [vhost('foo.example.com', [rule('foo', { backend: 'a' })])]),
    listener('wild', '*.example.com', [
      vhost('bar.example.com', [rule('bar', { path: { type: 'PathPrefix', value: '/bar' }, backend: 'b' })]),
      vhost('*.example.com', [rule('wild', { backend: 'c' })]),
    ]),
    listener('any', null, [vhost('*', [rule('any', { backend: 'default' })])]),
  ]);
  test('the most specific listener owns the host', () => assert.equal(via(table, '/', { authority: 'foo.example.com' }), 'a'));
  test('host matching ignores case and port', () => assert.equal(via(table, '/', { authority: 'FOO.Example.com:8080' }), 'a'));
  test('a wildcard matches one or more labels', () => {
    assert.equal(via(table, '/', { authority: 'x.example.com' }), 'c');
    assert.equal(via(table, '/', { authority: 'x.y.example.com' }), 'c');
  });
  test('a wildcard does not match the bare domain', () => assert.equal(via(table, '/', { authority: 'example.com' }), 'default'));
  test('an exact virtual host does not fall back to the wildcard one when its rules miss', () => {
    assert.equal(via(table, '/bar/1', { authority: 'bar.example.com' }), 'b');
    assert.equal(via(table, '/other', { authority: 'bar.example.com' }), '404');
  });
  test('listener isolation: a host owned by a listener is not served by the catch-all listener', () => {
    const t = gatewayTable([
      listener('exact', 'foo.example.com', [vhost('foo.example.com', [rule('foo', { path: { type: 'Exact', value: '/only' } })])]),
      listener('any', null, [vhost('*', [rule('any', { backend: 'b' })])]),
    ]);
    assert.equal(via(t, '/other', { authority: 'foo.example.com' }), '404');
    assert.equal(via(t, '/other', { authority: 'other.com' }), 'b');
  });
  test('no listener for the host: 404; a missing Host reaches only a hostname-less listener', () => {
    const t = gatewayTable([listener('exact', 'foo.example.com', [vhost('*', [rule('foo')])])]);
    assert.equal(via(t, '/', { authority: 'bar.example.com' }), '404');
    assert.equal(via(t, '/', { authority: '' }), '404');
    assert.equal(via(table, '/', { authority: '' }), 'default');
  });
  test('the longer wildcard virtual host wins', () => {
    const t = gatewayTable([listener('any', null, [
      vhost('*.a.example.com', [rule('long', { backend: 'a' })]),
      vhost('*.example.com', [rule('short', { backend: 'b' })]),
      vhost('*', [rule('any', { backend: 'c' })]),
    ])]);
    assert.equal(via(t, '/', { authority: 'x.a.example.com' }), 'a');
    assert.equal(via(t, '/', { authority: 'a.example.com' }), 'b');
    assert.equal(via(t, '/', { authority: 'example.com' }), 'c');
  });
  test('an unknown gateway or port answers 404', () => {
    assert.equal(via(table, '/', {}, { kind: 'gateway', gateway: 'gateway/ns/other', port: 80 }), '404');
    assert.equal(via(table, '/', {}, { kind: 'gateway', gateway: GATEWAY, port: 81 }), '404');
  });
});

describe('mesh targets', () => {
  const producer = { kind: 'HTTPRoute' as const, virtualHosts: [vhost('*', [rule('prod', { path: { type: 'PathPrefix', value: '/p' }, backend: 'a' })])] };
  const consumer = { kind: 'HTTPRoute' as const, virtualHosts: [vhost('*', [rule('cons', { backend: 'b' })])] };
  const table = meshTable([
    servicePort({ port: 80, producer, consumers: [{ namespace: 'client-ns', routes: consumer }] }),
    servicePort({ port: 8080 }),
  ], [SERVICE_IP, 'fd00::10']);
  const mesh = (port: number, clientNamespace = 'other', address = SERVICE_IP): RouteTarget => ({ kind: 'mesh', address, port, clientNamespace });

  test('producer routes apply to callers from any namespace', () => assert.equal(via(table, '/p', {}, mesh(80)), 'a'));
  test('with a route set, no matching rule is a 404', () => assert.equal(via(table, '/q', {}, mesh(80)), '404'));
  test('consumer routes replace the producer routes for their namespace', () => {
    assert.equal(via(table, '/q', {}, mesh(80, 'client-ns')), 'b');
  });
  test('a port without routes forwards to the Service itself', () => {
    const d = route(compileTable(table), mesh(8080), request('/anything'));
    assert.equal(d.type, 'forward');
    assert.equal(d.type === 'forward' && d.rule, null);
    assert.deepEqual(d.type === 'forward' && d.backends, [{ backend: backendName('default'), weight: 1, filters: [], invalidReason: null }]);
  });
  test('a port without routes: one backend list per table, so the weighted picker kept per list lives across requests', () => {
    const compiled = compileTable(table);
    const target = mesh(8080);
    const lists = [route(compiled, target, request('/1')), route(compiled, mesh(8080), request('/2')), route(compiled, target, request('/3'))]
      .map((d) => (d.type === 'forward' ? d.backends : null));
    assert.ok(lists[0] !== null && lists[0] === lists[1] && lists[1] === lists[2], 'the same list for every request of the table');
    const next = route(compileTable(meshTable([servicePort({ port: 8080, defaultBackend: backendName('a') })])), target, request('/4'));
    assert.equal(outcome(next), 'a', 'a new table routes by its own default backend');
    assert.notEqual(next.type === 'forward' && next.backends, lists[0]);
  });
  test('one target object across tables: each request is routed by the table it is given', () => {
    const target = mesh(80);
    const routed = meshTable([servicePort({ port: 80, producer })]);
    const bare = meshTable([servicePort({ port: 80 })]);
    const seen = [routed, bare, routed, bare].map((t) => outcome(route(compileTable(t), target, request('/p'))));
    assert.deepEqual(seen, ['a', 'default', 'a', 'default']);
    assert.equal(via(bare, '/q', {}, target), 'default');
    assert.equal(outcome(route(compileTable(meshTable([])), target, request('/p'))), 'passthrough');
  });
  test('the Service is found by address, never by Host', () => {
    assert.equal(via(table, '/p', { authority: 'unrelated.example.com' }, mesh(80)), 'a');
  });
  test('IPv6 and IPv4-mapped addresses find the Service', () => {
    assert.equal(via(table, '/p', {}, mesh(80, 'x', '[FD00::10]')), 'a');
    assert.equal(via(table, '/p', {}, mesh(80, 'x', `::ffff:${SERVICE_IP}`)), 'a');
  });
  test('an unknown address or port passes through', () => {
    assert.equal(via(table, '/p', {}, mesh(81)), 'passthrough');
    assert.equal(via(table, '/p', {}, mesh(80, 'x', '10.1.2.3')), 'passthrough');
  });
});

describe('actions', () => {
  test('a Respond action answers with its status', () => {
    const t = single([rule('r', { action: { type: 'Respond', status: 500, reason: 'all backends invalid' } })]);
    const d = route(compileTable(t), GW, request('/'));
    assert.deepEqual(d, { type: 'respond', rule: t.gateways[0]!.ports[0]!.listeners[0]!.virtualHosts[0]!.rules[0]!, status: 500, headers: {}, reason: 'all backends invalid' });
  });
  test('a Forward with no backends answers 500', () => {
    const t = single([rule('r', { action: { type: 'Forward', backends: [] } })]);
    assert.equal(via(t, '/'), '500');
  });
  test('the forward decision carries timeouts, retry and the normalized upstream request', () => {
    const r = { ...rule('r'), timeouts: { requestMs: 1000, backendRequestMs: null }, retry: { codes: [503], attempts: 2, backoffMs: null } };
    const d = route(compileTable(single([r])), GW, request('/a/./b?x=1', { headers: { 'x-h': 'v' } }));
    assert.equal(d.type, 'forward');
    if (d.type !== 'forward') return;
    assert.deepEqual(d.timeouts, r.timeouts);
    assert.deepEqual(d.retry, r.retry);
    assert.deepEqual(d.request, { method: 'GET', authority: 'example.com', pathAndQuery: '/a/b?x=1', headers: { 'x-h': 'v' } });
  });
});

describe('malformed requests never throw', () => {
  const t = compileTable(single([rule('any')]));
  const cases: [string, Parameters<typeof request>[1], number][] = [
    ['/%zz', {}, 400],
    ['/%4', {}, 400],
    ['/a b', {}, 400],
    ['*', {}, 400],
    ['http://x/y', {}, 400],
    ['/', { method: 'G E T' }, 400],
    ['/', { method: '' }, 400],
    ['/', { authority: 'bad host' }, 400],
    ['/', { authority: 'a/b' }, 400],
  ];
  for (const [path, partial, status] of cases) {
    test(`${JSON.stringify(path)} ${JSON.stringify(partial)} → ${status}`, () => {
      const d = route(t, GW, request(path, partial));
      assert.equal(d.type, 'respond');
      assert.equal(d.type === 'respond' && d.status, status);
    });
  }
  test('an unusual but valid method token is routed, not rejected', () => {
    assert.equal(outcome(route(t, GW, request('/', { method: 'PROPFIND' }))), 'a');
  });
  test('garbage field types yield a decision', () => {
    const junk = { method: 1, scheme: 'ftp', authority: null, path: undefined, query: 7, headers: null } as unknown as Parameters<typeof route>[2];
    const d = route(t, GW, junk);
    assert.equal(d.type, 'respond');
    assert.equal(d.type === 'respond' && d.status, 400);
  });
});

describe('fuzz: random junk requests always get a decision from the matcher itself', () => {
  test('no input reaches the last-resort catch (seeded, bounded)', () => {
    const rand = prng(99);
    const alphabet = ['/', '%', '.', '..', 'a', 'Z', '0', 'f', ' ', '\t', '?', '#', '[', ']', ':', '@', '*', '\u00e9', '\u0000', '%2F', '%2e', '%4'];
    const junk = (max: number): string => {
      let s = '';
      const n = Math.floor(rand() * max);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)]!;
      return s;
    };
    const table = compileTable(gatewayTable([listener('l', '*.example.com', [vhost('*', [
      rule('re', { path: { type: 'RegularExpression', value: '/a.*' }, headers: [{ type: 'RegularExpression', name: 'x', value: '.+' }] }),
      rule('q', { queryParams: [{ type: 'Exact', name: 'a', value: 'b' }], filters: [{ type: 'URLRewrite', hostname: 'h', path: { type: 'ReplacePrefixMatch', value: '/', prefix: '/' } }] }),
      rule('any', { action: { type: 'Redirect', redirect: { scheme: null, hostname: null, port: null, path: { type: 'ReplacePrefixMatch', value: '/z', prefix: '/' }, statusCode: 301 } } }),
    ])])]));
    let decisions = 0;
    for (let i = 0; i < 5000; i++) {
      const d = route(table, GW, {
        method: rand() < 0.8 ? 'GET' : junk(5), scheme: rand() < 0.5 ? 'http' : 'https',
        authority: rand() < 0.7 ? `${junk(3)}.example.com` : junk(8), path: (rand() < 0.8 ? '/' : '') + junk(12),
        query: junk(6), headers: rand() < 0.5 ? { x: junk(4) } : { x: [junk(2), junk(2)] },
      });
      assert.ok(!(d.type === 'respond' && d.reason.startsWith('matcher error')), JSON.stringify(d));
      decisions++;
    }
    assert.equal(decisions, 5000);
  });
});

describe('HTTPS: the TLS server name picks the listener, the Host must agree (GEP-3567)', () => {
  // A catch-all listener (routes for example.org) and one for second.example.org, as in the
  // HTTPRouteHTTPSListener conformance test.
  const table = gatewayTable([
    listener('second', 'second.example.org', [vhost('*', [rule('r2', { backend: 'b' })])]),
    listener('catch-all', null, [vhost('example.org', [rule('r1', { backend: 'a' })])]),
  ], 443);
  const https = (sni: string): RouteTarget => ({ kind: 'gateway', gateway: GATEWAY, port: 443, serverName: sni });

  test('SNI and Host name the same listener: routed there', () => {
    assert.equal(via(table, '/', { authority: 'second.example.org' }, https('second.example.org')), 'b');
    assert.equal(via(table, '/', { authority: 'example.org' }, https('example.org')), 'a');
  });
  test('an unknown SNI lands on the catch-all listener, whose routes decide the Host: 404', () => {
    assert.equal(via(table, '/', { authority: 'second.example.org' }, https('unknown.example.org')), '404');
  });
  test('a Host the SNI-selected listener does not serve is misdirected: 421', () => {
    assert.equal(via(table, '/', { authority: 'example.org' }, https('second.example.org')), '421');
  });
  test('without a server name (plain HTTP) the Host alone picks the listener', () => {
    assert.equal(via(table, '/', { authority: 'second.example.org' }, { kind: 'gateway', gateway: GATEWAY, port: 443 }), 'b');
  });
});
