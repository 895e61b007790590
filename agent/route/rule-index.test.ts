// The path index's compact nodes (ADR 0012: a leaf has no children map, a node that ends no
// prefix shares one frozen empty list): lookups through leaves, inner nodes without rules and
// nodes shared by several rules give the candidate lists a linear scan implies, and compiling one
// virtual host never leaks indexes into another's nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateLists, compileVirtualHost } from './rule-index.ts';
import type { MatchIR, RouteRuleIR, VirtualHostIR } from '../../api/index.ts';

function vhost(paths: Array<[MatchIR['path']['type'], string]>): VirtualHostIR {
  const rules: RouteRuleIR[] = paths.map(([type, value], i) => ({
    name: `r${i}`,
    source: { kind: 'HTTPRoute', namespace: 'ns', name: `r${i}`, rule: 0, match: 0, creationTimestamp: '2026-01-01T00:00:00Z' },
    match: { path: { type, value }, method: null, headers: [], queryParams: [] },
    filters: [],
    action: { type: 'Forward', backends: [] },
    timeouts: null,
    retry: null,
  }));
  return { hostname: '*', rules };
}

test('prefix lookups through leaves, rule-less inner nodes and shared nodes', () => {
  const vh = compileVirtualHost(vhost([
    ['PathPrefix', '/a/b'], ['PathPrefix', '/a/b/'], ['PathPrefix', '/a/c/d'], ['Exact', '/a/c'], ['PathPrefix', '/'],
  ]));
  const table: Array<[string, number[][]]> = [
    ['/a/b/x/y', [[4], [0, 1]]], // past a leaf: the walk stops there
    ['/a/b', [[4], [0, 1]]],
    ['/a/c', [[3], [4]]], // /a and /a/c end no prefix: only the exact rule and the root
    ['/a/c/d/e', [[4], [2]]],
    ['/a', [[4]]],
    ['/zzz', [[4]]],
  ];
  for (const [path, want] of table) assert.deepEqual(candidateLists(vh, path).map((l) => [...l]), want, path);
});

test('compiling a second virtual host leaves the first one\'s lists as they were', () => {
  const first = compileVirtualHost(vhost([['PathPrefix', '/x'], ['PathPrefix', '/x/y']]));
  const second = compileVirtualHost(vhost([['PathPrefix', '/q'], ['PathPrefix', '/x'], ['PathPrefix', '/x'], ['PathPrefix', '/x/y/z']]));
  assert.deepEqual(candidateLists(first, '/x/y/z').map((l) => [...l]), [[0], [1]]);
  assert.deepEqual(candidateLists(second, '/x/y/z').map((l) => [...l]), [[1, 2], [3]]);
  assert.deepEqual(candidateLists(first, '/q').map((l) => [...l]), []);
});
