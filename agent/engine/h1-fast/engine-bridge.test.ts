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
import { decide, withoutFields } from './engine-bridge.ts';
import { requestStart, type RequestEvent } from '../../telemetry/events.ts';
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

// The inbound side removes the caller's XFCC and workload header from every request. On the fast
// path they are left out of the record before the site's decoration (a copy, not `delete`, which
// made every mesh mTLS request's record a dictionary-mode object); the app must see the same
// fields as before, in the same order, and telemetry the workload header as received.
const XFCC = 'x-forwarded-client-cert';
const WORKLOAD = 'x-meshlet-peer-workload';
const inboundSite: HttpSite = {
  kind: 'inbound', scheme: 'http', peerIdentity: 'spiffe://cluster.local/ns/shop/sa/productpage',
  destination: () => ({ kind: 'direct', endpoint: { address: '127.0.0.1', port: 9080 }, reason: 'inbound' }),
  // the inbound side's decoration (inbound-listener.ts)
  decorate: (_req, headers) => {
    if (headers[XFCC] !== undefined) delete headers[XFCC];
    if (headers[WORKLOAD] !== undefined) delete headers[WORKLOAD];
    headers[XFCC] = 'By=spiffe://cluster.local/ns/shop/sa/reviews;URI=spiffe://cluster.local/ns/shop/sa/productpage';
  },
};

function inboundHead(fields: string[]): RequestHead {
  const d = describeRequest(1, 1, ['Host', 'reviews:9080', ...fields], 'POST', '/r?x=1', false, true);
  if (d.kind !== 'fast') throw new Error(`not a fast-path request: ${d.kind}`);
  return d.head;
}

test('stripped fields: the app gets the same fields in the same order, telemetry the workload header as received', () => {
  const core = new ProxyCore({ log: quiet, streamIdleTimeoutMs: 0 });
  const events: RequestEvent[] = [];
  const seen = (ev: unknown): void => { events.push(ev as RequestEvent); };
  requestStart.subscribe(seen);
  try {
    const cases: { name: string; fields: string[] }[] = [
      { name: 'workload header between others', fields: ['Accept', '*/*', 'X-Meshlet-Peer-Workload', 'productpage-v1', 'X-Trace', 't1', 'Content-Length', '2'] },
      { name: 'a forged XFCC and the workload header', fields: ['X-Forwarded-Client-Cert', 'By=x;URI=forged', 'Accept', '*/*', 'x-meshlet-peer-workload', 'productpage-v1'] },
      { name: 'neither', fields: ['Accept', '*/*', 'X-Trace', 't1'] },
    ];
    for (const c of cases) {
      const general = decide(core, inboundSite, inboundHead(c.fields), '127.0.0.1');
      const fast = decide(core, inboundSite, inboundHead(c.fields), '127.0.0.1', undefined, [XFCC, WORKLOAD]);
      assert.ok(general.kind === 'forward' && fast.kind === 'forward', c.name);
      const want = Object.entries(general.plan.request.headers);
      assert.deepEqual(Object.entries(fast.plan.request.headers), want, `${c.name}: the same fields in the same order`);
      assert.equal(want.filter(([k]) => k === XFCC).length, 1, `${c.name}: one XFCC, the site's`);
      assert.ok(!want.some(([k]) => k === WORKLOAD), `${c.name}: no workload header for the app`);
      const [evGeneral, evFast] = events.splice(0);
      const received = c.fields.includes('productpage-v1') ? 'productpage-v1' : undefined;
      assert.equal(evGeneral!.peerWorkloadHeader, received, c.name);
      assert.equal(evFast!.peerWorkloadHeader, received, `${c.name}: telemetry reads the header as received`);
    }
  } finally {
    requestStart.unsubscribe(seen);
  }
});

test('withoutFields: the same record when none is present, else a copy without them in order', () => {
  const none = { accept: '*/*', 'x-trace': 't1' };
  assert.equal(withoutFields(none, [XFCC, WORKLOAD]), none);
  const some = { accept: '*/*', [WORKLOAD]: 'a', 'x-trace': ['t1', 't2'], [XFCC]: 'x', host: 'h' };
  const out = withoutFields(some, [XFCC, WORKLOAD]);
  assert.deepEqual(Object.entries(out), [['accept', '*/*'], ['x-trace', ['t1', 't2']], ['host', 'h']]);
  assert.equal(some[WORKLOAD], 'a', 'the received record is left as it was');
});
