// compileTable's `mirrors`: whether any rule route() can reach mirrors requests, known when the
// table is compiled (the fast path hands those requests to the general path; ADR 0016).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FilterIR, RoutingTable } from '../../api/routing-table.ts';
import { compileTable } from './compile.ts';
import { backendName, forward, gatewayTable, listener, meshTable, rule, servicePort, vhost } from './test-support.ts';

const MIRROR: FilterIR = { type: 'RequestMirror', backend: backendName('mirror'), percent: 100 };
const plain = (): ReturnType<typeof rule>[] => [rule('r0', { path: { type: 'PathPrefix', value: '/r0' } }), rule('r1')];
const routes = (rules: ReturnType<typeof rule>[]) => ({ kind: 'HTTPRoute' as const, virtualHosts: [vhost('*', rules)] });

const cases: { name: string; table: () => RoutingTable; mirrors: boolean }[] = [
  { name: 'no rule mirrors', table: () => meshTable([servicePort({ producer: routes(plain()) })]), mirrors: false },
  { name: 'a Service without routes', table: () => meshTable([servicePort()]), mirrors: false },
  { name: 'a producer rule mirrors', table: () => meshTable([servicePort({ producer: routes([...plain(), rule('m', { filters: [MIRROR] })]) })]), mirrors: true },
  {
    name: 'a backend of a consumer rule mirrors',
    table: () => meshTable([servicePort({ producer: routes(plain()), consumers: [{ namespace: 'client', routes: routes([rule('m', { action: forward('a', [MIRROR]) })]) }] })]),
    mirrors: true,
  },
  { name: 'a Gateway listener rule mirrors', table: () => gatewayTable([listener('l', null, [vhost('example.com', [rule('m', { filters: [MIRROR] })])])]), mirrors: true },
  { name: 'a Gateway listener without mirrors', table: () => gatewayTable([listener('l', null, [vhost('example.com', plain())])]), mirrors: false },
  {
    name: 'a redirect rule with a mirror filter',
    table: () => meshTable([servicePort({ producer: routes([rule('m', { filters: [MIRROR], action: { type: 'Redirect', redirect: { scheme: 'https', hostname: null, port: null, path: null, statusCode: 302 } } })]) })]),
    mirrors: true,
  },
];

for (const c of cases) {
  test(`compileTable mirrors: ${c.name} -> ${c.mirrors}`, () => {
    assert.equal(compileTable(c.table()).mirrors, c.mirrors);
  });
}
