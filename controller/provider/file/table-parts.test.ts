// A table sent in parts (only rules the serving thread does not hold yet) must come out as the
// table that was sent: over seeded random sequences of route edits in big frontends (routes added,
// removed, edited, moved between Services, consumer routes, routes with two parents), each table
// of one IncrementalTranslator, encoded and decoded in turn, deep-equals translate() of the same
// snapshot; and an edit of one route of 300 sends that route's rule alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoutingTable } from '../../../api/routing-table.ts';
import { IncrementalTranslator, translate } from '../../translate/index.ts';
import type { KubeObject, Snapshot } from '../../translate/snapshot.ts';
import * as f from '../../translate/test-fixtures.ts';
import { prng } from '../../../test/support/prng.ts';
import { TablePartsDecoder, TablePartsEncoder, type TableParts } from './table-parts.ts';

const SERVICES = ['front', 'cart', 'stock'];

function decode(decoder: TablePartsDecoder, parts: TableParts): RoutingTable {
  const table = JSON.parse(parts.head) as RoutingTable;
  decoder.begin(parts.stream);
  for (const slice of parts.services) table.services.push(...decoder.services(slice));
  decoder.end();
  for (const slice of parts.backends) table.backends.push(...(JSON.parse(slice) as RoutingTable['backends']));
  return table;
}

function route(rnd: () => number, name: string): KubeObject {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const parentRefs = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => ({ group: '', kind: 'Service', name: pick(SERVICES), namespace: 'shop' }));
  const rules = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => ({
    matches: [{ path: { type: 'PathPrefix', value: pick(['/', '/a', '/b', `/${name}`]) } }],
    backendRefs: [{ name: pick(SERVICES), port: 80 }],
  }));
  // Some in another namespace: consumer routes of that namespace.
  return f.httpRoute(name, rnd() < 0.2 ? 'web' : 'shop', { parentRefs, rules }, `2026-01-0${1 + Math.floor(rnd() * 3)}T00:00:00Z`);
}

function world(rnd: () => number, routes: number): Snapshot {
  return f.snapshot({
    services: SERVICES.map((s, i) => f.service(s, 'shop', [{ name: 'http', port: 80 }], `10.0.0.${i + 1}`)),
    endpointSlices: SERVICES.map((s, i) => f.endpointSlice(s, 'shop', [`10.1.0.${i + 1}`])),
    httpRoutes: Array.from({ length: routes }, (_, i) => route(rnd, `r${i}`)),
  });
}

test('tables sent in parts come out equal to a full translation over random edits (8 seeds x 30 steps, a newer table sometimes superseding one)', () => {
  for (let seed = 1; seed <= 8; seed++) {
    const rnd = prng(seed);
    let snap = world(rnd, 40);
    const translator = new IncrementalTranslator();
    const encoder = new TablePartsEncoder();
    const decoder = new TablePartsDecoder();
    let names = 40;
    for (let step = 0; step < 30; step++) {
      const httpRoutes = snap.httpRoutes.slice();
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) {
        const r = rnd();
        const at = Math.floor(rnd() * httpRoutes.length);
        if (r < 0.5 && httpRoutes.length > 0) httpRoutes[at] = route(rnd, httpRoutes[at]!.metadata.name);
        else if (r < 0.75) httpRoutes.push(route(rnd, `r${names++}`));
        else if (httpRoutes.length > 1) httpRoutes.splice(at, 1);
      }
      snap = { ...snap, httpRoutes };
      const { ir } = translator.translate(snap);
      // A rehearsal-like dry run in between changes nothing the decoder relies on.
      if (rnd() < 0.2) encoder.encode(translator.translate({ ...snap, httpRoutes: httpRoutes.slice(1) }).ir, true);
      if (rnd() < 0.2) translator.translate(snap);
      const decoded = decode(decoder, encoder.encode(ir).parts);
      assert.deepEqual(decoded, JSON.parse(JSON.stringify(translate(snap).ir)), `seed ${seed} step ${step}`);
    }
  }
});

