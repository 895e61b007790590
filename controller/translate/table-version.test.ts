// An endpoint patch must cost what it touched (issue 14): only the backends it replaced are
// serialised, and the whole table is hashed only if something reads the patched version. The
// version, when read, is still the content hash a from-scratch translation of the same snapshot
// gives (agents, replicas and goldens compare versions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, computeVersion } from '../../api/version.ts';
import { EndpointPatcher, endpointOnlyChange } from './endpoint-patch.ts';
import { translate } from './index.ts';
import { IncrementalTranslator } from './incremental.ts';
import { TableVersioner } from './table-version.ts';
import type { Snapshot, TranslateResult } from './snapshot.ts';
import * as f from './test-fixtures.ts';

const SERVICES = 60;

function world(): Snapshot {
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  return f.snapshot({
    services: names.map((n, i) => f.service(n, 'bench', [{ name: 'http', port: 80 }], `10.96.0.${i + 1}`)),
    endpointSlices: names.map((n, i) => f.endpointSlice(n, 'bench', [`10.1.0.${i + 1}`])),
    httpRoutes: names.map((n) => f.httpRoute(`route-${n}`, 'bench', { parentRefs: [{ group: '', kind: 'Service', name: n, port: 80 }], rules: [{ backendRefs: [{ name: n, port: 80 }] }] })),
  });
}

/** The snapshot with Service i's slice rewritten to `addresses`. */
function withSlice(s: Snapshot, i: number, addresses: string[]): Snapshot {
  const endpointSlices = s.endpointSlices.slice();
  endpointSlices[i] = f.endpointSlice(`svc-${i}`, 'bench', addresses);
  return { ...s, endpointSlices };
}

function setup(): { snap: Snapshot; result: TranslateResult; translator: IncrementalTranslator; patcher: EndpointPatcher } {
  const snap = world();
  const translator = new IncrementalTranslator();
  const result = translator.translate(snap);
  void result.ir.version; // read once: every entry's JSON kept, as after the first table a dump or test read
  const patcher = new EndpointPatcher(translator.versioner);
  patcher.rebase(translator.lookup);
  return { snap, result, translator, patcher };
}

test('an endpoint patch serialises only the backend it replaced and hashes the table only when its version is read', () => {
  const { snap, result, translator, patcher } = setup();
  assert.equal(result.ir.backends.length, SERVICES);
  const before = translator.versioner.counts;
  const next = withSlice(snap, 7, ['10.1.1.7', '10.1.2.7']);
  const patched = patcher.patch(result, next, endpointOnlyChange(snap, next)!);
  assert.notEqual(patched.ir, result.ir);
  assert.deepEqual(translator.versioner.counts, before, 'patching serialised and hashed nothing');
  const version = patched.ir.version;
  assert.deepEqual(translator.versioner.counts, { serialised: before.serialised + 1, hashed: before.hashed + 1 }, 'reading it: one backend serialised, one hash');
  assert.equal(version, computeVersion(patched.ir));
  assert.equal(version, translate(next).ir.version, 'the version of a from-scratch translation');
  assert.equal(patched.ir.version, version);
  assert.equal(translator.versioner.counts.hashed, before.hashed + 1, 'hashed once, then kept');
});

test('over a sequence of patches whose versions nobody reads, each version read afterwards is the from-scratch one', () => {
  const { snap, result, translator, patcher } = setup();
  const steps: { snap: Snapshot; result: TranslateResult }[] = [];
  let s = snap;
  let r = result;
  const before = translator.versioner.counts;
  // [service, addresses]: a pod added, one removed, a slice emptied, one back as it was first.
  const edits: [number, string[]][] = [[3, ['10.1.0.4', '10.1.9.4']], [3, ['10.1.9.4']], [41, []], [0, ['10.1.5.1']], [41, ['10.1.0.42']], [3, ['10.1.0.4']], [59, ['10.1.3.60', '10.1.4.60']]];
  for (const [i, addresses] of edits) {
    const next = withSlice(s, i, addresses);
    r = patcher.patch(r, next, endpointOnlyChange(s, next)!);
    s = next;
    steps.push({ snap: s, result: r });
  }
  assert.deepEqual(translator.versioner.counts, before, 'no patch hashed or serialised anything');
  for (const step of steps.reverse()) {
    const scratch = translate(step.snap);
    assert.equal(step.result.ir.version, scratch.ir.version);
    assert.deepEqual(step.result, scratch);
  }
  // Serialised: one backend per edit at most (a backend already seen, as first translated, is not).
  assert.ok(translator.versioner.counts.serialised - before.serialised <= edits.length);
});

