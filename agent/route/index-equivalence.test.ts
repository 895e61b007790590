// The indexes (virtual hosts by hostname, rules by path) must be invisible: on randomized
// tables and requests, route() must pick exactly the listener, virtual host and rule that a
// plain linear scan picks. The reference below is written independently of the matcher's code
// (its own hostname, prefix and condition logic) so a shared bug cannot hide.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { compileTable, route, shadowedRules, type Decision, type RequestDescriptor } from './index.ts';
import { matchCovers } from './explain.ts';
import { candidateLists, compileVirtualHost } from './rule-index.ts';
import {
  GATEWAY, gatewayTable, listener, pick, request, rule,
} from './test-support.ts';
import { prng } from '../../test/support/prng.ts';
import type { ListenerIR, MatchIR, RouteRuleIR, RoutingTable, VirtualHostIR } from '../../api/index.ts';

const SEGMENTS = ['a', 'b', 'api', 'v1', 'v2', 'foo', 'foobar'];
const HOSTS = ['example.com', 'a.example.com', 'b.a.example.com', 'other.org', 'x.other.org', ''];
const METHODS = ['GET', 'HEAD', 'POST'];
const REGEXES = ['/api/v[0-9]/.*', '/a.*', '/(foo|bar)', '.*b', '/foo/[a-z]+'];

function randomPath(rand: () => number, maxSegments: number): string {
  const n = 1 + Math.floor(rand() * maxSegments);
  let p = '';
  for (let i = 0; i < n; i++) p += `/${pick(rand, SEGMENTS)}`;
  return rand() < 0.2 ? `${p}/` : p;
}

function randomMatch(rand: () => number): MatchIR {
  const r = rand();
  const path: MatchIR['path'] = r < 0.35 ? { type: 'Exact', value: randomPath(rand, 3) }
    : r < 0.85 ? { type: 'PathPrefix', value: rand() < 0.1 ? '/' : randomPath(rand, 3) }
      : { type: 'RegularExpression', value: pick(rand, REGEXES) };
  const headers: MatchIR['headers'] = rand() < 0.3 ? [{ type: rand() < 0.8 ? 'Exact' : 'RegularExpression', name: 'x-env', value: pick(rand, ['prod', 'canary', 'p.*']) }] : [];
  const queryParams: MatchIR['queryParams'] = rand() < 0.2 ? [{ type: 'Exact', name: 'v', value: pick(rand, ['1', '2']) }] : [];
  return { path, method: rand() < 0.25 ? pick(rand, METHODS) : null, headers, queryParams };
}

function randomVhosts(rand: () => number, id: string, maxRules: number): VirtualHostIR[] {
  const names = ['example.com', '*.example.com', '*.a.example.com', 'other.org', '*'].filter(() => rand() < 0.6);
  return names.map((hostname, h) => {
    const rules: RouteRuleIR[] = [];
    const n = Math.floor(rand() * maxRules);
    for (let i = 0; i < n; i++) rules.push({ ...rule(`${id}-${h}-${i}`), match: randomMatch(rand) });
    return { hostname, rules };
  });
}

function randomTable(rand: () => number, maxRules: number): RoutingTable {
  const listeners: ListenerIR[] = [];
  for (const hostname of ['a.example.com', '*.example.com', 'other.org', null]) {
    if (rand() < 0.7) listeners.push(listener(`l${listeners.length}`, hostname, randomVhosts(rand, `l${listeners.length}`, maxRules)));
  }
  return gatewayTable(listeners);
}

function randomRequest(rand: () => number): RequestDescriptor {
  const headers: Record<string, string | string[]> = {};
  if (rand() < 0.5) headers['x-env'] = pick(rand, ['prod', 'canary', 'dev']);
  const query = rand() < 0.4 ? `v=${pick(rand, ['1', '2', '3'])}` : '';
  return request(randomPath(rand, 4), { method: pick(rand, METHODS), authority: pick(rand, HOSTS), query, headers });
}

// ---- the linear reference ----------------------------------------------------------------

function refHostMatches(pattern: string | null, host: string): boolean {
  if (pattern === null || pattern === '*') return true;
  if (pattern.startsWith('*.')) {
    const labels = host.split('.');
    const suffix = pattern.slice(2).split('.');
    return labels.length > suffix.length && labels.slice(labels.length - suffix.length).join('.') === suffix.join('.') && labels.every((l) => l !== '');
  }
  return pattern === host;
}

function refVhost(vhosts: VirtualHostIR[], host: string): VirtualHostIR | null {
  const exact = vhosts.find((v) => v.hostname === host);
  if (exact) return exact;
  const wild = vhosts.filter((v) => v.hostname.startsWith('*.') && refHostMatches(v.hostname, host))
    .sort((x, y) => y.hostname.length - x.hostname.length);
  return wild[0] ?? vhosts.find((v) => v.hostname === '*') ?? null;
}

const regexCache = new Map<string, RE2JS>();
function fullMatch(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (!re) regexCache.set(pattern, (re = RE2JS.compile(pattern)));
  return re.matches(value);
}

function refPathMatches(m: MatchIR['path'], path: string): boolean {
  if (m.type === 'Exact') return m.value === path;
  if (m.type === 'RegularExpression') return fullMatch(m.value, path);
  const prefixSegs = m.value.split('/').filter((s, i, all) => !(i === all.length - 1 && s === ''));
  const pathSegs = path.split('/');
  return prefixSegs.every((s, i) => pathSegs[i] === s);
}

