import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyBackendFilters, applyHeaderModifier, compileTable, route, type UpstreamRequest } from './index.ts';
import { replacePrefix } from './path-modifier.ts';
import {
  GATEWAY, backendName, forward, gatewayTable, listener, pick, request, rule, vhost,
} from './test-support.ts';
import { prng } from '../../test/support/prng.ts';
import type { FilterIR, HeaderModifierIR } from '../../api/index.ts';

const mod = (partial: Partial<HeaderModifierIR>): HeaderModifierIR => ({ set: [], add: [], remove: [], ...partial });

describe('applyHeaderModifier', () => {
  test('set replaces every existing value, whatever the case of the name', () => {
    const out = applyHeaderModifier({ 'X-Header-Set': ['a', 'b'] }, mod({ set: [{ name: 'x-header-set', value: 'new' }] }));
    assert.deepEqual(out, { 'x-header-set': 'new' });
  });
  test('add appends to existing values (the conformance suite reads "existing,added")', () => {
    const out = applyHeaderModifier({ 'x-header-add-append': 'append-val-1' }, mod({ add: [{ name: 'X-Header-Add-Append', value: 'header-val-2' }] }));
    assert.deepEqual(out, { 'x-header-add-append': ['append-val-1', 'header-val-2'] });
    assert.equal(out['x-header-add-append'].join(','), 'append-val-1,header-val-2');
  });
  test('add to an absent header creates it; add to a repeated header appends one more', () => {
    assert.deepEqual(applyHeaderModifier({}, mod({ add: [{ name: 'X-Add', value: 'v' }] })), { 'x-add': 'v' });
    assert.deepEqual(applyHeaderModifier({ a: ['1', '2'] }, mod({ add: [{ name: 'a', value: '3' }] })), { a: ['1', '2', '3'] });
  });
  test('remove drops the header case-insensitively and leaves others alone', () => {
    const out = applyHeaderModifier({ 'my-header1': 'foo', 'My-Header2': 'bar', 'my-header3': 'baz' }, mod({ remove: ['my-header1', 'my-header3'] }));
    assert.deepEqual(out, { 'My-Header2': 'bar' });
  });
  test('the input object is not modified', () => {
    const input = { a: '1' };
    applyHeaderModifier(input, mod({ set: [{ name: 'a', value: '2' }], remove: ['a'] }));
    assert.deepEqual(input, { a: '1' });
  });
});

describe('ReplacePrefixMatch (the Gateway API HTTPPathModifier table)', () => {
  const table: [string, string, string, string][] = [
    ['/foo/bar', '/foo', '/xyz', '/xyz/bar'],
    ['/foo/bar', '/foo', '/xyz/', '/xyz/bar'],
    ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
    ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
    ['/foo', '/foo', '/xyz', '/xyz'],
    ['/foo/', '/foo', '/xyz', '/xyz/'],
    ['/foo/bar', '/foo', '', '/bar'],
    ['/foo/', '/foo', '', '/'],
    ['/foo', '/foo', '', '/'],
    ['/foo/', '/foo', '/', '/'],
    ['/foo', '/foo', '/', '/'],
    // conformance: /prefix/one → /one, /strip-prefix/three with replacement / → /three
    ['/prefix/one/two', '/prefix/one', '/one', '/one/two'],
    ['/strip-prefix/three', '/strip-prefix', '/', '/three'],
    ['/strip-prefix', '/strip-prefix', '/', '/'],
    ['/anything', '/', '/xyz', '/xyz/anything'],
  ];
  for (const [path, prefix, replacement, want] of table) {
    test(`${path} with prefix ${prefix} → ${JSON.stringify(replacement)} = ${want}`, () => {
      assert.equal(replacePrefix(path, prefix, replacement), want);
    });
  }

  test('properties: keeps the remainder, never introduces //, always starts with /', () => {
    const rand = prng(7);
    const segs = ['a', 'b', 'foo', 'bar', 'x1', '%2F', '.hidden'];
    const randomPath = (max: number): string => {
      const n = Math.floor(rand() * max);
      let p = '';
      for (let i = 0; i < n; i++) p += `/${pick(rand, segs)}`;
      return p;
    };
    for (let i = 0; i < 2000; i++) {
      const prefix = randomPath(3) || '/';
      const rest = randomPath(3) + (rand() < 0.3 ? '/' : '');
      const path = prefix === '/' ? rest || '/' : prefix + rest;
      const replacement = rand() < 0.2 ? pick(rand, ['', '/']) : randomPath(3) + (rand() < 0.5 ? '/' : '') || '/';
      const prefixValue = prefix + (rand() < 0.3 && prefix !== '/' ? '/' : '');
      const out = replacePrefix(path, prefixValue, replacement);
      const ctx = JSON.stringify({ path, prefixValue, replacement, out });
      assert.ok(out.startsWith('/'), ctx);
      assert.ok(!out.includes('//'), ctx);
      const remainder = prefix === '/' ? path : path.slice(prefix.length);
      assert.ok(out.endsWith(remainder) || remainder === '' || (remainder === '/' && out.endsWith('/')), ctx);
      // The replacement (without its trailing slash) is what now leads the path.
      const lead = replacement.endsWith('/') ? replacement.slice(0, -1) : replacement;
      assert.ok(out.startsWith(lead), ctx);
    }
  });

  test('a path without the prefix is left unchanged', () => {
    assert.equal(replacePrefix('/other/x', '/foo', '/xyz'), '/other/x');
    assert.equal(replacePrefix('/foobar', '/foo', '/xyz'), '/foobar');
  });
});

