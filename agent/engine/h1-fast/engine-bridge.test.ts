// The fast path's decision on a new routing table: whether the table mirrors requests (which the
// fast path hands to the general path) is known from the swap, so the first request routed on a
// table of 1 000 rules reads no rule but those its path can match (it walked every object of the
// table before: 1-8 ms at 1 000 routes on the serving thread, right after each swap; ADR 0016).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FilterIR, RouteRuleIR, RoutingTable } from '../../../api/routing-table.ts';
import { ProxyCore } from '../core.ts';
import type { HttpSite } from '../http-handler.ts';
import { backendName, meshTable, rule, servicePort, SERVICE_IP, vhost } from '../../route/test-support.ts';
import { decide } from './engine-bridge.ts';
import { describeRequest, type RequestHead } from './request-head.ts';

const quiet = (): void => undefined;
const MIRROR: FilterIR = { type: 'RequestMirror', backend: backendName('mirror'), percent: 100 };

const site: HttpSite = {
  kind: 'outbound', scheme: 'http',
  destination: () => ({ kind: 'route', target: { kind: 'mesh', address: SERVICE_IP, port: 80, clientNamespace: 'client' } }),
};

function head(target: string): RequestHead {
  const d = describeRequest(1, 1, ['Host', 'echo.ns'], 'GET', target, false, true);
  if (d.kind !== 'fast') throw new Error(`not a fast-path request: ${d.kind}`);
  return d.head;
}

function table(n: number, extra: RouteRuleIR[] = []): RoutingTable {
  const rules = Array.from({ length: n }, (_, i) => rule(`r${i}`, { path: { type: 'PathPrefix', value: `/r${i}` } }));
  return meshTable([servicePort({ producer: { kind: 'HTTPRoute', virtualHosts: [vhost('*', [...rules, ...extra])] } })]);
}

test('the first request on a new 1 000-rule table reads only the rule its path matches', () => {
  const core = new ProxyCore({ log: quiet, streamIdleTimeoutMs: 0 });
  assert.ok(core.holder.apply(table(3)));
  assert.equal(decide(core, site, head('/r1'), '127.0.0.1').kind, 'forward'); // the old table served

  const t = table(1_000);
  const vh = t.services[0]!.ports[0]!.producer!.virtualHosts[0]!;
  // every rule object counts the property reads and key listings made on it
  const reads = new Map<string, number>();
  const count = (name: string): void => { reads.set(name, (reads.get(name) ?? 0) + 1); };
  vh.rules = vh.rules.map((r) => new Proxy(r, {
    get: (o, k, recv) => { count(r.name); return Reflect.get(o, k, recv) as unknown; },
    ownKeys: (o) => { count(r.name); return Reflect.ownKeys(o); },
  }));
  assert.ok(core.holder.apply(t));
  reads.clear(); // validating and compiling at the swap read them all

  const d = decide(core, site, head('/r500'), '127.0.0.1');
  assert.equal(d.kind === 'forward' && d.plan.rule, vh.rules[500]!.name);
  assert.ok((reads.get(vh.rules[500]!.name) ?? 0) > 0, 'the matched rule is read (the counter sees reads)');
  const others = [...reads].filter(([name]) => name !== vh.rules[500]!.name);
  assert.deepEqual(others, [], 'no other rule is read on the first request');
});

test('a table that mirrors sends its mirrored requests to the general path; the next table without mirrors does not', () => {
  const core = new ProxyCore({ log: quiet, streamIdleTimeoutMs: 0 });
  assert.ok(core.holder.apply(table(10, [rule('m', { path: { type: 'PathPrefix', value: '/m' }, filters: [MIRROR] })])));
  assert.deepEqual(decide(core, site, head('/m/x'), '127.0.0.1'), { kind: 'fallback', reason: 'mirror' });
  assert.notEqual(decide(core, site, head('/r3'), '127.0.0.1').kind, 'fallback');
  assert.ok(core.holder.apply(table(10, [rule('m', { path: { type: 'PathPrefix', value: '/m' } })])));
  assert.notEqual(decide(core, site, head('/m/x'), '127.0.0.1').kind, 'fallback');
  assert.ok(core.holder.apply(table(10, [rule('m', { path: { type: 'PathPrefix', value: '/m' }, filters: [MIRROR] })])));
  assert.deepEqual(decide(core, site, head('/m/x'), '127.0.0.1'), { kind: 'fallback', reason: 'mirror' });
});
