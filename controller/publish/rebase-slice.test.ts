import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTING_TABLE_API_VERSION, type BackendIR, type PolicyIR, type RoutingTable, type ServiceFrontendIR } from '../../api/routing-table.ts';
import { withVersion } from '../../api/version.ts';
import type { SubscriptionTarget } from '../../api/wire.ts';
import { backend, backendName, rule, service } from '../../test/support/routing-tables.ts';
import { TableVersioner } from '../translate/table-version.ts';
import { entryDelta, rebaseSlice } from './rebase-slice.ts';
import { sliceTable } from './slice.ts';

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A table as translation hands it over (sorted), without validate(): a frontend may refer to a backend the table lacks. */
function tableOf(services: ServiceFrontendIR[], backends: BackendIR[], policies: PolicyIR[] = []): RoutingTable {
  return withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [...services].sort(byName), backends: [...backends].sort(byName), secrets: [], policies });
}

const dest = (address: string, port: number): SubscriptionTarget => ({ kind: 'destination', address, port });

/** Frontend `n` on ports 80 and 81, a producer route and consumer routes from `web` and `api`, each to one of `to`. */
function frontend(n: string, ip: string, to: string[], tag: string): ServiceFrontendIR {
  const r = (route: string, namespace: string, b: string) => rule({ route, namespace, headers: [{ type: 'Exact', name: 'x-tag', value: tag }], backends: [{ backend: backendName('default', b, 80) }] });
  const p80 = service({
    name: n, clusterIP: ip, port: 80, rules: [r(`${n}-p`, 'default', to[0]!)],
    consumers: [{ namespace: 'web', rules: [r(`${n}-web`, 'web', to[1 % to.length]!)] }, { namespace: 'api', rules: [r(`${n}-api`, 'api', to[2 % to.length]!)] }],
  });
  const p81 = service({ name: n, clusterIP: ip, port: 81 });
  return { ...p80, ports: [...p80.ports, ...p81.ports] };
}

