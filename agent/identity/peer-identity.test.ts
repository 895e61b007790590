import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spiffeIdOf } from './peer-identity.ts';

const cases: [string | undefined, string | null][] = [
  ['URI:spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://cluster.local/ns/shop/sa/cart'],
  ['DNS:cart.shop.svc, URI:spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://cluster.local/ns/shop/sa/cart'],
  ['URI:spiffe://cluster.local/ns/shop/sa/cart, URI:spiffe://cluster.local/ns/shop/sa/admin', null],
  ['URI:spiffe://cluster.local/ns/shop/sa/cart/extra', null],
  ['URI:https://cluster.local/ns/shop/sa/cart', null],
  ['DNS:cart.shop.svc', null],
  ['', null],
  [undefined, null],
];
for (const [san, id] of cases) {
  test(`subjectaltname ${JSON.stringify(san)} → ${String(id)}`, () => {
    assert.equal(spiffeIdOf(san === undefined ? undefined : { subjectaltname: san }), id);
  });
}
