// The status writer's index follows each kind's list across snapshots: a snapshot where one route
// was replaced re-keys that route alone, and every lookup answers as a fresh index would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptySnapshot, type KubeObject, type Snapshot } from '../translate/snapshot.ts';
import { ObjectIndex, objectKey } from './object-index.ts';

const route = (name: string, namespace = 'shop', rev = '1'): KubeObject => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace, resourceVersion: rev } });
const snap = (httpRoutes: KubeObject[]): Snapshot => ({ ...emptySnapshot(), httpRoutes });

/** What find() over the list answers: the first object of that name. */
function expected(list: KubeObject[], key: string): KubeObject | undefined {
  return list.find((o) => objectKey(o.metadata.namespace, o.metadata.name) === key);
}

test('one object replaced in a list of 1 000: one re-keyed, every lookup as find() answers', () => {
  const index = new ObjectIndex();
  const first = Array.from({ length: 1000 }, (_, i) => route(`r${i}`));
  assert.equal(index.get(snap(first), 'httpRoutes', 'shop/r5'), first[5]);
  const second = first.slice();
  second[500] = route('r500', 'shop', '2');
  const s2 = snap(second);
  const before = index.rekeyed;
  for (const key of ['shop/r500', 'shop/r499', 'shop/r0', 'shop/nope']) assert.equal(index.get(s2, 'httpRoutes', key), expected(second, key), key);
  assert.equal(index.rekeyed - before, 1);
});

test('a renamed, added or removed object re-indexes; duplicate names keep the first; kinds are apart', () => {
  const index = new ObjectIndex();
  const a = [route('x'), route('y'), route('x', 'shop', '9')];
  assert.equal(index.get(snap(a), 'httpRoutes', 'shop/x'), a[0]);
  const replacedSecondX = [a[0]!, a[1]!, route('x', 'shop', '10')];
  assert.equal(index.get(snap(replacedSecondX), 'httpRoutes', 'shop/x'), a[0], 'the first of a name still wins');
  const replacedFirstX = [route('x', 'shop', '11'), a[1]!, replacedSecondX[2]!];
  assert.equal(index.get(snap(replacedFirstX), 'httpRoutes', 'shop/x'), replacedFirstX[0]);
  const renamed = [replacedFirstX[0]!, route('z'), replacedFirstX[2]!];
  const s = snap(renamed);
  assert.equal(index.get(s, 'httpRoutes', 'shop/z'), renamed[1]);
  assert.equal(index.get(s, 'httpRoutes', 'shop/y'), undefined);
  const grown = [...renamed, route('w', 'other')];
  assert.equal(index.get(snap(grown), 'httpRoutes', 'other/w'), grown[3]);
  assert.equal(index.get(snap(grown.slice(1)), 'httpRoutes', 'shop/x'), grown[2], 'removed: the next of the name');
  assert.equal(index.get({ ...snap(grown), gateways: [] }, 'gateways', 'shop/x'), undefined);
});

test('still(): an object found before is still the answer until it is replaced or its list is indexed afresh', () => {
  const index = new ObjectIndex();
  const first = [route('a'), route('b'), route('c')];
  const s1 = snap(first);
  const b = index.get(s1, 'httpRoutes', 'shop/b')!;
  const epoch = index.epoch;
  assert.equal(index.still(s1, 'httpRoutes', b, epoch), true);
  // Another object replaced: b is still the answer; the replaced one is not.
  const second = [route('a', 'shop', '2'), b, first[2]!];
  const s2 = snap(second);
  assert.equal(index.still(s2, 'httpRoutes', b, epoch), true);
  assert.equal(index.still(s2, 'httpRoutes', first[0]!, epoch), false);
  // b replaced, then back (our write folded late into the object it was made over).
  const b2 = route('b', 'shop', '3');
  assert.equal(index.still(snap([second[0]!, b2, first[2]!]), 'httpRoutes', b, epoch), false);
  assert.equal(index.still(snap([second[0]!, b, first[2]!]), 'httpRoutes', b, epoch), true);
  // A route added: the list is indexed afresh, nothing found before is taken as still there.
  const s4 = snap([second[0]!, b, first[2]!, route('d')]);
  assert.equal(index.still(s4, 'httpRoutes', b, epoch), false);
  assert.equal(index.get(s4, 'httpRoutes', 'shop/b'), b);
  assert.equal(index.still(s4, 'httpRoutes', b, index.epoch), true);
  // Removed (indexed afresh): not still.
  const s5 = snap([second[0]!, first[2]!, route('d')]);
  const e4 = index.epoch;
  assert.equal(index.still(s5, 'httpRoutes', b, e4), false);
});
