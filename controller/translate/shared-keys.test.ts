// Keys the incremental translator keeps between translations (its Lookup's indexes, its
// frontends, each route unit's record of the Services it read) are one interned, flat copy of
// each `namespace/name`, not a fresh concatenation per holder: at 10 000 routes those copies
// were ~15 MB of cons strings (ADR 0019). Counted in a heap snapshot, as strip-unread.test.ts does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSnapshot } from 'node:v8';
import { IncrementalTranslator } from './incremental.ts';
import * as f from './test-fixtures.ts';

/** Per value, how many string objects (flat or concatenated) the heap holds. */
async function copiesInHeap(values: ReadonlySet<string>): Promise<Map<string, number>> {
  const chunks: Buffer[] = [];
  for await (const c of getHeapSnapshot()) chunks.push(c as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt] = [fields.indexOf('type'), fields.indexOf('name')];
  const types = snap.snapshot.meta.node_types[0];
  const stringTypes = new Set(['string', 'concatenated string', 'sliced string'].map((t) => types.indexOf(t)));
  const out = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (!stringTypes.has(snap.nodes[i + typeAt]!)) continue;
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    if (values.has(name)) out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

test('the translator holds each namespace/name key it keeps as one shared copy', async () => {
  // Names built at run time, so no source literal is already the shared copy.
  const ns = `shop${process.pid % 1000}`;
  const names = Array.from({ length: 40 }, (_, i) => `svc-${i}-${Date.now() % 7}`);
  const objects = names.flatMap((name, i) => [
    f.service(name, ns, [{ name: 'http', port: 80 }], `10.0.1.${i + 1}`),
    f.endpointSlice(name, ns, [`10.1.1.${i + 1}`]),
    f.httpRoute(`r-${name}`, ns, {
      parentRefs: [{ group: '', kind: 'Service', name }],
      rules: [{ backendRefs: [{ name, port: 80 }] }],
    }),
  ]);
  const translator = new IncrementalTranslator();
  const snapshot = f.snapshot({
    services: objects.filter((o) => o.kind === 'Service'),
    endpointSlices: objects.filter((o) => o.kind === 'EndpointSlice'),
    httpRoutes: objects.filter((o) => o.kind === 'HTTPRoute'),
  });
  const first = translator.translate(snapshot);
  // A second round with one route changed: the kept units and indexes stay, a few are rebuilt.
  const routes = snapshot.httpRoutes.map((r, i) => (i === 0 ? structuredClone(r) : r));
  const second = translator.translate({ ...snapshot, httpRoutes: routes });
  assert.equal(second.ir.services.length, names.length, 'every Service has a frontend');
  assert.equal(first.ir.version, second.ir.version, 'an identical edit gives the same table');

  const keys = new Set(names.map((n) => `${ns}/${n}`));
  const copies = await copiesInHeap(keys);
  assert.equal(copies.size, names.length, 'every key is held');
  // The translator's holders (Lookup's services and slices, frontends, each unit's reads) share
  // one copy; attach-mesh's serviceKey in each unit's mesh parent is one more (not interned).
  for (const [key, n] of copies) assert.ok(n <= 2, `${key}: ${n} copies in the heap`);
  assert.ok(translator.lookup, 'the translator still holds its indexes');
});
