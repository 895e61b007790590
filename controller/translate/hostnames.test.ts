import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSpecificity, hostsOverlap, intersectHostnames, isValidHostname } from './hostnames.ts';

describe('hostname intersection (listener hostname × route hostnames)', () => {
  const cases: [string, string | null, string[], string[]][] = [
    ['neither side names a host: any host', null, [], ['*']],
    ['listener only: the listener hostname', 'foo.example.com', [], ['foo.example.com']],
    ['route only: the route hostnames', null, ['a.example.com', 'b.example.com'], ['a.example.com', 'b.example.com']],
    ['equal exact names', 'foo.example.com', ['foo.example.com'], ['foo.example.com']],
    ['route exact name inside listener wildcard', '*.example.com', ['foo.example.com', 'foo.example.net'], ['foo.example.com']],
    ['route wildcard wider than listener exact name: the listener name', 'foo.example.com', ['*.example.com'], ['foo.example.com']],
    ['route wildcard narrower than listener wildcard', '*.example.com', ['*.foo.example.com'], ['*.foo.example.com']],
    ['route wildcard wider than listener wildcard', '*.foo.example.com', ['*.example.com'], ['*.foo.example.com']],
    ['a wildcard never matches its bare suffix', '*.example.com', ['example.com'], []],
    ['disjoint names do not intersect', 'foo.example.com', ['bar.example.com'], []],
    ['multi-label names match a wildcard', '*.example.com', ['a.b.example.com'], ['a.b.example.com']],
    ['duplicates collapse', 'foo.example.com', ['*.example.com', 'foo.example.com'], ['foo.example.com']],
  ];
  for (const [name, listener, route, expected] of cases) {
    test(name, () => assert.deepEqual(intersectHostnames(listener, route), expected));
  }
});

describe('hostname validity', () => {
  for (const h of ['example.com', 'foo-1.example.com', '*.example.com', 'localhost']) test(`${h} is valid`, () => assert.equal(isValidHostname(h), true));
  for (const h of ['', '10.0.0.1', '*', '*.*.example.com', 'foo.*.com', '-a.example.com', 'UPPER..com', '::1']) test(`${JSON.stringify(h)} is invalid`, () => assert.equal(isValidHostname(h), false));
});

describe('specificity order (listeners and virtual hosts)', () => {
  test('exact names, then longer wildcards, then any host', () => {
    const sorted = ['*', '*.example.com', 'b.example.com', '*.foo.example.com', 'a.example.com'].sort(compareSpecificity);
    assert.deepEqual(sorted, ['a.example.com', 'b.example.com', '*.foo.example.com', '*.example.com', '*']);
  });
  test('a hostname-less listener (null) sorts last', () => {
    assert.deepEqual([null, 'x.example.com', '*.example.com'].sort(compareSpecificity), ['x.example.com', '*.example.com', null]);
  });
});

describe('host overlap (HTTPRoute/GRPCRoute conflicts)', () => {
  test('any host overlaps everything', () => assert.equal(hostsOverlap('*', 'a.example.com'), true));
  test('a wildcard overlaps names under it', () => assert.equal(hostsOverlap('a.example.com', '*.example.com'), true));
  test('distinct exact names do not overlap', () => assert.equal(hostsOverlap('a.example.com', 'b.example.com'), false));
});
