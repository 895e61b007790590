import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from '../../api/validate.ts';
import { entryVersion, withVersion } from '../../api/version.ts';
import { ROUTING_TABLE_API_VERSION, type RoutingTable } from '../../api/routing-table.ts';
import type { SubscriptionTarget } from '../../api/wire.ts';
import { backend, backendName, gateway, rule, service, table } from '../../test/support/routing-tables.ts';
import { TableVersioner } from '../translate/table-version.ts';
import { patchSlice, routesIn, sliceTable, sliceVersion } from './slice.ts';

// Three Services: reviews (producer route splitting to v1/v2 with a mirror to shadow, and a
// consumer route from namespace `web`), ratings (no routes) and a Gateway routing to ratings.
function mesh(): RoutingTable {
  const reviews = service({
    name: 'reviews', clusterIP: '10.0.0.1', port: 9080,
    rules: [rule({ route: 'reviews-split', filters: [{ type: 'RequestMirror', backend: backendName('default', 'shadow', 80), percent: 10 }], backends: [{ backend: backendName('default', 'reviews-v1', 9080) }, { backend: backendName('default', 'reviews-v2', 9080) }] })],
    consumers: [
      { namespace: 'web', rules: [rule({ route: 'reviews-web', namespace: 'web', backends: [{ backend: backendName('default', 'reviews-v2', 9080) }] })] },
      { namespace: 'zz', rules: [rule({ route: 'reviews-zz', namespace: 'zz', backends: [{ backend: backendName('default', 'reviews-v1', 9080) }] })] },
    ],
  });
  const ratings = service({ name: 'ratings', clusterIP: '10.0.0.2', port: 8080 });
  const gw = gateway({ namespace: 'infra', name: 'public', port: 80, listeners: [{ name: 'http', hostname: null, vhosts: [{ hostname: '*', rules: [rule({ route: 'front', namespace: 'infra', backends: [{ backend: backendName('default', 'ratings', 8080) }] })] }] }] });
  return table({
    services: [reviews, ratings],
    gateways: [gw],
    backends: [
      backend('default', 'reviews', 9080, [{ port: 1 }]),
      backend('default', 'reviews-v1', 9080, [{ port: 2, podName: 'reviews-v1-abc' }]),
      backend('default', 'reviews-v2', 9080, [{ port: 3 }]),
      backend('default', 'shadow', 80, [{ port: 4 }]),
      backend('default', 'ratings', 8080, [{ port: 5, podName: 'ratings-0' }]),
      backend('default', 'unused', 80, [{ port: 6 }]),
    ],
  });
}

const dest = (address: string, port: number): SubscriptionTarget => ({ kind: 'destination', address, port });
const names = (xs: { name: string }[]): string[] => xs.map((x) => x.name);