describe('rebaseSlice', () => {
  test('over random changes it equals slicing the new table, and it applies to most route changes', () => {
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const names = ['a', 'b', 'c', 'd', 'e'];
    const ip = (n: string, moved = false): string => `10.0.${moved ? 9 : 1}.${names.indexOf(n) + 1}`;
    const fronts = new Map<string, ServiceFrontendIR>();
    const backs = new Map<string, BackendIR>();
    const targetsOf = (): string[] => [pick(names), pick(names), pick(names)];
    const newBackend = (n: string): BackendIR => backend('default', n, 80, [{ port: 1 + Math.floor(rnd() * 3), podName: 'p' }]);
    for (const n of names.slice(0, 4)) fronts.set(n, frontend(n, ip(n), targetsOf(), 't0'));
    for (const n of names.slice(0, 4)) backs.set(n, newBackend(n));
    const policy = (tag: string): PolicyIR[] => [{ name: 'authorizationpolicy/default/p', namespace: 'default', endpoints: [{ address: '10.1.0.1', port: 1, namespace: 'web', podName: 'w0' }], rules: [{ principals: [tag] }] } as unknown as PolicyIR];
    let policies = policy('a');
    const subs = Array.from({ length: 12 }, (_, i) => ({
      agent: { namespace: pick(['web', 'api', 'default']), pod: i % 4 === 0 ? 'w0' : `p${i}` },
      targets: [...new Set([pick(names), pick(names)])].map((n) => dest(rnd() < 0.15 ? '10.0.9.9' : ip(n), rnd() < 0.7 ? 80 : 81)),
    }));
    let prev = tableOf([...fronts.values()], [...backs.values()], policies);
    const versioner = new TableVersioner();
    let rebased = 0;
    let routeOnly = 0;
    for (let step = 0; step < 200; step++) {
      const n = pick(names);
      const r = rnd();
      let routeChange = false;
      if (r < 0.45 && fronts.has(n)) {
        // A route change: the same Service, new rules (sometimes other backends).
        const f = fronts.get(n)!;
        const to = rnd() < 0.7 ? [...frontendTo(f)] : targetsOf();
        fronts.set(n, frontend(n, f.clusterIPs[0]!, to, `t${step}`));
        routeChange = true;
      } else if (r < 0.55) {
        if (fronts.has(n)) fronts.delete(n);
        else fronts.set(n, frontend(n, ip(n), targetsOf(), `t${step}`));
      } else if (r < 0.62 && fronts.has(n)) {
        fronts.set(n, frontend(n, ip(n, !fronts.get(n)!.clusterIPs[0]!.startsWith('10.0.9.')), targetsOf(), `t${step}`));
      } else if (r < 0.85) {
        if (rnd() < 0.2 && backs.has(n)) backs.delete(n);
        else backs.set(n, newBackend(n));
      } else if (r < 0.92) {
        policies = rnd() < 0.5 ? policies.map((p) => ({ ...p })) : policy(`k${step}`);
      }
      const next = tableOf([...fronts.values()], [...backs.values()], policies);
      const delta = entryDelta(prev, next);
      const samePolicies = prev.policies.length === next.policies.length && prev.policies.every((p, i) => versioner.json(p) === versioner.json(next.policies[i]));
      for (const s of subs) {
        const last = sliceTable(prev, s, versioner);
        const got = rebaseSlice(last, delta, s.targets, s.agent.namespace, samePolicies, versioner);
        if (got === null) continue;
        rebased++;
        if (routeChange) routeOnly++;
        assert.deepEqual(got, sliceTable(next, s, versioner), `step ${step}: ${JSON.stringify(s)}`);
      }
      prev = next;
    }
    assert.ok(rebased > 600 && routeOnly > 300, `rebased ${rebased} slices, ${routeOnly} after route changes`);
  });

  test('null where swapping entries is not slicing again', () => {
    const t1 = tableOf([frontend('a', '10.0.1.1', ['a'], 'x'), frontend('b', '10.0.1.2', ['b'], 'x')], [backend('default', 'a', 80, [{ port: 1 }]), backend('default', 'b', 80, [{ port: 2 }])]);
    const subs = { agent: { namespace: 'web', pod: 'w' }, targets: [dest('10.0.1.1', 80)] };
    const last = sliceTable(t1, subs);
    const after = (services: ServiceFrontendIR[]): RoutingTable => tableOf(services, t1.backends);
    const cases: [string, RoutingTable, SubscriptionTarget[], boolean][] = [
      ['a route of a changed: swapped in', after([frontend('a', '10.0.1.1', ['a'], 'y'), t1.services[1]!]), subs.targets, true],
      ['a route of a now refers to b: sliced afresh', after([frontend('a', '10.0.1.1', ['b'], 'y'), t1.services[1]!]), subs.targets, false],
      ['a moved to another address: sliced afresh', after([frontend('a', '10.0.1.9', ['a'], 'x'), t1.services[1]!]), subs.targets, false],
      ['a frontend came: sliced afresh', after([...t1.services, frontend('c', '10.0.1.3', ['a'], 'x')]), subs.targets, false],
      ['an inbound subscription: sliced afresh', after([frontend('a', '10.0.1.1', ['a'], 'y'), t1.services[1]!]), [...subs.targets, { kind: 'inbound', port: 1 }], false],
    ];
    for (const [name, next, targets, rebases] of cases) {
      const got = rebaseSlice(last, entryDelta(t1, next), targets, 'web', true);
      assert.equal(got !== null, rebases, name);
      if (got) assert.deepEqual(got, sliceTable(next, { ...subs, targets }), name);
    }
    assert.equal(rebaseSlice(last, entryDelta(t1, tableOf(t1.services, t1.backends)), subs.targets, 'web', false), null, 'other policies: sliced afresh');
  });
});

/** The backends a frontend() routes to, in the order it was given them. */
function frontendTo(f: ServiceFrontendIR): string[] {
  const p = f.ports[0]!;
  const of = (rules: { action: { type: string; backends?: { backend: string | null }[] } }[]): string => (rules[0]!.action.backends![0]!.backend ?? '').split('/')[2]!;
  const web = p.consumers.find((c) => c.namespace === 'web')!;
  const api = p.consumers.find((c) => c.namespace === 'api')!;
  return [of(p.producer!.virtualHosts[0]!.rules), of(web.routes.virtualHosts[0]!.rules), of(api.routes.virtualHosts[0]!.rules)];
}