test('a lazy version is an ordinary enumerable property: JSON, spreads and key order are withVersion()\'s', () => {
  const v = new TableVersioner();
  const { ir } = translate(world());
  const { version: _v, ...content } = ir;
  const lazy = v.withLazyVersion(content);
  const eager = v.withVersion(content);
  assert.deepEqual(Object.keys(lazy), Object.keys(eager));
  assert.equal(JSON.stringify(lazy), JSON.stringify(eager));
  assert.equal({ ...lazy }.version, ir.version);
  assert.deepEqual(lazy, ir);
});

test('a route change translated incrementally hashes nothing until its version is read, and then it is the from-scratch one', () => {
  const { snap, result, translator } = setup();
  const before = translator.versioner.counts;
  const httpRoutes = snap.httpRoutes.slice();
  httpRoutes[5] = f.httpRoute('route-svc-5', 'bench', { parentRefs: [{ group: '', kind: 'Service', name: 'svc-5', port: 80 }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'svc-5', port: 80 }] }] });
  const next = { ...snap, httpRoutes };
  const changed = translator.translate(next);
  const svc5 = (ir: TranslateResult['ir']) => ir.services.find((x) => x.serviceName === 'svc-5');
  assert.notDeepEqual(svc5(changed.ir), svc5(result.ir), 'the route changed its frontend');
  assert.deepEqual(translator.versioner.counts, before, 'translating serialised and hashed nothing');
  assert.equal(changed.ir.version, translate(next).ir.version);
  assert.deepEqual(translator.versioner.counts, { serialised: before.serialised + 1, hashed: before.hashed + 1 }, 'reading it: the changed frontend serialised, one hash');
});

test('an entry\'s JSON is canonicalJson()\'s for any JSON-like value: undefined, NaN, nested rules lists, odd keys (200 random values)', () => {
  let seed = 16;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const keys = ['rules', 'b', 'a', 'Z', 'é', '"q"', '10', '2', '01', '4294967295', ''];
  const value = (depth: number): unknown => {
    const k = rand(depth > 3 ? 7 : 10);
    if (k === 0) return null;
    if (k === 1) return undefined;
    if (k === 2) return [0, -0, 1.5, 1e21, NaN, Infinity][rand(6)];
    if (k === 3) return ['', 'x', 'line\nbreak', '\u2028', 'é'][rand(5)];
    if (k === 4) return rand(2) === 0;
    if (k === 5) return () => 1;
    if (k === 6) return 'plain';
    if (k === 7) return Array.from({ length: rand(4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rand(5); i > 0; i--) o[keys[rand(keys.length)]!] = value(depth + 1);
    return o;
  };
  for (let i = 0; i < 200; i++) {
    const v = new TableVersioner();
    const entry = { rules: [value(1), value(1)], nested: { rules: [value(2)] }, other: value(0) };
    assert.equal(v.json(entry), canonicalJson(entry), `value ${i}`);
  }
});

test('an edit of one route in a frontend of 300 serialises that route\'s rule, not the frontend\'s 300, and the version is the from-scratch one', () => {
  const parentRefs = [{ group: '', kind: 'Service', name: 'big', port: 80 }];
  const routes = Array.from({ length: 300 }, (_, i) => f.httpRoute(`r${i}`, 'bench', { parentRefs, rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/r${i}` } }], backendRefs: [{ name: 'big', port: 80 }] }] }));
  const snap = f.snapshot({ services: [f.service('big', 'bench')], endpointSlices: [f.endpointSlice('big', 'bench', ['10.1.0.1'])], httpRoutes: routes });
  const translator = new IncrementalTranslator();
  void translator.translate(snap).ir.version;
  const rules = translator.versioner.rulesSerialised;
  assert.ok(rules >= 300, 'the first table serialised every rule');
  const httpRoutes = routes.slice();
  httpRoutes[150] = f.httpRoute('r150', 'bench', { parentRefs, rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/edited' } }], backendRefs: [{ name: 'big', port: 80 }] }] });
  const next = { ...snap, httpRoutes };
  const { ir } = translator.translate(next);
  assert.equal(ir.version, translate(next).ir.version);
  assert.equal(translator.versioner.rulesSerialised - rules, 1, 'one rule serialised for the edit');
});