describe('sliceTable', () => {
  test('an agent with no subscriptions gets an empty, valid table', () => {
    const s = validate(sliceTable(mesh(), { targets: [] }));
    assert.deepEqual([s.services, s.gateways, s.backends, s.secrets], [[], [], [], []]);
  });

  test('a destination brings its frontend and every backend its routes reference, nothing else', () => {
    const s = validate(sliceTable(mesh(), { agent: { namespace: 'default', pod: 'p' }, targets: [dest('10.0.0.1', 9080)] }));
    assert.deepEqual(names(s.services), ['service/default/reviews']);
    assert.deepEqual(names(s.backends), ['service/default/reviews-v1/9080', 'service/default/reviews-v2/9080', 'service/default/reviews/9080', 'service/default/shadow/80']);
    assert.deepEqual(s.gateways, []);
  });

  test('agents that see the same cut of a frontend share one object; another cut is another object', () => {
    const t = mesh();
    const of = (namespace: string, pod: string) => sliceTable(t, { agent: { namespace, pod }, targets: [dest('10.0.0.1', 9080)] }).services[0];
    // Consumer routes of namespace zz are cut for every agent in web: one shared view, so a
    // versioner serialises it once for all of them.
    assert.equal(of('web', 'a'), of('web', 'b'));
    assert.notEqual(of('web', 'a'), of('zz', 'c'));
    assert.deepEqual(of('zz', 'c')?.ports[0]?.consumers.map((c) => c.namespace), ['zz']);
    // Nothing cut (no namespace filter): the table's own entry.
    assert.equal(sliceTable(t, { targets: [dest('10.0.0.1', 9080)] }).services[0], t.services.find((x) => x.name === 'service/default/reviews'));
    // A new table's entry is a new object: its views are not the old one's.
    assert.notEqual(sliceTable(mesh(), { agent: { namespace: 'web', pod: 'a' }, targets: [dest('10.0.0.1', 9080)] }).services[0], of('web', 'a'));
  });

  test('consumer routes of other namespaces are left out; the agent\'s own stay', () => {
    const web = sliceTable(mesh(), { agent: { namespace: 'web', pod: 'p' }, targets: [dest('10.0.0.1', 9080)] });
    assert.deepEqual(web.services[0]?.ports[0]?.consumers.map((c) => c.namespace), ['web']);
    assert.deepEqual([...routesIn(web)].sort(), ['HTTPRoute/default/reviews-split', 'HTTPRoute/web/reviews-web']);
    const other = sliceTable(mesh(), { agent: { namespace: 'default', pod: 'p' }, targets: [dest('10.0.0.1', 9080)] });
    assert.deepEqual(other.services[0]?.ports[0]?.consumers, []);
    assert.deepEqual([...routesIn(other)], ['HTTPRoute/default/reviews-split']);
  });

  test('without an agent identity every consumer set is kept', () => {
    const s = sliceTable(mesh(), { targets: [dest('10.0.0.1', 9080)] });
    assert.deepEqual(s.services[0]?.ports[0]?.consumers.map((c) => c.namespace), ['web', 'zz']);
  });

  test('a port the Service does not have, or an address that is no Service, brings nothing', () => {
    const s = sliceTable(mesh(), { targets: [dest('10.0.0.1', 9081), dest('192.168.1.1', 9080)] });
    assert.deepEqual([s.services, s.backends], [[], []]);
  });

  test('addresses match whatever form the socket reported (IPv4-mapped, brackets, case)', () => {
    const t = table({
      services: [{ ...service({ name: 'v6', clusterIP: 'fd00::1', port: 80 }) }, service({ name: 'v4', clusterIP: '10.0.0.9', port: 80 })],
      backends: [backend('default', 'v6', 80, [{ port: 1 }]), backend('default', 'v4', 80, [{ port: 1 }])],
    });
    assert.deepEqual(names(sliceTable(t, { targets: [dest('::ffff:10.0.0.9', 80)] }).services), ['service/default/v4']);
    assert.deepEqual(names(sliceTable(t, { targets: [dest('[FD00::1]', 80)] }).services), ['service/default/v6']);
  });

  test('only the subscribed ports of a multi-port Service are kept', () => {
    const base = service({ name: 'multi', clusterIP: '10.0.0.5', port: 80 });
    const p443 = { ...base.ports[0]!, port: 443, defaultBackend: backendName('default', 'multi', 443) };
    const t = table({ services: [{ ...base, ports: [base.ports[0]!, p443] }], backends: [backend('default', 'multi', 80, [{ port: 1 }]), backend('default', 'multi', 443, [{ port: 2 }])] });
    const s = validate(sliceTable(t, { targets: [dest('10.0.0.5', 443)] }));
    assert.deepEqual(s.services[0]?.ports.map((p) => p.port), [443]);
    assert.deepEqual(names(s.backends), ['service/default/multi/443']);
    const both = sliceTable(t, { targets: [dest('10.0.0.5', 443), dest('10.0.0.5', 80)] });
    assert.deepEqual(both.services[0]?.ports.map((p) => p.port), [80, 443]);
  });

  test('a Gateway brings its routes\' backends; "gateways" brings all of them', () => {
    const one = validate(sliceTable(mesh(), { targets: [{ kind: 'gateway', namespace: 'infra', name: 'public' }] }));
    assert.deepEqual(names(one.gateways), ['gateway/infra/public']);
    assert.deepEqual(names(one.backends), ['service/default/ratings/8080']);
    assert.deepEqual([...routesIn(one)], ['HTTPRoute/infra/front']);
    assert.deepEqual(sliceTable(mesh(), { targets: [{ kind: 'gateways' }] }).version, one.version);
    assert.deepEqual(sliceTable(mesh(), { targets: [{ kind: 'gateway', namespace: 'default', name: 'public' }] }).gateways, []);
  });

  test('HTTPS listeners bring their certificates', () => {
    const gw = gateway({ name: 'tls', port: 443, listeners: [{ name: 'https', hostname: 'a.example', vhosts: [] }] });
    const port = { ...gw.ports[0]!, protocol: 'HTTPS' as const, listeners: gw.ports[0]!.listeners.map((l) => ({ ...l, certificates: ['secret/default/a'] })) };
    const secrets = [{ name: 'secret/default/a', certificateChain: 'C', privateKey: 'K' }, { name: 'secret/default/b', certificateChain: 'C', privateKey: 'K' }];
    const full = validate(withVersion({ apiVersion: ROUTING_TABLE_API_VERSION, gateways: [{ ...gw, ports: [port] }], services: [], backends: [], secrets, policies: [] }));
    const s = validate(sliceTable(full, { targets: [{ kind: 'gateway', namespace: 'default', name: 'tls' }] }));
    assert.deepEqual(names(s.secrets), ['secret/default/a']);
    assert.deepEqual(sliceTable(full, { targets: [dest('10.0.0.1', 80)] }).secrets, []);
  });

  test('an inbound port brings the backends this pod serves on that port', () => {
    const s = sliceTable(mesh(), { agent: { namespace: 'default', pod: 'ratings-0' }, targets: [{ kind: 'inbound', port: 5 }] });
    assert.deepEqual(names(s.backends), ['service/default/ratings/8080']);
    assert.deepEqual(sliceTable(mesh(), { agent: { namespace: 'default', pod: 'ratings-0' }, targets: [{ kind: 'inbound', port: 6 }] }).backends, []);
    assert.deepEqual(sliceTable(mesh(), { agent: { namespace: 'other', pod: 'ratings-0' }, targets: [{ kind: 'inbound', port: 5 }] }).backends, []);
  });

  test('deterministic: the order of subscriptions does not change the slice or its version', () => {
    const a = sliceTable(mesh(), { targets: [dest('10.0.0.2', 8080), dest('10.0.0.1', 9080), { kind: 'gateways' }] });
    const b = sliceTable(mesh(), { targets: [{ kind: 'gateways' }, dest('10.0.0.1', 9080), dest('10.0.0.2', 8080), dest('10.0.0.2', 8080)] });
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    validate(a);
  });

  test('the version changes exactly when the slice\'s content does', () => {
    const t1 = mesh();
    const subs = { targets: [dest('10.0.0.2', 8080)] };
    const before = sliceTable(t1, subs).version;
    // A change to a Service the agent does not use leaves its slice alone.
    const t2 = table({ services: t1.services, gateways: t1.gateways, backends: t1.backends.map((b) => (b.serviceName === 'unused' ? backend('default', 'unused', 80, [{ port: 7 }]) : b)) });
    assert.notEqual(t2.version, t1.version);
    assert.equal(sliceTable(t2, subs).version, before);
    // A change to its own backend's endpoints does change it.
    const t3 = table({ services: t1.services, gateways: t1.gateways, backends: t1.backends.map((b) => (b.serviceName === 'ratings' ? backend('default', 'ratings', 8080, [{ port: 9 }]) : b)) });
    assert.notEqual(sliceTable(t3, subs).version, before);
  });

  test('with a versioner (kept entry JSON, one hash call) the version is the content hash an agent checks', () => {
    const t = mesh();
    const versioner = new TableVersioner();
    const agent = { namespace: 'web', pod: 'ratings-0' };
    const cases: SubscriptionTarget[][] = [
      [], [dest('10.0.0.1', 9080)], [dest('10.0.0.2', 8080), dest('10.0.0.1', 9080)], [{ kind: 'gateways' }],
      [{ kind: 'inbound', port: 5 }, dest('10.0.0.1', 9080)], [dest('10.9.9.9', 1)],
    ];
    for (const targets of cases) {
      const s = sliceTable(t, { agent, targets }, versioner);
      assert.equal(s.version, sliceTable(t, { agent, targets }).version, JSON.stringify(targets));
      validate(s); // throws unless version === computeVersion(content)
      const patched = patchSlice(s, new Map([[backendName('default', 'reviews-v2', 9080), backend('default', 'reviews-v2', 9080, [{ port: 33 }])]]), versioner);
      validate(patched);
    }
  });

  test('by the entry rule, versions built from parts kept per list are entryVersion()\'s, lists shared or replaced', () => {
    const t = mesh();
    const versioner = new TableVersioner();
    const agent = { namespace: 'web', pod: 'ratings-0' };
    const cases: SubscriptionTarget[][] = [
      [], [dest('10.0.0.1', 9080)], [dest('10.0.0.2', 8080), dest('10.0.0.1', 9080)], [{ kind: 'gateways' }], [{ kind: 'inbound', port: 5 }, dest('10.0.0.1', 9080)],
    ];
    for (const targets of cases) {
      const s = sliceTable(t, { agent, targets }, versioner, true);
      const { version: _v, ...content } = s;
      assert.equal(s.version, entryVersion(content), JSON.stringify(targets));
      validate(s);
      // Again with the same lists (their parts kept), then with one list replaced.
      assert.equal(sliceVersion(content, versioner, true), s.version);
      const other = { ...content, backends: [...content.backends, backend('default', 'zzz', 1, [{ port: 1 }])] };
      assert.equal(sliceVersion(other, versioner, true), entryVersion(other));
      assert.equal(sliceVersion(content, versioner, true), s.version, 'the first list\'s part unchanged');
    }
  });

  test('by the entry rule, every list has its own place in the version: secrets and policies too, and a patch keeps them', () => {
    // (the bench's and mesh()'s slices hold no secrets or policies: their two lists' parts are both `[]`)
    const versioner = new TableVersioner();
    const entry = (name: string): never => ({ name, marker: name }) as never;
    const content: Omit<RoutingTable, 'version'> = {
      apiVersion: ROUTING_TABLE_API_VERSION, gateways: [entry('g')], services: [entry('s')], backends: [backend('default', 'b', 80, [{ port: 1 }])],
      secrets: [entry('x')], policies: [entry('p')],
    };
    const version = sliceVersion(content, versioner, true);
    assert.equal(version, entryVersion(content));
    for (const [a, b] of [['secrets', 'policies'], ['gateways', 'services'], ['services', 'backends']] as const) {
      const swapped = { ...content, [a]: content[b], [b]: content[a] } as Omit<RoutingTable, 'version'>;
      assert.notEqual(sliceVersion(swapped, versioner, true), version, `${a} and ${b} swapped`);
      assert.equal(sliceVersion(swapped, versioner, true), entryVersion(swapped), `${a} and ${b} swapped`);
    }
    const patched = patchSlice({ ...content, version }, new Map([[backendName('default', 'b', 80), backend('default', 'b', 80, [{ port: 2 }])]]), versioner);
    assert.equal(patched.secrets, content.secrets);
    assert.equal(patched.policies, content.policies);
    const { version: v, ...rest } = patched;
    assert.equal(v, entryVersion(rest));
    assert.notEqual(v, version);
  });
});
