import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../api/version.ts';
import type { BackendIR } from '../../api/routing-table.ts';
import { backend, service, table } from '../../test/support/routing-tables.ts';
import { diffTables } from './diff.ts';
import { EndpointChanges, notePatched } from './endpoint-changes.ts';
import { patchSlice } from './slice.ts';

const svc = (i: number) => service({ name: `s${i}`, clusterIP: `10.0.0.${i + 1}`, port: 80 });
const be = (i: number, ports: number[]): BackendIR => backend('default', `s${i}`, 80, ports.map((port) => ({ port })));

test('the changes of a slice an endpoint change patched are diffTables() of it, shared by slices holding the same changed backends', () => {
  // Slices of their own (s0 and one other Service each), as the bench's agents.
  const slices = [1, 2, 3].map((i) => table({ services: [svc(0), svc(i)], backends: [be(0, [1]), be(i, [i])] }));
  // s0 changed; s2 "changed" to the same content in a new object (not a change of its slice).
  const delta = new Map<string, BackendIR>([[be(0, [1]).name, be(0, [7, 8])], [be(2, [2]).name, be(2, [2])]]);
  const changes = new EndpointChanges(delta, canonicalJson);
  const got = slices.map((s) => {
    const next = patchSlice(s, delta);
    notePatched(next, s);
    const c = changes.of(s, next);
    assert.deepEqual(c, diffTables(s, next), 'what diffTables gives');
    return c;
  });
  assert.equal(got[0], got[1], 'one object for the slices with the same changed backends');
  assert.equal(got[0], got[2]);
  assert.deepEqual(got[0]!.backends.upsert.map((b) => b.endpoints.map((e) => e.port)), [[7, 8]]);
});

test('anything but a slice patched by this change from that base is left to diffTables (null)', () => {
  const s = table({ services: [svc(0)], backends: [be(0, [1])] });
  const delta = new Map<string, BackendIR>([[be(0, [1]).name, be(0, [2])]]);
  const next = patchSlice(s, delta);
  notePatched(next, s);
  const other = table({ services: [svc(0)], backends: [be(0, [1])] });
  assert.equal(new EndpointChanges(delta, canonicalJson).of(other, next), null, 'another base');
  assert.equal(new EndpointChanges(delta, canonicalJson).of(s, patchSlice(s, delta)), null, 'a slice not recorded as patched');
  const later = new Map<string, BackendIR>([[be(0, [1]).name, be(0, [3])]]);
  assert.equal(new EndpointChanges(later, canonicalJson).of(s, next), null, 'patched by another change');
});