test('an edit of one route of 300 in one frontend sends that route\'s rule and numbers for the rest; the serving thread keeps the other rules as the same objects', () => {
  const parentRefs = [{ group: '', kind: 'Service', name: 'front', port: 80 }];
  const make = (i: number, path = `/r${i}`): KubeObject => f.httpRoute(`r${i}`, 'shop', { parentRefs, rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: 'front', port: 80 }] }] });
  const routes = Array.from({ length: 300 }, (_, i) => make(i));
  const snap = f.snapshot({ services: [f.service('front', 'shop')], endpointSlices: [f.endpointSlice('front', 'shop', ['10.1.0.1'])], httpRoutes: routes });
  const translator = new IncrementalTranslator();
  const encoder = new TablePartsEncoder();
  const decoder = new TablePartsDecoder();
  const first = encoder.encode(translator.translate(snap).ir);
  const before = decode(decoder, first.parts);
  const httpRoutes = routes.slice();
  httpRoutes[7] = make(7, '/edited');
  const next = { ...snap, httpRoutes };
  const { ir } = translator.translate(next);
  const second = encoder.encode(ir);
  assert.ok(second.parts.services.join('').length < 3_000, `the edit's services part is small: ${second.parts.services.join('').length} bytes`);
  assert.equal(second.parts.services.join('').split('/edited').length - 1, 1, 'the edited rule is in it');
  assert.ok(first.parts.services.join('').length > 50_000, 'the first table sent every rule');
  // Its size is still the whole table's, which is what the source decides by.
  const whole = JSON.stringify(ir).length;
  assert.ok(Math.abs(second.bytes - whole) / whole < 0.02, `bytes ${second.bytes} against ${whole} written whole`);
  const after = decode(decoder, second.parts);
  assert.deepEqual(after, JSON.parse(JSON.stringify(ir)));
  const rules = (t: RoutingTable) => t.services[0]!.ports[0]!.producer!.virtualHosts[0]!.rules;
  const kept = rules(after).filter((r) => rules(before).includes(r)).length;
  assert.equal(kept, 299, 'the 299 other rules are the objects the serving thread already held');
});

test('a decoder that does not hold a numbered rule throws instead of building a wrong table; a new stream starts afresh', () => {
  const snap = world(prng(3), 20);
  const { ir } = new IncrementalTranslator().translate(snap);
  const encoder = new TablePartsEncoder();
  encoder.encode(ir);
  const second = encoder.encode(ir).parts;
  assert.throws(() => decode(new TablePartsDecoder(), second), /is not held here/);
  // The source's recovery: the decoder forgets, the encoder is reset and sends the table whole.
  const decoder = new TablePartsDecoder();
  decoder.forget();
  encoder.reset();
  assert.deepEqual(decode(decoder, encoder.encode(ir).parts), JSON.parse(JSON.stringify(ir)));
  // Another loop (a restarted worker) numbers from scratch: its first table is whole.
  assert.deepEqual(decode(decoder, new TablePartsEncoder().encode(ir).parts), JSON.parse(JSON.stringify(ir)));
});

test('bytes is the length of the table\'s JSON written whole, whatever the decoder holds: a first table whose rules are shared by three frontends, its repeat, random edits, dry runs and a reset', () => {
  const parentRefs = SERVICES.map((name) => ({ group: '', kind: 'Service', name, namespace: 'shop' }));
  const shared = Array.from({ length: 30 }, (_, i) => f.httpRoute(`r${i}`, 'shop', { parentRefs, rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/r${i}` } }], backendRefs: [{ name: 'front', port: 80 }] }] }));
  const snap = f.snapshot({
    services: SERVICES.map((s, i) => f.service(s, 'shop', [{ name: 'http', port: 80 }], `10.0.0.${i + 1}`)),
    endpointSlices: SERVICES.map((s, i) => f.endpointSlice(s, 'shop', [`10.1.0.${i + 1}`])),
    httpRoutes: shared,
  });
  const { ir } = new IncrementalTranslator().translate(snap);
  const whole = JSON.stringify(ir).length;
  const encoder = new TablePartsEncoder();
  // each rule once in the parts, three times in the table
  assert.equal(encoder.encode(ir).bytes, whole, 'the first table (every rule new)');
  assert.equal(encoder.encode(ir).bytes, whole, 'the same table again (every rule a number)');
  encoder.reset();
  assert.equal(encoder.encode(ir).bytes, whole, 'after a reset');

  for (let seed = 1; seed <= 4; seed++) {
    const rnd = prng(100 + seed);
    let s = world(rnd, 60);
    const translator = new IncrementalTranslator();
    const enc = new TablePartsEncoder();
    for (let step = 0; step < 15; step++) {
      const httpRoutes = s.httpRoutes.slice();
      const at = Math.floor(rnd() * httpRoutes.length);
      if (rnd() < 0.6) httpRoutes[at] = route(rnd, httpRoutes[at]!.metadata.name);
      else httpRoutes.push(route(rnd, `n${seed}-${step}`));
      s = { ...s, httpRoutes };
      const t = translator.translate(s).ir;
      const dry = rnd() < 0.3;
      assert.equal(enc.encode(t, dry).bytes, JSON.stringify(t).length, `seed ${seed} step ${step}${dry ? ' (dry run)' : ''}`);
    }
  }
});