describe('rule-level filters through route()', () => {
  const GW = { kind: 'gateway' as const, gateway: GATEWAY, port: 80 };
  const headerMod: FilterIR = {
    type: 'RequestHeaderModifier',
    modifier: {
      set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }],
      add: [{ name: 'X-Header-Add', value: 'header-val-1' }, { name: 'X-Header-Add-Append', value: 'header-val-2' }],
      remove: ['x-header-remove'],
    },
  };
  const table = gatewayTable([listener('http', null, [vhost('*', [
    rule('prefix', {
      path: { type: 'PathPrefix', value: '/prefix/rewrite-path-and-modify-headers' },
      filters: [{ type: 'URLRewrite', hostname: null, path: { type: 'ReplacePrefixMatch', value: '/prefix', prefix: '/prefix/rewrite-path-and-modify-headers' } }, headerMod],
    }),
    rule('full', {
      path: { type: 'PathPrefix', value: '/full' },
      filters: [{ type: 'URLRewrite', hostname: 'rewritten.example.org', path: { type: 'ReplaceFullPath', value: '/one' } }],
    }),
    rule('mirror', {
      path: { type: 'PathPrefix', value: '/mirror' },
      filters: [
        { type: 'RequestMirror', backend: backendName('mirror'), percent: 50 },
        { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x-resp', value: '1' }], add: [], remove: [] } },
        { type: 'RequestMirror', backend: backendName('c'), percent: 0 },
      ],
    }),
  ])])]);
  const compiled = compileTable(table);

  test('rewrite of the prefix plus header changes, as in the HTTPRouteRewritePath conformance test', () => {
    const d = route(compiled, GW, request('/prefix/rewrite-path-and-modify-headers/one?q=1', {
      headers: { 'x-header-remove': 'remove-val', 'x-header-add-append': 'append-val-1', 'x-header-set': 'set-val' },
    }));
    assert.equal(d.type, 'forward');
    if (d.type !== 'forward') return;
    assert.equal(d.request.pathAndQuery, '/prefix/one?q=1');
    assert.deepEqual(d.request.headers, {
      'x-header-set': 'set-overwrites-values', 'x-header-add': 'header-val-1', 'x-header-add-append': ['append-val-1', 'header-val-2'],
    });
  });
  test('full-path rewrite keeps the query; hostname rewrite replaces the authority and any host header', () => {
    const d = route(compiled, GW, request('/full/one/two?a=b', { authority: 'example.com:8080', headers: { host: 'example.com:8080' } }));
    assert.equal(d.type === 'forward' && d.request.pathAndQuery, '/one?a=b');
    assert.equal(d.type === 'forward' && d.request.authority, 'rewritten.example.org');
    assert.equal(d.type === 'forward' && d.request.headers.host, 'rewritten.example.org');
  });
  test('mirrors and response header modifiers are collected in order; a 0% mirror is dropped', () => {
    const d = route(compiled, GW, request('/mirror'));
    assert.deepEqual(d.type === 'forward' && d.mirrors, [{ backend: backendName('mirror'), percent: 50 }]);
    assert.deepEqual(d.type === 'forward' && d.responseHeaders, [{ set: [{ name: 'x-resp', value: '1' }], add: [], remove: [] }]);
  });
});

describe('applyBackendFilters', () => {
  test('applies the backendRef filters after the rule ones, without touching the input', () => {
    const req: UpstreamRequest = { method: 'GET', authority: 'a', pathAndQuery: '/api/x?y=1', headers: { k: 'v' } };
    const backend = forward('b', [
      { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-backend', value: 'b' }], add: [], remove: ['k'] } },
      { type: 'URLRewrite', hostname: null, path: { type: 'ReplacePrefixMatch', value: '/v2', prefix: '/api' } },
      { type: 'ResponseHeaderModifier', modifier: { set: [], add: [{ name: 'x-served-by', value: 'b' }], remove: [] } },
      { type: 'RequestMirror', backend: backendName('mirror'), percent: 100 },
    ]);
    if (backend.type !== 'Forward') throw new Error('unreachable');
    const out = applyBackendFilters(req, backend.backends[0]!);
    assert.deepEqual(out.request, { method: 'GET', authority: 'a', pathAndQuery: '/v2/x?y=1', headers: { 'x-backend': 'b' } });
    assert.deepEqual(out.responseHeaders, [{ set: [], add: [{ name: 'x-served-by', value: 'b' }], remove: [] }]);
    assert.deepEqual(out.mirrors, [{ backend: backendName('mirror'), percent: 100 }]);
    assert.deepEqual(req.headers, { k: 'v' });
  });
});