function refRuleMatches(r: RouteRuleIR, req: RequestDescriptor): boolean {
  const m = r.match;
  if (!refPathMatches(m.path, req.path)) return false;
  if (m.method !== null && m.method !== req.method) return false;
  for (const h of m.headers) {
    const v = req.headers[h.name];
    if (typeof v !== 'string') return false;
    if (h.type === 'Exact' ? v !== h.value : !fullMatch(h.value, v)) return false;
  }
  const params = new Map<string, string>();
  for (const kv of req.query.split('&').filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    if (!params.has(k!)) params.set(k!, v);
  }
  return m.queryParams.every((q) => params.get(q.name) === q.value);
}

/** Rule name chosen, or '404'. */
function reference(table: RoutingTable, req: RequestDescriptor): string {
  const host = req.authority.toLowerCase();
  const l = table.gateways[0]!.ports[0]!.listeners.find((x) => refHostMatches(x.hostname, host));
  if (!l) return '404';
  const vh = refVhost(l.virtualHosts, host);
  if (!vh) return '404';
  return vh.rules.find((r) => refRuleMatches(r, req))?.name ?? '404';
}

function actual(d: Decision): string {
  if (d.type === 'forward' && d.rule) return d.rule.name;
  if (d.type === 'respond' && d.status === 404) return '404';
  return `unexpected ${JSON.stringify(d)}`;
}

describe('indexed lookup equals a linear first-match scan', () => {
  test('randomized tables and requests (seeded, bounded)', () => {
    let compared = 0;
    let matched = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const rand = prng(seed);
      const table = randomTable(rand, 40);
      const compiled = compileTable(table);
      for (let i = 0; i < 200; i++) {
        const req = randomRequest(rand);
        const want = reference(table, req);
        const got = actual(route(compiled, { kind: 'gateway', gateway: GATEWAY, port: 80 }, req));
        assert.equal(got, want, `seed ${seed} request ${JSON.stringify(req)}`);
        compared++;
        if (want !== '404') matched++;
      }
    }
    // The generator must exercise both outcomes, or the comparison proves little.
    assert.equal(compared, 30000);
    assert.ok(matched > compared / 5 && matched < compared * 0.95, `matched ${matched} of ${compared}`);
  });
});

describe('shadowedRules() with the index equals the brute-force pairwise check', () => {
  test('randomized tables (seeded, bounded)', () => {
    let found = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const table = randomTable(prng(1000 + seed), 30);
      const want: string[] = [];
      for (const l of table.gateways[0]!.ports[0]!.listeners) {
        for (const vh of l.virtualHosts) {
          vh.rules.forEach((r, j) => {
            const by = vh.rules.slice(0, j).find((e) => matchCovers(e.match, r.match));
            if (by) want.push(`${l.name} ${vh.hostname} ${r.name} ${by.name}`);
          });
        }
      }
      const got = shadowedRules(table).map((x) => `${x.where} ${x.virtualHost} ${x.rule} ${x.shadowedBy}`);
      assert.deepEqual(got, want, `seed ${seed}`);
      found += want.length;
    }
    assert.ok(found > 20, `only ${found} shadowed rules generated`);
  });
});

describe('scale: the work per lookup does not grow with the number of rules', () => {
  function bigVhost(n: number): VirtualHostIR {
    const rules: RouteRuleIR[] = [];
    for (let i = 0; i < n; i++) {
      const kind = i % 4;
      const match: MatchIR = {
        path: kind === 0 ? { type: 'Exact', value: `/svc-${i}/items` }
          : kind === 3 && i < 40 ? { type: 'RegularExpression', value: `/re-${i}/[0-9]+` }
            : { type: 'PathPrefix', value: `/svc-${i}` },
        method: null, headers: [], queryParams: [],
      };
      rules.push({ ...rule(`r${i}`), match });
    }
    rules.push({ ...rule('catch-all'), match: { path: { type: 'PathPrefix', value: '/' }, method: null, headers: [], queryParams: [] } });
    return { hostname: '*', rules };
  }
  const count = (vh: VirtualHostIR, path: string): number => candidateLists(compileVirtualHost(vh), path).reduce((s, l) => s + l.length, 0);

  test('candidates examined at 10 000 rules stay within a small constant of those at 10', () => {
    const small = bigVhost(10);
    const large = bigVhost(10000);
    for (const path of ['/svc-5/items', '/svc-6/x/y', '/nothing/here', '/re-3/42']) {
      const idx = Number(/\d+/.exec(path)?.[0] ?? 0);
      const atSmall = count(small, path.replace(String(idx), String(idx % 10)));
      const atLarge = count(large, path.replace(String(idx), String(9000 + (idx % 10))));
      // Only regex rules (a fixed 10 here) are scanned regardless of path.
      assert.ok(atLarge <= atSmall + 10, `${path}: ${atLarge} candidates at 10k vs ${atSmall} at 10`);
    }
  });
  test('a 10 000-rule table still routes to the right rule', () => {
    const t = gatewayTable([listener('l', null, [bigVhost(10000)])]);
    const compiled = compileTable(t);
    const target = { kind: 'gateway' as const, gateway: GATEWAY, port: 80 };
    assert.equal(actual(route(compiled, target, request('/svc-9001/a'))), 'httproute/ns/r9001/rule/0/match/0');
    assert.equal(actual(route(compiled, target, request('/svc-9000/items'))), 'httproute/ns/r9000/rule/0/match/0');
    assert.equal(actual(route(compiled, target, request('/re-3/42'))), 'httproute/ns/r3/rule/0/match/0');
    assert.equal(actual(route(compiled, target, request('/zzz'))), 'httproute/ns/catch-all/rule/0/match/0');
  });
});
